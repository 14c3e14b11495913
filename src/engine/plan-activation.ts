import type { CallContext } from '../core/context.js';
import { CountersignError } from '../core/errors.js';
import type { ActivatePlanInput } from '../core/workflow-schemas.js';
import { type WorkflowOps, runIdFor } from '../core/workflow-ops.js';
import type { RunStatusView, WorkflowEngine } from './port.js';
import type { JsonObject, WorkflowRun } from '../core/model.js';
import type { ToolDefinition } from '../core/ports/tools.js';
import {
  PLAN_ARTIFACT,
  type PlanReadResult,
  type SavedPlan,
  planHash,
  readDigest,
  savedPlanSchema,
} from './plan-reads.js';
import { checkProblems } from './plan-checks.js';
import { PLAN_ACTIVATION_NAME } from './workflows/plan-activation.js';

/**
 * Activating an approved plan: the checks both doors make before a plan runs (the
 * `activate_plan` operation, before it starts anything, and the activation run's first step,
 * again, inside the run). A plan is approved when its plan-only run completed and the last gate
 * it decided was approved; `plan_hash` pins the version that was approved; the plan's reads,
 * made again, must answer what they answered while planning (else PLAN_STALE), like a saved
 * Terraform plan refusing to apply against drifted state.
 */

/** The built-in definition an approved plan runs as (src/engine/workflows/plan-activation.ts). */
export const PLAN_ACTIVATION = PLAN_ACTIVATION_NAME;

/** The activation of one plan version: activating it again is the same run. */
export function activationKey(plan_run_id: string, plan_hash: string): string {
  return `activate:${plan_run_id}:${plan_hash}`;
}

export interface ApprovedPlan {
  readonly saved: SavedPlan;
  readonly plan_hash: string;
  readonly read_digest: string;
  /** Every tool the plan reads with or calls: the activated run's allowed tools. */
  readonly tools: readonly string[];
}

const invalid = (message: string, details: JsonObject = {}) =>
  new CountersignError('VALIDATION_FAILED', message, details);

/**
 * Checks a stored run is an approved plan and returns it. `approvalStatus` answers an approval
 * request's status and packet in the run's tenant. Throws a CountersignError with a stable code:
 * VALIDATION_FAILED (not a plan-only run, no or a malformed saved plan), INVALID_STATE (not
 * approved) or APPROVAL_HASH_MISMATCH (`plan_hash` is not the saved plan's).
 */
export async function approvedPlan(
  run: WorkflowRun,
  approvalStatus: (
    approval_id: string,
  ) => Promise<{ status: string; workflow_id: string; packet: JsonObject }>,
  plan_hash?: string,
  registered?: readonly ToolDefinition[],
): Promise<ApprovedPlan> {
  if (run.context.archetype !== 'proposal_only')
    throw invalid(`${run.id} is not a plan-only run: there is no plan to activate.`, {
      workflow_id: run.id,
      issues: [{ path: 'workflow_id', message: 'not a plan-only (proposal_only) run' }],
    });
  const raw = run.artifacts[PLAN_ARTIFACT];
  if (raw === undefined)
    throw invalid(`${run.id} has no saved plan (no ${PLAN_ARTIFACT} artifact).`, {
      workflow_id: run.id,
      issues: [{ path: 'workflow_id', message: `no ${PLAN_ARTIFACT} artifact` }],
    });
  const parsed = savedPlanSchema.safeParse(raw);
  if (!parsed.success)
    throw invalid(`The saved plan of ${run.id} does not match its schema.`, {
      workflow_id: run.id,
      issues: parsed.error.issues.map((i) => ({
        path: [PLAN_ARTIFACT, ...i.path].join('.'),
        message: i.message,
      })),
    });
  const saved = parsed.data;
  if (saved.plan.read_digest === null)
    throw invalid(`The saved plan of ${run.id} has no read_digest: it cannot be checked.`, {
      workflow_id: run.id,
    });
  for (const phase of saved.plan.phases)
    if (phase.status === 'proposed')
      phase.calls.forEach((c, i) => {
        let params: unknown;
        try {
          params = JSON.parse(c.params);
        } catch {
          params = null;
        }
        if (typeof params !== 'object' || params === null || Array.isArray(params))
          throw invalid(`Call ${i + 1} of phase ${phase.phase_id}: params is not a JSON object.`, {
            workflow_id: run.id,
          });
      });
  // A stored plan may have been edited since it was saved: a check that is not a valid read is
  // refused here, before anything runs (it would be made after its phase).
  const registry = registered ? new Map(registered.map((t) => [t.name, t])) : undefined;
  for (const phase of saved.plan.phases)
    phase.checks.forEach((check, i) => {
      const problems = checkProblems(check, registry);
      if (problems.length)
        throw invalid(
          `Check ${i + 1} of phase ${phase.phase_id} ("${check.criterion}"): ${problems.join('; ')}.`,
          {
            workflow_id: run.id,
            issues: problems.map((message) => ({
              path: `${PLAN_ARTIFACT}.plan.phases.${phase.phase_id}.checks.${i}`,
              message,
            })),
          },
        );
    });
  if (run.status !== 'completed')
    throw new CountersignError(
      'INVALID_STATE',
      `The plan of ${run.id} is not approved: the run is ${run.status}${run.waiting_on ? ', waiting at its gate' : ''}.`,
      { workflow_id: run.id, status: run.status },
    );
  const decided = [...run.trace].reverse().find((t) => t.type === 'decision');
  const approval_id = typeof decided?.approval_id === 'string' ? decided.approval_id : null;
  const gate = approval_id ? await approvalStatus(approval_id) : null;
  if (!gate || gate.workflow_id !== run.id || gate.status !== 'approved')
    throw new CountersignError(
      'INVALID_STATE',
      `The plan of ${run.id} is not approved: its final gate was ${gate ? gate.status : 'never decided'}.`,
      { workflow_id: run.id, gate: gate?.status ?? null },
    );
  const hash = planHash(saved.plan);
  // A gate that showed the reviewer the plan's hash approved that version only.
  const shown = gate.packet.plan_hash;
  if (typeof shown === 'string' && shown !== hash)
    throw new CountersignError(
      'APPROVAL_HASH_MISMATCH',
      `The saved plan of ${run.id} is not the version its gate approved.`,
      { workflow_id: run.id, approved_hash: shown, plan_hash: hash },
    );
  if (plan_hash !== undefined && plan_hash !== hash)
    throw new CountersignError(
      'APPROVAL_HASH_MISMATCH',
      `plan_hash ${plan_hash} is not the hash of the saved plan of ${run.id} (${hash}).`,
      { workflow_id: run.id, plan_hash: hash },
    );
  const tools = [
    ...new Set([
      ...saved.reads.map((r) => r.tool),
      ...saved.plan.phases
        .filter((p) => p.status === 'proposed')
        .flatMap((p) => [...p.calls.map((c) => c.tool), ...p.checks.map((c) => c.tool)]),
    ]),
  ].sort();
  return { saved, plan_hash: hash, read_digest: saved.plan.read_digest, tools };
}

