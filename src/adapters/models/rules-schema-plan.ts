/**
 * The `rules` provider's agents for schema_change_plan (a plan-only workflow): deterministic
 * stand-ins for the intake, planner (with read tools), reviewer and output agents. Same input,
 * same answer; no clock, no randomness, no I/O. PLAN ONLY: they propose, never act.
 */
import { z } from 'zod';
import type { JsonObject, JsonValue } from '../../core/model.js';
import type { ModelMessage, ModelToolCall } from '../../core/ports/model.js';
import { parseInput } from '../../core/validation.js';
import type { ChangeProposalBrief } from '../../engine/plan-brief.js';
import type { PlanCheck } from '../../engine/plan-checks.js';
import {
  type FoundPhase,
  type PlanFindings,
  type PlanReview,
  type PlanScope,
  type SchemaChange,
  planFindings,
  planReview,
  planScope,
  schemaChange,
} from '../../engine/workflows/schema-plan-schemas.js';

type ToolTurn = { tool_calls: ModelToolCall[] } | { output: unknown };

const isObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: JsonValue | undefined): string => (typeof v === 'string' ? v : JSON.stringify(v));

const tablesOf = (changes: readonly SchemaChange[]) => [...new Set(changes.map((c) => c.table))];

function describeChange(c: SchemaChange): string {
  return c.action === 'add_column'
    ? `add ${c.table}.${c.column} (${c.column_type}${c.not_null ? ', NOT NULL' : ''})`
    : `drop ${c.table}.${c.column}`;
}

// ---- schema_scope_agent: { request, database, changes, corrections } → PlanScope ----------

const scopeInput = z.object({
  request: z.string(),
  database: z.string(),
  changes: z.array(schemaChange),
  corrections: z.array(z.string()),
});

/** A correction the rules can apply: "database staging", "use database: staging". */
const DATABASE_CORRECTION = /\bdatabase\s*(?:is|=|:)?\s*"?([A-Za-z_][A-Za-z0-9_]{0,62})"?/gi;

export function schemaScopeAgent(input: JsonObject): PlanScope {
  const i = parseInput(scopeInput, input, 'schema_scope_agent input');
  let database = i.database;
  const corrections = i.corrections.map((comment) => {
    // The last database the comment names wins ("not database prod: use database production").
    const name = [...comment.matchAll(DATABASE_CORRECTION)].at(-1)?.[1];
    if (name && name.toLowerCase() !== 'ops') {
      database = name;
      return { comment, applied: `database set to "${name}"` };
    }
    return { comment, applied: 'noted for the planner; the scope is otherwise unchanged' };
  });
  const tables = tablesOf(i.changes);
  return {
    database,
    summary: `${i.changes.map(describeChange).join(', ')} in database ${database}`,
    changes: i.changes,
    tables,
    out_of_scope: [
      'Application code that reads or writes these columns',
      'Any database other than the one named',
      'Executing any phase: this workflow only plans',
    ],
    corrections,
  };
}

// ---- schema_planner (tools): { scope, feedback } → PlanFindings ---------------------------

const plannerInput = z.object({ scope: planScope, feedback: z.array(z.string()) });

interface ReadResults {
  tables: Map<string, { rows: number | null }> | null;
  tablesError: string | null;
  columns: Map<string, { name: string; type: string; notnull: boolean }[]>;
  counts: Map<string, number>;
  backups: number | null;
}

