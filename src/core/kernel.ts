import type { CallContext } from './context.js';
import type { VerifyReport } from './ledger.js';
import type { IdempotencyRecord, JsonValue, LedgerEvent } from './model.js';
import type { Clock } from './ports/clock.js';
import type { PolicyEngine, PolicyWorkbench } from './ports/policy.js';
import type { Store, StoreTx } from './ports/store.js';
import type { ToolDefinition, ToolRegistry } from './ports/tools.js';
import type * as S from './schemas.js';
import type { CreateTokenInput, ListTokensInput, RevokeTokenInput } from './token-schemas.js';
import { ActorOps, type BoundAgent } from './ops/actors.js';
import { AuditOps } from './ops/audit.js';
import { ExecutionOps } from './ops/executions.js';
import { IdempotencyOps } from './ops/idempotency.js';
import { type PendingReview, ProposalOps, type ProposalView } from './ops/proposals.js';
import { ReviewOps } from './ops/reviews.js';
import { Rules } from './ops/rules.js';
import { SettingsOps } from './ops/settings.js';
import { type Authenticated, TokenOps } from './ops/tokens.js';
import { WorkflowRecordOps } from './ops/workflows.js';
import { WorkPackageOps, type WorkPackageView } from './ops/work-packages.js';
import type { WorkPackage } from './ports/work-packages.js';
import type * as W from './work-packages/schemas.js';

export type { Authenticated } from './ops/tokens.js';
export type { BoundAgent } from './ops/actors.js';
export type { Refusal } from './ops/rules.js';
export type { PendingReview, ProposalView } from './ops/proposals.js';
export type { WorkPackageView } from './ops/work-packages.js';

export interface KernelDeps {
  readonly store: Store;
  readonly policy: PolicyEngine;
  readonly tools: ToolRegistry;
  readonly clock: Clock;
  /** Lets test_policy explain decisions and try candidate policy text (the Cedar adapter's). */
  readonly policyWorkbench?: PolicyWorkbench;
  /** Default bound on concurrent calls in execute_parallel. */
  readonly maxParallel?: number;
  /** Makes API token secrets (random); without it, tokens cannot be created. */
  readonly newSecret?: () => string;
  /** How long a request's idempotency record is replayed (default a day). */
  readonly idempotencyRetentionSeconds?: number;
}

