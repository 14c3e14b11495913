import { callHash } from '../canonical.js';
import { describeCall } from '../describe-call.js';
import { assertActsAs, assertMayDecide } from '../authority.js';
import { type CallContext, actorPrincipal, assertContext } from '../context.js';
import { deepMerge } from '../deep-merge.js';
import { CountersignError } from '../errors.js';
import { EVENT_TYPES } from '../ledger.js';
import type { JsonObject, Proposal } from '../model.js';
import type { StoreTx } from '../ports/store.js';
import * as S from '../schemas.js';
import { parseInput } from '../validation.js';
import { type Tally, withQuorum } from '../quorum.js';
import { insertDecision, quorumRecord, recordApprovalRequest, tallyProposal } from './decisions.js';
import { authorsOf, proposalResource } from './proposals.js';
import { type Rules, policySummary, tokenRecord } from './rules.js';
import { assertOutsideRun } from './run-guard.js';

/**
 * Reviews: people (or services a policy allows) approve, reject, send back or edit a pending
 * proposal's current version. Who may decide is authority.ts's rule, written once.
 */
export class ReviewOps {
  constructor(private readonly r: Rules) {}

  /**
   * `seen.hash`: the call hash the reviewer was shown (a door that shows a call before the
   * decision, as a Slack message does, passes it); the decision is refused with
   * APPROVAL_HASH_MISMATCH when the proposal has moved on to another version since.
   */
  async reviewAction(
    ctx: CallContext,
    input: S.ReviewActionInput,
    seen: { readonly hash?: string | undefined } = {},
  ) {
    assertContext(ctx);
    const args = parseInput(S.reviewActionInput, input, 'review_action input');
    return this.r.recording(
      ctx,
      {
        workflow_id: { of_proposal: args.proposal_id },
        actor: args.reviewer_id,
        operation: 'review_action',
        subject: { proposal_id: args.proposal_id, decision: args.decision },
      },
      async (tx) => {
        const p = await this.r.proposal(tx, ctx, args.proposal_id);
        await assertOutsideRun(tx, ctx, p.workflow_id, 'review_action', p.id);
        if (seen.hash !== undefined) {
          const current = await this.r.version(tx, ctx, p, p.version);
          if (current.hash !== seen.hash)
            throw new CountersignError(
              'APPROVAL_HASH_MISMATCH',
              `${p.id} changed since it was shown: version ${p.version} has hash ${current.hash}, not ${seen.hash}. Review the current version.`,
              { proposal_id: p.id, version: p.version, hash: current.hash, seen_hash: seen.hash },
            );
        }
        return this.review(tx, ctx, args);
      },
      { last: true },
    );
  }

