import type { RoleQuorum } from './quorum.js';

/**
 * Domain records. Every row carries its tenant; IDs are `<kind>_<n>` counted per tenant, so a
 * fresh data directory reproduces the seed's example IDs (`actor_1`, `workflow_1`, …).
 */

export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type IdKind =
  | 'actor'
  | 'workflow'
  | 'proposal'
  | 'decision'
  | 'execution'
  | 'parallel'
  | 'token'
  | 'document'
  | 'approval'
  | 'wp';

export type RiskClass = 'read' | 'write' | 'irreversible';

/** What an actor is: only humans decide unless a policy names a service for a tool. */
export type ActorKind = 'human' | 'agent' | 'service';
export const ACTOR_KINDS: readonly ActorKind[] = ['human', 'agent', 'service'];

export interface Actor {
  readonly tenant_id: string;
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly kind: ActorKind;
  readonly created_at: string;
}

export type WorkflowStatus = 'open' | 'completed' | 'failed' | 'cancelled';

export interface Workflow {
  readonly tenant_id: string;
  readonly id: string;
  readonly title: string;
  readonly status: WorkflowStatus;
  readonly idempotency_key: string | null;
  readonly created_by: string;
  readonly created_at: string;
}

/**
 * pending → approved → executed | failed
 *         → rejected
 *         → needs_info → pending (revised by the proposer)
 */
export type ProposalStatus =
  'pending' | 'approved' | 'rejected' | 'needs_info' | 'executed' | 'failed';

export interface Proposal {
  readonly tenant_id: string;
  readonly id: string;
  readonly workflow_id: string;
  readonly proposer_id: string;
  readonly tool: string;
  readonly reason: string;
  readonly status: ProposalStatus;
  /** The newest version; reviews always apply to it. */
  readonly version: number;
  readonly required_approvals: number;
  /** Roles of which a reviewer must hold one for an approval to count; empty means any. */
  readonly required_roles: readonly string[];
  /** Approvals per role (quorum.ts); absent: `required_approvals` from any of `required_roles`. */
  readonly role_quorum?: RoleQuorum | undefined;
  readonly approved_version: number | null;
  readonly approved_hash: string | null;
  readonly policy_version: string;
  readonly created_at: string;
  readonly updated_at: string;
}

export type VersionOrigin = 'proposed' | 'edited' | 'revised';

/** One immutable version of a proposed call. */
export interface ProposalVersion {
  readonly tenant_id: string;
  readonly proposal_id: string;
  readonly version: number;
  readonly params: JsonObject;
  readonly hash: string;
  readonly origin: VersionOrigin;
  readonly author_id: string;
  readonly created_at: string;
  /** What the call will do in one sentence (the tool's describe()); absent when it has none. */
  readonly description?: string;
}

export type DecisionKind = 'approve' | 'reject' | 'edit' | 'request_more_info' | 'policy_allow';

/** An immutable verdict on one version of a proposal. */
export interface Decision {
  readonly tenant_id: string;
  readonly id: string;
  readonly proposal_id: string;
  readonly version: number;
  readonly hash: string;
  /** `policy` for a call the policy allowed without review. */
  readonly reviewer_id: string;
  /**
   * The reviewer's role when they decided: a quorum counts this role, whatever the actor's
   * role is now. Null for policy and for decisions recorded before roles were kept.
   */
  readonly reviewer_role: string | null;
  readonly decision: DecisionKind;
  readonly comment: string | null;
  readonly edits: JsonObject | null;
  readonly policy_version: string;
  /** The API token the decision was made with (null: the local operator's tools, or policy). */
  readonly token_id: string | null;
  readonly created_at: string;
}

export type ExecutionStatus = 'started' | 'succeeded' | 'failed' | 'simulated';

export interface Execution {
  readonly tenant_id: string;
  readonly id: string;
  readonly workflow_id: string;
  readonly proposal_id: string;
  readonly version: number;
  readonly tool: string;
  readonly params: JsonObject;
  readonly hash: string;
  readonly dry_run: boolean;
  readonly status: ExecutionStatus;
  readonly output: JsonObject | null;
  readonly error: JsonObject | null;
  readonly started_at: string;
  readonly finished_at: string | null;
}

export interface LedgerEvent {
  readonly tenant_id: string;
  readonly seq: number;
  readonly time: string;
  readonly type: string;
  readonly actor: string;
  readonly workflow_id: string | null;
  readonly data: JsonObject;
  readonly prev_hash: string;
  readonly hash: string;
}

export interface LedgerHead {
  readonly seq: number;
  readonly hash: string;
}

export interface ProposalFilter {
  readonly status?: ProposalStatus | undefined;
  readonly workflow_id?: string | undefined;
  readonly tool?: string | undefined;
  /** Only proposals last changed at or before this time (i.e. waiting at least that long). */
  readonly updated_before?: string | undefined;
  /** Leave out proposals of workflow runs (their review happens at the run's gates). */
  readonly outside_runs?: boolean | undefined;
  readonly limit: number;
}

