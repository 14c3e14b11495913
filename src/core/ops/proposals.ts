import { callHash } from '../canonical.js';
import { describeCall } from '../describe-call.js';
import { type Author, assertActsAs } from '../authority.js';
import { type CallContext, actorPrincipal, assertContext } from '../context.js';
import { CountersignError } from '../errors.js';
import { EVENT_TYPES } from '../ledger.js';
import type { Decision, Execution, JsonObject, Proposal, ProposalVersion } from '../model.js';
import type { PolicyRequest } from '../ports/policy.js';
import type { StoreTx } from '../ports/store.js';
import type { ToolDefinition } from '../ports/tools.js';
import * as S from '../schemas.js';
import { parseInput } from '../validation.js';
import type { RoleQuorum } from '../quorum.js';
import { recordApprovalRequest, recordPolicyAllowance, tallyProposal } from './decisions.js';
import { type Refusal, type Rules, policySummary } from './rules.js';
import { assertOutsideRun } from './run-guard.js';

export interface ProposalView {
  readonly proposal: Proposal;
  readonly final_tool_call: {
    tool: string;
    params: JsonObject;
    hash: string;
    version: number;
    /** The tool's sentence for this version; null when the tool has no describe(). */
    description: string | null;
  };
  readonly versions: readonly ProposalVersion[];
  readonly decisions: readonly Decision[];
  readonly executions: readonly Execution[];
}

export interface PendingReview {
  readonly proposal_id: string;
  readonly workflow_id: string;
  readonly tool: string;
  readonly risk: string;
  readonly proposer_id: string;
  readonly authors: readonly string[];
  readonly reason: string;
  readonly version: number;
  readonly params: JsonObject;
  readonly hash: string;
  /** What the call will do in one sentence, stored with this version; null without describe(). */
  readonly description: string | null;
  readonly approvals: { received: number; required: number };
  readonly required_roles: readonly string[];
  /** Approvals per role, when the policy set a quorum. */
  readonly role_quorum?: RoleQuorum;
  /** What is still needed (quorum.ts Tally.missing), e.g. `{ security: 1 }`. */
  readonly missing: Readonly<Record<string, number>>;
  readonly waiting_since: string;
}

/**
 * Proposals: an agent proposes a tool call in a workflow, policy allows it outright or asks
 * for approvals, and the proposer revises it when a reviewer sends it back. Reviews are in
 * reviews.ts, executions in executions.ts.
 */
export class ProposalOps {
  constructor(private readonly r: Rules) {}

  // ---- propose_action -------------------------------------------------------------------

  async proposeAction(ctx: CallContext, input: S.ProposeActionInput) {
    assertContext(ctx);
    const args = parseInput(S.proposeActionInput, input, 'propose_action input');
    const refusal: Refusal = {
      workflow_id: args.workflow_id,
      actor: args.actor_id,
      operation: 'propose_action',
      subject: { tool: args.tool, params_hash: callHash(args.tool, args.params) },
    };
    return this.r.recording(
      ctx,
      refusal,
      async (tx) => {
        await this.planOnlyPolicy(tx, ctx, args);
        await assertOutsideRun(tx, ctx, args.workflow_id, 'propose_action');
        return this.propose(tx, ctx, args);
      },
      { last: true },
    );
  }

  /**
   * A call proposed at the door into a plan-only run is put to policy first, with the run's
   * archetype, so a call that would write is denied by policy (`plan-only-runs-read`) and the
   * denial recorded, before the run's own guard refuses the door.
   */
  private async planOnlyPolicy(
    tx: StoreTx,
    ctx: CallContext,
    args: ReturnType<typeof S.proposeActionInput.parse>,
  ): Promise<void> {
    const archetype = await this.r.archetypeOf(tx, ctx, args.workflow_id);
    if (!archetype) return;
    const actor = await this.r.actor(tx, ctx, args.actor_id, 'actor_id');
    assertActsAs(ctx, actor.id, 'actor_id');
    const tool = this.r.tool(args.tool);
    this.r.require(
      ctx,
      actorPrincipal(actor),
      'proposal.create',
      { type: 'Tool', id: tool.name, risk: tool.risk },
      args.workflow_id,
      archetype,
    );
  }

