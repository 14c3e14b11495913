import { canonicalJson, gateHash, sha256Hex } from './canonical.js';
import { type Author, assertActsAs, assertMayDecide } from './authority.js';
import { type CallContext, actorPrincipal, assertContext } from './context.js';
import { CountersignError } from './errors.js';
import type { Kernel } from './kernel.js';
import { type Rules, notFound, principalIdOf, tokenRecord } from './ops/rules.js';
import { EVENT_TYPES, type EventType } from './ledger.js';
import type {
  ApprovalDecision,
  ApprovalRequest,
  ApprovalStatus,
  JsonObject,
  JsonValue,
  RunFilter,
  WorkflowRun,
} from './model.js';
import type { KnowledgeHit } from './ports/knowledge.js';
import type { PolicyAction } from './ports/policy.js';
import type { StoreReader, StoreTx } from './ports/store.js';
import {
  type RoleQuorum,
  type Tally,
  normalizeQuorum,
  tallyApprovals,
  withQuorum,
} from './quorum.js';
import { approversOf, quorumRecord } from './ops/decisions.js';
import { proposeActionInput, reviewActionInput } from './schemas.js';
import { parseInput } from './validation.js';
import * as W from './workflow-schemas.js';

/** The run's ID: the same tenant, definition and idempotency key always give the same run. */
export function runIdFor(tenant_id: string, definition: string, idempotency_key: string): string {
  return `run_${sha256Hex(canonicalJson([tenant_id, definition, idempotency_key])).slice(0, 20)}`;
}

/** A result a run observed (not an action) waiting to be recorded with its next effect. */
export interface PendingEffect {
  readonly seq: number;
  readonly kind: string;
  readonly result: JsonValue;
}

export interface NewRun {
  readonly definition: string;
  readonly definition_version: string;
  readonly title: string;
  readonly input: JsonObject;
  readonly idempotency_key: string;
  readonly stage: string;
  readonly allowed_tools: readonly string[];
  readonly case_id?: string | null | undefined;
  /** The definition's archetype (`proposal_only`: plan-only); policy and the kernel read it. */
  readonly archetype?: 'proposal_only' | undefined;
  /** The policy action starting it takes (default `workflow.start`). */
  readonly start_action?: StartAction | undefined;
}

/** The policy actions a run is started under: a plan's activation has its own. */
export type StartAction = Extract<PolicyAction, 'workflow.start' | 'plan.activate'>;

/** What a workflow effect may do inside its transaction. */
export interface EffectScope {
  readonly tx: StoreTx;
  readonly ctx: CallContext;
  /** The run as of the start of this effect; `update` changes it. */
  run(): WorkflowRun;
  update(patch: Partial<Omit<WorkflowRun, 'tenant_id' | 'id'>>): Promise<WorkflowRun>;
  record(type: EventType, data: JsonObject, actor?: string): Promise<void>;
  /** Proposes a governed call as `actor_id`, under the current agent invocation. */
  propose(input: {
    actor_id: string;
    tool: string;
    params: JsonObject;
    reason: string;
  }): ReturnType<Kernel['propose']>;
  /** Asks for a human decision; returns the existing request when the key was used before. */
  requestApproval(input: GateRequest): Promise<ApprovalRequest>;
  /** Policy check for an agent invocation (denied without a workflow context). */
  authorizeAgent(role: string, agent_invocation_id: string): Promise<void>;
  /** The tenant's actor for an agent role, registered on first use. */
  agentActor(role: string): Promise<string>;
  now(): string;
}

export interface GateRequest {
  readonly request_key: string;
  readonly title: string;
  readonly packet: JsonObject;
  readonly required_approvals: number;
  readonly required_roles: readonly string[];
  /** Approvals per role (quorum.ts); absent: any-of. */
  readonly role_quorum?: RoleQuorum | undefined;
  /** Who else may not decide it, beside the run's starter (e.g. a plan's requester). */
  readonly authors?: readonly string[] | undefined;
  readonly proposals: readonly { proposal_id: string; hash: string }[];
  readonly due_at: string | null;
  readonly on_timeout: JsonObject | null;
}

export interface PendingApproval {
  readonly kind: 'gate' | 'proposal';
  readonly id: string;
  readonly workflow_id: string;
  readonly title: string;
  readonly requested_by: string;
  /** Who wrote what is decided: none of them may decide it. */
  readonly authors: readonly string[];
  readonly required_roles: readonly string[];
  /** Approvals per role, when the gate or the policy set a quorum. */
  readonly role_quorum?: RoleQuorum;
  readonly approvals: { readonly received: number; readonly required: number };
  /** What is still needed (quorum.ts Tally.missing), e.g. `{ security: 1 }`. */
  readonly missing: Readonly<Record<string, number>>;
  readonly waiting_since: string;
  readonly due_at: string | null;
  readonly tool: string | null;
  readonly risk: string | null;
}

/**
 * The operations behind durable workflows: runs, their recorded effects, workflow gates and
 * the knowledge base. They use the kernel's rules (policy, identity, ledger) and, like the
 * kernel, commit every state change with its ledger event.
 */
export class WorkflowOps {
  private readonly k: Rules;

  constructor(readonly kernel: Kernel) {
    this.k = kernel.r;
  }

