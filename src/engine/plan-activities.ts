import { CountersignError } from '../core/errors.js';
import type { JsonObject } from '../core/model.js';
import type { ToolContext, ToolDefinition } from '../core/ports/tools.js';
import { type WorkflowOps, runIdFor } from '../core/workflow-ops.js';
import type { RunRef } from './activities.js';
import type { ActivityArgs, ActivityResult } from './effects.js';
import { PLAN_ACTIVATION, activationKey, approvedPlan, makeReads } from './plan-activation.js';
import {
  type ChangeProposalBrief,
  type PlanPhase,
  changeProposalBrief,
  checkPlanInvariants,
} from './plan-brief.js';
import { type PhaseVerdict, blockedByPlan } from './plan-only.js';
import { type SavedPlan, planHash, readDigest } from './plan-reads.js';

/**
 * The activities of plans: saving a plan-only run's brief (save_plan), loading an approved plan
 * into its activation (plan_load) and making its reads again (plan_reads). Each calls tools'
 * dry runs at most; the activities module records each result once.
 */

/** See ActivityTypes.save_plan. Calls only tools' plan() (dry runs): nothing is executed. */
export async function savePlan(
  tools: readonly ToolDefinition[],
  now: string,
  ref: RunRef,
  seq: number,
  a: ActivityArgs<'save_plan'>,
): Promise<ActivityResult<'save_plan'>> {
  const parsed = changeProposalBrief.safeParse(a.plan);
  if (!parsed.success)
    return {
      ok: false,
      error: `the plan does not match ChangeProposalBrief: ${parsed.error.message}`,
    };
  const registry = { get: (name: string) => tools.find((t) => t.name === name) };
  const blocked: string[] = [];
  const phases: PlanPhase[] = [];
  for (const [i, phase] of parsed.data.phases.entries()) {
    let verdict: PhaseVerdict = { status: 'proposed' };
    if (phase.status === 'proposed')
      for (const [j, call] of phase.calls.entries()) {
        const ctx: ToolContext = {
          tenant_id: ref.tenant_id,
          workflow_id: ref.run_id,
          proposal_id: `${ref.run_id}.plan.${seq}.${i + 1}.${j + 1}`,
          execution_id: `${ref.run_id}.plan.${seq}.${i + 1}.${j + 1}`,
          idempotency_key: `${ref.run_id}.plan.${seq}.${i + 1}.${j + 1}`,
          now,
        };
        try {
          verdict = await blockedByPlan(registry, call, ctx);
        } catch (e) {
          if (!(e instanceof CountersignError) || e.code !== 'VALIDATION_FAILED') throw e;
          // A call the planner got wrong keeps its phase in the plan, blocked and saying why.
          verdict = {
            status: 'blocked',
            blocked_reason: e.message,
            deferred_to: `a revised plan with valid parameters for ${call.tool}`,
          };
        }
        if (verdict.status === 'blocked') break;
      }
    if (verdict.status === 'blocked') {
      blocked.push(phase.phase_id);
      phases.push({ ...phase, ...verdict });
    } else phases.push(phase);
  }
  const plan: ChangeProposalBrief = {
    ...parsed.data,
    phases,
    read_digest: readDigest(a.reads),
  };
  const broken = checkPlanInvariants(plan, {
    expectedPhaseIds: a.expected_phase_ids,
    tools: registry,
    ...(a.read_tools ? { readTools: a.read_tools } : {}),
  });
  if (broken.length > 0)
    return {
      ok: false,
      error: `the plan breaks ${broken.map((v) => `${v.invariant} (${v.message})`).join('; ')}`,
    };
  const saved: SavedPlan = {
    plan,
    reads: a.reads.map((r) => ({ tool: r.tool, params: r.params })),
  };
  return { ok: true, saved: saved as unknown as JsonObject, plan_hash: planHash(plan), blocked };
}

/** See ActivityTypes.plan_load: the approved plan an activation run carries out, checked again. */
export async function loadApprovedPlan(
  ops: WorkflowOps,
  ref: RunRef,
  a: ActivityArgs<'plan_load'>,
): Promise<ActivityResult<'plan_load'>> {
  try {
    const { run } = await ops.loadRun(ref.tenant_id, a.plan_run_id);
    const plan = await approvedPlan(
      run,
      async (id) => (await ops.approvalState(ref.tenant_id, id)).approval,
      a.plan_hash,
      ops.kernel.listTools(),
    );
    // One run per approved plan version, whichever door started it: the run activate_plan
    // starts has this ID; a run started otherwise (start_workflow_run) activates nothing.
    const expected = runIdFor(
      ref.tenant_id,
      PLAN_ACTIVATION,
      activationKey(a.plan_run_id, plan.plan_hash),
    );
    if (ref.run_id !== expected)
      throw new CountersignError(
        'INVALID_STATE',
        `A plan is activated once, by activate_plan: ${a.plan_run_id} is activated by ${expected}, not ${ref.run_id}.`,
        { plan_run_id: a.plan_run_id, activation: expected },
      );
    return {
      ok: true,
      plan: plan.saved.plan as unknown as JsonObject,
      reads: plan.saved.reads.map((r) => ({ tool: r.tool, params: r.params })),
      read_digest: plan.read_digest,
      requested_by: run.started_by,
    };
  } catch (e) {
    if (!(e instanceof CountersignError) || e.retryable) throw e;
    return { ok: false, code: e.code, error: e.message };
  }
}

/** See ActivityTypes.plan_reads: the plan's reads made again with each tool's dry run. */
export async function readPlanAgain(
  tools: readonly ToolDefinition[],
  ref: RunRef,
  now: string,
  a: ActivityArgs<'plan_reads'>,
): Promise<ActivityResult<'plan_reads'>> {
  try {
    const results = await makeReads(
      tools,
      { tenant_id: ref.tenant_id, workflow_id: ref.run_id, now },
      a.reads,
    );
    return {
      ok: true,
      digest: readDigest(results),
      results: results.map((r) => ({ tool: r.tool, params: r.params, result: r.result })),
    };
  } catch (e) {
    if (!(e instanceof CountersignError) || e.retryable) throw e;
    return { ok: false, code: e.code, error: e.message };
  }
}
