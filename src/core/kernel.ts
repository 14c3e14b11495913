import { type CallContext, assertContext } from './context.js';
import { CountersignError } from './errors.js';
import { ChainVerifier, EVENT_TYPES, type VerifyReport } from './ledger.js';
import type { IdempotencyRecord, JsonValue, LedgerEvent, Workflow } from './model.js';
import type { Clock } from './ports/clock.js';
import type { PolicyEngine } from './ports/policy.js';
import type { Store, StoreTx } from './ports/store.js';
import type { ToolDefinition, ToolRegistry } from './ports/tools.js';
import * as S from './schemas.js';
import type { CreateTokenInput, ListTokensInput, RevokeTokenInput } from './token-schemas.js';
import { parseInput } from './validation.js';
import { Rules, principalIdOf } from './ops/rules.js';
import { type Authenticated, TokenOps } from './ops/tokens.js';
import { ActorOps, type BoundAgent } from './ops/actors.js';
import { ExecutionOps } from './ops/executions.js';
import { type PendingReview, ProposalOps, type ProposalView } from './ops/proposals.js';
import { ReviewOps } from './ops/reviews.js';
import { SettingsOps } from './ops/settings.js';

export type { Authenticated } from './ops/tokens.js';
export type { BoundAgent } from './ops/actors.js';
export type { Refusal } from './ops/rules.js';
export type { PendingReview, ProposalView } from './ops/proposals.js';

export interface KernelDeps {
  readonly store: Store;
  readonly policy: PolicyEngine;
  readonly tools: ToolRegistry;
  readonly clock: Clock;
  /** Default bound on concurrent calls in execute_parallel. */
  readonly maxParallel?: number;
  /** Makes API token secrets (random); without it, tokens cannot be created. */
  readonly newSecret?: () => string;
}

/**
 * The governed kernel: every operation of the connector, each one transaction that commits
 * the state change with its ledger event.
 *
 * @example
 * const ctx = operatorContext('demo');
 * const { actor_id } = await kernel.registerActor(ctx, { name: 'Alice', role: 'Developer' });
 */
export class Kernel {
  /** The shared rules (ports, ledger, policy, lookups) the workflow operations build on too. */
  readonly r: Rules;
  private readonly tokens: TokenOps;
  private readonly actors: ActorOps;
  private readonly proposals: ProposalOps;
  private readonly reviews: ReviewOps;
  private readonly settings: SettingsOps;
  private readonly executions: ExecutionOps;

  constructor(deps: KernelDeps) {
    this.r = new Rules(deps);
    this.tokens = new TokenOps(this.r, deps.newSecret);
    this.actors = new ActorOps(this.r);
    this.proposals = new ProposalOps(this.r);
    this.reviews = new ReviewOps(this.r);
    this.settings = new SettingsOps(this.r);
    this.executions = new ExecutionOps(this.r, this.proposals, deps.maxParallel ?? 4);
  }

  get policyVersion(): string {
    return this.r.policy.version;
  }

  listTools(): readonly ToolDefinition[] {
    return this.r.tools.list();
  }

  // ---- register_actor -------------------------------------------------------------------

  registerActor(ctx: CallContext, input: S.RegisterActorInput): Promise<{ actor_id: string }> {
    return this.actors.register(ctx, input);
  }

  /** The agent or service actor `countersign mcp` acts as (ops/actors.ts). */
  bindAgent(ctx: CallContext, actor_id?: string): Promise<BoundAgent> {
    return this.actors.bindAgent(ctx, actor_id);
  }

  // ---- start_workflow -------------------------------------------------------------------

