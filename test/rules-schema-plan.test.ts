import { describe, expect, it } from 'vitest';
import { RulesProvider } from '../src/adapters/models/rules-provider.js';
import { canonicalJson } from '../src/core/canonical.js';
import type { JsonObject } from '../src/core/model.js';
import type { ModelMessage } from '../src/core/ports/model.js';
import { changeProposalBrief, checkPlanInvariants } from '../src/engine/plan-brief.js';
import { planFindings, planScope } from '../src/engine/workflows/schema-plan-schemas.js';
import { SCHEMA_PLAN_REQUEST } from './support/schema-plan-fixture.js';

/** The rules provider's schema_change_plan agents: deterministic, and each within its schema. */
const rules = new RulesProvider();
const ask = (role: string, input: JsonObject, messages?: ModelMessage[]) =>
  rules.generate({
    tenant_id: 'default',
    model: 'v1',
    role,
    instructions: '',
    input,
    output_schema: {},
    schema_name: role,
    ...(messages ? { messages, tools: [] } : {}),
  });

const scopeInput = (corrections: string[] = []): JsonObject => ({
  request: SCHEMA_PLAN_REQUEST.request!,
  database: 'production',
  changes: SCHEMA_PLAN_REQUEST.changes!,
  corrections,
});

const toolResult = (id: string, name: string, content: JsonObject): ModelMessage => ({
  role: 'tool',
  tool_call_id: id,
  name,
  content,
});

describe('schema_change_plan rules agents', () => {
  it('states the scope, applying a database correction and noting one it cannot apply', async () => {
    const plain = planScope.parse((await ask('schema_scope_agent', scopeInput())).output);
    expect(plain.database).toBe('production');
    expect(plain.tables).toEqual(['users']);
    const corrected = planScope.parse(
      (
        await ask(
          'schema_scope_agent',
          scopeInput(['not database production: database staging', 'also index it']),
        )
      ).output,
    );
    expect(corrected.database).toBe('staging');
    expect(corrected.corrections.map((c) => c.applied)).toEqual([
      'database set to "staging"',
      'noted for the planner; the scope is otherwise unchanged',
    ]);
    // "ops" is the demo target's own: never taken from a correction.
    const ops = planScope.parse(
      (await ask('schema_scope_agent', scopeInput(['use database ops']))).output,
    );
    expect(ops.database).toBe('production');
  });

  it('asks for the four reads first, then plans from what they returned, the same way every time', async () => {
    const scope = planScope.parse((await ask('schema_scope_agent', scopeInput())).output);
    const first = await ask('schema_planner', { scope, feedback: [] }, []);
    expect(first.tool_calls?.map((c) => [c.name, c.arguments])).toEqual([
      ['list_tables', { database: 'production' }],
      ['get_table_schema', { database: 'production', table: 'users' }],
      ['read_row_counts', { database: 'production', tables: ['users'] }],
      ['list_backups', { database: 'production' }],
    ]);
    const messages: ModelMessage[] = [
      { role: 'assistant', tool_calls: first.tool_calls! },
      toolResult('read_1', 'list_tables', {
        ok: true,
        output: { database: 'production', tables: [{ name: 'users', rows: 250_000, columns: 4 }] },
      }),
      toolResult('read_2', 'get_table_schema', {
        ok: true,
        output: {
          table: 'users',
          columns: [
            { name: 'id', type: 'INTEGER', notnull: false },
            { name: 'email_verified', type: 'INTEGER', notnull: false },
          ],
        },
      }),
      toolResult('read_3', 'read_row_counts', {
        ok: true,
        output: { counts: [{ name: 'users', rows: 250_000 }] },
      }),
      toolResult('read_4', 'list_backups', { ok: false, code: 'POLICY_DENIED', error: 'no' }),
    ];
    const a = await ask('schema_planner', { scope, feedback: [] }, messages);
    const b = await ask('schema_planner', { scope, feedback: [] }, messages);
    expect(canonicalJson(a.output)).toBe(canonicalJson(b.output));
    const findings = planFindings.parse(a.output);
    // What was read shows: the column to add exists already, legacy_flag is not there, many rows.
    expect(findings.risks.join(' ')).toContain('users.email_verified already exists');
    expect(findings.risks.join(' ')).toContain('users.legacy_flag was not found');
    expect(findings.phases.find((p) => p.phase_type === 'backfill')!.risk_level).toBe('high');

    const review = (await ask('schema_reviewer', { scope, findings })).output;
    const brief = changeProposalBrief.parse(
      (await ask('plan_writer', { proposal_id: 'p-1', scope, findings, review })).output,
    );
    expect(
      checkPlanInvariants(brief, { expectedPhaseIds: findings.phases.map((p) => p.phase_id) }),
    ).toEqual([]);
    expect(brief.phases.every((p) => p.status === 'proposed')).toBe(true);
    expect(brief.risks).toContain(
      'Phase "drop_users_legacy_flag" is high risk: Drop users.legacy_flag.',
    );
  });

  it('plans blind, and says so, when the database cannot be read', async () => {
    const scope = planScope.parse((await ask('schema_scope_agent', scopeInput())).output);
    const first = await ask('schema_planner', { scope, feedback: [] }, []);
    const findings = planFindings.parse(
      (
        await ask('schema_planner', { scope, feedback: [] }, [
          { role: 'assistant', tool_calls: first.tool_calls! },
          toolResult('read_1', 'list_tables', {
            ok: false,
            code: 'TOOL_FAILED',
            error: 'database "production" does not exist',
          }),
        ])
      ).output,
    );
    expect(findings.risks[0]).toContain('could not be read');
    expect(findings.phases.map((p) => p.phase_id)).toEqual([
      'backup',
      'add_users_email_verified',
      'backfill_users_email_verified',
      'drop_users_legacy_flag',
      'verify',
    ]);
  });
});
