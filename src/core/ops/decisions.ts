import { type CallContext, POLICY_REVIEWER_ID } from '../context.js';
import { EVENT_TYPES } from '../ledger.js';
import type { Decision, DecisionKind, JsonObject, Proposal } from '../model.js';
import type { PolicyDecision } from '../ports/policy.js';
import type { StoreReader, StoreTx } from '../ports/store.js';
import { type Approver, type RoleQuorum, type Tally, tallyApprovals } from '../quorum.js';
import { type Rules, policySummary } from './rules.js';

/** An edit is a decision on the version it changed, never an approval of the new one. */
export function isApproval(kind: DecisionKind): boolean {
  return kind === 'approve' || kind === 'policy_allow';
}

/**
 * The reviewers' roles, for counting approvals against a quorum (quorum.ts): the role each held
 * when they decided; the current one only for a decision recorded before roles were kept.
 */
export async function approversOf(
  tx: StoreReader,
  tenant_id: string,
  decisions: readonly { readonly reviewer_id: string; readonly reviewer_role: string | null }[],
): Promise<Approver[]> {
  const out = new Map<string, Approver>();
  for (const d of decisions) {
    if (out.has(d.reviewer_id)) continue;
    const role = d.reviewer_role ?? (await tx.getActor(tenant_id, d.reviewer_id))?.role;
    out.set(d.reviewer_id, { id: d.reviewer_id, roles: role ? [role] : [] });
  }
  return [...out.values()];
}

/**
 * A proposal's approvals of `version` under its rule: any-of counts distinct reviewers (as it
 * always did); a quorum assigns each reviewer to one role slot. The proposer never counts.
 */
export async function tallyProposal(
  tx: StoreReader,
  proposal: Proposal,
  decisions: readonly Decision[],
  version: number = proposal.version,
): Promise<Tally> {
  const approvals = decisions.filter((d) => d.version === version && isApproval(d.decision));
  const approvers = proposal.role_quorum
    ? await approversOf(tx, proposal.tenant_id, approvals)
    : [...new Set(approvals.map((d) => d.reviewer_id))].map((id) => ({ id, roles: [] }));
  return tallyApprovals(proposal, approvers, [proposal.proposer_id]);
}

export async function insertDecision(
  tx: StoreTx,
  ctx: CallContext,
  proposal: Proposal,
  version: number,
  hash: string,
  reviewer_id: string,
  decision: DecisionKind,
  o: {
    /** The reviewer's role now (null for policy): a quorum counts it, whatever comes later. */
    reviewer_role: string | null;
    comment?: string | undefined;
    edits: JsonObject | null;
    policy_version: string;
    now: string;
  },
): Promise<Decision> {
  const d: Decision = {
    tenant_id: ctx.tenant_id,
    id: await tx.nextId(ctx.tenant_id, 'decision'),
    proposal_id: proposal.id,
    version,
    hash,
    reviewer_id,
    reviewer_role: o.reviewer_role,
    decision,
    comment: o.comment ?? null,
    edits: o.edits,
    policy_version: o.policy_version,
    token_id: ctx.token?.id ?? null,
    created_at: o.now,
  };
  await tx.insertDecision(d);
  return d;
}

export async function recordPolicyAllowance(
  r: Rules,
  tx: StoreTx,
  ctx: CallContext,
  proposal: Proposal,
  hash: string,
  policy: PolicyDecision,
): Promise<void> {
  const d = await insertDecision(
    tx,
    ctx,
    proposal,
    proposal.version,
    hash,
    POLICY_REVIEWER_ID,
    'policy_allow',
    {
      reviewer_role: null,
      edits: null,
      policy_version: policy.policy_version,
      now: proposal.updated_at,
    },
  );
  await r.append(tx, ctx, {
    type: EVENT_TYPES.APPROVAL_DECISION,
    actor: POLICY_REVIEWER_ID,
    workflow_id: proposal.workflow_id,
    data: {
      decision_id: d.id,
      proposal_id: proposal.id,
      decision: 'policy_allow',
      version: proposal.version,
      hash,
      status: 'approved',
      policy: policySummary(policy),
    },
  });
}

export function recordApprovalRequest(
  r: Rules,
  tx: StoreTx,
  ctx: CallContext,
  proposal: Proposal,
  hash: string,
  requested_by: string = proposal.proposer_id,
): Promise<void> {
  return r.append(tx, ctx, {
    type: EVENT_TYPES.APPROVAL_REQUESTED,
    actor: requested_by,
    workflow_id: proposal.workflow_id,
    data: {
      proposal_id: proposal.id,
      version: proposal.version,
      hash,
      required_approvals: proposal.required_approvals,
      required_roles: [...proposal.required_roles],
      ...(proposal.role_quorum ? { role_quorum: { ...proposal.role_quorum } } : {}),
    },
  });
}

/** A quorum's state for the ledger; nothing for any-of, whose events stay as they were. */
export function quorumRecord(
  p: { readonly role_quorum?: RoleQuorum | undefined },
  t: Tally,
): JsonObject {
  return p.role_quorum
    ? { role_quorum: { ...p.role_quorum }, missing: t.missing, counted_as: t.filled }
    : {};
}
