import type { JsonValue } from '../../core/model.js';
import { allOf } from '../../core/quorum.js';
import type { PlannedCall, RunState, WorkflowDefinition } from '../definition.js';
import {
  type ChangePlan,
  type IntakeBundle,
  type OpsChangeInput,
  type RiskAssessment,
  auditReport,
  changePlan,
  intakeBundle,
  opsChangeInput,
  riskAssessment,
} from './ops-schemas.js';

/**
 * Seed 000: ops change control with governed write-backs. Five agents, two human gates, the
 * stages intake → risk_review → plan_approved → execution → closed (or rejected / failed),
 * write-back only inside the change window and only of the calls the plan gate approved.
 */

type Run = RunState<OpsChangeInput>;
const intake = (run: Run) => run.artifacts.intake as unknown as IntakeBundle;
const risk = (run: Run) => run.artifacts.risk as unknown as RiskAssessment;
const plan = (run: Run) => run.artifacts.plan as unknown as ChangePlan;
const HOUR = 3_600_000;

function planCalls(run: Run): PlannedCall[] {
  const p = plan(run);
  const calls: PlannedCall[] = [];
  for (const step of p.steps) {
    calls.push({
      tool: step.call.tool,
      params: step.call.params,
      reason: `${step.title} (plan step ${step.id})`,
      label: step.id,
    });
    if (step.rollback)
      calls.push({
        tool: step.rollback.tool,
        params: step.rollback.params,
        reason: `Rollback of ${step.id}: ${step.title}`,
        label: `${step.id}.rollback`,
        rollback_for: step.id,
      });
  }
  return calls;
}

function decisionsOf(run: Run): JsonValue[] {
  return run.trace
    .filter((t) => t.type === 'decision')
    .map((t) => ({
      gate: t.gate ?? null,
      decision: t.decision ?? null,
      reviewer_id: t.reviewer_id ?? null,
      comment: t.comment ?? null,
      at: t.at ?? null,
    }));
}

function writeBacks(run: Run, type: 'tool' | 'rollback'): JsonValue[] {
  return run.trace
    .filter((t) => t.type === type)
    .map((t) => ({
      step_id: t.step_id ?? null,
      tool: t.tool ?? null,
      status: t.status ?? null,
      proposal_id: t.proposal_id ?? null,
      execution_id: t.execution_id ?? null,
      hash: t.hash ?? null,
      error: t.error ?? null,
    }));
}

export const opsChangeControl: WorkflowDefinition<OpsChangeInput> = {
  name: 'ops_change_control',
  version: '1',
  title: (i) => `Change: ${i.change_request.title}`,
  description:
    'Intake, risk review (human gate), plan approval (human gate), governed write-back inside the change window with rollback, audit report.',
  input: opsChangeInput,
  initial_stage: 'intake',
  final_stage: 'closed',
  case_id: (i) => i.change_request.ticket ?? null,
  allowed_tools: () => [
    'config_set',
    'database_backup',
    'database_migration',
    'send_notification',
    'update_status',
  ],
  steps: [
    { kind: 'stage', id: 'open', stage: 'intake' },
    {
      kind: 'agent',
      id: 'intake',
      role: 'intake_agent',
      artifact: 'intake',
      output: intakeBundle,
      instructions:
        'Normalize the change request: trim text, classify systems, compute the window and list warnings.',
      input: (run) => ({ request: run.input }),
      // The intake states who asked for the change; the model sees only that address.
      reveal: ['request.change_request.requested_by'],
    },
    {
      kind: 'agent',
      id: 'risk',
      role: 'risk_agent',
      artifact: 'risk',
      output: riskAssessment,
      instructions:
        'Assess the risk tier of the change and the governance it needs; explain every factor.',
      input: (run) => ({ intake: run.artifacts.intake ?? null }),
    },
    { kind: 'stage', id: 'to-risk-review', stage: 'risk_review' },
    {
      kind: 'gate',
      id: 'risk_review',
      title: (run) =>
        `Risk review: ${intake(run).title} (${risk(run).risk_tier} risk, ${risk(run).governance_level} governance)`,
      packet: (run) => ({
        summary: intake(run).summary,
        change_type: intake(run).change_type,
        systems: intake(run).systems,
        window: intake(run).window,
        warnings: intake(run).warnings,
        risk_tier: risk(run).risk_tier,
        risk: risk(run),
      }),
      roles: () => [],
      timeout: { after_ms: 72 * HOUR, outcome: 'reject' },
      on_reject: { stage: 'rejected' },
    },
    {
      kind: 'agent',
      id: 'plan',
      role: 'change_planner',
      artifact: 'plan',
      output: changePlan,
      instructions:
        'Draft the execution plan from the approved risk assessment: ordered governed tool calls, rollback for each, checkpoints, evidence and acceptance criteria. Address every reviewer comment.',
      input: (run) => ({
        intake: run.artifacts.intake ?? null,
        risk: run.artifacts.risk ?? null,
        feedback: [...(run.feedback.plan_approval ?? [])],
      }),
    },
    {
      kind: 'propose',
      id: 'plan_calls',
      as: 'governed_executor',
      invocation_of: 'plan',
      calls: planCalls,
    },
    {
      kind: 'gate',
      id: 'plan_approval',
      title: (run) => `Plan approval: ${intake(run).title} (${plan(run).steps.length} steps)`,
      packet: (run) => ({
        summary: intake(run).summary,
        risk_tier: risk(run).risk_tier,
        window: intake(run).window,
        plan: plan(run),
        feedback_addressed: [...(run.feedback.plan_approval ?? [])],
      }),
      binds: 'plan_calls',
      approvals: (run) => risk(run).required_approvals,
      roles: (run) => risk(run).required_roles,
      // Strict governance (a critical change) needs every named role, not any one of them:
      // two change managers are not a security sign-off.
      quorum: (run) =>
        risk(run).governance_level === 'strict' ? allOf(risk(run).required_roles) : undefined,
      timeout: { after_ms: 48 * HOUR, escalate_to: ['change_manager'] },
      on_reject: { stage: 'rejected' },
      on_more_info: { goto: 'plan' },
    },
    { kind: 'stage', id: 'to-plan-approved', stage: 'plan_approved' },
    {
      kind: 'wait',
      id: 'change_window',
      until: (run) => intake(run).window.start,
      fail_after: (run) => intake(run).window.end,
    },
    { kind: 'stage', id: 'to-execution', stage: 'execution' },
    {
      kind: 'execute',
      id: 'write_back',
      from: 'plan_calls',
      as: 'governed_executor',
      deadline: (run) => intake(run).window.end,
      on_failure: { stage: 'failed' },
    },
  ],
  finally: [
    {
      kind: 'agent',
      id: 'audit',
      role: 'audit_agent',
      artifact: 'audit_report',
      output: auditReport,
      // The report names who asked for the change; the model sees only that address.
      reveal: ['intake.requested_by'],
      instructions:
        'Summarize the run for auditors: outcome, risk, decisions, executed steps with their hashes, rollbacks.',
      input: (run) => ({
        run: {
          id: run.id,
          definition: 'ops_change_control',
          stage:
            run.outcome === 'completed'
              ? 'closed'
              : run.outcome === 'failed'
                ? 'failed'
                : run.stage,
          status: run.outcome ?? 'failed',
          started_by: run.started_by,
        },
        intake: run.artifacts.intake ?? null,
        risk: run.artifacts.risk ?? null,
        plan: run.artifacts.plan ?? null,
        decisions: decisionsOf(run),
        executions: writeBacks(run, 'tool'),
        rollbacks: writeBacks(run, 'rollback'),
      }),
    },
  ],
};