/** An API token bound to one actor in one tenant. Only the SHA-256 of the secret is stored. */
export interface ApiToken {
  readonly tenant_id: string;
  readonly id: string;
  readonly actor_id: string;
  readonly name: string;
  readonly token_hash: string;
  /** Who minted it: always the tenant's operator (the root of trust). */
  readonly created_by: string;
  readonly created_at: string;
  /** After this time the token is refused; null: no expiry. */
  readonly expires_at: string | null;
  /** The operations the token may call; null: every operation its principal may. */
  readonly scope: readonly string[] | null;
  readonly revoked_at: string | null;
  /** When a request last authenticated with it (updated at most once a minute). */
  readonly last_used_at: string | null;
}

/** The first response to a write sent with an idempotency key, replayed on retries. */
export interface IdempotencyRecord {
  readonly tenant_id: string;
  /** Who sent it: keys are scoped per principal. */
  readonly principal: string;
  readonly key: string;
  /** Hash of the operation and its input: the same key with another request is refused. */
  readonly fingerprint: string;
  /** The answer's status (200, a refusal's 4xx), or 0: the door composes the answer again (reply.ts). */
  readonly status: number;
  readonly body: JsonValue;
  readonly created_at: string;
}

// ---- durable workflows ------------------------------------------------------------------

export type RunStatus = 'running' | 'waiting' | 'completed' | 'failed' | 'cancelled';

/** One run of a workflow definition (seed 000's Run model). Its ID is also a workflow ID. */
export interface WorkflowRun {
  readonly tenant_id: string;
  /** `run_<20 hex>`: derived from tenant + definition + idempotency key. */
  readonly id: string;
  readonly definition: string;
  readonly definition_version: string;
  readonly status: RunStatus;
  readonly stage: string;
  readonly input: JsonObject;
  /** Seed 001's WorkflowContext. */
  readonly context: JsonObject;
  readonly artifacts: JsonObject;
  /** Ordered tool write-backs and human decisions. */
  readonly trace: readonly JsonObject[];
  /** What the run waits for (an approval request, a time), when waiting. */
  readonly waiting_on: JsonObject | null;
  /** When a waiting run must be woken even without a decision (gate timeout, change window). */
  readonly wake_at: string | null;
  readonly error: JsonObject | null;
  readonly idempotency_key: string;
  /** Hash of the canonical input: the same key with another input is refused. */
  readonly input_hash: string;
  readonly started_by: string;
  readonly purpose: string;
  readonly created_at: string;
  readonly updated_at: string;
}

/** The recorded result of one effect of a run: replayed instead of re-run. */
export interface RunEffect {
  readonly tenant_id: string;
  readonly run_id: string;
  readonly seq: number;
  readonly kind: string;
  readonly result: JsonValue;
  readonly created_at: string;
}

export type ApprovalStatus =
  'pending' | 'approved' | 'rejected' | 'needs_info' | 'timed_out' | 'cancelled';

/** Anything waiting on a human that is not a proposal's own review: a workflow gate. */
export interface ApprovalRequest {
  readonly tenant_id: string;
  readonly id: string;
  readonly workflow_id: string;
  /** Unique per workflow: the gate's step and attempt, e.g. `plan_approval#2`. */
  readonly request_key: string;
  readonly title: string;
  /** What the reviewer sees: summary, risk, the calls and their hashes. */
  readonly packet: JsonObject;
  readonly required_approvals: number;
  readonly required_roles: readonly string[];
  /** Approvals per role (quorum.ts); absent: `required_approvals` from any of `required_roles`. */
  readonly role_quorum?: RoleQuorum | undefined;
  /** Proposals the approval applies to (bound by hash). */
  readonly proposals: readonly { readonly proposal_id: string; readonly hash: string }[];
  readonly status: ApprovalStatus;
  /** Who asked (a run's initiator or an agent); never one of its approvers. */
  readonly requested_by: string;
  /**
   * Others who may not decide it either, e.g. who requested the plan an activation carries out.
   * Absent: only `requested_by`.
   */
  readonly authors?: readonly string[] | undefined;
  readonly due_at: string | null;
  /** On timeout: `{ outcome }` or `{ escalate_to: [roles] }`. */
  readonly on_timeout: JsonObject | null;
  readonly created_at: string;
  readonly updated_at: string;
}

export type ApprovalDecisionKind = 'approve' | 'reject' | 'request_more_info' | 'timeout';

export interface ApprovalDecision {
  readonly tenant_id: string;
  readonly id: string;
  readonly approval_id: string;
  readonly reviewer_id: string;
  /** The reviewer's role when they decided (null: recorded before roles were kept). */
  readonly reviewer_role: string | null;
  readonly decision: ApprovalDecisionKind;
  readonly comment: string | null;
  /** The API token the decision was made with (null: the local operator's tools, or the system). */
  readonly token_id: string | null;
  readonly created_at: string;
}

export interface RunFilter {
  readonly status?: RunStatus | undefined;
  readonly definition?: string | undefined;
  readonly stage?: string | undefined;
  readonly limit: number;
}

export interface ApprovalFilter {
  readonly status?: ApprovalStatus | undefined;
  readonly workflow_id?: string | undefined;
  readonly limit: number;
}
