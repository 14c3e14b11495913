import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { CountersignError } from '../../core/errors.js';
import type { JsonObject } from '../../core/model.js';
import type { WorkflowOps } from '../../core/workflow-ops.js';
import type { Activities, RunRef } from '../activities.js';
import type { ActivityArgs, ActivityName, ActivityResult } from '../effects.js';
import { type ApprovalOutcome, outcomeOf } from './contract.js';

/** One interpreter effect as a Temporal activity's single argument. */
export interface ActivityCall<N extends ActivityName> {
  readonly ref: RunRef;
  readonly seq: number;
  readonly args: ActivityArgs<N>;
  /** The run just stopped waiting: clear its waiting state in the store first. */
  readonly wake?: boolean;
}

export type TemporalActivities = {
  [N in ActivityName]: (call: ActivityCall<N>) => Promise<ActivityResult<N>>;
} & {
  /**
   * Where a gate stands: its outcome when it was decided already, else null after recording
   * in the store that the run waits on it (so a decision committed from now on is seen by the
   * server that committed it, and one committed before is returned here).
   */
  await_approval(call: {
    readonly ref: RunRef;
    readonly approval_id: string;
    readonly due_at: string | null;
  }): Promise<{ outcome: ApprovalOutcome | null; roles: string[] }>;
  /** Records in the store that the run waits until a time. */
  mark_waiting(call: {
    readonly ref: RunRef;
    readonly waiting_on: JsonObject;
    readonly wake_at: string | null;
  }): Promise<void>;
};

/** Activities that call out (a model, a tool) heartbeat so a dead worker is noticed quickly. */
const HEARTBEATING: ReadonlySet<ActivityName> = new Set(['agent', 'execute', 'save_plan']);
const HEARTBEAT_EVERY_MS = 1_000;

/**
 * Failures Temporal should not retry (bad input, refusals, a definition that changed) become
 * non-retryable application failures carrying the stable code; the rest are retried.
 */
export function toActivityFailure(e: unknown): unknown {
  if (e instanceof CountersignError)
    return ApplicationFailure.create({
      type: e.code,
      message: e.message,
      nonRetryable: !e.retryable,
      details: [e.toJSON()],
    });
  return e;
}

/**
 * The worker's activities: the engine's activities (each idempotent by run and sequence
 * number, so a retry returns the recorded result) plus the two the Temporal workflow needs to
 * keep the store's view of a waiting run current.
 */
export function createTemporalActivities(deps: {
  readonly ops: WorkflowOps;
  readonly activities: Activities;
}): TemporalActivities {
  const { ops, activities } = deps;

  function wrap<N extends ActivityName>(name: N) {
    const fn = activities[name] as unknown as (
      ref: RunRef,
      seq: number,
      args: ActivityArgs<N>,
    ) => Promise<ActivityResult<N>>;
    return async (call: ActivityCall<N>): Promise<ActivityResult<N>> => {
      const beat = HEARTBEATING.has(name) ? startHeartbeat() : undefined;
      try {
        if (call.wake) await ops.setRunWaiting(call.ref.tenant_id, call.ref.run_id, null);
        return await fn(call.ref, call.seq, call.args);
      } catch (e) {
        throw toActivityFailure(e);
      } finally {
        if (beat) clearInterval(beat);
      }
    };
  }

  return {
    step: wrap('step'),
    agent: wrap('agent'),
    propose: wrap('propose'),
    tool_call: wrap('tool_call'),
    save_plan: wrap('save_plan'),
    request_approval: wrap('request_approval'),
    expire_approval: wrap('expire_approval'),
    execute: wrap('execute'),
    retrieve: wrap('retrieve'),
    notify: wrap('notify'),
    plan_load: wrap('plan_load'),
    plan_reads: wrap('plan_reads'),
    finish: wrap('finish'),

    async await_approval({ ref, approval_id, due_at }) {
      try {
        const { approval, decisions } = await ops.approvalState(ref.tenant_id, approval_id);
        const roles = [...approval.required_roles];
        const outcome = outcomeOf(approval, decisions);
        if (outcome) return { outcome, roles };
        const waits = await ops.setRunWaiting(ref.tenant_id, ref.run_id, {
          waiting_on: { kind: 'approval', approval_id, roles },
          wake_at: due_at,
        });
        if (!waits) {
          // Decided while this activity looked: the outcome is read again rather than waited for.
          const again = await ops.approvalState(ref.tenant_id, approval_id);
          return { outcome: outcomeOf(again.approval, again.decisions), roles };
        }
        return { outcome: null, roles };
      } catch (e) {
        throw toActivityFailure(e);
      }
    },

    async mark_waiting({ ref, waiting_on, wake_at }) {
      try {
        await ops.setRunWaiting(ref.tenant_id, ref.run_id, { waiting_on, wake_at });
      } catch (e) {
        throw toActivityFailure(e);
      }
    },
  };
}

function startHeartbeat(): NodeJS.Timeout | undefined {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return undefined; // called outside a worker (tests call activities directly)
  }
  const timer = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
  timer.unref();
  return timer;
}
