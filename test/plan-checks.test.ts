/**
 * Machine-checked acceptance criteria (src/engine/plan-checks.ts): the evaluator the assurance
 * step of an activated plan runs on what a check's read returned, and the rules a check keeps
 * (a read tool, parameters valid for it, a JSON value where its op needs one).
 */
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { defineTool } from '../src/core/define-tool.js';
import type { JsonValue } from '../src/core/model.js';
import type { ToolDefinition } from '../src/core/ports/tools.js';
import { savePlan } from '../src/engine/plan-activities.js';
import { type ChangeProposalBrief, checkPlanInvariants } from '../src/engine/plan-brief.js';
import {
  FOUND_LIMIT,
  type PlanCheck,
  checkProblems,
  evaluateCheck,
  recordedFound,
  valueAt,
} from '../src/engine/plan-checks.js';

const SCHEMA: JsonValue = {
  table: 'users',
  columns: [
    { name: 'id', type: 'INTEGER', pk: true },
    { name: 'email', type: 'TEXT', pk: false },
    { type: 'TEXT' },
  ],
  counts: [{ name: 'users', rows: 42 }],
  note: 'all columns listed',
  deleted_at: null,
};

const check = (path: string, op: PlanCheck['op'], value: JsonValue | undefined): PlanCheck => ({
  criterion: `${path} ${op}`,
  tool: 'get_table_schema',
  params: '{"table":"users"}',
  path,
  op,
  value: value === undefined ? null : JSON.stringify(value),
});

const run = (path: string, op: PlanCheck['op'], value?: JsonValue, result: JsonValue = SCHEMA) =>
  evaluateCheck(check(path, op, value), result);

describe('valueAt', () => {
  it('follows object keys and array indexes, maps `*` over a list and leaves out items without the rest', () => {
    expect(valueAt(SCHEMA, 'table')).toEqual({ present: true, value: 'users' });
    expect(valueAt(SCHEMA, 'columns.1.name')).toEqual({ present: true, value: 'email' });
    expect(valueAt(SCHEMA, 'columns.*.name')).toEqual({ present: true, value: ['id', 'email'] });
    expect(valueAt(SCHEMA, '')).toEqual({ present: true, value: SCHEMA });
  });

  it('finds nothing on a missing key, an index out of range, `*` on a non-list or a key into a scalar', () => {
    expect(valueAt(SCHEMA, 'nope').present).toBe(false);
    expect(valueAt(SCHEMA, 'columns.7.name').present).toBe(false);
    expect(valueAt(SCHEMA, 'columns.01').present).toBe(false);
    expect(valueAt(SCHEMA, 'table.*').present).toBe(false);
    expect(valueAt(SCHEMA, 'table.length').present).toBe(false);
    expect(valueAt(SCHEMA, 'columns.name').present).toBe(false);
    expect(valueAt(SCHEMA, 'constructor').present).toBe(false);
  });
});