function readResults(messages: readonly ModelMessage[]): ReadResults {
  const out: ReadResults = {
    tables: null,
    tablesError: null,
    columns: new Map(),
    counts: new Map(),
    backups: null,
  };
  for (const m of messages) {
    if (m.role !== 'tool' || !isObject(m.content)) continue;
    const ok = m.content.ok === true;
    const body = m.content.output;
    if (m.name === 'list_tables') {
      if (!ok || !isObject(body) || !Array.isArray(body.tables)) {
        out.tablesError = JSON.stringify(m.content.error ?? m.content.code ?? 'unreadable');
        continue;
      }
      out.tables = new Map(
        body.tables
          .filter(isObject)
          .map((t) => [str(t.name), { rows: typeof t.rows === 'number' ? t.rows : null }]),
      );
    } else if (m.name === 'get_table_schema' && ok && isObject(body)) {
      const cols = Array.isArray(body.columns) ? body.columns.filter(isObject) : [];
      out.columns.set(
        str(body.table),
        cols.map((c) => ({
          name: str(c.name),
          type: str(c.type),
          notnull: c.notnull === true,
        })),
      );
    } else if (m.name === 'read_row_counts' && ok && isObject(body) && Array.isArray(body.counts)) {
      for (const c of body.counts.filter(isObject))
        if (typeof c.rows === 'number') out.counts.set(str(c.name), c.rows);
    } else if (m.name === 'list_backups' && ok && isObject(body) && Array.isArray(body.backups)) {
      out.backups = body.backups.length;
    }
  }
  return out;
}

/** A check of a read's result (src/engine/plan-checks.ts): parameters and value JSON-encoded. */
function check(
  criterion: string,
  tool: string,
  params: JsonObject,
  what: { path: string; op: PlanCheck['op']; value: JsonValue },
): PlanCheck {
  return {
    criterion,
    tool,
    params: JSON.stringify(params),
    path: what.path,
    op: what.op,
    value: what.value === null ? null : JSON.stringify(what.value),
  };
}

/** That a table has (or no longer has) a column, by the names get_table_schema lists. */
function columnCheck(
  criterion: string,
  database: string,
  c: { table: string; column: string },
  present: boolean,
): PlanCheck {
  return check(
    criterion,
    'get_table_schema',
    { database, table: c.table },
    { path: 'columns.*.name', op: present ? 'contains' : 'not_contains', value: c.column },
  );
}

const BACKFILL_DEFAULT: Record<string, JsonValue> = {
  boolean: false,
  integer: 0,
  real: 0,
  text: '',
  timestamp: 'CURRENT_TIMESTAMP',
};

