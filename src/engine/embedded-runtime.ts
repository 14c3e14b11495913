import { telemetry } from '../core/ports/telemetry.js';
import type { CallContext } from '../core/context.js';
import type { JsonObject, JsonValue, RunEffect, WorkflowRun } from '../core/model.js';
import type { PendingEffect, WorkflowOps } from '../core/workflow-ops.js';
import type { StartRunInput } from '../core/workflow-schemas.js';
import type { Activities, RunRef } from './activities.js';
import { type AnyDefinition, DefinitionCatalogue } from './catalogue.js';
import type { ActivityArgs, ActivityName, ActivityResult, Effects, GateWait } from './effects.js';
import { interpret } from './interpreter.js';
import { type RunStatusView, type WorkflowEngine, runView } from './port.js';

export interface EmbeddedRuntimeDeps {
  readonly ops: WorkflowOps;
  readonly activities: Activities;
  readonly definitions: readonly AnyDefinition[];
  /** Reports a run that stopped on an unexpected error (it is resumed on the next start). */
  readonly onError?: (run_id: string, error: unknown) => void;
  /** Use real timers for wake-ups (default). Tests with an injected clock call `tick()`. */
  readonly timers?: boolean;
}

const MAX_TIMER_MS = 2_147_000_000;

/**
 * The embedded runtime: runs live in the store. A run is driven by replaying the interpreter
 * over its recorded effects until it needs something new; when it must wait for a human or a
 * time it records why and leaves memory entirely. A decision drives it again at once; timers
 * (gate deadlines, change windows) are one process timer set to the earliest wake time in the
 * store. Nothing polls.
 */
export class EmbeddedRuntime implements WorkflowEngine {
  readonly runtime = 'embedded' as const;
  private readonly ops: WorkflowOps;
  private readonly activities: Activities;
  private readonly defs: DefinitionCatalogue;
  private readonly drives = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt: string | undefined;
  private closed = false;

  constructor(private readonly deps: EmbeddedRuntimeDeps) {
    this.ops = deps.ops;
    this.activities = deps.activities;
    this.defs = new DefinitionCatalogue(deps.definitions, deps.ops.kernel.listTools());
  }

  definitions() {
    return this.defs.list();
  }

  /** Resumes runs a crash left mid-step and arms the timer for waiting ones. */
  async resume(): Promise<void> {
    const { running } = await this.ops.runnable(this.ops.clock.now(), 10_000);
    await Promise.all(running.map((r) => this.drive(r.tenant_id, r.id)));
    await this.tick();
  }

  async start(ctx: CallContext, input: StartRunInput): Promise<RunStatusView> {
    const { run, created } = await this.defs.createRun(this.ops, ctx, input);
    if (created || run.status === 'running') await this.drive(run.tenant_id, run.id);
    return this.status(ctx, run.id);
  }

  async decide(
    ctx: CallContext,
    input: Parameters<WorkflowEngine['decide']>[1],
    seen?: Parameters<WorkflowEngine['decide']>[2],
  ) {
    const r = await this.ops.decideApproval(ctx, input, seen);
    if (r.resolved) await this.drive(ctx.tenant_id, r.approval.workflow_id);
    const run = await this.ops.loadRun(ctx.tenant_id, r.approval.workflow_id);
    return { approval: r.approval, decision: r.decision, run: runView(run.run) };
  }

  async status(ctx: CallContext, workflow_id: string): Promise<RunStatusView> {
    return runView(await this.ops.getRun(ctx, workflow_id));
  }

  async list(ctx: CallContext, filter: unknown): Promise<RunStatusView[]> {
    return (await this.ops.listRuns(ctx, filter)).map(runView);
  }

  async cancel(ctx: CallContext, input: unknown): Promise<RunStatusView> {
    const run = await this.ops.cancelRun(ctx, input);
    return runView(run);
  }

  /** Drives every waiting run whose wake time has come, then re-arms the timer. */
  async tick(): Promise<void> {
    const now = this.ops.clock.now();
    const { due } = await this.ops.runnable(now, 1000);
    await Promise.all(due.map((r) => this.drive(r.tenant_id, r.id)));
    await this.arm();
  }

  /** Waits for every drive in flight (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.drives.size > 0) await Promise.allSettled([...this.drives.values()]);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.settle();
  }

  // ---- driving ----------------------------------------------------------------------------

  /** Drives one run; concurrent calls for the same run queue behind each other. */
  private drive(tenant_id: string, run_id: string): Promise<void> {
    const key = `${tenant_id}/${run_id}`;
    const previous = this.drives.get(key) ?? Promise.resolve();
    const current = previous
      .then(() => this.driveNow(tenant_id, run_id))
      .catch((e: unknown) => this.deps.onError?.(run_id, e));
    this.drives.set(key, current);
    void current.then(() => {
      if (this.drives.get(key) === current) this.drives.delete(key);
    });
    return current;
  }

  private driveNow(tenant_id: string, run_id: string): Promise<void> {
    const t = telemetry();
    if (!t.enabled) return this.driveRun(tenant_id, run_id);
    return t.span(
      'countersign.run',
      { 'countersign.tenant': tenant_id, 'countersign.workflow_id': run_id },
      () => this.driveRun(tenant_id, run_id),
    );
  }