  /** Proposes a call inside the caller's transaction (a run's step does, through workflow-ops). */
  async propose(
    tx: StoreTx,
    ctx: CallContext,
    args: ReturnType<typeof S.proposeActionInput.parse>,
  ) {
    const workflow = await this.r.openWorkflow(tx, ctx, args.workflow_id);
    const actor = await this.r.actor(tx, ctx, args.actor_id, 'actor_id');
    assertActsAs(ctx, actor.id, 'actor_id');
    const tool = this.r.tool(args.tool);
    const params = this.r.validParams(tool, args.params, 'params');
    const decision = this.r.require(
      ctx,
      actorPrincipal(actor),
      'proposal.create',
      {
        type: 'Tool',
        id: tool.name,
        risk: tool.risk,
      },
      workflow.id,
      await this.r.archetypeOf(tx, ctx, workflow.id),
    );

    const now = this.r.clock.now();
    const id = await tx.nextId(ctx.tenant_id, 'proposal');
    const hash = callHash(tool.name, params);
    const description = describeCall(tool, params);
    const allowed = decision.effect === 'allow';
    const proposal: Proposal = {
      tenant_id: ctx.tenant_id,
      id,
      workflow_id: workflow.id,
      proposer_id: actor.id,
      tool: tool.name,
      reason: args.reason,
      status: allowed ? 'approved' : 'pending',
      version: 1,
      required_approvals: decision.approvals,
      required_roles: decision.roles,
      ...(decision.quorum ? { role_quorum: decision.quorum } : {}),
      approved_version: allowed ? 1 : null,
      approved_hash: allowed ? hash : null,
      policy_version: decision.policy_version,
      created_at: now,
      updated_at: now,
    };
    await tx.insertProposal(proposal);
    await tx.insertVersion({
      tenant_id: ctx.tenant_id,
      proposal_id: id,
      version: 1,
      params,
      hash,
      origin: 'proposed',
      author_id: actor.id,
      created_at: now,
      ...(description === null ? {} : { description }),
    });
    await this.r.append(tx, ctx, {
      type: EVENT_TYPES.ACTION_PROPOSED,
      actor: actor.id,
      workflow_id: workflow.id,
      data: {
        proposal_id: id,
        version: 1,
        tool: tool.name,
        risk: tool.risk,
        params,
        hash,
        // Only tools with a describe() add the key: the built-in tools' events stay as they were.
        ...(description === null ? {} : { description }),
        reason: args.reason,
        policy: policySummary(decision),
      },
    });
    if (allowed) await recordPolicyAllowance(this.r, tx, ctx, proposal, hash, decision);
    else await recordApprovalRequest(this.r, tx, ctx, proposal, hash);
    return {
      proposal_id: id,
      status: proposal.status as 'pending' | 'approved',
      hash,
      required_approvals: decision.approvals,
      required_roles: [...decision.roles],
      ...(decision.quorum ? { role_quorum: { ...decision.quorum } } : {}),
    };
  }

  // ---- revise_action (the proposer answers request_more_info) ----------------------------

  async reviseAction(ctx: CallContext, input: S.ReviseActionInput) {
    assertContext(ctx);
    const args = parseInput(S.reviseActionInput, input, 'revise_action input');
    return this.r.recording(
      ctx,
      {
        workflow_id: { of_proposal: args.proposal_id },
        actor: args.actor_id,
        operation: 'revise_action',
        subject: { proposal_id: args.proposal_id },
      },
      async (tx) => {
        const p = await this.r.proposal(tx, ctx, args.proposal_id);
        await assertOutsideRun(tx, ctx, p.workflow_id, 'revise_action', p.id);
        const actor = await this.r.actor(tx, ctx, args.actor_id, 'actor_id');
        assertActsAs(ctx, actor.id, 'actor_id');
        if (actor.id !== p.proposer_id)
          throw new CountersignError(
            'POLICY_DENIED',
            `Only the proposer (${p.proposer_id}) may revise ${p.id}; reviewers use review_action with "edit".`,
            { proposal_id: p.id },
          );
        if (p.status !== 'needs_info')
          throw new CountersignError(
            'INVALID_STATE',
            `${p.id} is ${p.status}; only a proposal a reviewer sent back (needs_info) can be revised.`,
            { proposal_id: p.id, status: p.status },
          );
        await this.r.openWorkflow(tx, ctx, p.workflow_id);
        const tool = this.r.tool(p.tool);
        const params = this.r.validParams(tool, args.params, 'params');
        const policy = this.r.require(
          ctx,
          actorPrincipal(actor),
          'proposal.create',
          { type: 'Tool', id: tool.name, risk: tool.risk },
          p.workflow_id,
        );
        const now = this.r.clock.now();
        const version = p.version + 1;
        const hash = callHash(tool.name, params);
        const description = describeCall(tool, params);
        await tx.insertVersion({
          tenant_id: ctx.tenant_id,
          proposal_id: p.id,
          version,
          params,
          hash,
          origin: 'revised',
          author_id: actor.id,
          created_at: now,
          ...(description === null ? {} : { description }),
        });
        const allowed = policy.effect === 'allow';
        const next: Proposal = {
          ...p,
          version,
          status: allowed ? 'approved' : 'pending',
          reason: args.reason ?? p.reason,
          required_approvals: policy.approvals,
          required_roles: policy.roles,
          role_quorum: policy.quorum,
          approved_version: allowed ? version : null,
          approved_hash: allowed ? hash : null,
          policy_version: policy.policy_version,
          updated_at: now,
        };
        await tx.updateProposal(next);
        await this.r.append(tx, ctx, {
          type: EVENT_TYPES.ACTION_REVISED,
          actor: actor.id,
          workflow_id: p.workflow_id,
          data: {
            proposal_id: p.id,
            version,
            params,
            hash,
            ...(description === null ? {} : { description }),
            reason: next.reason,
            policy: policySummary(policy),
          },
        });
        if (allowed) await recordPolicyAllowance(this.r, tx, ctx, next, hash, policy);
        else await recordApprovalRequest(this.r, tx, ctx, next, hash);
        return { proposal_id: p.id, status: next.status, version, hash };
      },
      { last: true },
    );
  }

