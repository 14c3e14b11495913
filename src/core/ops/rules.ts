import {
  type CallContext,
  isLocalOperator,
  actorPrincipal,
  operatorPrincipal,
} from '../context.js';
import { CountersignError, type ErrorCode, type FieldIssue } from '../errors.js';
import { EVENT_TYPES, type NewEvent, chainEvent } from '../ledger.js';
import type { Actor, JsonObject, Proposal, ProposalVersion, Workflow } from '../model.js';
import type { Clock } from '../ports/clock.js';
import type {
  PolicyDecision,
  PolicyEngine,
  PolicyPrincipal,
  PolicyRequest,
  PolicyWorkbench,
} from '../ports/policy.js';
import type { Store, StoreReader, StoreTx } from '../ports/store.js';
import { ReadCache } from '../read-cache.js';
import type { Outcome } from '../reply.js';
import type { ToolDefinition, ToolRegistry } from '../ports/tools.js';
import { describeIssues } from '../validation.js';

export interface RulesDeps {
  readonly store: Store;
  readonly policy: PolicyEngine;
  readonly tools: ToolRegistry;
  readonly clock: Clock;
  /** The active policy explained and candidates compiled (test_policy, replay_policy). */
  readonly policyWorkbench?: PolicyWorkbench | undefined;
}

/** Codes that, when an operation on an existing workflow is refused, are written to the ledger. */
const RECORDED_REFUSALS: ReadonlySet<ErrorCode> = new Set([
  'POLICY_DENIED',
  'SELF_APPROVAL',
  'MISSING_ROLE',
  'DUPLICATE_DECISION',
  'INVALID_STATE',
  'REVIEW_REQUIRED',
  'APPROVAL_HASH_MISMATCH',
  'EXECUTION_IN_DOUBT',
  'PLAN_ONLY',
  'EVIDENCE_BELOW_TIER',
]);

export interface Refusal {
  /** The workflow the refusal is recorded in; a proposal's is looked up only if it is refused. */
  readonly workflow_id: string | null | { readonly of_proposal: string };
  readonly actor: string;
  readonly operation: string;
  readonly subject: JsonObject;
}

/**
 * What every operation module shares: the ports, the ledger append, policy checks that fail
 * closed, lookups that read a foreign tenant's object as not found, and refusals recorded in
 * the ledger. The kernel's operation modules (actors, proposals, reviews, executions, tokens,
 * workflow runs…) are built on one instance.
 */
export class Rules {
  readonly store: Store;
  readonly policy: PolicyEngine;
  readonly tools: ToolRegistry;
  readonly clock: Clock;
  /** Answers of reads that depend only on the stored data, policy and caller. */
  readonly reads: ReadCache;
  readonly policyWorkbench: PolicyWorkbench | undefined;

  constructor(deps: RulesDeps) {
    this.store = deps.store;
    this.policy = deps.policy;
    this.tools = deps.tools;
    this.clock = deps.clock;
    this.reads = new ReadCache(deps.store, deps.policy);
    this.policyWorkbench = deps.policyWorkbench;
  }

  /** Appends an event to the tenant's chain inside the caller's transaction. */
  async append(tx: StoreTx, ctx: CallContext, event: NewEvent): Promise<void> {
    const head = await tx.lockLedgerHead(ctx.tenant_id);
    await tx.appendLedger(chainEvent(ctx.tenant_id, head, this.clock.now(), event));
  }

  async principalOf(tx: StoreReader, ctx: CallContext): Promise<PolicyPrincipal> {
    if (ctx.caller.kind === 'operator') return operatorPrincipal;
    const actor = await tx.getActor(ctx.tenant_id, ctx.caller.actor_id);
    if (!actor)
      throw new CountersignError(
        'POLICY_DENIED',
        `Denied: the calling actor ${ctx.caller.actor_id} does not exist.`,
      );
    return actorPrincipal(actor);
  }

