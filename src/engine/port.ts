import type { CallContext } from '../core/context.js';
import type { ApprovalDecision, ApprovalRequest, WorkflowRun } from '../core/model.js';
import type { DecideApprovalInput, StartRunInput } from '../core/workflow-schemas.js';

/**
 * The engine port: what surfaces call to run workflows. The embedded runtime (one process,
 * the store's timers) and the Temporal runtime both implement it; surfaces cannot tell them
 * apart.
 */
export interface WorkflowEngine {
  readonly runtime: 'embedded' | 'temporal';
  /** Starts a run; the same idempotency key (with the same input) is the same run. */
  start(ctx: CallContext, input: StartRunInput): Promise<RunStatusView>;
  /**
   * Records a human decision on a gate and lets the waiting run go on. `seen.hash`: the gate
   * hash the reviewer was shown (a door that shows the gate first, e.g. Slack).
   */
  decide(
    ctx: CallContext,
    input: DecideApprovalInput,
    seen?: { readonly hash?: string | undefined },
  ): Promise<{ approval: ApprovalRequest; decision: ApprovalDecision; run: RunStatusView }>;
  status(ctx: CallContext, workflow_id: string): Promise<RunStatusView>;
  list(ctx: CallContext, filter: unknown): Promise<RunStatusView[]>;
  cancel(ctx: CallContext, input: unknown): Promise<RunStatusView>;
  /** Definitions this engine runs, with their input schemas. */
  definitions(): readonly { name: string; version: string; description: string }[];
  close(): Promise<void>;
}

/** A run as surfaces show it (seed 000's Run model). */
export interface RunStatusView {
  readonly workflow_id: string;
  readonly definition: string;
  readonly status: WorkflowRun['status'];
  readonly stage: string;
  readonly waiting_on: WorkflowRun['waiting_on'];
  readonly wake_at: string | null;
  readonly context: WorkflowRun['context'];
  readonly artifacts: WorkflowRun['artifacts'];
  readonly trace: WorkflowRun['trace'];
  readonly error: WorkflowRun['error'];
  readonly created_at: string;
  readonly updated_at: string;
}

export function runView(run: WorkflowRun): RunStatusView {
  return {
    workflow_id: run.id,
    definition: run.definition,
    status: run.status,
    stage: run.stage,
    waiting_on: run.waiting_on,
    wake_at: run.wake_at,
    context: run.context,
    artifacts: run.artifacts,
    trace: run.trace,
    error: run.error,
    created_at: run.created_at,
    updated_at: run.updated_at,
  };
}