export function schemaPlanner(input: JsonObject, messages: readonly ModelMessage[]): ToolTurn {
  const { scope } = parseInput(plannerInput, input, 'schema_planner input');
  const db = scope.database;
  if (!messages.some((m) => m.role === 'assistant')) {
    const calls: ModelToolCall[] = [
      { id: 'read_1', name: 'list_tables', arguments: { database: db } },
      ...scope.tables.map((table, i) => ({
        id: `read_${i + 2}`,
        name: 'get_table_schema',
        arguments: { database: db, table },
      })),
      {
        id: `read_${scope.tables.length + 2}`,
        name: 'read_row_counts',
        arguments: { database: db, tables: scope.tables },
      },
      { id: `read_${scope.tables.length + 3}`, name: 'list_backups', arguments: { database: db } },
    ];
    return { tool_calls: calls };
  }
  const r = readResults(messages);
  const observations: string[] = [];
  const risks: string[] = [];
  const assumptions: string[] = [
    `Nothing writes to database ${db} between the backup and the last phase.`,
  ];
  if (r.tables)
    observations.push(
      `Database ${db} has ${r.tables.size} table(s): ${[...r.tables.keys()].join(', ') || 'none'}.`,
    );
  else {
    observations.push(`Database ${db} could not be read: ${r.tablesError ?? 'no answer'}.`);
    risks.push(`Database ${db} could not be read; every phase below is planned blind.`);
  }
  for (const t of scope.tables) {
    const cols = r.columns.get(t);
    if (cols) observations.push(`${t} has columns ${cols.map((c) => c.name).join(', ')}.`);
    const n = r.counts.get(t);
    if (n !== undefined) {
      observations.push(`${t} has ${n} row(s).`);
      assumptions.push(`${t} holds about ${n} row(s), as counted while planning.`);
    }
  }
  if (r.backups !== null)
    observations.push(`${r.backups} backup(s) of ${db} exist before this change.`);

  const phases: FoundPhase[] = [
    {
      phase_id: 'backup',
      phase_type: 'backup',
      title: `Take a full backup of ${db}`,
      risk_level: 'low',
      calls: [{ tool: 'database_backup', params: { database: db, backup_type: 'full' } }],
      rollback_note: 'Nothing to undo: the backup file may be deleted once the change is verified.',
      acceptance_criteria: [`list_backups shows a full backup of ${db}`],
      checks: [
        check(
          `list_backups shows a full backup of ${db}`,
          'list_backups',
          { database: db },
          {
            path: 'backups.*.type',
            op: 'contains',
            value: 'full',
          },
        ),
      ],
    },
  ];
  for (const c of scope.changes) {
    const has = (r.columns.get(c.table) ?? []).some(
      (col) => col.name.toLowerCase() === c.column.toLowerCase(),
    );
    const known = r.columns.has(c.table);
    const rows = r.counts.get(c.table);
    if (c.action === 'add_column') {
      if (known && has) risks.push(`${c.table}.${c.column} already exists: the change would fail.`);
      phases.push({
        phase_id: `add_${c.table}_${c.column}`,
        phase_type: 'schema_change',
        title: `Add ${c.table}.${c.column} (${c.column_type})`,
        risk_level: 'medium',
        calls: [
          {
            tool: 'database_migration',
            params: {
              database: db,
              table: c.table,
              operation: 'add_column',
              column_name: c.column,
              column_type: c.column_type,
            },
          },
        ],
        rollback_note: `Restore ${db} from the backup of phase "backup" (dropping ${c.column} again needs an adapter that can drop columns).`,
        acceptance_criteria: [`get_table_schema shows ${c.table}.${c.column}`],
        checks: [columnCheck(`get_table_schema shows ${c.table}.${c.column}`, db, c, true)],
      });
      if (c.not_null || c.backfill_value !== undefined) {
        const value = c.backfill_value ?? BACKFILL_DEFAULT[c.column_type] ?? null;
        phases.push({
          phase_id: `backfill_${c.table}_${c.column}`,
          phase_type: 'backfill',
          title: `Backfill ${c.table}.${c.column} with ${JSON.stringify(value)}`,
          risk_level: rows !== undefined && rows > 100_000 ? 'high' : 'medium',
          calls: [
            {
              tool: 'database_migration',
              params: {
                database: db,
                table: c.table,
                operation: 'backfill_column',
                column_name: c.column,
                column_type: c.column_type,
                value,
              },
            },
          ],
          rollback_note: `Set ${c.column} back to NULL on the backfilled rows, or restore the backup of phase "backup".`,
          acceptance_criteria: [
            `No row of ${c.table} has ${c.column} NULL`,
            `${c.table} still has ${rows ?? 'the same number of'} row(s)`,
          ],
          checks:
            rows === undefined
              ? []
              : [
                  check(
                    `${c.table} still has ${rows} row(s)`,
                    'read_row_counts',
                    { database: db, tables: [c.table] },
                    { path: 'counts.0.rows', op: 'equals', value: rows },
                  ),
                ],
        });
      }
      if (c.not_null)
        risks.push(
          `SQLite cannot add NOT NULL to an existing column: ${c.table}.${c.column} is NOT NULL by the backfill only, until the table is rebuilt.`,
        );
    } else {
      if (known && !has)
        risks.push(`${c.table}.${c.column} was not found: there may be nothing to drop.`);
      phases.push({
        phase_id: `drop_${c.table}_${c.column}`,
        phase_type: 'cleanup',
        title: `Drop ${c.table}.${c.column}`,
        risk_level: 'high',
        calls: [
          {
            tool: 'database_migration',
            params: {
              database: db,
              table: c.table,
              operation: 'drop_column',
              column_name: c.column,
            },
          },
        ],
        rollback_note: `The column's data is gone once dropped: restore it from the backup of phase "backup". Keep that backup until verification passes.`,
        acceptance_criteria: [`get_table_schema no longer shows ${c.table}.${c.column}`],
        checks: [
          columnCheck(`get_table_schema no longer shows ${c.table}.${c.column}`, db, c, false),
        ],
      });
    }
  }
  phases.push({
    phase_id: 'verify',
    phase_type: 'verification',
    title: `Verify ${scope.tables.join(', ')} after the change`,
    risk_level: 'low',
    calls: [
      ...scope.tables.map((table) => ({
        tool: 'get_table_schema',
        params: { database: db, table },
      })),
      { tool: 'read_row_counts', params: { database: db, tables: scope.tables } },
    ],
    rollback_note: 'Nothing to undo: reads only.',
    acceptance_criteria: scope.changes.map((c) =>
      c.action === 'add_column'
        ? `${c.table}.${c.column} exists${c.not_null ? ' and has no NULL value' : ''}`
        : `${c.table}.${c.column} no longer exists`,
    ),
    // That a column exists is checked; that it has no NULL value is not in what the read tools
    // answer, and a dropped column may stay because its phase is blocked: those stay in words.
    checks: scope.changes
      .filter((c) => c.action === 'add_column')
      .map((c) => columnCheck(`${c.table}.${c.column} exists`, db, c, true)),
  });
  const out: PlanFindings = { database: db, observations, phases, risks, assumptions };
  return { output: planFindings.parse(out) };
}