  decide(
    ctx: CallContext,
    principal: PolicyPrincipal,
    action: PolicyRequest['action'],
    resource: PolicyRequest['resource'],
    workflow_id?: string,
    workflow_archetype?: string,
  ): PolicyDecision {
    return this.policy.decide({
      tenant_id: ctx.tenant_id,
      principal,
      action,
      resource,
      purpose: ctx.purpose,
      workflow_id,
      ...(workflow_archetype ? { workflow_archetype } : {}),
      agent_invocation_id: ctx.agent_invocation_id,
      local_operator: isLocalOperator(ctx),
    });
  }

  /** Asks policy and throws POLICY_DENIED on deny; returns the decision otherwise. */
  require(
    ctx: CallContext,
    principal: PolicyPrincipal,
    action: PolicyRequest['action'],
    resource: PolicyRequest['resource'],
    workflow_id?: string,
    workflow_archetype?: string,
  ): PolicyDecision {
    const decision = this.decide(ctx, principal, action, resource, workflow_id, workflow_archetype);
    if (decision.effect === 'deny')
      throw new CountersignError(
        'POLICY_DENIED',
        `Policy denies ${action} by ${principal.id} on ${resource.type} ${resource.id}` +
          (decision.reasons.length
            ? ` (${decision.reasons.join(', ')})`
            : ' (no policy permits it)') +
          (decision.errors.length ? `; evaluation errors: ${decision.errors.join('; ')}` : '') +
          '.',
        {
          action,
          principal: principal.id,
          resource: `${resource.type}::${resource.id}`,
          policy: policySummary(decision),
        },
      );
    return decision;
  }

  tool(name: string): ToolDefinition {
    const tool = this.tools.get(name);
    if (!tool) {
      const known = this.tools.list().map((t) => t.name);
      throw new CountersignError(
        'UNKNOWN_TOOL',
        `Unknown tool "${name}". Registered tools: ${known.join(', ')}.`,
        { tool: name, registered: known },
      );
    }
    return tool;
  }

  validParams(tool: ToolDefinition, params: JsonObject, prefix: string): JsonObject {
    const checked = tool.validate(params);
    if (checked.ok) return checked.value;
    const issues: FieldIssue[] = checked.issues.map((i) => ({
      path: i.path ? `${prefix}.${i.path}` : prefix,
      message: i.message,
    }));
    throw new CountersignError(
      'VALIDATION_FAILED',
      `Invalid parameters for ${tool.name}: ${describeIssues(issues)}`,
      { issues, tool: tool.name },
    );
  }

  async workflow(tx: StoreReader, ctx: CallContext, id: string): Promise<Workflow> {
    const w = await tx.getWorkflow(ctx.tenant_id, id);
    if (!w) throw notFound('workflow', id);
    return w;
  }

  /** The archetype of the run a workflow ID names (`proposal_only`), if any. */
  async archetypeOf(
    tx: StoreReader,
    ctx: CallContext,
    workflow_id: string,
  ): Promise<string | undefined> {
    // Only a run has an archetype, and only runs have `run_` IDs (workflow-ops.ts): a plain
    // workflow costs no read.
    if (!workflow_id.startsWith('run_')) return undefined;
    const run = await tx.runs.getRun(ctx.tenant_id, workflow_id);
    const archetype = run?.context.archetype;
    return typeof archetype === 'string' ? archetype : undefined;
  }

  async openWorkflow(tx: StoreReader, ctx: CallContext, id: string): Promise<Workflow> {
    const w = await this.workflow(tx, ctx, id);
    if (w.status !== 'open')
      throw new CountersignError(
        'INVALID_STATE',
        `${id} is ${w.status}; proposals need an open workflow.`,
        { workflow_id: id, status: w.status },
      );
    return w;
  }

  async actor(tx: StoreReader, ctx: CallContext, id: string, field: string): Promise<Actor> {
    const a = await tx.getActor(ctx.tenant_id, id);
    if (!a) throw notFound('actor', id, field);
    return a;
  }

  async proposal(tx: StoreReader, ctx: CallContext, id: string): Promise<Proposal> {
    const p = await tx.getProposal(ctx.tenant_id, id);
    if (!p) throw notFound('proposal', id);
    return p;
  }

