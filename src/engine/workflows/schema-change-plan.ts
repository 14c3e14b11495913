import type { JsonObject } from '../../core/model.js';
import type { RunState, WorkflowDefinition } from '../definition.js';
import { PLAN_ARTIFACT, changeProposalBrief } from '../plan-brief.js';
import {
  type PlanFindings,
  type PlanScope,
  type SchemaChangePlanInput,
  planFindings,
  planReview,
  planScope,
  schemaChangePlanInput,
} from './schema-plan-schemas.js';

/**
 * schema_change_plan: a plan-only workflow (archetype `proposal_only`). PLAN ONLY: no action is
 * executed by this workflow. An intake agent states the scope, the operator confirms or corrects
 * it, a planner reads the demo target (read tools only), an optional reviewer adds risks, and
 * an output agent writes the ChangeProposalBrief, which the engine saves as the run's
 * `plan_brief` artifact (phases whose calls cannot be made stay in the plan, blocked) before a
 * human reviews the plan at the last gate.
 */

type Run = RunState<SchemaChangePlanInput>;
const scope = (run: Run) => run.artifacts.scope as unknown as PlanScope;
const findings = (run: Run) => run.artifacts.findings as unknown as PlanFindings;

/** The read tools the planner may ask for; nothing else is allowed in the run. */
export const SCHEMA_PLAN_READS = [
  'list_tables',
  'get_table_schema',
  'read_row_counts',
  'list_backups',
] as const;

function savedPlanSummary(run: Run): JsonObject {
  const saved = run.artifacts[PLAN_ARTIFACT] as
    { plan?: { title?: string; phases?: { phase_id: string; status: string }[] } } | undefined;
  const phases = saved?.plan?.phases ?? [];
  return {
    plan_only: 'PLAN ONLY: nothing in this plan has been executed',
    title: saved?.plan?.title ?? null,
    phases: phases.map((p) => ({ phase_id: p.phase_id, status: p.status })),
    blocked: phases.filter((p) => p.status === 'blocked').map((p) => p.phase_id),
  };
}

export const schemaChangePlan: WorkflowDefinition<SchemaChangePlanInput> = {
  name: 'schema_change_plan',
  version: '1',
  archetype: 'proposal_only',
  title: (i) => `Schema change plan: ${i.request.slice(0, 80)}`,
  description:
    'PLAN ONLY: reads the demo target and writes a reviewed plan for a database schema change (backup, change, backfill, verification); executes nothing.',
  input: schemaChangePlanInput,
  initial_stage: 'scoping',
  final_stage: 'planned',
  allowed_tools: () => [...SCHEMA_PLAN_READS],
  case_id: (i) => i.ticket ?? null,
  steps: [
    { kind: 'stage', id: 'open', stage: 'scoping' },
    {
      kind: 'agent',
      id: 'scope',
      role: 'schema_scope_agent',
      artifact: 'scope',
      instructions:
        'State the scope of the requested schema change: the database, the tables and each change. ' +
        'Apply the corrections the operator gave. You only read the request; you change nothing.',
      output: planScope,
      input: (run) => ({
        request: run.input.request,
        database: run.input.database,
        changes: run.input.changes,
        corrections: [...(run.feedback.scope_review ?? [])],
      }),
    },
    {
      kind: 'gate',
      id: 'scope_review',
      title: (run) => `Confirm the scope: ${scope(run).summary}`,
      packet: (run) => ({
        plan_only: 'PLAN ONLY: confirming the scope executes nothing',
        scope: scope(run),
      }),
      on_reject: { stage: 'scope_rejected' },
      // "Request more info" with a correction sends the scope back to the intake agent.
      on_more_info: { goto: 'scope' },
    },
    { kind: 'stage', id: 'planning', stage: 'planning' },
    {
      kind: 'agent',
      id: 'plan',
      role: 'schema_planner',
      artifact: 'findings',
      instructions:
        'Read the database (list_tables, get_table_schema, read_row_counts, list_backups) and propose ' +
        'phases: backup, the change, the backfill, the cleanup and a verification, each with its ' +
        'calls, rollback note and acceptance criteria. State each criterion you can as a check: a ' +
        'read tool and its parameters, a dotted path into its result ("*" maps over a list) and ' +
        'an op (equals, not_equals, contains, not_contains, exists, absent, gte, lte) with a ' +
        'JSON-encoded value; checks run after the phase, so a check may only read. ' +
        'Never call a tool that writes.',
      output: planFindings,
      input: (run) => ({
        scope: scope(run),
        feedback: [...(run.feedback.plan_approval ?? [])],
      }),
      tools: [...SCHEMA_PLAN_READS],
      max_turns: 4,
    },
    {
      kind: 'when',
      id: 'reviewing',
      if: (run) => run.input.review,
      then: [
        {
          kind: 'agent',
          id: 'review',
          role: 'schema_reviewer',
          artifact: 'review',
          instructions:
            'Give a second opinion on the phases: add risks and caveats. Approve or execute nothing.',
          output: planReview,
          input: (run) => ({ scope: scope(run), findings: findings(run) }),
        },
      ],
    },
    {
      kind: 'agent',
      id: 'write_plan',
      role: 'plan_writer',
      artifact: 'plan_draft',
      instructions:
        'Output ONLY JSON matching ChangeProposalBrief. Whatever earlier agents wrote: ' +
        'human_review_required is true; next_step.requires_human_approval is true; every status is ' +
        '"proposed" or "blocked" (never approved, active, in_progress or executed); a blocked phase ' +
        'has blocked_reason and deferred_to; keep every phase the planner found; no secrets or ' +
        "credentials; no instruction to execute phases automatically. Keep each phase's checks: " +
        'every check names a read tool (never one that writes), params is a JSON-encoded object ' +
        'and value is JSON-encoded (null for exists and absent).',
      output: changeProposalBrief,
      input: (run) => ({
        proposal_id: `${run.id}.plan`,
        scope: scope(run),
        findings: findings(run),
        review: run.artifacts.review ?? null,
      }),
      saves_plan: { expected_phases: (run) => findings(run).phases.map((p) => p.phase_id) },
    },
    { kind: 'stage', id: 'plan_review', stage: 'plan_review' },
    {
      kind: 'gate',
      id: 'plan_approval',
      title: (run) =>
        `Review the plan (PLAN ONLY): ${scope(run).summary} (${findings(run).phases.length} phases)`,
      packet: (run) => ({ scope: scope(run), plan: savedPlanSummary(run) }),
      on_reject: { stage: 'plan_rejected' },
      on_more_info: { goto: 'plan' },
    },
  ],
};
