import type { JsonObject } from '../src/types.js';

const READS: JsonObject[] = [
  { tool: 'list_tables', params: { database: 'app' } },
  { tool: 'get_table_schema', params: { database: 'app', table: 'users' } },
  { tool: 'read_row_counts', params: { database: 'app', tables: ['users'] } },
];

/**
 * A saved plan exactly as a plan-only run stores it (the run artifact `plan_brief`, a SavedPlan
 * `{plan, reads}`); test/plan-view-contract.test.ts checks it against the server's schema and
 * invariants, so the console tests cannot drift from what the server writes.
 */
export const SAVED_PLAN = {
  plan: {
    proposal_id: 'plan_users_email_verified',
    artifact_type: 'ChangeProposalBrief',
    human_review_required: true,
    status: 'proposed',
    title: 'Add email_verified to users and retire legacy_flag',
    summary:
      'Add a NOT NULL column email_verified to users, backfill it, and drop legacy_flag. Owner: dana@example.com.',
    phases: [
      {
        phase_id: 'backup',
        phase_type: 'backup',
        title: 'Back up the users table',
        status: 'proposed',
        blocked_reason: null,
        deferred_to: null,
        risk_level: 'low',
        rollback_note: 'Nothing to undo: a backup changes no data.',
        calls: [{ tool: 'create_backup', params: '{"table":"users"}' }],
        acceptance_criteria: ['A backup of users newer than the plan exists'],
        checks: [],
      },
      {
        phase_id: 'change',
        phase_type: 'migration',
        title: 'Add the email_verified column',
        status: 'proposed',
        blocked_reason: null,
        deferred_to: null,
        risk_level: 'medium',
        rollback_note: 'Drop the new column email_verified.',
        calls: [
          {
            tool: 'database_migration',
            params:
              '{"sql":"ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0"}',
          },
        ],
        acceptance_criteria: ['users has the column email_verified', 'No row is lost'],
        checks: [
          {
            criterion: 'users has the column email_verified',
            tool: 'get_table_schema',
            params: '{"database":"app","table":"users"}',
            path: 'columns.*.name',
            op: 'contains',
            value: '"email_verified"',
          },
          {
            criterion: 'No row is lost',
            tool: 'read_row_counts',
            params: '{"database":"app","tables":["users"]}',
            path: 'counts.0.rows',
            op: 'gte',
            value: '1200',
          },
        ],
      },
      {
        phase_id: 'drop_legacy',
        phase_type: 'cleanup',
        title: 'Drop legacy_flag',
        status: 'blocked',
        blocked_reason:
          'database_migration cannot drop a column on this target (WRITE_NOT_IMPLEMENTED).',
        deferred_to: 'an adapter that can drop columns',
        risk_level: 'high',
        rollback_note: 'Restore the column from the backup.',
        calls: [
          {
            tool: 'database_migration',
            params: '{"sql":"ALTER TABLE users DROP COLUMN legacy_flag"}',
          },
        ],
        acceptance_criteria: ['users no longer has legacy_flag'],
        checks: [],
      },
    ],
    risks: ['The backfill locks users for a few seconds'],
    assumptions: ['Nothing reads legacy_flag any more'],
    next_step: {
      requires_human_approval: true,
      instructions: 'Approve the plan, then activate it to run the proposed phases one by one.',
    },
    read_digest: '3f9a1c0e5b7d2468ace0f13579bdf02468ace13579bdf02468ace13579bdf0a1',
  },
  reads: READS,
} satisfies JsonObject;
