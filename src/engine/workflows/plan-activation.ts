import { z } from 'zod';
import type { JsonObject } from '../../core/model.js';
import type { PlannedCall, ReadCall, RunState, Step, WorkflowDefinition } from '../definition.js';
import type { PlanCheck } from '../plan-checks.js';

/**
 * plan_activation: an approved plan (a plan-only run's saved `plan_brief`) run as an ordinary,
 * governed run, phase by phase. The `activate_plan` operation starts it after checking the plan
 * is approved and fresh. Each proposed phase, in order: the plan's reads made again (PLAN_STALE
 * on any difference), its calls proposed (policy, the kernel), a human gate binding them by hash,
 * the reads again (nothing drifted while the gate waited), the calls executed, and an assurance
 * step that reads again, records what changed and runs the phase's acceptance checks (a failed
 * check fails the run with ACCEPTANCE_FAILED: no later phase runs). What the
 * reads answer after a phase is what the next phase expects. Blocked phases are never run: the
 * load step lists them in the trace with their reason and what they wait for.
 */

export const PLAN_ACTIVATION_NAME = 'plan_activation';
/** The agent role the plan's calls are proposed and executed as. */
export const PLAN_EXECUTOR = 'plan_executor';

const activationInput = z.strictObject({
  plan_run_id: z.string().regex(/^run_[0-9a-f]{20}$/, 'must look like run_<20 hex digits>'),
  plan_hash: z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 hex digest'),
  /** The tools the plan reads with and calls (the run's allowed tools); the operation fills it. */
  tools: z.array(z.string()).max(200).default([]),
});
type ActivationInput = z.infer<typeof activationInput>;
type Run = RunState<ActivationInput>;

interface LoadedPhase {
  readonly phase_id: string;
  readonly title: string;
  readonly status: string;
  readonly risk_level: string;
  readonly rollback_note: string;
  readonly calls: readonly { tool: string; params: string }[];
  readonly acceptance_criteria: readonly string[];
  /** Absent from plans saved before phases had checks. */
  readonly checks?: readonly PlanCheck[];
}

const loaded = (run: Run) =>
  run.artifacts.activation as unknown as {
    plan: { phases: LoadedPhase[] };
    reads: ReadCall[];
    requested_by?: string;
  };

const baselineDigest = (run: Run): string => {
  const digest = (run.artifacts.plan_baseline as JsonObject | undefined)?.digest;
  return typeof digest === 'string' ? digest : '';
};

function phaseSteps(phase: LoadedPhase): Step<ActivationInput>[] {
  const p = `phase.${phase.phase_id}`;
  const reads = (run: Run) => loaded(run).reads;
  return [
    { kind: 'stage', id: `${p}.open`, stage: `phase ${phase.phase_id}` },
    {
      kind: 'check_reads',
      id: `${p}.check`,
      phase: phase.phase_id,
      reads,
      expected: baselineDigest,
      expect: 'same',
      artifact: `${p}.check`,
      baseline: 'plan_baseline',
    },
    {
      kind: 'propose',
      id: `${p}.calls`,
      as: PLAN_EXECUTOR,
      invocation_of: 'load',
      calls: (run) =>
        phase.calls.map((c, i): PlannedCall => ({
          tool: c.tool,
          // Checked to be a JSON object when the plan was loaded.
          params: JSON.parse(c.params) as JsonObject,
          reason: `Phase ${phase.phase_id} (${phase.title}) of the plan of ${run.input.plan_run_id}`,
          label: `${phase.phase_id}.${i + 1}`,
        })),
    },
    {
      kind: 'gate',
      id: `${p}.approve`,
      title: (run) =>
        `Run phase ${phase.phase_id} of plan ${run.input.plan_run_id}: ${phase.title}`,
      packet: (run) => ({
        plan_run_id: run.input.plan_run_id,
        plan_hash: run.input.plan_hash,
        phase_id: phase.phase_id,
        title: phase.title,
        risk_level: phase.risk_level,
        rollback_note: phase.rollback_note,
        acceptance_criteria: [...phase.acceptance_criteria],
        // What the assurance step will check after the phase runs (ACCEPTANCE_FAILED otherwise).
        checks: (phase.checks ?? []).map((c) => ({ ...c })),
        read_digest: baselineDigest(run),
      }),
      // Nobody approves a change they asked for: not the activator (the run's starter), and
      // not whoever requested the plan, when someone else activates it.
      authors: (run) => {
        const by = loaded(run).requested_by;
        return by ? [by] : [];
      },
      binds: `${p}.calls`,
      on_reject: { stage: 'rejected' },
    },
    {
      kind: 'check_reads',
      id: `${p}.recheck`,
      phase: phase.phase_id,
      reads,
      expected: baselineDigest,
      expect: 'same',
      artifact: `${p}.recheck`,
      baseline: 'plan_baseline',
    },
    {
      kind: 'execute',
      id: `${p}.execute`,
      from: `${p}.calls`,
      as: PLAN_EXECUTOR,
      on_failure: { stage: 'failed' },
    },
    {
      kind: 'check_reads',
      id: `${p}.assure`,
      phase: phase.phase_id,
      reads,
      expected: baselineDigest,
      expect: 'record',
      criteria: () => phase.acceptance_criteria,
      checks: () => phase.checks ?? [],
      artifact: `${p}.assurance`,
      baseline: 'plan_baseline',
    },
  ];
}

export const planActivation: WorkflowDefinition<ActivationInput> = {
  name: PLAN_ACTIVATION_NAME,
  version: '1',
  title: (i) => `Activation of the plan of ${i.plan_run_id}`,
  description:
    'Runs an approved plan phase by phase: the plan reads checked again (PLAN_STALE on drift), each phase proposed, approved at a human gate, executed and read again. Start it with activate_plan.',
  input: activationInput,
  initial_stage: 'activating',
  final_stage: 'activated',
  allowed_tools: (i) => i.tools,
  case_id: (i) => i.plan_run_id,
  // Whichever door starts it (activate_plan, or start_workflow_run naming this definition).
  start_action: 'plan.activate',
  steps: [
    { kind: 'stage', id: 'open', stage: 'activating' },
    {
      kind: 'load_plan',
      id: 'load',
      plan_run_id: (run) => run.input.plan_run_id,
      plan_hash: (run) => run.input.plan_hash,
      as: PLAN_EXECUTOR,
      artifact: 'activation',
      baseline: 'plan_baseline',
    },
    {
      kind: 'each',
      id: 'phases',
      items: (run) =>
        loaded(run).plan.phases.filter((p) => p.status === 'proposed') as unknown as JsonObject[],
      steps: (item) => phaseSteps(item as unknown as LoadedPhase),
    },
  ],
};
