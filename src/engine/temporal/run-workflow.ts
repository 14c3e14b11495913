import {
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { PendingEffect } from '../../core/workflow-ops.js';
import type { RunRef } from '../activities.js';
import { type AnyDefinition, DefinitionCatalogue } from '../catalogue.js';
import type { ActivityArgs, ActivityName, ActivityResult, Effects, GateWait } from '../effects.js';
import { interpret } from '../interpreter.js';
import type { ActivityCall, TemporalActivities } from './activities.js';
import {
  type ApprovalOutcome,
  DEFAULT_ACTIVITY_TIMEOUTS,
  type RunSnapshot,
  type RunWorkflowArgs,
  type WaitingOn,
  SEARCH_ATTRIBUTES as SA,
  approvalResolved,
  settled,
  snapshot,
} from './contract.js';

const OUTCOMES: ReadonlySet<string> = new Set(['approved', 'rejected', 'needs_info', 'timed_out']);
const ENDED: ReadonlySet<RunSnapshot['state']> = new Set(['completed', 'failed', 'cancelled']);

/**
 * The Temporal workflow of a Countersign run: the one interpreter, with its effects as
 * activities, its waits as durable timers and conditions, and human decisions arriving as an
 * update. Deterministic: no I/O, no Node built-ins; time is Temporal's workflow time.
 *
 * A worker bundles a module exporting `countersignRun = createRunWorkflow(DEFINITIONS)`; a
 * team with definitions of its own exports one built from its list instead.
 */
export function createRunWorkflow(definitions: readonly AnyDefinition[]) {
  const catalogue = new DefinitionCatalogue(definitions);

  return async function countersignRun(args: RunWorkflowArgs): Promise<RunSnapshot> {
    const def = catalogue.get(args.definition);
    // A plain Error fails the workflow task, not the run: it is retried until a worker with
    // the definition version the run started with picks it up.
    if (def.version !== args.definition_version)
      throw new Error(
        `${args.run_id} was started with ${def.name} ${args.definition_version}; this worker has ${def.version}`,
      );
    const t = args.timeouts ?? DEFAULT_ACTIVITY_TIMEOUTS;
    // Store-only effects: retried until the store answers (each is idempotent by run and seq).
    const store = proxyActivities<TemporalActivities>({
      startToCloseTimeout: t.store_ms,
      retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '30s' },
    });
    // Agents and reads: retried with backoff, a few times.
    const calls = proxyActivities<TemporalActivities>({
      startToCloseTimeout: t.call_ms,
      heartbeatTimeout: t.heartbeat_ms,
      retry: {
        initialInterval: '1s',
        backoffCoefficient: 2,
        maximumInterval: '60s',
        maximumAttempts: 5,
      },
    });
    // Tools: a retry is safe only because the kernel's at-most-once record answers it (the
    // stored result, or EXECUTION_IN_DOUBT for a call that started and never finished).
    const tools = proxyActivities<TemporalActivities>({
      startToCloseTimeout: t.call_ms,
      heartbeatTimeout: t.heartbeat_ms,
      retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 },
    });
    const proxyFor = (name: ActivityName) =>
      name === 'agent' || name === 'retrieve' || name === 'plan_reads' || name === 'save_plan'
        ? calls
        : name === 'execute'
          ? tools
          : store;

    let stage = def.initial_stage;
    let state: RunSnapshot['state'] = 'running';
    let waitingOn: WaitingOn | null = null;
    let waits = 0;
    let lastSeq = 0;
    let wake = false;
    /** Updates received per approval: each one makes a waiting gate read the store again. */
    const nudges = new Map<string, number>();
    /** Gates whose outcome the run took from the store and acted on. */
    const consumed = new Set<string>();
    const pending: PendingEffect[] = [];
    const bare: RunRef = { tenant_id: args.tenant_id, run_id: args.run_id, purpose: args.purpose };

    const view = (): RunSnapshot => ({
      run_id: args.run_id,
      stage,
      state,
      waiting_on: waitingOn,
      consumed: [...consumed],
    });

    // What the Temporal UI lists and filters by, and the run's current details.
    let shown = { stage: def.initial_stage, human: false, roles: [] as string[], approval: '' };
    const publish = () => {
      const human = waitingOn?.kind === 'approval';
      const roles = waitingOn?.kind === 'approval' ? [...waitingOn.roles] : [];
      const approval = waitingOn?.kind === 'approval' ? waitingOn.approval_id : '';
      const pairs = [];
      if (stage !== shown.stage) pairs.push({ key: SA.stage, value: stage });
      if (human !== shown.human) pairs.push({ key: SA.waitingOnHuman, value: human });
      if (roles.join(',') !== shown.roles.join(','))
        pairs.push({ key: SA.waitingRoles, value: roles.length ? roles : null });
      if (approval !== shown.approval)
        pairs.push({ key: SA.approval, value: approval === '' ? null : approval });
      if (pairs.length) upsertSearchAttributes(pairs);
      shown = { stage, human, roles, approval };
      setCurrentDetails(details(def.name, args.run_id, view()));
    };

    setHandler(snapshot, view);
    setHandler(settled, async () => {
      await condition(() => ENDED.has(state) || waitingOn !== null);
      return view();
    });
    setHandler(
      approvalResolved,
      async (outcome) => {
        nudges.set(outcome.approval_id, (nudges.get(outcome.approval_id) ?? 0) + 1);
        // Waiting on something else (a decision that arrived early): nothing moves now.
        const on = waitingOn;
        if (on !== null && (on.kind !== 'approval' || on.approval_id !== outcome.approval_id))
          return view();
        const since = waits;
        await condition(() => ENDED.has(state) || (waitingOn !== null && waits > since));
        return view();
      },
      {
        // Runs before the update is written to history: a malformed or contradictory outcome
        // is refused without a trace.
        validator: (raw: unknown) => {
          if (ENDED.has(state)) throw new Error(`${args.run_id} has ended (${state})`);
          const outcome = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<
            Record<keyof ApprovalOutcome, unknown>
          >;
          if (typeof outcome.approval_id !== 'string' || outcome.approval_id === '')
            throw new Error('approval_id is required');
          if (
            outcome.kind !== 'decided' ||
            typeof outcome.status !== 'string' ||
            !OUTCOMES.has(outcome.status)
          )
            throw new Error(`status must be one of ${[...OUTCOMES].join(', ')}`);
          if (!Array.isArray(outcome.decisions)) throw new Error('decisions must be a list');
          if (consumed.has(outcome.approval_id))
            throw new Error(`${outcome.approval_id} was already applied to ${args.run_id}`);
        },
      },
    );

    const blockOn = (on: WaitingOn) => {
      waitingOn = on;
      waits++;
      publish();
    };
    const unblock = () => {
      waitingOn = null;
      wake = true;
      publish();
    };

    const fx: Effects = {
      async activity<N extends ActivityName>(seq: number, name: N, a: ActivityArgs<N>) {
        lastSeq = Math.max(lastSeq, seq);
        const call: ActivityCall<N> = {
          ref: { ...bare, preface: pending.splice(0) },
          seq,
          args: a,
          ...(wake ? { wake: true } : {}),
        };
        wake = false;
        const fn = proxyFor(name)[name] as unknown as (
          c: ActivityCall<N>,
        ) => Promise<ActivityResult<N>>;
        const result = await fn(call);
        if (name === 'step') {
          stage = (result as ActivityResult<'step'>).stage;
          publish();
        }
        return result;
      },
      now(seq) {
        lastSeq = Math.max(lastSeq, seq);
        const value = new Date().toISOString();
        pending.push({ seq, kind: 'now', result: value });
        return Promise.resolve(value);
      },
      async sleepUntil(seq, until) {
        lastSeq = Math.max(lastSeq, seq);
        const ms = Date.parse(until) - Date.now();
        if (ms > 0) {
          await store.mark_waiting({
            ref: bare,
            waiting_on: { kind: 'time', until },
            wake_at: until,
          });
          blockOn({ kind: 'time', until });
          await sleep(ms);
          unblock();
        }
        pending.push({ seq, kind: 'sleep', result: { until, woke_at: new Date().toISOString() } });
      },
      async waitForApproval(seq, approval_id, due_at): Promise<GateWait> {
        lastSeq = Math.max(lastSeq, seq);
        // The store is the record of decisions: an update only says "look again", so an
        // update that arrives early, twice or with a false claim cannot pass a gate.
        let outcome: ApprovalOutcome | null = null;
        for (;;) {
          const seen = nudges.get(approval_id) ?? 0;
          const found = await store.await_approval({ ref: bare, approval_id, due_at });
          if (found.outcome) {
            outcome = found.outcome;
            break;
          }
          const left = due_at === null ? null : Date.parse(due_at) - Date.now();
          if (left !== null && left <= 0) break;
          blockOn({ kind: 'approval', approval_id, roles: found.roles });
          const nudged = () => (nudges.get(approval_id) ?? 0) > seen;
          const moved =
            left === null ? (await condition(nudged), true) : await condition(nudged, left);
          unblock();
          if (!moved) break;
        }
        if (outcome) consumed.add(approval_id);
        const result: GateWait = outcome
          ? { kind: 'decided', status: outcome.status, decisions: outcome.decisions }
          : { kind: 'timeout' };
        pending.push({ seq, kind: 'wait', result });
        return result;
      },
    };

    publish();
    try {
      const end = await interpret(
        def,
        {
          id: args.run_id,
          tenant_id: args.tenant_id,
          input: args.input,
          started_by: args.started_by,
        },
        fx,
      );
      state = end.status;
    } catch (e) {
      if (isCancellation(e)) {
        // The store recorded the cancellation before Temporal was asked to cancel; the
        // workflow ends as cancelled in Temporal too.
        state = 'cancelled';
        waitingOn = null;
        publish();
        throw e;
      } else {
        // An activity failed for good (refused, or out of attempts): the run fails, on record.
        const reason =
          e instanceof Error
            ? `${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ''}`
            : String(e);
        await CancellationScope.nonCancellable(() =>
          store.finish({
            ref: { ...bare, preface: pending.splice(0) },
            seq: lastSeq + 1,
            args: { status: 'failed', stage, error: { step_id: 'runtime', reason } },
          }),
        );
        state = 'failed';
      }
    }
    waitingOn = null;
    publish();
    await condition(allHandlersFinished);
    return view();
  };
}

/** The run's current details, as the Temporal UI shows them (Markdown). */
function details(definition: string, run_id: string, s: RunSnapshot): string {
  const lines = [`**${definition}** ${run_id}`, `stage: \`${s.stage}\` · ${s.state}`];
  if (s.waiting_on?.kind === 'approval') {
    const roles = (s.waiting_on.roles as string[] | undefined) ?? [];
    lines.push(
      `waiting on a human: ${String(s.waiting_on.approval_id)}${roles.length ? ` (roles: ${roles.join(', ')})` : ''}`,
    );
  } else if (s.waiting_on?.kind === 'time')
    lines.push(`waiting until ${String(s.waiting_on.until)}`);
  return lines.join('\n\n');
}