  async startWorkflow(
    ctx: CallContext,
    input: S.StartWorkflowInput,
  ): Promise<{ workflow_id: string }> {
    assertContext(ctx);
    const args = parseInput(S.startWorkflowInput, input, 'start_workflow input');
    return this.r.store.transaction(async (tx) => {
      const principal = await this.r.principalOf(tx, ctx);
      this.r.require(ctx, principal, 'workflow.start', { type: 'Tenant', id: ctx.tenant_id });
      if (args.idempotency_key) {
        const existing = await tx.findWorkflowByKey(ctx.tenant_id, args.idempotency_key);
        if (existing) {
          if (existing.title !== args.title)
            throw new CountersignError(
              'INVALID_STATE',
              `Idempotency key "${args.idempotency_key}" already started ${existing.id} with a different title.`,
              { workflow_id: existing.id },
            );
          return { workflow_id: existing.id };
        }
      }
      const id = await tx.nextId(ctx.tenant_id, 'workflow');
      const workflow: Workflow = {
        tenant_id: ctx.tenant_id,
        id,
        title: args.title,
        status: 'open',
        idempotency_key: args.idempotency_key ?? null,
        created_by: principal.id,
        created_at: this.r.clock.now(),
      };
      await tx.insertWorkflow(workflow);
      await this.r.append(tx, ctx, {
        type: EVENT_TYPES.WORKFLOW_STARTED,
        actor: principal.id,
        workflow_id: id,
        data: {
          workflow_id: id,
          title: args.title,
          idempotency_key: args.idempotency_key ?? null,
          purpose: ctx.purpose,
        },
      });
      return { workflow_id: id };
    });
  }

  // ---- propose_action (ops/proposals.ts) -------------------------------------------------

  proposeAction(ctx: CallContext, input: S.ProposeActionInput) {
    return this.proposals.proposeAction(ctx, input);
  }

  /** Proposes a call inside the caller's transaction (a run's step does, through workflow-ops). */
  propose(tx: StoreTx, ctx: CallContext, args: ReturnType<typeof S.proposeActionInput.parse>) {
    return this.proposals.propose(tx, ctx, args);
  }

  // ---- review_action (ops/reviews.ts) ----------------------------------------------------

  reviewAction(ctx: CallContext, input: S.ReviewActionInput) {
    return this.reviews.reviewAction(ctx, input);
  }

  /** One decision inside the caller's transaction (a run's gate does, through workflow-ops). */
  review(tx: StoreTx, ctx: CallContext, args: ReturnType<typeof S.reviewActionInput.parse>) {
    return this.reviews.review(tx, ctx, args);
  }

  // ---- revise_action (the proposer answers request_more_info; ops/proposals.ts) -----------

  reviseAction(ctx: CallContext, input: S.ReviseActionInput) {
    return this.proposals.reviseAction(ctx, input);
  }

  // ---- execute_action / execute_parallel (ops/executions.ts) ------------------------------

  executeAction(
    ctx: CallContext,
    input: S.ExecuteActionInput,
  ): Promise<{ execution_id: string; result: S.ExecutionResult }> {
    return this.executions.executeAction(ctx, input);
  }

  executeParallel(ctx: CallContext, input: S.ExecuteParallelInput) {
    return this.executions.executeParallel(ctx, input);
  }

  // ---- get_audit_log / verify -----------------------------------------------------------

  async getAuditLog(
    ctx: CallContext,
    input: S.GetAuditLogInput,
  ): Promise<{ entries: LedgerEvent[] }> {
    assertContext(ctx);
    const args = parseInput(S.getAuditLogInput, input, 'get_audit_log input');
    return this.r.store.transaction(async (tx) => {
      const workflow = await this.r.workflow(tx, ctx, args.workflow_id);
      const principal = await this.r.principalOf(tx, ctx);
      this.r.require(
        ctx,
        principal,
        'audit.read',
        { type: 'Workflow', id: workflow.id },
        workflow.id,
      );
      const entries = await tx.listLedger(ctx.tenant_id, { workflow_id: workflow.id });
      // Reading the audit log is itself recorded, outside the workflow's own trace.
      await this.r.append(tx, ctx, {
        type: EVENT_TYPES.AUDIT_LOG_READ,
        actor: principal.id,
        workflow_id: null,
        data: { workflow_id: workflow.id, entries: entries.length, purpose: ctx.purpose },
      });
      return { entries };
    });
  }

