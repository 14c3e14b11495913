import type { JsonObject, JsonValue } from '../core/model.js';
import type { AgentStep, CheckReadsStep, LoadPlanStep, RunState } from './definition.js';
import type { ActivityArgs, ActivityName, ActivityResult } from './effects.js';
import { PLAN_ARTIFACT } from './plan-brief.js';
import { type PlanCheck, checkRead, evaluateCheck, recordedFound } from './plan-checks.js';

/**
 * The step runners of plans: saving a plan-only run's plan (its output agent), loading an
 * approved plan into its activation (load_plan) and making the plan's reads again (check_reads).
 * The interpreter dispatches to them and hands them what they may touch as a `PlanStepContext`;
 * like the interpreter they do no I/O of their own: every effect is an activity of the run.
 * Workflow code (the Temporal worker replays it): no Node built-ins, nothing non-deterministic.
 */

/** What a plan step runner may use of the run the interpreter is running. */
export interface PlanStepContext<I> {
  /** The run state as it is now. */
  state(): RunState<I>;
  /** Adds (or replaces) artifacts of the run state. */
  addArtifacts(artifacts: JsonObject): void;
  /** Makes an activity (an effect of the run: a replay hands back the recorded result). */
  activity<N extends ActivityName>(name: N, args: ActivityArgs<N>): Promise<ActivityResult<N>>;
  /** A new agent invocation ID for a step. */
  newInvocation(step_id: string): string;
  /** Records the invocation later `propose` steps of `step_id` belong to. */
  invoked(step_id: string, agent_invocation_id: string): void;
  /** Records a step event (WORKFLOW_STEP). */
  event(
    step: { readonly id: string; readonly kind: string },
    status: 'completed' | 'failed',
    detail: JsonObject,
    extra?: { agent_invocation_id?: string; trace?: JsonObject[]; artifacts?: JsonObject },
  ): Promise<void>;
  /** Ends the run as failed at `step_id`: never returns. */
  fail(step_id: string, reason: string): never;
}

/** A read an agent made, with what it returned. */
export interface MadeRead {
  readonly tool: string;
  readonly params: JsonObject;
  readonly result: JsonValue;
}

/**
 * The plan a plan-only run's output agent answered, saved (an effect: a replay reads the
 * recorded outcome). Returns the artifacts to add and the detail of the step's event; fails the
 * step when the plan cannot be saved.
 */
export async function savePlanOf<I>(
  ctx: PlanStepContext<I>,
  step: AgentStep<I>,
  agent_invocation_id: string,
  plan: JsonValue,
  reads: readonly MadeRead[],
  check: ActivityArgs<'agent'>['plan_check'],
): Promise<{ artifacts: JsonObject; saved: JsonObject }> {
  const r = await ctx.activity('save_plan', {
    step_id: step.id,
    plan,
    reads: [...reads],
    expected_phase_ids: check?.expected_phase_ids ?? [],
    ...(check?.read_tools ? { read_tools: check.read_tools } : {}),
  });
  if (!r.ok) {
    await ctx.event(step, 'failed', { error: r.error }, { agent_invocation_id });
    ctx.fail(step.id, r.error);
  }
  return {
    artifacts: { [PLAN_ARTIFACT]: r.saved },
    saved: {
      plan_saved: { artifact: PLAN_ARTIFACT, plan_hash: r.plan_hash, blocked_phases: r.blocked },
    },
  };
}

/**
 * Loads an approved plan: an invocation of the agent role its calls are proposed as (no
 * model), then the plan itself. Blocked phases go to the trace here: they are never run.
 */
export async function runLoadPlan<I>(
  ctx: PlanStepContext<I>,
  step: LoadPlanStep<I>,
): Promise<void> {
  const st = ctx.state();
  const plan_run_id = step.plan_run_id(st);
  const plan_hash = step.plan_hash(st);
  const agent_invocation_id = ctx.newInvocation(step.id);
  const inv = await ctx.activity('agent', {
    step_id: step.id,
    agent_invocation_id,
    role: step.as,
    model: false,
    artifact: step.artifact,
    instructions: `Load the approved plan of ${plan_run_id} and propose its phases as written.`,
    input: { plan_run_id, plan_hash },
    output_schema: {},
  });
  if (!inv.ok) ctx.fail(step.id, inv.error);
  const r = await ctx.activity('plan_load', { plan_run_id, plan_hash });
  if (!r.ok) {
    await ctx.event(step, 'failed', { code: r.code, error: r.error }, { agent_invocation_id });
    ctx.fail(step.id, `${r.code}: ${r.error}`);
  }
  ctx.invoked(step.id, agent_invocation_id);
  const phases = (r.plan.phases ?? []) as JsonObject[];
  const blocked = phases
    .filter((p) => p.status === 'blocked')
    .map((p) => ({
      phase_id: p.phase_id ?? null,
      title: p.title ?? null,
      blocked_reason: p.blocked_reason ?? null,
      deferred_to: p.deferred_to ?? null,
    }));
  const proposed = phases.filter((p) => p.status === 'proposed').map((p) => p.phase_id ?? null);
  const loaded: JsonObject = {
    plan_run_id,
    plan_hash,
    read_digest: r.read_digest,
    // Absent from activations recorded before it was kept.
    ...(r.requested_by ? { requested_by: r.requested_by } : {}),
    plan: r.plan,
    reads: r.reads,
    proposed,
    blocked,
  };
  const baseline: JsonObject = { digest: r.read_digest, results: null };
  ctx.addArtifacts({ [step.artifact]: loaded, [step.baseline]: baseline });
  await ctx.event(
    step,
    'completed',
    { plan_run_id, plan_hash, read_digest: r.read_digest, proposed, blocked: blocked.length },
    {
      agent_invocation_id,
      artifacts: { [step.artifact]: loaded, [step.baseline]: baseline },
      trace: [
        { type: 'plan', plan_run_id, plan_hash, read_digest: r.read_digest },
        ...blocked.map((b) => ({ type: 'blocked_phase', ...b })),
      ],
    },
  );
}