  get clock() {
    return this.k.clock;
  }

  // ---- runs -------------------------------------------------------------------------------

  /**
   * Refuses with POLICY_DENIED a caller whom policy does not allow `action` on the tenant, before
   * an operation reads or checks anything else (activate_plan asks for `plan.activate` first, so
   * a caller without it learns nothing about the plan and no read is made again for it).
   */
  async requireOnTenant(ctx: CallContext, action: PolicyAction): Promise<void> {
    assertContext(ctx);
    await this.k.store.read(async (tx) => {
      this.k.require(ctx, await this.k.principalOf(tx, ctx), action, {
        type: 'Tenant',
        id: ctx.tenant_id,
      });
    });
  }

  /** Creates the run (and its workflow) or returns the one the idempotency key started. */
  async createRun(ctx: CallContext, n: NewRun): Promise<{ run: WorkflowRun; created: boolean }> {
    assertContext(ctx);
    const id = runIdFor(ctx.tenant_id, n.definition, n.idempotency_key);
    const input_hash = sha256Hex(canonicalJson(n.input));
    return this.k.final(ctx, async (tx) => {
      const principal = await this.k.principalOf(tx, ctx);
      this.k.require(ctx, principal, n.start_action ?? 'workflow.start', {
        type: 'Tenant',
        id: ctx.tenant_id,
      });
      const existing = await tx.runs.getRun(ctx.tenant_id, id);
      if (existing) {
        if (existing.input_hash !== input_hash)
          throw new CountersignError(
            'IDEMPOTENCY_KEY_REUSED',
            `Idempotency key "${n.idempotency_key}" already started ${id} with a different input.`,
            { workflow_id: id },
          );
        return { run: existing, created: false };
      }
      const now = this.k.clock.now();
      await tx.insertWorkflow({
        tenant_id: ctx.tenant_id,
        id,
        title: n.title,
        status: 'open',
        idempotency_key: null,
        created_by: principal.id,
        created_at: now,
      });
      const context: W.WorkflowContext = {
        workflow_id: id,
        tenant_id: ctx.tenant_id,
        actor: principal.id,
        purpose: ctx.purpose,
        case_id: n.case_id ?? null,
        current_step: null,
        allowed_tools: [...n.allowed_tools],
        approval_required: false,
        ...(n.archetype ? { archetype: n.archetype } : {}),
      };
      const run: WorkflowRun = {
        tenant_id: ctx.tenant_id,
        id,
        definition: n.definition,
        definition_version: n.definition_version,
        status: 'running',
        stage: n.stage,
        input: n.input,
        context: context,
        artifacts: {},
        trace: [],
        waiting_on: null,
        wake_at: null,
        error: null,
        idempotency_key: n.idempotency_key,
        input_hash,
        started_by: principal.id,
        purpose: ctx.purpose,
        created_at: now,
        updated_at: now,
      };
      await tx.runs.insertRun(run);
      await this.k.append(tx, ctx, {
        type: EVENT_TYPES.WORKFLOW_STARTED,
        actor: principal.id,
        workflow_id: id,
        data: {
          workflow_id: id,
          definition: n.definition,
          definition_version: n.definition_version,
          title: n.title,
          idempotency_key: n.idempotency_key,
          input_hash,
          purpose: ctx.purpose,
        },
      });
      return { run, created: true };
    });
  }

  async getRun(ctx: CallContext, run_id: string): Promise<WorkflowRun> {
    assertContext(ctx);
    const id = parseInput(W.runStatusInput, { workflow_id: run_id }, 'workflow status input');
    return this.k.store.read(async (tx) => {
      const run = await this.run(tx, ctx.tenant_id, id.workflow_id);
      this.k.require(
        ctx,
        await this.k.principalOf(tx, ctx),
        'workflow.read',
        { type: 'Workflow', id: run.id },
        run.id,
      );
      return withMissing(tx, run);
    });
  }

  async listRuns(ctx: CallContext, input: unknown): Promise<WorkflowRun[]> {
    assertContext(ctx);
    const f = parseInput(W.listRunsInput, input ?? {}, 'list_runs input');
    return this.k.store.read(async (tx) => {
      this.k.require(ctx, await this.k.principalOf(tx, ctx), 'workflow.read', {
        type: 'Tenant',
        id: ctx.tenant_id,
      });
      const filter: RunFilter = {
        status: f.status,
        definition: f.definition,
        stage: f.stage,
        limit: f.limit ?? 50,
      };
      return tx.runs.listRuns(ctx.tenant_id, filter);
    });
  }

  /** For the runtime: the run and its recorded effects, without a policy check. */
  async loadRun(tenant_id: string, run_id: string) {
    return this.k.store.read(async (tx) => {
      const run = await this.run(tx, tenant_id, run_id);
      return { run, effects: await tx.runs.listEffects(tenant_id, run_id) };
    });
  }

  /** For the runtime: runs to resume and wake. */
  async runnable(now: string, limit: number) {
    return this.k.store.read(async (tx) => ({
      running: await tx.runs.listRunning(limit),
      due: await tx.runs.listDue(now, limit),
      next_wake: await tx.runs.nextWake(),
    }));
  }

