import { type CallContext, actorPrincipal, assertContext } from './context.js';
import { CountersignError } from './errors.js';
import type { Kernel } from './kernel.js';
import type { Actor } from './model.js';
import type {
  ExplainedPolicy,
  PolicyDecision,
  PolicyEngine,
  PolicyFile,
  PolicyRequest,
} from './ports/policy.js';
import type { StoreReader } from './ports/store.js';
import type { ToolDefinition } from './ports/tools.js';
import * as T from './policy-trial-schemas.js';
import type { Rules } from './ops/rules.js';
import { parseInput } from './validation.js';

/**
 * Policy you can try before you trust it. test_policy asks the active policy, and optionally a
 * candidate sent as text, what it decides for one call; replay_policy asks a candidate about
 * the tenant's recent proposals and lists the decisions that would change. Both only read:
 * no proposal, no ledger event, and the active policy stays what it is (a candidate is
 * compiled, asked and dropped). Trying policy is policy administration: whoever may set
 * policy (`policy.set`: the operator, admins) may try it; an agent may not.
 */

/** What the active policy, and a candidate, decide for one call, and why. */
export async function testPolicy(
  kernel: Kernel,
  ctx: CallContext,
  input: T.TestPolicyInput,
): Promise<T.TestPolicyOutput> {
  assertContext(ctx);
  const args = parseInput(T.testPolicyInput, input, 'test_policy input');
  const k = kernel.r;
  const { proposer, notes } = await k.store.read(async (tx) => {
    await authorize(k, tx, ctx);
    const proposer = await k.actor(tx, ctx, args.proposer_id, 'proposer_id');
    const notes: string[] = [];
    if (args.workflow_id !== undefined) {
      const w = await k.workflow(tx, ctx, args.workflow_id);
      if (w.status !== 'open')
        notes.push(
          `${w.id} is ${w.status}: propose_action would refuse the call (INVALID_STATE) before asking policy.`,
        );
      if (await tx.runs.getRun(ctx.tenant_id, w.id))
        notes.push(
          `${w.id} is a workflow run: its own steps propose its calls, propose_action is refused there.`,
        );
    }
    return { proposer, notes };
  });
  const tool = k.tool(args.tool);
  k.validParams(tool, args.params ?? {}, 'params');
  const candidate = args.candidate ? compile(k, args.candidate) : null;
  const request = proposalRequest(ctx, proposer, tool, args.workflow_id, args.call_purpose);
  const current = verdict(k.policy.decide(request), k.policyWorkbench?.active);
  const tried = candidate ? verdict(candidate.decide(request), candidate) : null;
  return {
    call: {
      tool: tool.name,
      risk: tool.risk,
      proposer_id: proposer.id,
      proposer_kind: proposer.kind,
      proposer_roles: [proposer.role],
      workflow_id: args.workflow_id ?? null,
      purpose: request.purpose,
    },
    current,
    candidate: tried,
    changed: tried ? differs(current, tried) : null,
    notes,
  };
}

/** The tenant's `last` most recently active proposals asked of a candidate: what would change. */
export async function replayPolicy(
  kernel: Kernel,
  ctx: CallContext,
  input: T.ReplayPolicyInput,
): Promise<T.ReplayPolicyOutput> {
  assertContext(ctx);
  const args = parseInput(T.replayPolicyInput, input, 'replay_policy input');
  const k = kernel.r;
  const { proposals, actors } = await k.store.read(async (tx) => {
    await authorize(k, tx, ctx);
    const proposals = await tx.listProposals(ctx.tenant_id, { limit: args.last });
    const actors = new Map<string, Actor | undefined>();
    for (const p of proposals)
      if (!actors.has(p.proposer_id))
        actors.set(p.proposer_id, await tx.getActor(ctx.tenant_id, p.proposer_id));
    return { proposals, actors };
  });
  const candidate = compile(k, args.candidate);
  const active = k.policyWorkbench?.active;
  const zero = () => ({ allow: 0, review: 0, deny: 0 });
  const counts = { current: zero(), candidate: zero() };
  const skipped: T.ReplayPolicyOutput['skipped'] = [];
  const changes: T.ReplayPolicyOutput['changes'] = [];
  for (const p of proposals) {
    const tool = k.tools.get(p.tool);
    const proposer = actors.get(p.proposer_id);
    if (!tool || !proposer) {
      skipped.push({
        proposal_id: p.id,
        reason: tool
          ? `its proposer ${p.proposer_id} is gone`
          : `${p.tool} is no longer registered`,
      });
      continue;
    }
    const request = proposalRequest(ctx, proposer, tool, p.workflow_id, undefined);
    const before = verdict(k.policy.decide(request), active);
    const after = verdict(candidate.decide(request), candidate);
    counts.current[before.effect] += 1;
    counts.candidate[after.effect] += 1;
    if (differs(before, after))
      changes.push({
        proposal_id: p.id,
        workflow_id: p.workflow_id,
        tool: p.tool,
        proposer_id: p.proposer_id,
        before: brief(before),
        after: brief(after),
      });
  }
  const replayed = proposals.length - skipped.length;
  return {
    current_version: k.policy.version,
    candidate_version: candidate.version,
    replayed,
    changed: changes.length,
    unchanged: replayed - changes.length,
    skipped,
    counts,
    changes,
  };
}