  /** Replays the run to where it stands and drives it on until it ends or waits. */
  private async driveRun(tenant_id: string, run_id: string): Promise<void> {
    if (this.closed) return;
    const { run, effects } = await this.ops.loadRun(tenant_id, run_id);
    if (run.status !== 'running' && run.status !== 'waiting') return;
    const def = this.defs.forRun(run);
    let suspend!: (w: { waiting_on: JsonObject; wake_at: string | null }) => void;
    const suspended = new Promise<{ waiting_on: JsonObject; wake_at: string | null }>(
      (resolve) => (suspend = resolve),
    );
    const fx = this.effects(run, effects, suspend);
    const outcome = await Promise.race([interpret(def, run, fx).then(() => null), suspended]);
    if (outcome) {
      // Not waiting after all (the gate was decided meanwhile): driven again, after this drive.
      if (!(await this.ops.setRunWaiting(tenant_id, run_id, outcome)))
        void this.drive(tenant_id, run_id);
      else if (outcome.wake_at) await this.arm(outcome.wake_at);
    }
  }

  private effects(
    run: WorkflowRun,
    recorded: readonly RunEffect[],
    suspend: (w: { waiting_on: JsonObject; wake_at: string | null }) => void,
  ): Effects & { started_by: string } {
    const bySeq = new Map(recorded.map((e) => [e.seq, e]));
    const ref: RunRef = { tenant_id: run.tenant_id, run_id: run.id, purpose: run.purpose };
    const never = new Promise<never>(() => undefined);
    let woke = run.status !== 'waiting';
    const wake = async () => {
      if (woke) return;
      woke = true;
      await this.ops.setRunWaiting(run.tenant_id, run.id, null);
    };
    // What the run observes (a clock reading, a wait's outcome) is recorded with its next
    // effect, in one commit; and on its own before the run stops to wait.
    const pending: PendingEffect[] = [];
    const record = <T>(seq: number, kind: string, value: T): T => {
      pending.push({ seq, kind, result: value as JsonValue });
      return value;
    };
    const stop = async (w: { waiting_on: JsonObject; wake_at: string | null }) => {
      await this.ops.recordPending(run.tenant_id, run.id, pending.splice(0));
      suspend(w);
    };
    return {
      started_by: run.started_by,
      activity: async <N extends ActivityName>(
        seq: number,
        name: N,
        args: ActivityArgs<N>,
      ): Promise<ActivityResult<N>> => {
        const known = bySeq.get(seq);
        if (known) return known.result as unknown as ActivityResult<N>;
        await wake();
        const fn = this.activities[name] as unknown as (
          ref: RunRef,
          seq: number,
          args: ActivityArgs<N>,
        ) => Promise<ActivityResult<N>>;
        return fn({ ...ref, preface: pending.splice(0) }, seq, args);
      },
      now: (seq) => {
        const known = bySeq.get(seq);
        return Promise.resolve(
          known ? (known.result as string) : record(seq, 'now', this.ops.clock.now()),
        );
      },
      sleepUntil: async (seq, until) => {
        if (bySeq.has(seq)) return;
        const now = this.ops.clock.now();
        if (now >= until) {
          await wake();
          record(seq, 'sleep', { until, woke_at: now });
          return;
        }
        await stop({ waiting_on: { kind: 'time', until }, wake_at: until });
        return never;
      },
      waitForApproval: async (seq, approval_id, due_at): Promise<GateWait> => {
        const known = bySeq.get(seq);
        if (known) return known.result as GateWait;
        const { approval, decisions } = await this.ops.approvalState(run.tenant_id, approval_id);
        const now = this.ops.clock.now();
        let result: GateWait | null = null;
        if (approval.status !== 'pending' && approval.status !== 'cancelled')
          result = {
            kind: 'decided',
            status: approval.status,
            decisions: decisions.map((d) => ({
              reviewer_id: d.reviewer_id,
              decision: d.decision,
              comment: d.comment,
              at: d.created_at,
            })),
          };
        else if (due_at !== null && now >= due_at) result = { kind: 'timeout' };
        if (result === null) {
          await stop({
            waiting_on: { kind: 'approval', approval_id, roles: [...approval.required_roles] },
            wake_at: due_at,
          });
          return never;
        }
        await wake();
        return record(seq, 'wait', result);
      },
    };
  }

  /** Sets the process timer to the earliest wake time (or `hint` when earlier). */
  private async arm(hint?: string): Promise<void> {
    if (this.closed || this.deps.timers === false) return;
    const next = hint ?? (await this.ops.runnable(this.ops.clock.now(), 1)).next_wake;
    if (!next) return;
    if (this.timer && this.timerAt !== undefined && this.timerAt <= next) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.min(
      Math.max(0, Date.parse(next) - Date.parse(this.ops.clock.now())),
      MAX_TIMER_MS,
    );
    this.timerAt = next;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.tick().catch((e: unknown) => this.deps.onError?.('timer', e));
    }, delay);
    this.timer.unref();
  }
}