  /**
   * Runs `work` as effect `seq` of the run and records its result in the same transaction.
   * When the effect was recorded before (a retry or a replay), returns the recorded result and
   * does nothing else: a retried step never repeats an approval request or a proposal.
   */
  async effect<T>(
    ctx: CallContext,
    run_id: string,
    seq: number,
    kind: string,
    work: (scope: EffectScope) => Promise<T>,
    preface: readonly PendingEffect[] = [],
  ): Promise<{ result: T; replayed: boolean }> {
    assertContext(ctx);
    return this.k.store.transaction(async (tx) => {
      // Results the run observed since its last effect (a wait's outcome, a clock reading),
      // recorded with this one: one commit instead of one each.
      await this.insertPending(tx, ctx.tenant_id, run_id, preface);
      const recorded = await tx.runs.getEffect(ctx.tenant_id, run_id, seq);
      if (recorded) {
        if (recorded.kind !== kind)
          throw new CountersignError(
            'INTERNAL',
            `${run_id} effect ${seq} was recorded as ${recorded.kind}, replayed as ${kind}: the definition changed under a running workflow.`,
          );
        return { result: recorded.result as T, replayed: true };
      }
      let run = await this.run(tx, ctx.tenant_id, run_id);
      const scope: EffectScope = {
        tx,
        ctx,
        run: () => run,
        update: async (patch) => {
          run = { ...run, ...patch, updated_at: this.k.clock.now() };
          await tx.runs.updateRun(run);
          return run;
        },
        record: (type, data, actor) =>
          this.k.append(tx, ctx, {
            type,
            actor: actor ?? principalIdOf(ctx),
            workflow_id: run_id,
            data,
          }),
        propose: (p) =>
          this.kernel.propose(
            tx,
            ctx,
            parseInput(proposeActionInput, { workflow_id: run_id, ...p }, 'propose'),
          ),
        requestApproval: (g) => this.insertGate(tx, ctx, run, g),
        authorizeAgent: async (role, agent_invocation_id) => {
          this.k.require(
            { ...ctx, agent_invocation_id },
            await this.k.principalOf(tx, ctx),
            'agent.invoke',
            { type: 'Agent', id: role },
            run_id,
          );
        },
        agentActor: (role) => this.agentActor(tx, ctx, role),
        now: () => this.k.clock.now(),
      };
      const result = await work(scope);
      await tx.runs.insertEffect({
        tenant_id: ctx.tenant_id,
        run_id,
        seq,
        kind,
        result: result as JsonValue,
        created_at: this.k.clock.now(),
      });
      return { result, replayed: false };
    });
  }

  /** The recorded result of effect `seq`, if any (read before doing work outside a transaction). */
  async recordedEffect(tenant_id: string, run_id: string, seq: number) {
    return this.k.store.read((tx) => tx.runs.getEffect(tenant_id, run_id, seq));
  }

  /** Records observed results on their own (before a run stops to wait). */
  async recordPending(tenant_id: string, run_id: string, pending: readonly PendingEffect[]) {
    if (pending.length === 0) return;
    await this.k.store.transaction((tx) => this.insertPending(tx, tenant_id, run_id, pending));
  }

  private async insertPending(
    tx: StoreTx,
    tenant_id: string,
    run_id: string,
    pending: readonly PendingEffect[],
  ): Promise<void> {
    for (const p of pending)
      if (!(await tx.runs.getEffect(tenant_id, run_id, p.seq)))
        await tx.runs.insertEffect({
          tenant_id,
          run_id,
          seq: p.seq,
          kind: p.kind,
          result: p.result,
          created_at: this.k.clock.now(),
        });
  }

  /**
   * For the runtime: the run stops to wait (or starts again) without an effect of its own.
   * Returns false when it must not wait: the gate it would wait on was decided meanwhile, or
   * the run changed since it was read (another process decided or drove it); the caller goes on.
   */
  async setRunWaiting(
    tenant_id: string,
    run_id: string,
    waiting: { waiting_on: JsonObject; wake_at: string | null } | null,
  ): Promise<boolean> {
    return this.k.store.transaction(async (tx) => {
      const run = await this.run(tx, tenant_id, run_id);
      if (run.status !== 'running' && run.status !== 'waiting') return false;
      const gate = waiting?.waiting_on.kind === 'approval' ? waiting.waiting_on.approval_id : null;
      if (typeof gate === 'string') {
        const approval = await tx.runs.getApproval(tenant_id, gate);
        if (approval && approval.status !== 'pending') return false;
      }
      // Only over the run as read: a decision that marked it running in between wins.
      return tx.runs.updateRunIf(
        {
          ...run,
          status: waiting ? 'waiting' : 'running',
          waiting_on: waiting?.waiting_on ?? null,
          wake_at: waiting?.wake_at ?? null,
          updated_at: this.k.clock.now(),
        },
        run.updated_at,
      );
    });
  }

  /** For the runtime: where an approval stands, with its decisions. */
  async approvalState(tenant_id: string, approval_id: string) {
    return this.k.store.read(async (tx) => ({
      approval: await this.approval(tx, tenant_id, approval_id),
      decisions: await tx.runs.listApprovalDecisions(tenant_id, approval_id),
    }));
  }

