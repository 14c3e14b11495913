import type {
  ApprovalDecision,
  ApprovalFilter,
  ApprovalRequest,
  RunEffect,
  RunFilter,
  WorkflowRun,
} from '../model.js';

/** Durable workflow state, read only: runs, their recorded effects and approval requests. */
export interface RunReader {
  getRun(tenant_id: string, id: string): Promise<WorkflowRun | undefined>;
  /** Newest first. */
  listRuns(tenant_id: string, filter: RunFilter): Promise<WorkflowRun[]>;
  /** Across tenants: runs left `running` (a crash mid-step) to resume on start. */
  listRunning(limit: number): Promise<{ tenant_id: string; id: string }[]>;
  /** Across tenants: waiting runs whose wake time is at or before `now`. */
  listDue(now: string, limit: number): Promise<{ tenant_id: string; id: string }[]>;
  /** Across tenants: the earliest wake time of a waiting run. */
  nextWake(): Promise<string | undefined>;

  /** In seq order. */
  listEffects(tenant_id: string, run_id: string): Promise<RunEffect[]>;
  getEffect(tenant_id: string, run_id: string, seq: number): Promise<RunEffect | undefined>;

  getApproval(tenant_id: string, id: string): Promise<ApprovalRequest | undefined>;
  findApprovalByKey(
    tenant_id: string,
    workflow_id: string,
    request_key: string,
  ): Promise<ApprovalRequest | undefined>;
  /** Newest first. */
  listApprovals(tenant_id: string, filter: ApprovalFilter): Promise<ApprovalRequest[]>;
  listApprovalDecisions(tenant_id: string, approval_id: string): Promise<ApprovalDecision[]>;
}

/** Durable workflow state: runs, their recorded effects and approval requests (`tx.runs`). */
export interface RunTx extends RunReader {
  insertRun(run: WorkflowRun): Promise<void>;
  updateRun(run: WorkflowRun): Promise<void>;
  /** Updates the run only if it is still as last read (its `updated_at`); false if it changed. */
  updateRunIf(run: WorkflowRun, read_at: string): Promise<boolean>;
  /** A second effect with the same seq is rejected by the store (CONFLICT). */
  insertEffect(effect: RunEffect): Promise<void>;
  insertApproval(approval: ApprovalRequest): Promise<void>;
  updateApproval(approval: ApprovalRequest): Promise<void>;
  insertApprovalDecision(decision: ApprovalDecision): Promise<void>;
}