/** Makes a plan's reads again and compares their digest (PLAN_STALE on a difference). */
export async function runCheckReads<I>(
  ctx: PlanStepContext<I>,
  step: CheckReadsStep<I>,
): Promise<void> {
  const st = ctx.state();
  const reads = step.reads(st).map((r) => ({ tool: r.tool, params: r.params }));
  const expected = step.expected(st);
  const r = await ctx.activity('plan_reads', { step_id: step.id, reads });
  if (!r.ok) {
    await ctx.event(step, 'failed', {
      phase_id: step.phase,
      code: r.code,
      error: r.error,
    });
    ctx.fail(step.id, `${r.code}: ${r.error}`);
  }
  const before = step.baseline ? (st.artifacts[step.baseline] as JsonObject | undefined) : null;
  const earlier = Array.isArray(before?.results) ? (before.results as JsonObject[]) : null;
  const changed = earlier
    ? r.results
        .filter((x, i) => JSON.stringify(x.result) !== JSON.stringify(earlier[i]?.result ?? null))
        .map((x) => ({ tool: x.tool, params: x.params }))
    : null;
  const same = r.digest === expected;
  const checks = step.expect === 'record' ? (step.checks?.(st) ?? []) : [];
  const judged = checks.length ? await runChecks(ctx, step, checks) : [];
  const stated = new Set(checks.map((c) => c.criterion));
  const criteria: JsonObject[] = [
    ...judged,
    ...(step.criteria?.(st) ?? [])
      .filter((criterion) => !stated.has(criterion))
      .map((criterion) => ({
        criterion,
        checked: false,
        note: 'stated in words, not as a check Countersign can run: compare it with the reads recorded here',
      })),
  ];
  const failed = judged.filter((c) => c.passed === false).map((c) => c.criterion as string);
  const found: JsonObject = {
    phase_id: step.phase,
    expect: step.expect,
    expected,
    digest: r.digest,
    same,
    changed,
    reads: r.results,
    ...(step.criteria || checks.length ? { criteria } : {}),
  };
  const artifacts: JsonObject = {
    [step.artifact]: found,
    ...(step.baseline ? { [step.baseline]: { digest: r.digest, results: r.results } } : {}),
  };
  if (step.expect === 'same' && !same) {
    ctx.addArtifacts({ [step.artifact]: found });
    const reason = `PLAN_STALE: what the plan read has changed since it was made (expected ${expected}, found ${r.digest}); phase ${step.phase} is refused: make a new plan`;
    await ctx.event(
      step,
      'failed',
      { phase_id: step.phase, code: 'PLAN_STALE', expected, found: r.digest, changed },
      { artifacts: { [step.artifact]: found } },
    );
    ctx.fail(step.id, reason);
  }
  ctx.addArtifacts(artifacts);
  const counts: JsonObject =
    step.criteria || checks.length
      ? { criteria_checked: judged.length, criteria: criteria.length }
      : {};
  // Only a step with checks adds them to the trace: recorded runs without checks stay as they were.
  const trace: JsonObject[] = checks.length
    ? [{ type: 'acceptance', phase_id: step.phase, checks: judged.length, failed }]
    : [];
  if (failed.length) {
    const reason = `ACCEPTANCE_FAILED: phase ${step.phase} ran but ${failed.length} of its ${judged.length} acceptance check(s) failed: ${failed.map((f) => JSON.stringify(f)).join(', ')}`;
    await ctx.event(
      step,
      'failed',
      { phase_id: step.phase, code: 'ACCEPTANCE_FAILED', failed, ...counts, error: reason },
      { artifacts, trace },
    );
    ctx.fail(step.id, reason);
  }
  await ctx.event(
    step,
    'completed',
    {
      phase_id: step.phase,
      expect: step.expect,
      digest: r.digest,
      same,
      changed,
      ...counts,
    },
    { artifacts, trace },
  );
}

/**
 * Makes the reads of a phase's checks (the plan's governed read path: read tools' dry runs; one
 * read per distinct tool and parameters) and evaluates each check on what its read returned.
 */
async function runChecks<I>(
  ctx: PlanStepContext<I>,
  step: CheckReadsStep<I>,
  checks: readonly PlanCheck[],
): Promise<JsonObject[]> {
  const reads: { tool: string; params: JsonObject }[] = [];
  const index = new Map<string, number>();
  const keys = checks.map((check, i) => {
    const read = checkRead(check);
    // Checked when the plan was loaded; a check that slipped past fails its step, not the run.
    if (!read) ctx.fail(step.id, `check ${i + 1} of phase ${step.phase}: params is not an object`);
    const key = JSON.stringify([read.tool, read.params]);
    if (!index.has(key)) {
      index.set(key, reads.length);
      reads.push(read);
    }
    return index.get(key)!;
  });
  const r = await ctx.activity('plan_reads', { step_id: step.id, reads });
  if (!r.ok) {
    await ctx.event(step, 'failed', { phase_id: step.phase, code: r.code, error: r.error });
    ctx.fail(step.id, `${r.code}: ${r.error}`);
  }
  return checks.map((check, i) => {
    const outcome = evaluateCheck(check, r.results[keys[i]!]?.result ?? null);
    return {
      criterion: check.criterion,
      checked: true,
      passed: outcome.passed,
      tool: check.tool,
      path: check.path,
      op: check.op,
      expected: check.value,
      found: recordedFound(outcome.found),
      ...(outcome.why ? { why: outcome.why } : {}),
    };
  });
}