  /** Stops a run that has not ended; its pending gates are cancelled with it. */
  async cancelRun(ctx: CallContext, input: unknown): Promise<WorkflowRun> {
    assertContext(ctx);
    const args = parseInput(W.cancelRunInput, input, 'cancel_workflow input');
    return this.k.final(ctx, async (tx) => {
      const run = await this.run(tx, ctx.tenant_id, args.workflow_id);
      const principal = await this.k.principalOf(tx, ctx);
      this.k.require(
        ctx,
        principal,
        'workflow.cancel',
        { type: 'Tenant', id: ctx.tenant_id },
        run.id,
      );
      if (run.status !== 'running' && run.status !== 'waiting')
        throw new CountersignError(
          'INVALID_STATE',
          `${run.id} is ${run.status}; only a running or waiting run can be cancelled.`,
          { workflow_id: run.id, status: run.status },
        );
      const now = this.k.clock.now();
      const next: WorkflowRun = {
        ...run,
        status: 'cancelled',
        waiting_on: null,
        wake_at: null,
        error: { reason: args.reason, cancelled_by: principal.id },
        updated_at: now,
      };
      await tx.runs.updateRun(next);
      await this.closeWorkflow(tx, ctx.tenant_id, next);
      const pending = await tx.runs.listApprovals(ctx.tenant_id, {
        status: 'pending',
        workflow_id: run.id,
        limit: 1000,
      });
      for (const a of pending)
        await tx.runs.updateApproval({ ...a, status: 'cancelled', updated_at: now });
      await this.k.append(tx, ctx, {
        type: EVENT_TYPES.WORKFLOW_CANCELLED,
        actor: principal.id,
        workflow_id: run.id,
        data: {
          workflow_id: run.id,
          stage: run.stage,
          reason: args.reason,
          cancelled_approvals: pending.map((a) => a.id),
        },
      });
      return next;
    });
  }

  /**
   * Marks a run running after a decision on its gate. A running run is touched too, so a driver
   * that read it before the decision and is about to set it waiting finds it changed.
   */
  private async markRunnable(tx: StoreTx, tenant_id: string, run_id: string, now: string) {
    const run = await tx.runs.getRun(tenant_id, run_id);
    if (run?.status === 'waiting' || run?.status === 'running')
      await tx.runs.updateRun({
        ...run,
        status: 'running',
        waiting_on: null,
        wake_at: null,
        updated_at: now,
      });
  }

  private async agentActor(tx: StoreTx, ctx: CallContext, role: string): Promise<string> {
    const key = `agent_actor:${role}`;
    const known = await tx.getSetting(ctx.tenant_id, key);
    if (known) return known;
    const id = await tx.nextId(ctx.tenant_id, 'actor');
    const name = role
      .split('_')
      .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
      .join(' ');
    await tx.insertActor({
      tenant_id: ctx.tenant_id,
      id,
      name,
      role: 'agent',
      kind: 'agent',
      created_at: this.k.clock.now(),
    });
    await tx.putSetting(ctx.tenant_id, key, id);
    await this.k.append(tx, ctx, {
      type: EVENT_TYPES.ACTOR_REGISTERED,
      actor: principalIdOf(ctx),
      workflow_id: null,
      data: { actor_id: id, name, role: 'agent', kind: 'agent', agent_role: role },
    });
    return id;
  }

  /** Closes the run's workflow once the run ends, so nothing more can be proposed in it. */
  async closeWorkflow(tx: StoreTx, tenant_id: string, run: WorkflowRun): Promise<void> {
    const status =
      run.status === 'completed' ? 'completed' : run.status === 'failed' ? 'failed' : 'cancelled';
    await tx.setWorkflowStatus(tenant_id, run.id, status);
  }

  /**
   * Policy check for an agent invocation outside a run's effect (an agent asked to act on its
   * own, for instance): denied, and the refusal recorded, without a workflow context.
   */
  async authorizeAgentInvocation(
    ctx: CallContext,
    input: { role: string; workflow_id?: string; agent_invocation_id?: string },
  ): Promise<void> {
    assertContext(ctx);
    await this.k.recording(
      ctx,
      {
        workflow_id: input.workflow_id ?? null,
        actor: principalIdOf(ctx),
        operation: 'agent.invoke',
        subject: { role: input.role },
      },
      async (tx) => {
        if (input.workflow_id) await this.run(tx, ctx.tenant_id, input.workflow_id);
        this.k.require(
          { ...ctx, agent_invocation_id: input.agent_invocation_id },
          await this.k.principalOf(tx, ctx),
          'agent.invoke',
          { type: 'Agent', id: input.role },
          input.workflow_id,
        );
      },
    );
  }

  // ---- approvals (workflow gates) ----------------------------------------------------------

