import { inScope, mintsTokens } from './authority.js';
import { type CallContext, actorPrincipal, assertContext, operatorPrincipal } from './context.js';
import { CountersignError, isCountersignError } from './errors.js';
import type { Kernel } from './kernel.js';
import { EVENT_TYPES } from './ledger.js';
import type { JsonObject, LedgerEvent } from './model.js';
import type { PolicyAction, PolicyPrincipal } from './ports/policy.js';
import * as C from './console-schemas.js';
import { parseInput } from './validation.js';

const DEFAULT_LEDGER_PAGE = 200;

/**
 * The check each operation of `may` makes of its caller before it looks at any object: the
 * policy action it asks on the tenant, and for minting tokens the rule no policy lifts.
 */
const TENANT_CHECKS: Readonly<
  Record<C.TenantOperation, { action: PolicyAction; caller?: (ctx: CallContext) => boolean }>
> = {
  start_workflow_run: { action: 'workflow.start' },
  activate_plan: { action: 'plan.activate' },
  register_actor: { action: 'actor.register' },
  set_actor_role: { action: 'actor.set_role' },
  set_policy: { action: 'policy.set' },
  create_token: { action: 'token.create', caller: mintsTokens },
};

/**
 * Who the caller is: the tenant, the actor and its roles (the console counts the requests
 * waiting on these roles), and `may`: the tenant-level operations the caller would be allowed,
 * asked of the same checks the doors and the operations make (the token's scope, the kernel's
 * policy decision for this caller on the tenant), so the console offers what the server would
 * do and never keeps a copy of the rules. Any authenticated caller may ask about itself.
 */
export async function whoAmI(kernel: Kernel, ctx: CallContext): Promise<C.WhoAmI> {
  assertContext(ctx);
  const k = kernel.r;
  const mayOf = (principal: PolicyPrincipal): C.TenantOperation[] =>
    C.TENANT_OPERATIONS.filter((operation) => {
      const check = TENANT_CHECKS[operation];
      return (
        inScope(ctx, operation) &&
        (check.caller?.(ctx) ?? true) &&
        k.decide(ctx, principal, check.action, { type: 'Tenant', id: ctx.tenant_id }).effect !==
          'deny'
      );
    });
  if (ctx.caller.kind === 'operator')
    return {
      tenant_id: ctx.tenant_id,
      kind: 'operator',
      principal_kind: 'operator',
      token_id: ctx.token?.id ?? null,
      actor_id: 'operator',
      name: 'operator',
      roles: ['operator'],
      may: mayOf(operatorPrincipal),
    };
  const actor_id = ctx.caller.actor_id;
  const actor = await k.store.read((tx) => k.actor(tx, ctx, actor_id, 'caller'));
  return {
    tenant_id: ctx.tenant_id,
    kind: 'actor',
    principal_kind: actor.kind,
    token_id: ctx.token?.id ?? null,
    actor_id: actor.id,
    name: actor.name,
    roles: [actor.role],
    may: mayOf(actorPrincipal(actor)),
  };
}

/**
 * The tenant's actors, by name, role and kind: who the IDs in the inbox, the ledger and the
 * reports stand for. Whoever may read the tenant's workflows may read who acts in them; no
 * secret is in it (tokens are listed by list_tokens, to the operator and their own actor).
 */
export async function listActors(
  kernel: Kernel,
  ctx: CallContext,
  input: C.ListActorsInput,
): Promise<C.ListActorsOutput> {
  assertContext(ctx);
  const args = parseInput(C.listActorsInput, input, 'list_actors input');
  const k = kernel.r;
  return k.store.read(async (tx) => {
    const principal = await k.principalOf(tx, ctx);
    k.require(ctx, principal, 'workflow.read', { type: 'Tenant', id: ctx.tenant_id });
    const actors = await tx.listActors(ctx.tenant_id);
    return {
      actors: actors
        .filter((a) => args.kind === undefined || a.kind === args.kind)
        .map((a) => ({
          actor_id: a.id,
          name: a.name,
          role: a.role,
          kind: a.kind,
          created_at: a.created_at,
        })),
    };
  });
}

/**
 * One page of the tenant's whole ledger in seq order. Reading it is recorded, as reading a
 * workflow's audit log is; the event lands after the page, so a page never contains its own read.
 */
export async function listLedger(
  kernel: Kernel,
  ctx: CallContext,
  input: C.ListLedgerInput,
): Promise<{ entries: LedgerEvent[]; next_after_seq: number | null }> {
  assertContext(ctx);
  const args = parseInput(C.listLedgerInput, input, 'list_ledger input');
  const limit = args.limit ?? DEFAULT_LEDGER_PAGE;
  const k = kernel.r;
  return k.store.transaction(async (tx) => {
    const principal = await k.principalOf(tx, ctx);
    k.require(ctx, principal, 'audit.read', { type: 'Tenant', id: ctx.tenant_id });
    const entries = await tx.listLedger(ctx.tenant_id, {
      after_seq: args.after_seq ?? 0,
      limit: limit + 1,
    });
    const more = entries.length > limit;
    const page = more ? entries.slice(0, limit) : entries;
    await k.append(tx, ctx, {
      type: EVENT_TYPES.AUDIT_LOG_READ,
      actor: principal.id,
      workflow_id: null,
      data: {
        scope: 'tenant',
        after_seq: args.after_seq ?? 0,
        entries: page.length,
        purpose: ctx.purpose,
      },
    });
    return { entries: page, next_after_seq: more ? page[page.length - 1]!.seq : null };
  });
}

/**
 * What the proposal's current version would do, from the tool's plan() (its dry run): nothing
 * is changed and nothing is recorded. The hash is the one an approval of this version binds to.
 */
export async function planAction(
  kernel: Kernel,
  ctx: CallContext,
  input: { proposal_id: string },
): Promise<{
  proposal_id: string;
  version: number;
  tool: string;
  risk: string;
  hash: string;
  plan: JsonObject;
}> {
  const args = parseInput(C.planActionInput, input, 'plan_action input');
  // get_proposal checks the caller may read the proposal's workflow.
  const view = await kernel.getProposal(ctx, args);
  const call = view.final_tool_call;
  const tool = kernel.listTools().find((t) => t.name === call.tool);
  if (!tool)
    throw new CountersignError('UNKNOWN_TOOL', `The tool ${call.tool} is no longer registered.`, {
      tool: call.tool,
    });
  let plan: JsonObject;
  try {
    plan = await tool.plan(call.params, {
      tenant_id: ctx.tenant_id,
      workflow_id: view.proposal.workflow_id,
      proposal_id: view.proposal.id,
      execution_id: `plan:${view.proposal.id}:v${call.version}`,
      idempotency_key: `plan:${call.hash}`,
      now: kernel.r.clock.now(),
    });
  } catch (e) {
    if (isCountersignError(e)) throw e;
    throw new CountersignError(
      'INVALID_STATE',
      `${call.tool} could not plan this call: ${e instanceof Error ? e.message : String(e)}`,
      { tool: call.tool },
    );
  }
  return {
    proposal_id: view.proposal.id,
    version: call.version,
    tool: call.tool,
    risk: tool.risk,
    hash: call.hash,
    plan,
  };
}
