import { z } from 'zod';
import type { JsonObject } from '../../src/core/model.js';
import type { WorkflowDefinition } from '../../src/engine/definition.js';
import { type PLAN_INVARIANTS, changeProposalBrief } from '../../src/engine/plan-brief.js';
import type { ChatBody, Reply } from './scripted-model-server.js';

/**
 * A small plan-only definition and the model answers that drive it, for the plan-invariant
 * tests on both runtimes: a planner with one read tool, a writer that saves the plan, a gate.
 * A scripted model server (scripted-model-server.ts) answers for both agents; `BREAKERS` turn
 * a good brief into one that breaks a given invariant.
 *
 * Workflow code on Temporal imports this module (test/fixtures/temporal/tiny-plan-workflows.mjs),
 * so it holds no I/O and imports nothing but types, zod and the brief's schema.
 */

const notes = z.strictObject({ notes: z.array(z.string()), phase_ids: z.array(z.string()) });

export const tinyPlan: WorkflowDefinition<{ topic: string }> = {
  name: 'tiny_plan',
  version: '1',
  archetype: 'proposal_only',
  title: (i) => `Tiny plan: ${i.topic}`,
  description: 'PLAN ONLY (test).',
  input: z.strictObject({ topic: z.string() }),
  initial_stage: 'planning',
  final_stage: 'planned',
  allowed_tools: () => ['list_tables'],
  steps: [
    { kind: 'stage', id: 'open', stage: 'planning' },
    {
      kind: 'agent',
      id: 'plan',
      role: 'planner',
      artifact: 'notes',
      instructions: 'Read, then list the phases.',
      output: notes,
      input: (run) => ({ topic: run.input.topic }),
      tools: ['list_tables'],
      max_turns: 3,
    },
    {
      kind: 'agent',
      id: 'write',
      role: 'writer',
      artifact: 'draft',
      instructions: 'Write the ChangeProposalBrief.',
      output: changeProposalBrief,
      input: (run) => ({ notes: run.artifacts.notes ?? null }),
      saves_plan: {
        expected_phases: (run) => (run.artifacts.notes as { phase_ids: string[] }).phase_ids,
      },
    },
    {
      kind: 'gate',
      id: 'plan_review',
      title: () => 'Review the plan',
      packet: (run) => ({ plan: run.artifacts.plan_brief ?? null }),
      on_reject: { stage: 'rejected' },
    },
  ],
};

/** A brief that keeps every invariant: a backup, and a cutover through a tool nobody registered. */
export function goodBrief(): JsonObject {
  return {
    proposal_id: 'tiny-1',
    artifact_type: 'ChangeProposalBrief',
    human_review_required: true,
    status: 'proposed',
    title: 'Tiny plan',
    summary: 'Back up, then add a column.',
    phases: [
      {
        phase_id: 'p1',
        phase_type: 'backup',
        title: 'Back up',
        status: 'proposed',
        blocked_reason: null,
        deferred_to: null,
        risk_level: 'low',
        rollback_note: 'none',
        calls: [
          { tool: 'database_backup', params: '{"database":"production","backup_type":"full"}' },
        ],
        acceptance_criteria: ['a backup exists'],
        checks: [
          {
            criterion: 'users is still there',
            tool: 'list_tables',
            params: '{"database":"production"}',
            path: 'tables.*.name',
            op: 'contains',
            value: '"users"',
          },
        ],
      },
      {
        phase_id: 'p2',
        phase_type: 'cutover',
        title: 'Cut over',
        status: 'proposed',
        blocked_reason: null,
        deferred_to: null,
        risk_level: 'high',
        rollback_note: 'revert',
        calls: [{ tool: 'registrar_set_nameservers', params: '{"domain":"example.com"}' }],
        acceptance_criteria: ['resolves'],
        checks: [],
      },
    ],
    risks: [],
    assumptions: [],
    next_step: { requires_human_approval: true, instructions: 'Review it.' },
    read_digest: null,
  };
}

type Brief = ReturnType<typeof goodBrief> & { phases: JsonObject[] };
const phasesOf = (b: JsonObject) => (b as Brief).phases;

/** For each invariant, the good brief changed so that it breaks that one. */
export const BREAKERS: Record<(typeof PLAN_INVARIANTS)[number], (b: JsonObject) => JsonObject> = {
  HUMAN_REVIEW_REQUIRED: (b) => ({ ...b, human_review_required: false }),
  STATUS_PROPOSED_OR_BLOCKED: (b) => ({
    ...b,
    phases: [{ ...phasesOf(b)[0]!, status: 'executed' }, phasesOf(b)[1]!],
  }),
  BLOCKED_HAS_REASON: (b) => ({
    ...b,
    phases: [phasesOf(b)[0]!, { ...phasesOf(b)[1]!, status: 'blocked' }],
  }),
  PROPOSED_HAS_NO_BLOCK: (b) => ({
    ...b,
    phases: [{ ...phasesOf(b)[0]!, deferred_to: 'later' }, phasesOf(b)[1]!],
  }),
  NEXT_STEP_NEEDS_APPROVAL: (b) => ({
    ...b,
    next_step: { requires_human_approval: false, instructions: 'Run it.' },
  }),
  NO_PHASE_DROPPED: (b) => ({ ...b, phases: [phasesOf(b)[0]!] }),
  NO_SECRETS: (b) => ({ ...b, summary: 'Use key AKIAIOSFODNN7EXAMPLE to back up.' }),
  // The attack: a "check" that would run a write after the phase.
  CHECKS_ARE_READS: (b) => ({
    ...b,
    phases: [
      {
        ...phasesOf(b)[0]!,
        checks: [
          {
            criterion: 'the column is there',
            tool: 'database_migration',
            params:
              '{"database":"production","table":"users","operation":"add_column","column_name":"pwned","column_type":"text"}',
            path: '',
            op: 'exists',
            value: null,
          },
        ],
      },
      phasesOf(b)[1]!,
    ],
  }),
};

/**
 * The planner asks for `firstRead` and list_tables, then answers with phases p1 and p2; the
 * writer answers with `brief(n)` (n: its attempt, from 1).
 */
export function tinyScript(brief: (attempt: number) => JsonObject, firstRead = 'list_tables') {
  let writes = 0;
  return (body: ChatBody): Reply => {
    const schema = body.response_format?.json_schema?.name;
    if (schema === 'notes') {
      const asked = body.messages.some((m) => m.role === 'tool');
      return asked
        ? { content: JSON.stringify({ notes: ['read'], phase_ids: ['p1', 'p2'] }) }
        : {
            tool_calls: [
              { id: 'c1', name: firstRead, arguments: '{"database":"production"}' },
              { id: 'c2', name: 'list_tables', arguments: '{"database":"production"}' },
            ],
          };
    }
    writes++;
    return { content: JSON.stringify(brief(writes)) };
  };
}

/** The bodies of the writer's requests (its structured output is named after its artifact). */
export const writerRequests = (bodies: readonly ChatBody[]) =>
  bodies.filter((b) => b.response_format?.json_schema?.name === 'draft');
