import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ApprovalDecision, ApprovalRequest, JsonObject } from '../../core/model.js';
import type { GateWait } from '../effects.js';

/**
 * What the Temporal workflow, its worker and its client agree on: names, argument shapes,
 * the update and query definitions and the search attributes. Workflow-safe (no Node
 * built-ins, no I/O): the workflow bundle imports it.
 */

export const DEFAULT_TASK_QUEUE = 'countersign';
export const DEFAULT_NAMESPACE = 'default';
/** The workflow type every Countersign run executes as (its ID is the run ID). */
export const RUN_WORKFLOW = 'countersignRun';

/** How long activities may take before Temporal retries them elsewhere. */
export interface ActivityTimeouts {
  /** Store-only activities (steps, proposals, approval requests): milliseconds. */
  readonly store_ms: number;
  /** Agent invocations and tool executions: milliseconds, with heartbeats. */
  readonly call_ms: number;
  /** A worker that stops heartbeating for this long is presumed dead: milliseconds. */
  readonly heartbeat_ms: number;
}

export const DEFAULT_ACTIVITY_TIMEOUTS: ActivityTimeouts = {
  store_ms: 30_000,
  call_ms: 300_000,
  heartbeat_ms: 20_000,
};

export interface RunWorkflowArgs {
  readonly tenant_id: string;
  readonly run_id: string;
  readonly definition: string;
  readonly definition_version: string;
  readonly input: JsonObject;
  readonly started_by: string;
  readonly purpose: string;
  readonly timeouts?: ActivityTimeouts;
}

/**
 * A gate's outcome as the decisions recorded in the store resolved it. It tells a waiting run
 * to read the gate again (the store stays the record) and shows in the run's history who decided.
 */
export type ApprovalOutcome = Extract<GateWait, { kind: 'decided' }> & {
  readonly approval_id: string;
};

/** What a waiting run waits for. */
export type WaitingOn =
  | { readonly kind: 'approval'; readonly approval_id: string; readonly roles: readonly string[] }
  | { readonly kind: 'time'; readonly until: string };

/** A gate's outcome from its state in the store; null while nobody has settled it. */
export function outcomeOf(
  approval: Pick<ApprovalRequest, 'id' | 'status'>,
  decisions: readonly Pick<
    ApprovalDecision,
    'reviewer_id' | 'decision' | 'comment' | 'created_at'
  >[],
): ApprovalOutcome | null {
  if (approval.status === 'pending' || approval.status === 'cancelled') return null;
  return {
    kind: 'decided',
    approval_id: approval.id,
    status: approval.status,
    decisions: decisions.map((d) => ({
      reviewer_id: d.reviewer_id,
      decision: d.decision,
      comment: d.comment,
      at: d.created_at,
    })),
  };
}

/** Where a run stands inside the workflow (what the updates answer and the query shows). */
export interface RunSnapshot {
  readonly run_id: string;
  readonly stage: string;
  readonly state: 'running' | 'waiting' | 'completed' | 'failed' | 'cancelled';
  readonly waiting_on: WaitingOn | null;
  /** Gates whose outcome the run took from the store and acted on. */
  readonly consumed: readonly string[];
}

/** A human decision resolved a gate: the workflow goes on. Answers once the run waits again or ends. */
export const approvalResolved = defineUpdate<RunSnapshot, [ApprovalOutcome]>('approvalResolved');
/** Answers once the run waits (for a human or a time) or ends. */
export const settled = defineUpdate<RunSnapshot, []>('settled');
export const snapshot = defineQuery<RunSnapshot>('snapshot');

/** The update ID of a gate's outcome: Temporal applies an update with one ID once. */
export const approvalUpdateId = (approval_id: string) => `approval:${approval_id}`;

export const SEARCH_ATTRIBUTES = {
  tenant: defineSearchAttributeKey('CountersignTenant', SearchAttributeType.KEYWORD),
  definition: defineSearchAttributeKey('CountersignDefinition', SearchAttributeType.KEYWORD),
  stage: defineSearchAttributeKey('CountersignStage', SearchAttributeType.KEYWORD),
  waitingOnHuman: defineSearchAttributeKey('CountersignWaitingOnHuman', SearchAttributeType.BOOL),
  waitingRoles: defineSearchAttributeKey(
    'CountersignWaitingRoles',
    SearchAttributeType.KEYWORD_LIST,
  ),
  approval: defineSearchAttributeKey('CountersignApproval', SearchAttributeType.KEYWORD),
} as const;