  /** POST /approvals/request: a gate asked for from outside a definition (or by a script). */
  async requestApproval(ctx: CallContext, input: W.RequestApprovalInput): Promise<ApprovalRequest> {
    assertContext(ctx);
    const args = parseInput(W.requestApprovalInput, input, 'request_approval input');
    return this.k.final(ctx, async (tx) => {
      const principal = await this.k.principalOf(tx, ctx);
      const workflow = await tx.getWorkflow(ctx.tenant_id, args.workflow_id);
      if (!workflow) throw notFound('workflow', args.workflow_id);
      this.k.require(
        ctx,
        principal,
        'approval.request',
        { type: 'Workflow', id: workflow.id },
        workflow.id,
      );
      if (workflow.status !== 'open')
        throw new CountersignError(
          'INVALID_STATE',
          `${workflow.id} is ${workflow.status}; approvals need an open workflow.`,
          { workflow_id: workflow.id, status: workflow.status },
        );
      // A run's gates belong to it: only the run asks for them, so nobody can plant a gate
      // (with no roles, or a forged packet) that the run would meet later.
      if (await tx.runs.getRun(ctx.tenant_id, workflow.id))
        throw new CountersignError(
          'INVALID_STATE',
          `${workflow.id} is a workflow run; its gates are created by the run itself, and request_approval is refused on it.`,
          { workflow_id: workflow.id, operation: 'request_approval' },
        );
      return this.insertGate(
        tx,
        ctx,
        { id: workflow.id, started_by: principal.id },
        {
          request_key: args.request_key,
          title: args.title,
          packet: args.packet,
          ...withQuorum({
            required_approvals: args.required_approvals ?? 1,
            required_roles: args.required_roles ?? [],
            role_quorum: args.role_quorum,
          }),
          proposals: [],
          due_at: args.due_at ?? null,
          on_timeout: null,
        },
      );
    });
  }

  private async insertGate(
    tx: StoreTx,
    ctx: CallContext,
    run: { id: string; started_by: string },
    g: GateRequest,
  ): Promise<ApprovalRequest> {
    const existing = await tx.runs.findApprovalByKey(ctx.tenant_id, run.id, g.request_key);
    if (existing) {
      // The same request again (a retried step) returns the gate; anything else is refused,
      // never adopted.
      const mismatch = gateMismatch(existing, g, run.started_by);
      if (mismatch)
        throw new CountersignError(
          'INVALID_STATE',
          `${existing.id} already holds request key "${g.request_key}" of ${run.id} with a different ${mismatch}; it is not adopted.`,
          { approval_id: existing.id, workflow_id: run.id, request_key: g.request_key, mismatch },
        );
      return existing;
    }
    const now = this.k.clock.now();
    const approval: ApprovalRequest = {
      tenant_id: ctx.tenant_id,
      id: await tx.nextId(ctx.tenant_id, 'approval'),
      workflow_id: run.id,
      request_key: g.request_key,
      title: g.title,
      packet: g.packet,
      required_approvals: g.required_approvals,
      required_roles: [...g.required_roles],
      ...(g.role_quorum ? { role_quorum: { ...g.role_quorum } } : {}),
      proposals: g.proposals.map((p) => ({ proposal_id: p.proposal_id, hash: p.hash })),
      status: 'pending',
      requested_by: run.started_by,
      ...(authorsOf(g, run.started_by).length ? { authors: authorsOf(g, run.started_by) } : {}),
      due_at: g.due_at,
      on_timeout: g.on_timeout,
      created_at: now,
      updated_at: now,
    };
    await tx.runs.insertApproval(approval);
    await this.k.append(tx, ctx, {
      type: EVENT_TYPES.APPROVAL_REQUESTED,
      actor: principalIdOf(ctx),
      workflow_id: run.id,
      data: {
        approval_id: approval.id,
        request_key: g.request_key,
        title: g.title,
        required_approvals: g.required_approvals,
        required_roles: [...g.required_roles],
        ...(g.role_quorum ? { role_quorum: { ...g.role_quorum } } : {}),
        ...(approval.authors ? { authors: [...approval.authors] } : {}),
        proposals: approval.proposals.map((p) => ({ ...p })),
        due_at: g.due_at,
      },
    });
    return approval;
  }