/**
 * Makes a plan's reads again with each tool's dry run (`plan()`, which changes nothing) and
 * returns what they answered. Only tools of risk `read` are used: a plan's reads never write.
 */
export async function makeReads(
  tools: readonly ToolDefinition[],
  where: { readonly tenant_id: string; readonly workflow_id: string; readonly now: string },
  reads: readonly { tool: string; params: JsonObject }[],
): Promise<PlanReadResult[]> {
  const byName = new Map(tools.map((t) => [t.name, t]));
  const out: PlanReadResult[] = [];
  for (const [i, read] of reads.entries()) {
    const tool = byName.get(read.tool);
    if (!tool)
      throw new CountersignError(
        'UNKNOWN_TOOL',
        `Read ${i + 1}: no tool ${read.tool} is registered.`,
      );
    if (tool.risk !== 'read')
      throw invalid(`Read ${i + 1}: ${read.tool} is a ${tool.risk} tool, not a read.`);
    const checked = tool.validate(read.params);
    if (!checked.ok)
      throw invalid(`Read ${i + 1}: invalid parameters for ${read.tool}.`, {
        issues: checked.issues.map((x) => ({ ...x })),
      });
    const result = await tool.plan(checked.value, {
      tenant_id: where.tenant_id,
      workflow_id: where.workflow_id,
      proposal_id: '',
      execution_id: '',
      idempotency_key: '',
      now: where.now,
    });
    out.push({ tool: read.tool, params: read.params, result: result });
  }
  return out;
}

/** The reads again, as their digest; PLAN_STALE when it is not the one the plan was made on. */
export async function assertFresh(
  tools: readonly ToolDefinition[],
  where: { readonly tenant_id: string; readonly workflow_id: string; readonly now: string },
  plan: ApprovedPlan,
): Promise<void> {
  const digest = readDigest(await makeReads(tools, where, plan.saved.reads));
  if (digest !== plan.read_digest)
    throw new CountersignError(
      'PLAN_STALE',
      `What the plan of ${where.workflow_id} read has changed since it was made: make a new plan.`,
      { workflow_id: where.workflow_id, read_digest: plan.read_digest, found: digest },
    );
}

/**
 * The `activate_plan` operation: checks the caller may activate plans (policy action
 * `plan.activate`), then the plan (found, plan-only, approved, the version `plan_hash` names,
 * fresh) and starts its activation run. Refused with nothing written when a
 * check fails. A plan version is activated once: asking again answers with the same run.
 *
 * @example
 * await activatePlan({ ops, engine }, ctx, { workflow_id: 'run_…', plan_hash: '3f0c…' });
 * // the plan_activation run, waiting at the gate of its first phase
 */
export async function activatePlan(
  deps: { readonly ops: WorkflowOps; readonly engine: WorkflowEngine },
  ctx: CallContext,
  input: ActivatePlanInput,
): Promise<RunStatusView> {
  const { ops, engine } = deps;
  // Its own policy action, asked before anything else; the run's start asks it again.
  await ops.requireOnTenant(ctx, 'plan.activate');
  const run = await ops.getRun(ctx, input.workflow_id);
  const plan = await approvedPlan(
    run,
    async (id) => (await ops.approvalState(ctx.tenant_id, id)).approval,
    input.plan_hash,
    ops.kernel.listTools(),
  );
  const idempotency_key = activationKey(run.id, plan.plan_hash);
  const started = runIdFor(ctx.tenant_id, PLAN_ACTIVATION, idempotency_key);
  // Already activated: its phases may have changed what the reads answer; it is the same run.
  const existing = await engine.status(ctx, started).catch((e: unknown) => {
    if (e instanceof CountersignError && e.code === 'NOT_FOUND') return null;
    throw e;
  });
  if (existing) return existing;
  await assertFresh(
    ops.kernel.listTools(),
    { tenant_id: ctx.tenant_id, workflow_id: run.id, now: ops.clock.now() },
    plan,
  );
  return engine.start(ctx, {
    definition: PLAN_ACTIVATION,
    input: { plan_run_id: run.id, plan_hash: plan.plan_hash, tools: [...plan.tools] },
    idempotency_key,
  });
}