describe('evaluateCheck', () => {
  it('equals and not_equals compare JSON deeply, object keys in any order', () => {
    expect(run('table', 'equals', 'users').passed).toBe(true);
    expect(run('table', 'equals', 'orders').passed).toBe(false);
    expect(run('columns.0', 'equals', { pk: true, type: 'INTEGER', name: 'id' }).passed).toBe(true);
    expect(run('columns.0', 'equals', { name: 'id' }).passed).toBe(false);
    expect(run('counts.0.rows', 'equals', '42').passed).toBe(false);
    expect(run('table', 'not_equals', 'orders').passed).toBe(true);
    expect(run('table', 'not_equals', 'users').passed).toBe(false);
  });

  it('contains and not_contains look in a list (the values a `*` path found) or a string', () => {
    expect(run('columns.*.name', 'contains', 'email')).toEqual({
      passed: true,
      found: ['id', 'email'],
      why: null,
    });
    const missing = run('columns.*.name', 'contains', 'email_verified');
    expect(missing.passed).toBe(false);
    expect(missing.why).toBe('"columns.*.name" does not contain "email_verified"');
    expect(run('columns.*.name', 'not_contains', 'legacy_flag').passed).toBe(true);
    expect(run('columns.*.name', 'not_contains', 'email').passed).toBe(false);
    expect(run('note', 'contains', 'columns').passed).toBe(true);
    expect(run('note', 'not_contains', 'rows').passed).toBe(true);
  });

  it('exists and absent: a null value counts as absent', () => {
    expect(run('table', 'exists').passed).toBe(true);
    expect(run('nope', 'exists').passed).toBe(false);
    expect(run('deleted_at', 'exists').passed).toBe(false);
    expect(run('nope', 'absent').passed).toBe(true);
    expect(run('deleted_at', 'absent').passed).toBe(true);
    expect(run('table', 'absent').passed).toBe(false);
  });

  it('gte and lte compare numbers, bounds included', () => {
    expect(run('counts.0.rows', 'gte', 42).passed).toBe(true);
    expect(run('counts.0.rows', 'gte', 43).passed).toBe(false);
    expect(run('counts.0.rows', 'lte', 42).passed).toBe(true);
    expect(run('counts.0.rows', 'lte', 41)).toEqual({
      passed: false,
      found: 42,
      why: '"counts.0.rows" is 42, not <= 41',
    });
  });

  it('fails, never throws, on a missing path or a value of the wrong type', () => {
    for (const op of ['equals', 'not_equals', 'contains', 'not_contains', 'gte', 'lte'] as const) {
      const r = run('columns.9.name', op, 'x');
      expect(r.passed, op).toBe(false);
      expect(r.why, op).toBe('"columns.9.name" is not in the result');
    }
    expect(run('table', 'gte', 3)).toEqual({
      passed: false,
      found: 'users',
      why: 'gte compares numbers; "table" is a string',
    });
    expect(run('columns', 'lte', 3).why).toBe('lte compares numbers; "columns" is an array');
    expect(run('counts.0', 'contains', 'x').why).toBe(
      '"counts.0" is an object: contains needs an array, or a string and a string value',
    );
    expect(run('note', 'contains', 3).passed).toBe(false);
    expect(evaluateCheck({ ...check('table', 'equals', 'x'), value: 'not json' }, SCHEMA)).toEqual({
      passed: false,
      found: 'users',
      why: 'the expected value is not JSON',
    });
    expect(run('', 'equals', 1, null).passed).toBe(false);
    expect(run('a.b', 'exists', undefined, 'text').passed).toBe(false);
  });
});

describe('recordedFound', () => {
  it('redacts what it keeps and cuts a long value', () => {
    expect(recordedFound({ api_key: 'sk-live-abcdef0123456789', n: 1 })).toEqual({
      api_key: '[REDACTED:secret]',
      n: 1,
    });
    const long = recordedFound(Array(1000).fill('abcdef'));
    expect(typeof long).toBe('string');
    expect((long as string).length).toBeLessThanOrEqual(FOUND_LIMIT + 20);
    expect(long as string).toMatch(/… \(truncated\)$/);
  });
});