  /**
   * Records a human decision on a gate. Approving applies the same decision, by the same
   * reviewer, to every proposal the gate binds (each by its hash), in the same transaction:
   * the kernel's separation-of-duties and role rules apply to each. `seen.hash`: the gate hash
   * the reviewer was shown (canonical.ts gateHash), checked in the same transaction.
   */
  async decideApproval(
    ctx: CallContext,
    input: W.DecideApprovalInput,
    seen: { readonly hash?: string | undefined } = {},
  ): Promise<{ approval: ApprovalRequest; decision: ApprovalDecision; resolved: boolean }> {
    assertContext(ctx);
    const args = parseInput(W.decideApprovalInput, input, 'decide_approval input');
    return this.k.recording(
      ctx,
      {
        workflow_id: null,
        actor: args.reviewer_id,
        operation: 'decide_approval',
        subject: { approval_id: args.approval_id, decision: args.decision },
      },
      async (tx) => {
        const approval = await this.approval(tx, ctx.tenant_id, args.approval_id);
        const reviewer = await this.k.actor(tx, ctx, args.reviewer_id, 'reviewer_id');
        assertActsAs(ctx, reviewer.id, 'reviewer_id');
        const subject = { type: 'approval', id: approval.id } as const;
        assertMayDecide({
          decider: reviewer,
          authors: gateAuthors(approval),
          roles: [],
          earlier: [],
          subject,
        });
        if (approval.status !== 'pending')
          throw new CountersignError(
            'INVALID_STATE',
            `${approval.id} is ${approval.status}; only a pending approval can be decided.`,
            { approval_id: approval.id, status: approval.status },
          );
        if (seen.hash !== undefined && gateHash(approval) !== seen.hash)
          throw new CountersignError(
            'APPROVAL_HASH_MISMATCH',
            `${approval.id} changed since it was shown: it has hash ${gateHash(approval)}, not ${seen.hash}. Review it as it is now.`,
            { approval_id: approval.id, hash: gateHash(approval), seen_hash: seen.hash },
          );
        this.k.require(
          ctx,
          actorPrincipal(reviewer),
          'approval.decide',
          {
            type: 'Approval',
            id: approval.id,
            requested_by: approval.requested_by,
            workflow: approval.workflow_id,
          },
          approval.workflow_id,
        );
        const earlier = await tx.runs.listApprovalDecisions(ctx.tenant_id, approval.id);
        assertMayDecide({
          decider: reviewer,
          authors: gateAuthors(approval),
          roles: approval.required_roles,
          earlier: earlier.map((d) => d.reviewer_id),
          subject,
        });
        const now = this.k.clock.now();
        const decision: ApprovalDecision = {
          tenant_id: ctx.tenant_id,
          id: await tx.nextId(ctx.tenant_id, 'decision'),
          approval_id: approval.id,
          reviewer_id: reviewer.id,
          reviewer_role: reviewer.role,
          decision: args.decision,
          comment: args.comment ?? null,
          token_id: ctx.token?.id ?? null,
          created_at: now,
        };
        await tx.runs.insertApprovalDecision(decision);
        const tally = await tallyGate(tx, approval, [...earlier, decision]);
        const received = tally.received;
        let status: ApprovalStatus = 'pending';
        if (args.decision === 'reject') status = 'rejected';
        else if (args.decision === 'request_more_info') status = 'needs_info';
        else if (tally.satisfied) status = 'approved';
        const next: ApprovalRequest = { ...approval, status, updated_at: now };
        await tx.runs.updateApproval(next);
        // The waiting run is due to go on: marked running with the decision, so a crash before
        // it is driven leaves it for the next start to resume, not waiting on a settled gate.
        if (status !== 'pending')
          await this.markRunnable(tx, ctx.tenant_id, approval.workflow_id, now);
        const applied: JsonObject[] = [];
        for (const bound of approval.proposals) {
          const proposal = await tx.getProposal(ctx.tenant_id, bound.proposal_id);
          if (!proposal || proposal.status !== 'pending') continue;
          const reviewed = await this.kernel.review(
            tx,
            ctx,
            parseInput(
              reviewActionInput,
              {
                proposal_id: bound.proposal_id,
                reviewer_id: reviewer.id,
                decision: args.decision,
                comment: args.comment ?? `decided at ${approval.id}`,
              },
              'review',
            ),
          );
          applied.push({
            proposal_id: bound.proposal_id,
            hash: bound.hash,
            status: reviewed.status,
          });
        }
        await this.k.append(tx, ctx, {
          type: EVENT_TYPES.APPROVAL_DECISION,
          actor: reviewer.id,
          workflow_id: approval.workflow_id,
          data: {
            decision_id: decision.id,
            approval_id: approval.id,
            decision: args.decision,
            comment: decision.comment,
            status,
            approvals: { received, required: approval.required_approvals },
            ...quorumRecord(approval, tally),
            proposals: applied,
            token: tokenRecord(ctx),
            purpose: ctx.purpose,
          },
        });
        return { approval: next, decision, resolved: status !== 'pending' };
      },
      { last: true },
    );
  }

  /**
   * A gate's timeout fired: escalate it to other roles (it stays pending, with no deadline),
   * or settle it with its default outcome, recorded as a `timeout` decision by the system.
   */
  async expireApproval(
    ctx: CallContext,
    approval_id: string,
  ): Promise<{ approval: ApprovalRequest; escalated: boolean }> {
    assertContext(ctx);
    return this.k.store.transaction(async (tx) => {
      const approval = await this.approval(tx, ctx.tenant_id, approval_id);
      if (approval.status !== 'pending') return { approval, escalated: false };
      const now = this.k.clock.now();
      const rule = approval.on_timeout ?? { outcome: 'reject' };
      const escalateTo = Array.isArray(rule.escalate_to)
        ? rule.escalate_to.filter((r): r is string => typeof r === 'string')
        : null;
      if (escalateTo) {
        // Escalation widens who may decide; it never lifts a quorum's role slots.
        const roles = approval.role_quorum
          ? [...new Set([...approval.required_roles, ...escalateTo])].sort()
          : escalateTo;
        const next: ApprovalRequest = {
          ...approval,
          required_roles: roles,
          due_at: null,
          on_timeout: null,
          updated_at: now,
        };
        await tx.runs.updateApproval(next);
        await this.k.append(tx, ctx, {
          type: EVENT_TYPES.APPROVAL_REQUESTED,
          actor: 'system',
          workflow_id: approval.workflow_id,
          data: {
            approval_id: approval.id,
            request_key: approval.request_key,
            escalated_from: [...approval.required_roles],
            required_roles: roles,
            ...(approval.role_quorum ? { role_quorum: { ...approval.role_quorum } } : {}),
            reason: `no decision by ${approval.due_at ?? 'the deadline'}`,
          },
        });
        return { approval: next, escalated: true };
      }
      const outcome =
        rule.outcome === 'approve' && approval.proposals.length === 0 ? 'approve' : 'reject';
      const decision: ApprovalDecision = {
        tenant_id: ctx.tenant_id,
        id: await tx.nextId(ctx.tenant_id, 'decision'),
        approval_id: approval.id,
        reviewer_id: 'system',
        reviewer_role: null,
        decision: 'timeout',
        comment: `no decision by ${approval.due_at ?? 'the deadline'}; default outcome: ${outcome}`,
        token_id: null,
        created_at: now,
      };
      await tx.runs.insertApprovalDecision(decision);
      const status: ApprovalStatus = outcome === 'approve' ? 'approved' : 'timed_out';
      const next: ApprovalRequest = { ...approval, status, updated_at: now };
      await tx.runs.updateApproval(next);
      await this.k.append(tx, ctx, {
        type: EVENT_TYPES.APPROVAL_DECISION,
        actor: 'system',
        workflow_id: approval.workflow_id,
        data: {
          decision_id: decision.id,
          approval_id: approval.id,
          decision: 'timeout',
          outcome,
          comment: decision.comment,
          status,
        },
      });
      return { approval: next, escalated: false };
    });
  }