  /** Verifies the tenant's whole chain; streams it in pages. */
  async verifyAudit(ctx: CallContext): Promise<VerifyReport> {
    assertContext(ctx);
    const verifier = new ChainVerifier(ctx.tenant_id);
    await this.r.store.transaction(async (tx) => {
      this.r.require(ctx, await this.r.principalOf(tx, ctx), 'audit.read', {
        type: 'Tenant',
        id: ctx.tenant_id,
      });
    });
    let after = 0;
    for (;;) {
      const page = await this.r.store.transaction((tx) =>
        tx.listLedger(ctx.tenant_id, { after_seq: after, limit: 2000 }),
      );
      for (const e of page) verifier.push(e);
      if (page.length < 2000 || verifier.broken) break;
      after = page[page.length - 1]!.seq;
    }
    const head = await this.r.store.transaction((tx) => tx.readLedgerHead(ctx.tenant_id));
    return verifier.finish(head);
  }

  // ---- set_policy (ops/settings.ts) ------------------------------------------------------

  setPolicy(ctx: CallContext, input: S.SetPolicyInput) {
    return this.settings.setPolicy(ctx, input);
  }

  // ---- reads ----------------------------------------------------------------------------

  async getWorkflow(ctx: CallContext, input: { workflow_id: string }) {
    assertContext(ctx);
    const args = parseInput(S.getWorkflowInput, input, 'get_workflow input');
    return this.r.store.transaction(async (tx) => {
      const workflow = await this.r.workflow(tx, ctx, args.workflow_id);
      this.r.require(
        ctx,
        await this.r.principalOf(tx, ctx),
        'workflow.read',
        { type: 'Workflow', id: workflow.id },
        workflow.id,
      );
      const proposals = await tx.listProposals(ctx.tenant_id, {
        workflow_id: workflow.id,
        limit: 1000,
      });
      return {
        workflow,
        proposals: proposals.map((p) => ({
          proposal_id: p.id,
          tool: p.tool,
          status: p.status,
          version: p.version,
        })),
      };
    });
  }

  /** A proposal with its versions, decisions and executions (ops/proposals.ts). */
  getProposal(ctx: CallContext, input: { proposal_id: string }): Promise<ProposalView> {
    return this.proposals.getProposal(ctx, input);
  }

  listPendingReviews(
    ctx: CallContext,
    input: S.ListPendingReviewsInput = {},
  ): Promise<{ reviews: PendingReview[] }> {
    return this.proposals.listPendingReviews(ctx, input);
  }

  // ---- API tokens (ops/tokens.ts) ---------------------------------------------------------

  createToken(ctx: CallContext, input: CreateTokenInput) {
    return this.tokens.create(ctx, input);
  }

  revokeToken(ctx: CallContext, input: RevokeTokenInput) {
    return this.tokens.revoke(ctx, input);
  }

  listTokens(ctx: CallContext, input: ListTokensInput = {}) {
    return this.tokens.list(ctx, input);
  }

  /** Resolves a bearer token to its tenant and principal, or throws UNAUTHENTICATED. */
  authenticate(token: string): Promise<Authenticated> {
    return this.tokens.authenticate(token);
  }

  countTokens(tenant_id: string): Promise<number> {
    return this.tokens.count(tenant_id);
  }

  // ---- idempotent requests (used by the HTTP surface) ----------------------------------

  async recallResponse(ctx: CallContext, key: string): Promise<IdempotencyRecord | undefined> {
    return this.r.store.transaction((tx) =>
      tx.getIdempotency(ctx.tenant_id, principalIdOf(ctx), key),
    );
  }

  /** Stores the first response for `key`; a concurrent first write loses with CONFLICT. */
  async rememberResponse(
    ctx: CallContext,
    r: { key: string; fingerprint: string; status: number; body: JsonValue },
  ): Promise<void> {
    await this.r.store.transaction((tx) =>
      tx.putIdempotency({
        tenant_id: ctx.tenant_id,
        principal: principalIdOf(ctx),
        ...r,
        created_at: this.r.clock.now(),
      }),
    );
  }
}