describe('checkProblems', () => {
  const tool = (name: string, risk: 'read' | 'write'): ToolDefinition =>
    defineTool({
      name,
      description: name,
      risk,
      input: z.strictObject({ table: z.string() }),
      plan: () => Promise.resolve({}),
      apply: () => Promise.resolve({}),
    });
  const tools = new Map([
    ['get_table_schema', tool('get_table_schema', 'read')],
    ['database_migration', tool('database_migration', 'write')],
  ]);
  const ok = check('columns.*.name', 'contains', 'email');

  it('accepts a read with valid parameters and a JSON value', () => {
    expect(checkProblems(ok, tools, ['get_table_schema'])).toEqual([]);
    expect(checkProblems(check('nope', 'absent', undefined), tools)).toEqual([]);
  });

  it('refuses a write tool, an unregistered or disallowed tool, and parameters the tool refuses', () => {
    expect(checkProblems({ ...ok, tool: 'database_migration' }, tools)).toEqual([
      'database_migration is a write tool, not a read',
    ]);
    expect(checkProblems({ ...ok, tool: 'get_ghost' }, tools)).toEqual([
      'get_ghost is not a registered tool',
    ]);
    expect(checkProblems(ok, tools, ['list_tables'])).toEqual([
      'get_table_schema is not a tool this run may call',
    ]);
    expect(checkProblems({ ...ok, params: '{"tabel":"users"}' }, tools)[0]).toMatch(
      /^invalid params for get_table_schema: /,
    );
  });

  it('refuses parameters that are not a JSON object and a value that does not fit the op', () => {
    expect(checkProblems({ ...ok, params: '["users"]' })).toEqual([
      'params is not a JSON-encoded object',
    ]);
    expect(checkProblems({ ...ok, value: 'email' })).toEqual(['value is not JSON-encoded']);
    expect(checkProblems({ ...ok, value: null })).toEqual(['contains needs a value']);
    expect(checkProblems({ ...ok, op: 'exists' })).toEqual(['value must be null for exists']);
    expect(checkProblems({ ...ok, op: 'gte', value: '"3"' })).toEqual([
      'gte needs a number as its value',
    ]);
  });

  it('makes a plan whose check names a write tool break CHECKS_ARE_READS', () => {
    const plan = {
      human_review_required: true,
      status: 'proposed',
      next_step: { requires_human_approval: true, instructions: 'review' },
      phases: [
        {
          phase_id: 'p1',
          status: 'proposed',
          blocked_reason: null,
          deferred_to: null,
          checks: [{ ...ok, tool: 'database_migration' }],
        },
      ],
    };
    expect(checkPlanInvariants(plan, { tools })).toEqual([
      {
        invariant: 'CHECKS_ARE_READS',
        message: 'check 1 of phase p1: database_migration is a write tool, not a read',
      },
    ]);
    // Without the registry only the form is checked.
    expect(checkPlanInvariants(plan)).toEqual([]);
  });
});

describe('save_plan', () => {
  const tool = (name: string, risk: 'read' | 'write'): ToolDefinition =>
    defineTool({
      name,
      description: name,
      risk,
      input: z.strictObject({ table: z.string() }),
      plan: () => Promise.resolve({ ok: true }),
      apply: () => Promise.reject(new Error(`${name} must not run`)),
    });
  const tools = [tool('get_table_schema', 'read'), tool('alter_table', 'write')];
  const brief = (c: Partial<PlanCheck>): ChangeProposalBrief => ({
    proposal_id: 'p',
    artifact_type: 'ChangeProposalBrief',
    human_review_required: true,
    status: 'proposed',
    title: 'Add a column',
    summary: 'Add a column.',
    phases: [
      {
        phase_id: 'p1',
        phase_type: 'migration',
        title: 'Add it',
        status: 'proposed',
        blocked_reason: null,
        deferred_to: null,
        risk_level: 'low',
        rollback_note: 'none',
        calls: [{ tool: 'alter_table', params: '{"table":"users"}' }],
        acceptance_criteria: ['users has email'],
        checks: [{ ...check('columns.*.name', 'contains', 'email'), ...c }],
      },
    ],
    risks: [],
    assumptions: [],
    next_step: { requires_human_approval: true, instructions: 'Review it.' },
    read_digest: null,
  });
  const save = (plan: ChangeProposalBrief, read_tools = ['get_table_schema']) =>
    savePlan(
      tools,
      '2026-01-01T00:00:00.000Z',
      { tenant_id: 't', run_id: 'run_1', purpose: 'x' },
      1,
      {
        step_id: 'write',
        plan,
        reads: [],
        expected_phase_ids: [],
        read_tools,
      },
    );

  it('saves a plan whose checks are reads of the run, with them', async () => {
    const r = await save(brief({}));
    expect(r.ok).toBe(true);
    if (r.ok)
      expect((r.saved as { plan: ChangeProposalBrief }).plan.phases[0]!.checks).toEqual(
        brief({}).phases[0]!.checks,
      );
  });

  it('refuses, naming CHECKS_ARE_READS, a check with a write tool or a read the run may not call', async () => {
    const write = await save(brief({ tool: 'alter_table' }));
    expect(write).toEqual({
      ok: false,
      error:
        'the plan breaks CHECKS_ARE_READS (check 1 of phase p1: alter_table is a write tool, not a read)',
    });
    const other = await save(brief({}), ['list_tables']);
    expect(other.ok).toBe(false);
    if (!other.ok)
      expect(other.error).toContain('get_table_schema is not a tool this run may call');
  });
});