/** Trying policy is administering it: the operator and admins may, an agent may not. */
async function authorize(k: Rules, tx: StoreReader, ctx: CallContext): Promise<void> {
  const principal = await k.principalOf(tx, ctx);
  k.require(ctx, principal, 'policy.set', { type: 'Tenant', id: ctx.tenant_id });
}

function compile(k: Rules, files: readonly PolicyFile[]): ExplainedPolicy {
  if (!k.policyWorkbench)
    throw new CountersignError(
      'INVALID_STATE',
      'This Countersign was composed without a policy workbench: candidate policies cannot be tried here.',
    );
  return k.policyWorkbench.compile(files);
}

/**
 * The request propose_action would ask policy: the proposer's call over the API (not the local
 * operator's scripted mode) in its workflow, for the tool and its risk class.
 */
function proposalRequest(
  ctx: CallContext,
  proposer: Actor,
  tool: ToolDefinition,
  workflow_id: string | undefined,
  purpose: string | undefined,
): PolicyRequest {
  return {
    tenant_id: ctx.tenant_id,
    principal: actorPrincipal(proposer),
    action: 'proposal.create',
    resource: { type: 'Tool', id: tool.name, risk: tool.risk },
    purpose: purpose ?? ctx.purpose,
    workflow_id,
    local_operator: false,
  };
}

function verdict(d: PolicyDecision, explain: PolicyEngine | ExplainedPolicy | undefined) {
  const annotations = (id: string) =>
    explain && 'annotations' in explain ? { ...(explain.annotations(id) ?? {}) } : {};
  return {
    effect: d.effect,
    approvals: d.approvals,
    roles: [...d.roles],
    policy_version: d.policy_version,
    matched: d.reasons.map((id) => ({ id, annotations: annotations(id) })),
    errors: [...d.errors],
    why: why(d),
  };
}

function why(d: PolicyDecision): string {
  const ids = d.reasons.join(', ');
  if (d.effect === 'deny') {
    if (d.errors.length > 0)
      return `Denied: a policy could not be evaluated (${d.errors.join('; ')}), and policy fails closed.`;
    return ids ? `Denied by ${ids}.` : 'Denied: no policy permits it.';
  }
  if (d.effect === 'allow') return `Allowed without review by ${ids}.`;
  const roles = d.roles.length ? ` from reviewers holding ${d.roles.join(' or ')}` : '';
  return `Needs ${d.approvals} approval${d.approvals === 1 ? '' : 's'}${roles} (${ids}).`;
}

function differs(a: T.PolicyVerdict, b: T.PolicyVerdict): boolean {
  return (
    a.effect !== b.effect ||
    a.approvals !== b.approvals ||
    a.roles.length !== b.roles.length ||
    a.roles.some((r, i) => r !== b.roles[i])
  );
}

function brief(v: T.PolicyVerdict) {
  return {
    effect: v.effect,
    approvals: v.approvals,
    roles: v.roles,
    matched: v.matched,
    why: v.why,
  };
}