  /**
   * One decision on a proposal's current version. Separation of duties (authority.ts): the
   * reviewer is neither the proposer nor the author of this version (an editor, or the
   * proposer revising). An edit proposes a new version, which needs its own approvals from
   * others, unless a policy explicitly lets the editor's edit stand as its approval
   * (`proposal.approve_own_edit` on the tool).
   */
  async review(tx: StoreTx, ctx: CallContext, args: ReturnType<typeof S.reviewActionInput.parse>) {
    const proposal = await this.r.proposal(tx, ctx, args.proposal_id);
    const reviewer = await this.r.actor(tx, ctx, args.reviewer_id, 'reviewer_id');
    assertActsAs(ctx, reviewer.id, 'reviewer_id');
    const current = await this.r.version(tx, ctx, proposal, proposal.version);
    const decisions = await tx.listDecisions(ctx.tenant_id, proposal.id);
    assertMayDecide({
      decider: reviewer,
      authors: authorsOf(proposal, current),
      roles: [],
      earlier: [],
      subject: { type: 'proposal', id: proposal.id },
    });
    if (proposal.status !== 'pending')
      throw new CountersignError(
        'INVALID_STATE',
        `${proposal.id} is ${proposal.status}; only a pending proposal can be reviewed.`,
        { proposal_id: proposal.id, status: proposal.status },
      );
    const tool = this.r.tool(proposal.tool);
    this.r.require(
      ctx,
      actorPrincipal(reviewer),
      'proposal.review',
      proposalResource(proposal, tool),
      proposal.workflow_id,
    );
    assertMayDecide({
      decider: reviewer,
      authors: [],
      roles: proposal.required_roles,
      earlier: decisions.filter((d) => d.version === proposal.version).map((d) => d.reviewer_id),
      subject: { type: 'proposal', id: proposal.id },
    });
    const now = this.r.clock.now();

    if (args.decision === 'edit') {
      const edited = this.r.validParams(
        tool,
        deepMerge(current.params, args.edits!.params),
        'edits.params',
      );
      const proposer = await this.r.actor(tx, ctx, proposal.proposer_id, 'proposer');
      const policy = this.r.require(
        ctx,
        actorPrincipal(proposer),
        'proposal.create',
        { type: 'Tool', id: tool.name, risk: tool.risk },
        proposal.workflow_id,
      );
      const editStands =
        this.r.decide(
          ctx,
          actorPrincipal(reviewer),
          'proposal.approve_own_edit',
          { type: 'Tool', id: tool.name, risk: tool.risk },
          proposal.workflow_id,
        ).effect !== 'deny';
      const version = proposal.version + 1;
      const hash = callHash(tool.name, edited);
      // An edited call gets its own sentence: the one the reviewer read described the old call.
      const description = describeCall(tool, edited);
      await tx.insertVersion({
        tenant_id: ctx.tenant_id,
        proposal_id: proposal.id,
        version,
        params: edited,
        hash,
        origin: 'edited',
        author_id: reviewer.id,
        created_at: now,
        ...(description === null ? {} : { description }),
      });
      // The edit is a decision on the version the reviewer saw; the new version is the
      // reviewer's proposal. It counts as an approval only where policy says so explicitly.
      const decision = await insertDecision(
        tx,
        ctx,
        proposal,
        current.version,
        current.hash,
        reviewer.id,
        'edit',
        {
          reviewer_role: reviewer.role,
          comment: args.comment,
          edits: args.edits!.params,
          policy_version: policy.policy_version,
          now,
        },
      );
      if (editStands)
        await insertDecision(tx, ctx, proposal, version, hash, reviewer.id, 'approve', {
          reviewer_role: reviewer.role,
          comment: 'the edit stands as its approval (policy: proposal.approve_own_edit)',
          edits: null,
          policy_version: policy.policy_version,
          now,
        });
      const rule = withQuorum({
        required_approvals: Math.max(policy.approvals, 1),
        required_roles: policy.roles,
        role_quorum: policy.quorum,
      });
      const required = rule.required_approvals;
      const tally = await tallyProposal(
        tx,
        { ...proposal, ...rule, role_quorum: rule.role_quorum },
        editStands ? [{ ...decision, version, decision: 'approve' }] : [],
        version,
      );
      const received = tally.received;
      const approved = tally.satisfied;
      const next: Proposal = {
        ...proposal,
        version,
        status: approved ? 'approved' : 'pending',
        required_approvals: required,
        required_roles: rule.required_roles,
        role_quorum: rule.role_quorum,
        approved_version: approved ? version : null,
        approved_hash: approved ? hash : null,
        policy_version: policy.policy_version,
        updated_at: now,
      };
      await tx.updateProposal(next);
      await this.r.append(tx, ctx, {
        type: EVENT_TYPES.APPROVAL_DECISION,
        actor: reviewer.id,
        workflow_id: proposal.workflow_id,
        data: {
          decision_id: decision.id,
          proposal_id: proposal.id,
          decision: 'edit',
          edited_from: { version: current.version, hash: current.hash },
          version,
          params: edited,
          hash,
          ...(description === null ? {} : { description }),
          comment: args.comment ?? null,
          status: next.status,
          approvals: { received, required },
          ...quorumRecord(next, tally),
          edit_stands_as_approval: editStands,
          policy: policySummary(policy),
          token: tokenRecord(ctx),
          purpose: ctx.purpose,
        },
      });
      if (!approved) await recordApprovalRequest(this.r, tx, ctx, next, hash, reviewer.id);
      return reviewResult(next, tool.name, edited, hash, tally);
    }

    const decision = await insertDecision(
      tx,
      ctx,
      proposal,
      current.version,
      current.hash,
      reviewer.id,
      args.decision,
      {
        reviewer_role: reviewer.role,
        comment: args.comment,
        edits: null,
        policy_version: this.r.policy.version,
        now,
      },
    );
    const tally = await tallyProposal(tx, proposal, [...decisions, decision]);
    const received = tally.received;
    let status: Proposal['status'];
    if (args.decision === 'reject') status = 'rejected';
    else if (args.decision === 'request_more_info') status = 'needs_info';
    else status = tally.satisfied ? 'approved' : 'pending';
    const approved = status === 'approved';
    const next: Proposal = {
      ...proposal,
      status,
      approved_version: approved ? current.version : null,
      approved_hash: approved ? current.hash : null,
      updated_at: now,
    };
    await tx.updateProposal(next);
    await this.r.append(tx, ctx, {
      type: EVENT_TYPES.APPROVAL_DECISION,
      actor: reviewer.id,
      workflow_id: proposal.workflow_id,
      data: {
        decision_id: decision.id,
        proposal_id: proposal.id,
        decision: args.decision,
        version: current.version,
        hash: current.hash,
        comment: args.comment ?? null,
        status,
        approvals: { received, required: proposal.required_approvals },
        ...quorumRecord(next, tally),
        token: tokenRecord(ctx),
        purpose: ctx.purpose,
      },
    });
    return reviewResult(next, tool.name, current.params, current.hash, tally);
  }
}

function reviewResult(p: Proposal, tool: string, params: JsonObject, hash: string, t: Tally) {
  return {
    status: p.status,
    final_tool_call: { tool, params, hash, version: p.version },
    approvals: { received: t.received, required: p.required_approvals },
    missing: p.status === 'pending' ? t.missing : {},
  };
}
