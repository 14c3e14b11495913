import { type Migration, type MigrationProvider, sql } from 'kysely';
import { engineMigration, proposalsOutsideRunsIndex } from './engine-migration.js';
import { hashBytesMigration } from './hash-bytes-migration.js';
import { idempotencyRetentionMigration } from './idempotency-migration.js';
import { knowledgeMigration } from './knowledge-migration.js';
import { proposalDescriptionMigration } from './proposal-description-migration.js';
import { principalsMigration } from './principals-migration.js';
import { decisionRoleMigration } from './decision-role-migration.js';
import { gateAuthorsMigration } from './gate-authors-migration.js';
import { roleQuorumMigration } from './role-quorum-migration.js';
import { tokenGenerationMigration } from './token-generation-migration.js';
import { workPackagesMigration } from './work-packages-migration.js';
import { workPackageReturnsMigration } from './work-package-returns-migration.js';

import { type Dialect, appendOnly } from './append-only.js';

/** Tables whose rows may never change once written: the ledger, decisions, call versions. */
export const APPEND_ONLY_TABLES = ['ledger_events', 'decisions', 'proposal_versions'] as const;

function kernelTables(dialect: Dialect): Migration {
  return {
    async up(db) {
      const text = 'text' as const;
      const int = 'integer' as const;
      await db.schema
        .createTable('actors')
        .addColumn('tenant_id', text, (c) => c.notNull())
        .addColumn('id', text, (c) => c.notNull())
        .addColumn('name', text, (c) => c.notNull())
        .addColumn('role', text, (c) => c.notNull())
        .addColumn('created_at', text, (c) => c.notNull())
        .addPrimaryKeyConstraint('actors_pk', ['tenant_id', 'id'])
        .execute();
      await db.schema
        .createTable('workflows')
        .addColumn('tenant_id', text, (c) => c.notNull())
        .addColumn('id', text, (c) => c.notNull())
        .addColumn('title', text, (c) => c.notNull())
        .addColumn('status', text, (c) => c.notNull())
        .addColumn('idempotency_key', text)
        .addColumn('created_by', text, (c) => c.notNull())
        .addColumn('created_at', text, (c) => c.notNull())
        .addPrimaryKeyConstraint('workflows_pk', ['tenant_id', 'id'])
        .addUniqueConstraint('workflows_idempotency', ['tenant_id', 'idempotency_key'])
        .execute();
      await db.schema
        .createTable('proposals')
        .addColumn('tenant_id', text, (c) => c.notNull())
        .addColumn('id', text, (c) => c.notNull())
        .addColumn('workflow_id', text, (c) => c.notNull())
        .addColumn('proposer_id', text, (c) => c.notNull())
        .addColumn('tool', text, (c) => c.notNull())
        .addColumn('reason', text, (c) => c.notNull())
        .addColumn('status', text, (c) => c.notNull())
        .addColumn('version', int, (c) => c.notNull())
        .addColumn('required_approvals', int, (c) => c.notNull())
        .addColumn('required_roles', text, (c) => c.notNull())
        .addColumn('approved_version', int)
        .addColumn('approved_hash', text)
        .addColumn('policy_version', text, (c) => c.notNull())
        .addColumn('created_at', text, (c) => c.notNull())
        .addColumn('updated_at', text, (c) => c.notNull())
        .addPrimaryKeyConstraint('proposals_pk', ['tenant_id', 'id'])
        .execute();
      await db.schema
        .createIndex('proposals_by_status')
        .on('proposals')
        .columns(['tenant_id', 'status', 'updated_at'])
        .execute();
      await db.schema
        .createIndex('proposals_by_workflow')
        .on('proposals')
        .columns(['tenant_id', 'workflow_id'])
        .execute();
      await db.schema
        .createIndex('proposals_by_hash')
        .on('proposals')
        .columns(['tenant_id', 'approved_hash'])
        .execute();
      await db.schema
        .createTable('proposal_versions')
        .addColumn('tenant_id', text, (c) => c.notNull())
        .addColumn('proposal_id', text, (c) => c.notNull())
        .addColumn('version', int, (c) => c.notNull())
        .addColumn('params', text, (c) => c.notNull())
        .addColumn('hash', text, (c) => c.notNull())
        .addColumn('origin', text, (c) => c.notNull())
        .addColumn('author_id', text, (c) => c.notNull())
        .addColumn('created_at', text, (c) => c.notNull())
        .addPrimaryKeyConstraint('proposal_versions_pk', ['tenant_id', 'proposal_id', 'version'])
        .execute();
      await db.schema
        .createTable('decisions')
        .addColumn('tenant_id', text, (c) => c.notNull())
        .addColumn('id', text, (c) => c.notNull())
        .addColumn('proposal_id', text, (c) => c.notNull())
        .addColumn('version', int, (c) => c.notNull())
        .addColumn('hash', text, (c) => c.notNull())
        .addColumn('reviewer_id', text, (c) => c.notNull())
        .addColumn('decision', text, (c) => c.notNull())
        .addColumn('comment', text)
        .addColumn('edits', text)
        .addColumn('policy_version', text, (c) => c.notNull())
        .addColumn('created_at', text, (c) => c.notNull())
        .addPrimaryKeyConstraint('decisions_pk', ['tenant_id', 'id'])
        .addUniqueConstraint('decisions_one_per_reviewer', [
          'tenant_id',
          'proposal_id',
          'version',
          'reviewer_id',
        ])
        .execute();
      await db.schema
        .createTable('executions')
        .addColumn('tenant_id', text, (c) => c.notNull())
        .addColumn('id', text, (c) => c.notNull())
        .addColumn('workflow_id', text, (c) => c.notNull())
        .addColumn('proposal_id', text, (c) => c.notNull())
        .addColumn('version', int, (c) => c.notNull())
        .addColumn('tool', text, (c) => c.notNull())
        .addColumn('params', text, (c) => c.notNull())
        .addColumn('hash', text, (c) => c.notNull())
        .addColumn('dry_run', int, (c) => c.notNull())
        .addColumn('status', text, (c) => c.notNull())
        .addColumn('output', text)
        .addColumn('error', text)
        .addColumn('started_at', text, (c) => c.notNull())
        .addColumn('finished_at', text)
        .addColumn('live_key', text)
        .addPrimaryKeyConstraint('executions_pk', ['tenant_id', 'id'])
        .addUniqueConstraint('executions_at_most_once', ['tenant_id', 'live_key'])
        .execute();
      await db.schema
        .createIndex('executions_by_proposal')
        .on('executions')
        .columns(['tenant_id', 'proposal_id'])
        .execute();
      await db.schema
        .createTable('settings')
        .addColumn('tenant_id', text, (c) => c.notNull())
        .addColumn('key', text, (c) => c.notNull())
        .addColumn('value', text, (c) => c.notNull())
        .addPrimaryKeyConstraint('settings_pk', ['tenant_id', 'key'])
        .execute();
      await db.schema
        .createTable('id_counters')
        .addColumn('tenant_id', text, (c) => c.notNull())
        .addColumn('kind', text, (c) => c.notNull())
        .addColumn('value', int, (c) => c.notNull())
        .addPrimaryKeyConstraint('id_counters_pk', ['tenant_id', 'kind'])
        .execute();
      await db.schema
        .createTable('ledger_events')
        .addColumn('tenant_id', text, (c) => c.notNull())
        .addColumn('seq', int, (c) => c.notNull())
        .addColumn('time', text, (c) => c.notNull())
        .addColumn('type', text, (c) => c.notNull())
        .addColumn('actor', text, (c) => c.notNull())
        .addColumn('workflow_id', text)
        .addColumn('data', text, (c) => c.notNull())
        .addColumn('prev_hash', text, (c) => c.notNull())
        .addColumn('hash', text, (c) => c.notNull())
        .addPrimaryKeyConstraint('ledger_events_pk', ['tenant_id', 'seq'])
        .execute();
      await db.schema
        .createIndex('ledger_events_by_workflow')
        .on('ledger_events')
        .columns(['tenant_id', 'workflow_id', 'seq'])
        .execute();
      await db.schema
        .createTable('ledger_heads')
        .addColumn('tenant_id', text, (c) => c.primaryKey())
        .addColumn('seq', int, (c) => c.notNull())
        .addColumn('hash', text, (c) => c.notNull())
        .execute();

      if (dialect === 'postgres') {
        await sql
          .raw(
            `CREATE FUNCTION countersign_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'P0001'; END $$`,
          )
          .execute(db);
      }
      for (const table of APPEND_ONLY_TABLES) await appendOnly(db, dialect, table);
    },
  };
}