  async getApproval(
    ctx: CallContext,
    approval_id: string,
  ): Promise<{
    approval: ApprovalRequest;
    decisions: ApprovalDecision[];
    /** What the gate still needs; empty once it is settled. */
    missing: Record<string, number>;
  }> {
    assertContext(ctx);
    const args = parseInput(W.getApprovalInput, { approval_id }, 'get_approval input');
    return this.k.store.read(async (tx) => {
      const approval = await this.approval(tx, ctx.tenant_id, args.approval_id);
      this.k.require(
        ctx,
        await this.k.principalOf(tx, ctx),
        'approval.read',
        { type: 'Workflow', id: approval.workflow_id },
        approval.workflow_id,
      );
      const decisions = await tx.runs.listApprovalDecisions(ctx.tenant_id, approval.id);
      const missing =
        approval.status === 'pending' ? (await tallyGate(tx, approval, decisions)).missing : {};
      return { approval, decisions, missing };
    });
  }

  /** One inbox: pending workflow gates and proposals waiting for review, newest first. */
  async listPendingApprovals(ctx: CallContext, input: unknown): Promise<PendingApproval[]> {
    assertContext(ctx);
    const f = parseInput(W.listApprovalsInput, input ?? {}, 'list_pending_approvals input');
    const limit = f.limit ?? 100;
    const items: PendingApproval[] = [];
    if (f.kind !== 'proposal') {
      const gates = await this.k.store.read(async (tx) => {
        this.k.require(ctx, await this.k.principalOf(tx, ctx), 'approval.read', {
          type: 'Tenant',
          id: ctx.tenant_id,
        });
        const list = await tx.runs.listApprovals(ctx.tenant_id, {
          status: 'pending',
          workflow_id: f.workflow_id,
          limit,
        });
        const out: PendingApproval[] = [];
        for (const a of list) {
          const tally = await tallyGate(
            tx,
            a,
            await tx.runs.listApprovalDecisions(ctx.tenant_id, a.id),
          );
          out.push({
            kind: 'gate',
            id: a.id,
            workflow_id: a.workflow_id,
            title: a.title,
            requested_by: a.requested_by,
            authors: gateAuthors(a).map((x) => x.id),
            required_roles: a.required_roles,
            ...(a.role_quorum ? { role_quorum: a.role_quorum } : {}),
            approvals: { received: tally.received, required: a.required_approvals },
            missing: tally.missing,
            waiting_since: a.created_at,
            due_at: a.due_at,
            tool: null,
            risk: typeof a.packet.risk_tier === 'string' ? a.packet.risk_tier : null,
          });
        }
        return out;
      });
      items.push(...gates);
    }
    if (f.kind !== 'gate') {
      const reviews = await this.kernel.listPendingReviews(ctx, {
        ...(f.workflow_id ? { workflow_id: f.workflow_id } : {}),
        limit,
      });
      for (const r of reviews.reviews)
        items.push({
          kind: 'proposal',
          id: r.proposal_id,
          workflow_id: r.workflow_id,
          title: `${r.tool}: ${r.reason}`,
          requested_by: r.proposer_id,
          authors: r.authors,
          required_roles: r.required_roles,
          ...(r.role_quorum ? { role_quorum: r.role_quorum } : {}),
          approvals: r.approvals,
          missing: r.missing,
          waiting_since: r.waiting_since,
          due_at: null,
          tool: r.tool,
          risk: r.risk,
        });
    }
    return items
      .sort((a, b) =>
        a.waiting_since === b.waiting_since
          ? b.id.localeCompare(a.id)
          : b.waiting_since.localeCompare(a.waiting_since),
      )
      .slice(0, limit);
  }

  // ---- knowledge --------------------------------------------------------------------------