  // ---- reads ----------------------------------------------------------------------------

  async getProposal(ctx: CallContext, input: { proposal_id: string }): Promise<ProposalView> {
    assertContext(ctx);
    const args = parseInput(S.getProposalInput, input, 'get_proposal input');
    const read = () =>
      this.r.store.read(async (tx) => {
        const proposal = await this.r.proposal(tx, ctx, args.proposal_id);
        this.r.require(
          ctx,
          await this.r.principalOf(tx, ctx),
          'workflow.read',
          { type: 'Workflow', id: proposal.workflow_id },
          proposal.workflow_id,
        );
        const versions = await tx.listVersions(ctx.tenant_id, proposal.id);
        const current = versions.find((v) => v.version === proposal.version);
        if (!current)
          throw new CountersignError(
            'INTERNAL',
            `${proposal.id} has no version ${proposal.version}`,
          );
        return {
          proposal,
          final_tool_call: {
            tool: proposal.tool,
            params: current.params,
            hash: current.hash,
            version: current.version,
            description: current.description ?? null,
          },
          versions,
          decisions: await tx.listDecisions(ctx.tenant_id, proposal.id),
          executions: await tx.listExecutions(ctx.tenant_id, proposal.id),
        };
      });
    return this.r.reads.get(ctx, 'get_proposal', args.proposal_id, read);
  }

  async listPendingReviews(
    ctx: CallContext,
    input: S.ListPendingReviewsInput = {},
  ): Promise<{ reviews: PendingReview[] }> {
    assertContext(ctx);
    const args = parseInput(S.listPendingReviewsInput, input, 'list_pending_reviews input');
    const now = Date.parse(this.r.clock.now());
    const updated_before =
      args.min_age_seconds === undefined
        ? undefined
        : // An age beyond the epoch matches nothing (and stays a valid date).
          new Date(Math.max(now - args.min_age_seconds * 1000, 0)).toISOString();
    return this.r.store.read(async (tx) => {
      this.r.require(ctx, await this.r.principalOf(tx, ctx), 'workflow.read', {
        type: 'Tenant',
        id: ctx.tenant_id,
      });
      const pending = await tx.listProposals(ctx.tenant_id, {
        status: 'pending',
        workflow_id: args.workflow_id,
        tool: args.tool,
        updated_before,
        outside_runs: true,
        limit: args.limit ?? 100,
      });
      const reviews: PendingReview[] = [];
      for (const p of pending) {
        const version = await this.r.version(tx, ctx, p, p.version);
        const decisions = await tx.listDecisions(ctx.tenant_id, p.id);
        const tally = await tallyProposal(tx, p, decisions);
        reviews.push({
          proposal_id: p.id,
          workflow_id: p.workflow_id,
          tool: p.tool,
          risk: this.r.tools.get(p.tool)?.risk ?? 'write',
          proposer_id: p.proposer_id,
          authors: authorsOf(p, version).map((a) => a.id),
          reason: p.reason,
          version: p.version,
          params: version.params,
          hash: version.hash,
          description: version.description ?? null,
          approvals: { received: tally.received, required: p.required_approvals },
          required_roles: p.required_roles,
          ...(p.role_quorum ? { role_quorum: p.role_quorum } : {}),
          missing: tally.missing,
          waiting_since: p.updated_at,
        });
      }
      return { reviews };
    });
  }
}

/** Who wrote a version: its proposer, and its editor or reviser when that is someone else. */
export function authorsOf(p: Proposal, v: ProposalVersion): Author[] {
  const authors: Author[] = [{ id: p.proposer_id, as: 'proposer' }];
  if (v.author_id !== p.proposer_id) authors.push({ id: v.author_id, as: 'editor' });
  return authors;
}

/** How policy sees a proposal. */
export function proposalResource(p: Proposal, tool: ToolDefinition): PolicyRequest['resource'] {
  return {
    type: 'Proposal',
    id: p.id,
    tool: p.tool,
    risk: tool.risk,
    proposer: p.proposer_id,
    workflow: p.workflow_id,
  };
}