const tokensAndIdempotency: Migration = {
  async up(db) {
    await db.schema
      .createTable('api_tokens')
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull())
      .addColumn('actor_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .addPrimaryKeyConstraint('api_tokens_pk', ['tenant_id', 'id'])
      .execute();
    await db.schema
      .createTable('idempotency_records')
      .addColumn('tenant_id', 'text', (c) => c.notNull())
      .addColumn('principal', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('status', 'integer', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('idempotency_records_pk', ['tenant_id', 'principal', 'key'])
      .execute();
  },
};

/** One set of migrations for both databases; only the trigger syntax differs. */
export function migrationProvider(dialect: Dialect): MigrationProvider {
  return {
    getMigrations: () =>
      Promise.resolve({
        '0001_kernel': kernelTables(dialect),
        '0002_tokens_idempotency': tokensAndIdempotency,
        '0003_engine': engineMigration(dialect),
        '0004_knowledge': knowledgeMigration(dialect),
        '0005_proposals_outside_runs': proposalsOutsideRunsIndex,
        '0006_principals_tokens': principalsMigration,
        '0007_token_generation': tokenGenerationMigration(dialect),
        '0008_idempotency_retention': idempotencyRetentionMigration,
        '0009_hashes_as_bytes': hashBytesMigration(dialect),
        '0010_proposal_description': proposalDescriptionMigration,
        '0011_role_quorum': roleQuorumMigration,
        '0012_decision_roles': decisionRoleMigration,
        '0013_gate_authors': gateAuthorsMigration,
        '0014_work_packages': workPackagesMigration(dialect),
        '0015_work_package_returns': workPackageReturnsMigration(dialect),
      }),
  };
}
