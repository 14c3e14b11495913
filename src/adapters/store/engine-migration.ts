import { type Migration, sql } from 'kysely';

import { type Dialect, appendOnly } from './append-only.js';

/**
 * Durable workflows: runs, the recorded effects they replay, approval requests (workflow
 * gates) and their decisions. Decisions are append-only like the kernel's.
 */
export function engineMigration(dialect: Dialect): Migration {
  return {
    async up(db) {
      await db.schema
        .createTable('workflow_runs')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('definition_version', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('stage', 'text', (c) => c.notNull())
        .addColumn('input', 'text', (c) => c.notNull())
        .addColumn('context', 'text', (c) => c.notNull())
        .addColumn('artifacts', 'text', (c) => c.notNull())
        .addColumn('trace', 'text', (c) => c.notNull())
        .addColumn('waiting_on', 'text')
        .addColumn('wake_at', 'text')
        .addColumn('error', 'text')
        .addColumn('idempotency_key', 'text', (c) => c.notNull())
        .addColumn('input_hash', 'text', (c) => c.notNull())
        .addColumn('started_by', 'text', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('workflow_runs_pk', ['tenant_id', 'id'])
        .execute();
      await db.schema
        .createIndex('workflow_runs_status_wake')
        .on('workflow_runs')
        .columns(['status', 'wake_at'])
        .execute();
      await db.schema
        .createIndex('workflow_runs_tenant_updated')
        .on('workflow_runs')
        .columns(['tenant_id', 'updated_at'])
        .execute();
      await db.schema
        .createTable('run_effects')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('result', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('run_effects_pk', ['tenant_id', 'run_id', 'seq'])
        .execute();
      await db.schema
        .createTable('approval_requests')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('workflow_id', 'text', (c) => c.notNull())
        .addColumn('request_key', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('packet', 'text', (c) => c.notNull())
        .addColumn('required_approvals', 'integer', (c) => c.notNull())
        .addColumn('required_roles', 'text', (c) => c.notNull())
        .addColumn('proposals', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('due_at', 'text')
        .addColumn('on_timeout', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('approval_requests_pk', ['tenant_id', 'id'])
        .addUniqueConstraint('approval_requests_key', ['tenant_id', 'workflow_id', 'request_key'])
        .execute();
      await db.schema
        .createIndex('approval_requests_status')
        .on('approval_requests')
        .columns(['tenant_id', 'status', 'created_at'])
        .execute();
      await db.schema
        .createTable('approval_decisions')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('approval_id', 'text', (c) => c.notNull())
        .addColumn('reviewer_id', 'text', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('comment', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('approval_decisions_pk', ['tenant_id', 'id'])
        .execute();
      await db.schema
        .createIndex('approval_decisions_approval')
        .on('approval_decisions')
        .columns(['tenant_id', 'approval_id'])
        .execute();
      await appendOnly(db, dialect, 'approval_decisions');
      await appendOnly(db, dialect, 'run_effects');
    },
  };
}

/**
 * The review inbox leaves out the calls of workflow runs (their gates are the inbox items).
 * Run IDs start with `run_`: a partial index over the other pending proposals keeps that page
 * from reading every call that 10,000 waiting runs proposed.
 */
export const OUTSIDE_RUNS = `substr(workflow_id, 1, 4) <> 'run_'`;

export const proposalsOutsideRunsIndex: Migration = {
  async up(db) {
    await sql
      .raw(
        `CREATE INDEX proposals_outside_runs ON proposals (tenant_id, status, updated_at) WHERE ${OUTSIDE_RUNS}`,
      )
      .execute(db);
  },
};