  async version(
    tx: StoreReader,
    ctx: CallContext,
    p: Proposal,
    n: number,
  ): Promise<ProposalVersion> {
    const v = await tx.getVersion(ctx.tenant_id, p.id, n);
    if (!v) throw new CountersignError('INTERNAL', `${p.id} has no version ${n}`);
    return v;
  }

  /**
   * Runs `work` in a transaction. When it is refused with a recordable code, the transaction
   * rolls back (no partial state) and the refusal is appended to the ledger in its own.
   */
  async recording<T>(
    ctx: CallContext,
    refusal: Refusal,
    work: (tx: StoreTx) => Promise<T>,
    opts: { readonly last?: boolean } = {},
  ): Promise<T> {
    try {
      return await (opts.last ? this.final(ctx, work) : this.store.transaction(work));
    } catch (e) {
      if (e instanceof CountersignError && RECORDED_REFUSALS.has(e.code))
        await this.recordRefusal(ctx, refusal, e);
      throw e;
    }
  }

  /**
   * Runs an operation's last transaction. A request sent with an idempotency key stores its
   * answer in it, beside the writes it answers: committed together or not at all.
   */
  async final<T>(ctx: CallContext, work: (tx: StoreTx) => Promise<T>): Promise<T> {
    let kept = false;
    const value = await this.store.transaction(async (tx) => {
      const v = await work(tx);
      kept = await this.keepAnswer(tx, ctx, { ok: true, value: v });
      return v;
    });
    if (kept) ctx.reply!.stored = true;
    return value;
  }

  /** Stores a keyed request's answer in `tx`, once; true when it did. */
  private async keepAnswer(tx: StoreTx, ctx: CallContext, outcome: Outcome): Promise<boolean> {
    const slot = ctx.reply;
    if (!slot || slot.stored) return false;
    const { status, body } = slot.answer(outcome);
    await tx.putIdempotency({
      tenant_id: ctx.tenant_id,
      principal: principalIdOf(ctx),
      key: slot.key,
      fingerprint: slot.fingerprint,
      status,
      body,
      created_at: this.clock.now(),
    });
    return true;
  }

  /** Records a refusal in the ledger; it ends the operation, so a keyed request's answer commits with it. */
  async recordRefusal(ctx: CallContext, refusal: Refusal, e: CountersignError): Promise<void> {
    let kept = false;
    await this.store.transaction(async (tx) => {
      const w = refusal.workflow_id;
      const workflow_id =
        w === null || typeof w === 'string'
          ? w
          : ((await tx.getProposal(ctx.tenant_id, w.of_proposal))?.workflow_id ?? null);
      await this.append(tx, ctx, {
        type: EVENT_TYPES.OPERATION_REFUSED,
        actor: refusal.actor,
        workflow_id,
        data: {
          operation: refusal.operation,
          code: e.code,
          message: e.message,
          ...refusal.subject,
          ...(ctx.token ? { token_id: ctx.token.id } : {}),
        },
      });
      kept = await this.keepAnswer(tx, ctx, { ok: false, error: e });
    });
    if (kept) ctx.reply!.stored = true;
  }
}

export function notFound(kind: string, id: string, field?: string): CountersignError {
  return new CountersignError(
    'NOT_FOUND',
    `No ${kind} ${id} in this tenant${field ? ` (${field})` : ''}.`,
    { kind, id, ...(field ? { field } : {}) },
  );
}

export function principalIdOf(ctx: CallContext): string {
  return ctx.caller.kind === 'operator' ? 'operator' : ctx.caller.actor_id;
}

/** The token a decision was made with, as the ledger records it. */
export function tokenRecord(ctx: CallContext): JsonObject | null {
  return ctx.token ? { id: ctx.token.id, minted_by: ctx.token.minted_by } : null;
}

export function policySummary(d: PolicyDecision): JsonObject {
  return {
    effect: d.effect,
    approvals: d.approvals,
    roles: [...d.roles],
    policy_version: d.policy_version,
    reasons: [...d.reasons],
  };
}
