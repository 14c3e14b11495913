import { callHash } from '../canonical.js';
import { assertActsAs } from '../authority.js';
import { type CallContext, actorPrincipal, assertContext } from '../context.js';
import { CountersignError } from '../errors.js';
import { EVENT_TYPES } from '../ledger.js';
import type { Execution, JsonObject, Proposal, ProposalVersion } from '../model.js';
import type { StoreTx } from '../ports/store.js';
import type { ToolDefinition } from '../ports/tools.js';
import * as S from '../schemas.js';
import { parseInput } from '../validation.js';
import { isApproval } from './decisions.js';
import { type ProposalOps, proposalResource } from './proposals.js';
import { type Refusal, type Rules, policySummary, principalIdOf } from './rules.js';
import { assertOutsideRun } from './run-guard.js';
import { dryRunSetting } from './settings.js';

/**
 * The executor: runs exactly the call that was approved, re-checking its hash against the
 * proposal and every approving decision, at most once for a tool that is not idempotent.
 * execute_parallel runs many such calls with bounded concurrency.
 */
export class ExecutionOps {
  /**
   * Executions of one proposal queue behind each other in this process, so a concurrent retry
   * waits for the first and gets its result. Across processes the store's unique live-execution
   * key is the guard (the loser gets CONFLICT, which is retryable).
   */
  private readonly executionQueues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly r: Rules,
    private readonly proposals: ProposalOps,
    /** Default bound on concurrent calls in execute_parallel. */
    private readonly maxParallel: number,
  ) {}

  // ---- execute_action -------------------------------------------------------------------

  async executeAction(
    ctx: CallContext,
    input: S.ExecuteActionInput,
  ): Promise<{ execution_id: string; result: S.ExecutionResult }> {
    assertContext(ctx);
    const args = parseInput(S.executeActionInput, input, 'execute_action input');
    const { execution_id, ...result } = await this.execute(
      ctx,
      args.proposal_id,
      args.dry_run ?? false,
    );
    return { execution_id, result };
  }

  private execute(
    ctx: CallContext,
    proposal_id: string,
    requestedDryRun: boolean,
  ): Promise<S.ExecutionResult & { execution_id: string }> {
    const key = `${ctx.tenant_id}/${proposal_id}`;
    const previous = this.executionQueues.get(key) ?? Promise.resolve();
    const run = previous.then(() => this.executeNow(ctx, proposal_id, requestedDryRun));
    const settled = run.catch(() => undefined);
    this.executionQueues.set(key, settled);
    void settled.then(() => {
      if (this.executionQueues.get(key) === settled) this.executionQueues.delete(key);
    });
    return run;
  }

  private async executeNow(
    ctx: CallContext,
    proposal_id: string,
    requestedDryRun: boolean,
  ): Promise<S.ExecutionResult & { execution_id: string }> {
    const refusal: Refusal = {
      workflow_id: { of_proposal: proposal_id },
      actor: principalIdOf(ctx),
      operation: 'execute_action',
      subject: { proposal_id },
    };
    // Phase 1: check the approval binding and claim the execution.
    const claim = await this.r.recording(ctx, refusal, (tx) =>
      this.claim(tx, ctx, proposal_id, requestedDryRun),
    );
    if (claim.kind === 'done') return claim.result;
    if (claim.kind === 'running') {
      const e = new CountersignError(
        'EXECUTION_IN_DOUBT',
        `${claim.execution.id} of ${proposal_id} started at ${claim.execution.started_at} and has not finished: ` +
          'another process may still be running it, or it stopped mid-call and the tool may or may not have run. ' +
          'A human must check the target and reconcile; it is not re-run.',
        { execution_id: claim.execution.id, proposal_id },
      );
      await this.r.recordRefusal(ctx, refusal, e);
      throw e;
    }
    // Phase 2: run the tool and record the outcome.
    return this.runClaim(ctx, claim);
  }

  private async claim(
    tx: StoreTx,
    ctx: CallContext,
    proposal_id: string,
    requestedDryRun: boolean,
  ): Promise<Claim> {
    const proposal = await this.r.proposal(tx, ctx, proposal_id);
    // A plan-only run executes nothing, whoever asks and through whichever door — except the
    // reads its own agents make while planning (a step of the run: only the engine sets an
    // invocation under the run's ID; no door can). A read changes nothing.
    const archetype = await this.r.archetypeOf(tx, ctx, proposal.workflow_id);
    const ownRead =
      ctx.agent_invocation_id?.startsWith(`${proposal.workflow_id}.`) === true &&
      this.r.tool(proposal.tool).risk === 'read';
    if (archetype === 'proposal_only' && !ownRead)
      throw new CountersignError(
        'PLAN_ONLY',
        `${proposal.id} belongs to ${proposal.workflow_id}, a plan-only workflow run: nothing is executed in it. ` +
          'Approve its plan, then start a run that executes it.',
        { proposal_id: proposal.id, workflow_id: proposal.workflow_id },
      );
    // A run's calls run only as steps of that run (under an invocation it generated).
    if (!ctx.agent_invocation_id?.startsWith(`${proposal.workflow_id}.`))
      await assertOutsideRun(tx, ctx, proposal.workflow_id, 'execute_action', proposal.id);
    const tool = this.r.tool(proposal.tool);
    const principal = await this.r.principalOf(tx, ctx);
    this.r.require(
      ctx,
      principal,
      'proposal.execute',
      proposalResource(proposal, tool),
      proposal.workflow_id,
      archetype,
    );
    this.r.require(
      ctx,
      principal,
      'tool.invoke',
      { type: 'Tool', id: tool.name, risk: tool.risk },
      proposal.workflow_id,
      archetype,
    );
    if (proposal.status === 'pending' || proposal.status === 'needs_info')
      throw new CountersignError(
        'REVIEW_REQUIRED',
        `${proposal.id} is ${proposal.status}: it needs ${proposal.required_approvals} approval(s)${
          proposal.role_quorum
            ? ` (${Object.entries(proposal.role_quorum)
                .map(([role, n]) => `${n} from ${role}`)
                .join(', ')})`
            : ''
        } before it can run.${
          requestedDryRun
            ? ` A dry run of an approved call rehearses that approval; to see what this call would change before anyone approves it, ask for its plan (plan_action, \`countersign plan ${proposal.id}\`).`
            : ''
        }`,
        { proposal_id: proposal.id, status: proposal.status },
      );
    if (
      proposal.status === 'rejected' ||
      proposal.approved_version === null ||
      proposal.approved_hash === null
    )
      throw new CountersignError(
        'INVALID_STATE',
        `${proposal.id} is ${proposal.status} and cannot run.`,
        {
          proposal_id: proposal.id,
          status: proposal.status,
        },
      );
    const version = await this.r.version(tx, ctx, proposal, proposal.approved_version);
    await this.assertBinding(tx, ctx, proposal, version);
    const dryRun = requestedDryRun || (await dryRunSetting(tx, ctx.tenant_id));
    const params = this.r.validParams(tool, version.params, 'params');

    if (!dryRun) {
      const existing = await tx.findLiveExecution(ctx.tenant_id, proposal.id, version.version);
      if (existing?.status === 'started') return { kind: 'running', execution: existing, version };
      if (existing) return { kind: 'done', result: resultOf(existing) };
    }
    const base = { proposal, version, tool, params, dryRun };
    if (dryRun || tool.idempotent) return { kind: 'run', ...base, execution_id: null };
    // A tool that is not idempotent is claimed before it runs, so that a crash between start
    // and finish is visible and never silently repeated.
    const execution_id = await tx.nextId(ctx.tenant_id, 'execution');
    const started = this.newExecution(ctx, execution_id, base);
    await tx.insertExecution(started);
    await this.appendToolInvoke(tx, ctx, started);
    return { kind: 'run', ...base, execution_id };
  }

  private async runClaim(
    ctx: CallContext,
    claim: RunClaim,
  ): Promise<S.ExecutionResult & { execution_id: string }> {
    const { proposal, version, tool, params, dryRun } = claim;
    const toolCtx = {
      tenant_id: ctx.tenant_id,
      workflow_id: proposal.workflow_id,
      proposal_id: proposal.id,
      execution_id: claim.execution_id ?? `${proposal.id}.v${version.version}`,
      idempotency_key: `${ctx.tenant_id}:${proposal.id}:v${version.version}`,
      now: this.r.clock.now(),
    };
    let output: JsonObject | null = null;
    let error: JsonObject | null = null;
    try {
      const out = dryRun ? await tool.plan(params, toolCtx) : await tool.apply(params, toolCtx);
      const checked = S.jsonObject.safeParse(out);
      if (!checked.success)
        throw new Error(`tool ${tool.name} returned something other than a JSON object`);
      output = checked.data;
    } catch (e) {
      error = { message: e instanceof Error ? e.message : String(e) };
      if (e instanceof CountersignError) error = { code: e.code, message: e.message };
    }
    const status: Execution['status'] = error ? 'failed' : dryRun ? 'simulated' : 'succeeded';
    return this.r.store.transaction(async (tx) => {
      let execution: Execution;
      if (claim.execution_id) {
        const started = await tx.getExecution(ctx.tenant_id, claim.execution_id);
        if (!started)
          throw new CountersignError('INTERNAL', `claimed ${claim.execution_id} vanished`);
        execution = { ...started, status, output, error, finished_at: this.r.clock.now() };
        await tx.finishExecution(execution);
      } else {
        if (!dryRun) {
          // An idempotent tool is recorded after it ran; a concurrent run may have won.
          const winner = await tx.findLiveExecution(ctx.tenant_id, proposal.id, version.version);
          if (winner) return resultOf(winner);
        }
        const id = await tx.nextId(ctx.tenant_id, 'execution');
        const started = this.newExecution(ctx, id, claim);
        execution = { ...started, status, output, error, finished_at: this.r.clock.now() };
        await tx.insertExecution(execution);
        await this.appendToolInvoke(tx, ctx, started);
      }
      if (!dryRun) {
        await tx.updateProposal({
          ...proposal,
          status: error ? 'failed' : 'executed',
          updated_at: execution.finished_at ?? proposal.updated_at,
        });
      }
      await this.r.append(tx, ctx, {
        type: EVENT_TYPES.ACTION_EXECUTED,
        actor: principalIdOf(ctx),
        workflow_id: proposal.workflow_id,
        data: {
          execution_id: execution.id,
          proposal_id: proposal.id,
          version: version.version,
          tool: tool.name,
          hash: version.hash,
          dry_run: dryRun,
          status,
          output,
          error,
        },
      });
      return resultOf(execution);
    });
  }

  private newExecution(
    ctx: CallContext,
    id: string,
    c: {
      proposal: Proposal;
      version: ProposalVersion;
      tool: ToolDefinition;
      params: JsonObject;
      dryRun: boolean;
    },
  ): Execution {
    return {
      tenant_id: ctx.tenant_id,
      id,
      workflow_id: c.proposal.workflow_id,
      proposal_id: c.proposal.id,
      version: c.version.version,
      tool: c.tool.name,
      params: c.params,
      hash: c.version.hash,
      dry_run: c.dryRun,
      status: 'started',
      output: null,
      error: null,
      started_at: this.r.clock.now(),
      finished_at: null,
    };
  }

  private appendToolInvoke(tx: StoreTx, ctx: CallContext, e: Execution): Promise<void> {
    return this.r.append(tx, ctx, {
      type: EVENT_TYPES.TOOL_INVOKE,
      actor: principalIdOf(ctx),
      workflow_id: e.workflow_id,
      data: {
        execution_id: e.id,
        proposal_id: e.proposal_id,
        version: e.version,
        tool: e.tool,
        hash: e.hash,
        dry_run: e.dry_run,
        workflow_id: e.workflow_id,
        agent_invocation_id: ctx.agent_invocation_id ?? null,
        purpose: ctx.purpose,
      },
    });
  }

  /** Recomputes the call's hash and checks it against the proposal and every approving decision. */
  private async assertBinding(
    tx: StoreTx,
    ctx: CallContext,
    proposal: Proposal,
    version: ProposalVersion,
  ) {
    const recomputed = callHash(proposal.tool, version.params);
    const approvals = (await tx.listDecisions(ctx.tenant_id, proposal.id)).filter(
      (d) => d.version === version.version && isApproval(d.decision),
    );
    const bound = [proposal.approved_hash, version.hash, ...approvals.map((d) => d.hash)];
    if (approvals.length === 0 || bound.some((h) => h !== recomputed))
      throw new CountersignError(
        'APPROVAL_HASH_MISMATCH',
        `${proposal.id} version ${version.version} no longer matches the call that was approved; it will not run.`,
        {
          proposal_id: proposal.id,
          version: version.version,
          expected: proposal.approved_hash,
          actual: recomputed,
        },
      );
  }

  // ---- execute_parallel -----------------------------------------------------------------

  async executeParallel(ctx: CallContext, input: S.ExecuteParallelInput) {
    assertContext(ctx);
    const args = parseInput(S.executeParallelInput, input, 'execute_parallel input');
    const results: S.ParallelCallResult[] = [];
    let next = 0;
    // Each call answers for itself; a keyed request's answer is the whole batch's, kept below.
    const each: CallContext = { ...ctx, reply: undefined };
    const worker = async () => {
      while (next < args.calls.length) {
        const index = next++;
        const call = args.calls[index]!;
        results[index] = await this.parallelCall(each, index, call, args);
      }
    };
    const width = Math.min(args.max_concurrency ?? this.maxParallel, args.calls.length);
    await Promise.all(Array.from({ length: width }, worker));

    const workflows = new Set<string>();
    return this.r.final(ctx, async (tx) => {
      // A refused call may name a proposal that does not exist: it has no workflow to add.
      for (const r of results) {
        const p = r.proposal_id ? await tx.getProposal(ctx.tenant_id, r.proposal_id) : undefined;
        if (p) workflows.add(p.workflow_id);
      }
      const workflow_id = args.workflow_id ?? (workflows.size === 1 ? [...workflows][0]! : null);
      const parallel_id = await tx.nextId(ctx.tenant_id, 'parallel');
      await this.r.append(tx, ctx, {
        type: EVENT_TYPES.PARALLEL_EXECUTED,
        actor: principalIdOf(ctx),
        workflow_id,
        data: {
          parallel_id,
          results: results.map((r) => ({
            index: r.index,
            tool: r.tool,
            status: r.status,
            proposal_id: r.proposal_id,
            execution_id: r.execution_id,
            error_code: r.error?.code ?? null,
          })),
        },
      });
      return { parallel_id, results };
    });
  }

  private async parallelCall(
    ctx: CallContext,
    index: number,
    call: { tool: string; params: JsonObject; proposal_id?: string | undefined },
    args: {
      workflow_id?: string | undefined;
      actor_id?: string | undefined;
      dry_run?: boolean | undefined;
    },
  ): Promise<S.ParallelCallResult> {
    let proposal_id: string | null = call.proposal_id ?? null;
    try {
      proposal_id = await this.resolveParallelCall(ctx, call, args);
      const { execution_id, ...result } = await this.execute(
        ctx,
        proposal_id,
        args.dry_run ?? false,
      );
      return {
        index,
        tool: call.tool,
        status: result.status,
        proposal_id,
        execution_id,
        result,
        error: null,
      };
    } catch (e) {
      const err = e instanceof CountersignError ? e : new CountersignError('INTERNAL', String(e));
      return {
        index,
        tool: call.tool,
        status: 'refused',
        proposal_id,
        execution_id: null,
        result: null,
        error: { code: err.code, message: err.message },
      };
    }
  }

  /** Finds the approval a parallel call runs under, or creates one when policy needs no review. */
  private async resolveParallelCall(
    ctx: CallContext,
    call: { tool: string; params: JsonObject; proposal_id?: string | undefined },
    args: { workflow_id?: string | undefined; actor_id?: string | undefined },
  ): Promise<string> {
    const hash = callHash(call.tool, call.params);
    if (call.proposal_id) {
      const p = await this.r.store.read((tx) => this.r.proposal(tx, ctx, call.proposal_id!));
      if (p.tool !== call.tool || (p.approved_hash !== null && p.approved_hash !== hash))
        throw new CountersignError(
          'APPROVAL_HASH_MISMATCH',
          `The call differs from the approved call of ${p.id}; run exactly what was approved.`,
          { proposal_id: p.id, expected: p.approved_hash, actual: hash },
        );
      return p.id;
    }
    const matches = await this.r.store.read((tx) => tx.findApprovedByHash(ctx.tenant_id, hash));
    if (matches[0]) return matches[0].id;
    const tool = this.r.tool(call.tool);
    if (!args.workflow_id || !args.actor_id)
      throw new CountersignError(
        'REVIEW_REQUIRED',
        `No approved proposal matches this ${call.tool} call; propose it and have it reviewed, ` +
          'or give workflow_id and actor_id so policy can allow it without review.',
        { tool: call.tool, hash },
      );
    const actor = await this.r.store.read((tx) =>
      this.r.actor(tx, ctx, args.actor_id!, 'actor_id'),
    );
    assertActsAs(ctx, actor.id, 'actor_id');
    const decision = this.r.decide(
      ctx,
      actorPrincipal(actor),
      'proposal.create',
      {
        type: 'Tool',
        id: tool.name,
        risk: tool.risk,
      },
      args.workflow_id,
    );
    if (decision.effect !== 'allow')
      throw new CountersignError(
        'REVIEW_REQUIRED',
        `Policy requires review for ${call.tool}; propose it and have it approved first.`,
        { tool: call.tool, hash, policy: policySummary(decision) },
      );
    const proposed = await this.proposals.proposeAction(ctx, {
      workflow_id: args.workflow_id,
      actor_id: actor.id,
      tool: call.tool,
      params: call.params,
      reason: 'execute_parallel call allowed by policy without review',
    });
    return proposed.proposal_id;
  }
}

type RunClaim = {
  kind: 'run';
  proposal: Proposal;
  version: ProposalVersion;
  tool: ToolDefinition;
  params: JsonObject;
  dryRun: boolean;
  execution_id: string | null;
};
type Claim =
  | RunClaim
  | { kind: 'done'; result: S.ExecutionResult & { execution_id: string } }
  | { kind: 'running'; execution: Execution; version: ProposalVersion };

function resultOf(e: Execution): S.ExecutionResult & { execution_id: string } {
  return {
    execution_id: e.id,
    status: e.status,
    tool: e.tool,
    output: e.output,
    error: e.error,
    dry_run: e.dry_run,
    hash: e.hash,
  };
}