/**
 * The governed kernel: every operation of the connector, each one transaction that commits
 * the state change with its ledger event. The operations live by concept in ops/ (actors,
 * workflows, proposals, reviews, executions, audit, settings, tokens, idempotency), all built
 * on one Rules instance; this class is their single entry point.
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
  private readonly workflows: WorkflowRecordOps;
  private readonly proposals: ProposalOps;
  private readonly reviews: ReviewOps;
  private readonly settings: SettingsOps;
  private readonly executions: ExecutionOps;
  private readonly audit: AuditOps;
  private readonly idempotency: IdempotencyOps;
  private readonly workPackages: WorkPackageOps;

  constructor(deps: KernelDeps) {
    this.r = new Rules(deps);
    this.tokens = new TokenOps(this.r, deps.newSecret);
    this.actors = new ActorOps(this.r);
    this.workflows = new WorkflowRecordOps(this.r);
    this.proposals = new ProposalOps(this.r);
    this.reviews = new ReviewOps(this.r);
    this.settings = new SettingsOps(this.r);
    this.executions = new ExecutionOps(this.r, this.proposals, deps.maxParallel ?? 4);
    this.audit = new AuditOps(this.r);
    this.idempotency = new IdempotencyOps(this.r, deps.idempotencyRetentionSeconds);
    this.workPackages = new WorkPackageOps(this.r);
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

  /** Changes another actor's role (ops/actors.ts). */
  setActorRole(ctx: CallContext, input: S.SetActorRoleInput): Promise<S.SetActorRoleOutput> {
    return this.actors.setRole(ctx, input);
  }

  /** The agent or service actor `countersign mcp` acts as (ops/actors.ts). */
  bindAgent(ctx: CallContext, actor_id?: string): Promise<BoundAgent> {
    return this.actors.bindAgent(ctx, actor_id);
  }

  // ---- start_workflow (ops/workflows.ts) ------------------------------------------------

  startWorkflow(ctx: CallContext, input: S.StartWorkflowInput): Promise<{ workflow_id: string }> {
    return this.workflows.startWorkflow(ctx, input);
  }

  // ---- propose_action (ops/proposals.ts) ------------------------------------------------

  proposeAction(ctx: CallContext, input: S.ProposeActionInput) {
    return this.proposals.proposeAction(ctx, input);
  }

  /** Proposes a call inside the caller's transaction (a run's step does, through workflow-ops). */
  propose(tx: StoreTx, ctx: CallContext, args: ReturnType<typeof S.proposeActionInput.parse>) {
    return this.proposals.propose(tx, ctx, args);
  }

  // ---- review_action (ops/reviews.ts) ---------------------------------------------------

  /** `seen.hash` binds the decision to the call the reviewer was shown (ops/reviews.ts). */
  reviewAction(
    ctx: CallContext,
    input: S.ReviewActionInput,
    seen?: { readonly hash?: string | undefined },
  ) {
    return this.reviews.reviewAction(ctx, input, seen);
  }

  /** One decision inside the caller's transaction (a run's gate does, through workflow-ops). */
  review(tx: StoreTx, ctx: CallContext, args: ReturnType<typeof S.reviewActionInput.parse>) {
    return this.reviews.review(tx, ctx, args);
  }

  // ---- revise_action (the proposer answers request_more_info; ops/proposals.ts) ---------

  reviseAction(ctx: CallContext, input: S.ReviseActionInput) {
    return this.proposals.reviseAction(ctx, input);
  }

  // ---- execute_action / execute_parallel (ops/executions.ts) ----------------------------

  executeAction(
    ctx: CallContext,
    input: S.ExecuteActionInput,
  ): Promise<{ execution_id: string; result: S.ExecutionResult }> {
    return this.executions.executeAction(ctx, input);
  }

  executeParallel(ctx: CallContext, input: S.ExecuteParallelInput) {
    return this.executions.executeParallel(ctx, input);
  }

  // ---- get_audit_log / verify (ops/audit.ts) --------------------------------------------

  getAuditLog(ctx: CallContext, input: S.GetAuditLogInput): Promise<{ entries: LedgerEvent[] }> {
    return this.audit.getAuditLog(ctx, input);
  }

  /** Verifies the tenant's whole chain; streams it in pages. */
  verifyAudit(ctx: CallContext): Promise<VerifyReport> {
    return this.audit.verifyAudit(ctx);
  }

  // ---- set_policy (ops/settings.ts) -----------------------------------------------------

  setPolicy(ctx: CallContext, input: S.SetPolicyInput) {
    return this.settings.setPolicy(ctx, input);
  }

  // ---- reads ----------------------------------------------------------------------------

  /** A workflow and its proposals (ops/workflows.ts). */
  getWorkflow(ctx: CallContext, input: { workflow_id: string }) {
    return this.workflows.getWorkflow(ctx, input);
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

  // ---- API tokens (ops/tokens.ts) -------------------------------------------------------

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

  // ---- idempotent requests (used by the HTTP surface; ops/idempotency.ts) ---------------

  recallResponse(ctx: CallContext, key: string): Promise<IdempotencyRecord | undefined> {
    return this.idempotency.recall(ctx, key);
  }

  /** Stores the first response for `key`; a concurrent first write loses with CONFLICT. */
  rememberResponse(
    ctx: CallContext,
    r: { key: string; fingerprint: string; status: number; body: JsonValue },
  ): Promise<void> {
    return this.idempotency.remember(ctx, r);
  }

  /** Deletes idempotency records past their retention period; returns how many. */
  purgeResponses(): Promise<number> {
    return this.idempotency.purge();
  }

  // ---- work packages (ops/work-packages.ts) ---------------------------------------------

  bookWorkPackage(ctx: CallContext, input: W.BookWorkPackageInput): Promise<WorkPackageView> {
    return this.workPackages.book(ctx, input);
  }

  getWorkPackage(ctx: CallContext, input: W.GetWorkPackageInput): Promise<WorkPackageView> {
    return this.workPackages.get(ctx, input);
  }

  listWorkPackages(ctx: CallContext, input: W.ListWorkPackagesInput): Promise<WorkPackage[]> {
    return this.workPackages.list(ctx, input);
  }

  /** One step of a package's lifecycle (work-packages/lifecycle.ts), by whoever may make it. */
  moveWorkPackage(ctx: CallContext, input: W.MoveWorkPackageInput): Promise<WorkPackageView> {
    return this.workPackages.move(ctx, input);
  }
}