// ---- schema_reviewer: { scope, findings } → PlanReview -------------------------------------

const reviewerInput = z.object({ scope: planScope, findings: planFindings });

export function schemaReviewer(input: JsonObject): PlanReview {
  const { findings } = parseInput(reviewerInput, input, 'schema_reviewer input');
  const risks = findings.phases
    .filter((p) => p.risk_level === 'high' || p.risk_level === 'critical')
    .map((p) => `Phase "${p.phase_id}" is ${p.risk_level} risk: ${p.title}.`);
  const caveats = ['Run the phases in a maintenance window, in order, each after its approval.'];
  if (findings.phases.some((p) => p.phase_type === 'cleanup'))
    caveats.push('Keep the backup until the verification phase has passed.');
  return planReview.parse({ risks, caveats });
}

// ---- plan_writer: { proposal_id, scope, findings, review } → ChangeProposalBrief -----------

const writerInput = z.object({
  proposal_id: z.string(),
  scope: planScope,
  findings: planFindings,
  review: planReview.nullable(),
});

export function planWriter(input: JsonObject): ChangeProposalBrief {
  const { proposal_id, scope, findings, review } = parseInput(
    writerInput,
    input,
    'plan_writer input',
  );
  return {
    proposal_id,
    artifact_type: 'ChangeProposalBrief',
    human_review_required: true,
    status: 'proposed',
    title: `Schema change plan: ${scope.summary}`,
    summary: `PLAN ONLY: nothing in this plan has been executed. ${findings.observations.join(' ')}`,
    phases: findings.phases.map((p) => ({
      phase_id: p.phase_id,
      phase_type: p.phase_type,
      title: p.title,
      status: 'proposed' as const,
      blocked_reason: null,
      deferred_to: null,
      risk_level: p.risk_level,
      rollback_note: p.rollback_note,
      calls: p.calls.map((c) => ({ tool: c.tool, params: JSON.stringify(c.params) })),
      acceptance_criteria: p.acceptance_criteria,
      checks: p.checks.map((c) => ({ ...c })),
    })),
    risks: [...findings.risks, ...(review?.risks ?? [])],
    assumptions: [...findings.assumptions, ...(review?.caveats ?? [])],
    next_step: {
      requires_human_approval: true,
      instructions:
        'Review the plan. Approving it executes nothing. An approved plan is run by activating it ' +
        '(countersign workflow activate <run_id>): each proposed phase then needs its own approval; ' +
        'blocked phases stay blocked until what they wait for exists.',
    },
    read_digest: null,
  };
}