  async addDocument(ctx: CallContext, input: unknown): Promise<{ document_id: string }> {
    assertContext(ctx);
    const args = parseInput(W.addDocumentInput, input, 'add_document input');
    return this.k.final(ctx, async (tx) => {
      const principal = await this.k.principalOf(tx, ctx);
      this.k.require(ctx, principal, 'knowledge.add', { type: 'Tenant', id: ctx.tenant_id });
      const id = await tx.nextId(ctx.tenant_id, 'document');
      const now = this.k.clock.now();
      const tags = [...new Set(args.tags ?? [])];
      await tx.knowledge.insertDocument({
        tenant_id: ctx.tenant_id,
        id,
        title: args.title,
        body: args.body,
        tags,
        created_by: principal.id,
        created_at: now,
      });
      await this.k.append(tx, ctx, {
        type: EVENT_TYPES.KNOWLEDGE_ADDED,
        actor: principal.id,
        workflow_id: null,
        data: {
          document_id: id,
          title: args.title,
          tags,
          body_sha256: sha256Hex(args.body),
          purpose: ctx.purpose,
        },
      });
      return { document_id: id };
    });
  }

  async searchKnowledge(ctx: CallContext, input: unknown): Promise<{ hits: KnowledgeHit[] }> {
    assertContext(ctx);
    const args = parseInput(W.searchKnowledgeInput, input, 'search_knowledge input');
    return this.k.store.read(async (tx) => {
      this.k.require(ctx, await this.k.principalOf(tx, ctx), 'knowledge.search', {
        type: 'Tenant',
        id: ctx.tenant_id,
      });
      return {
        hits: await tx.knowledge.searchDocuments(ctx.tenant_id, args.query, args.limit ?? 5),
      };
    });
  }

  // ---- helpers ----------------------------------------------------------------------------

  private async run(tx: StoreReader, tenant_id: string, id: string): Promise<WorkflowRun> {
    const run = await tx.runs.getRun(tenant_id, id);
    if (!run) throw notFound('workflow run', id);
    return run;
  }

  private async approval(tx: StoreReader, tenant_id: string, id: string): Promise<ApprovalRequest> {
    const a = await tx.runs.getApproval(tenant_id, id);
    if (!a) throw notFound('approval', id);
    return a;
  }
}

/** What differs between a gate on record and the same request key asked for again, if anything. */
function gateMismatch(a: ApprovalRequest, g: GateRequest, requested_by: string): string | null {
  if (a.title !== g.title) return 'title';
  if (a.requested_by !== requested_by) return 'requester';
  if (a.required_approvals !== g.required_approvals) return 'number of approvals';
  if (canonicalJson([...a.required_roles].sort()) !== canonicalJson([...g.required_roles].sort()))
    return 'set of roles';
  if (canonicalJson(a.role_quorum ?? {}) !== canonicalJson(normalizeQuorum(g.role_quorum) ?? {}))
    return 'quorum';
  const bound = (ps: readonly { proposal_id: string; hash: string }[]) =>
    canonicalJson(ps.map((p) => [p.proposal_id, p.hash]).sort());
  if (bound(a.proposals) !== bound(g.proposals)) return 'set of bound calls';
  if (canonicalJson(a.authors ?? []) !== canonicalJson(authorsOf(g, requested_by)))
    return 'set of authors';
  return null;
}

/** A gate request's other authors: distinct, sorted, without the requester. */
function authorsOf(g: GateRequest, requested_by: string): string[] {
  return [...new Set(g.authors ?? [])].filter((id) => id !== requested_by).sort();
}

/** Everyone who may not decide a gate: whoever asked for it, and its other authors. */
function gateAuthors(a: ApprovalRequest): Author[] {
  return [
    { id: a.requested_by, as: 'requester' },
    ...(a.authors ?? []).map((id) => ({ id, as: 'requester' as const })),
  ];
}

/** A gate's approvals under its rule (quorum.ts); the run's starter never counts. */
async function tallyGate(
  tx: StoreReader,
  a: ApprovalRequest,
  decisions: readonly ApprovalDecision[],
): Promise<Tally> {
  const approvals = decisions.filter((d) => d.decision === 'approve');
  const approvers = a.role_quorum
    ? await approversOf(tx, a.tenant_id, approvals)
    : [...new Set(approvals.map((d) => d.reviewer_id))].map((id) => ({ id, roles: [] }));
  return tallyApprovals(
    a,
    approvers,
    gateAuthors(a).map((x) => x.id),
  );
}

/**
 * A run waiting on a gate, with what the gate still needs (`waiting_on.missing`), read now:
 * the waiting_on the run stored is not rewritten as reviewers approve one by one.
 */
async function withMissing(tx: StoreReader, run: WorkflowRun): Promise<WorkflowRun> {
  const w = run.waiting_on;
  if (w?.kind !== 'approval' || typeof w.approval_id !== 'string') return run;
  const a = await tx.runs.getApproval(run.tenant_id, w.approval_id);
  if (!a || a.status !== 'pending') return run;
  const tally = await tallyGate(tx, a, await tx.runs.listApprovalDecisions(run.tenant_id, a.id));
  return { ...run, waiting_on: { ...w, missing: tally.missing } };
}
