import type { Migration } from 'kysely';

import { type Dialect, appendOnly } from './append-only.js';

/**
 * Work packages: the package and its state (updated as it moves), and its versions (each spec
 * with its hash, append-only: a booked version never changes, a change is a new version).
 */
export function workPackagesMigration(dialect: Dialect): Migration {
  return {
    async up(db) {
      await db.schema
        .createTable('work_packages')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('held_from', 'text')
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('booked_by', 'text', (c) => c.notNull())
        .addColumn('claimed_by', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('work_packages_pk', ['tenant_id', 'id'])
        .addUniqueConstraint('work_packages_seq', ['tenant_id', 'seq'])
        .execute();
      await db.schema
        .createIndex('work_packages_by_state')
        .on('work_packages')
        .columns(['tenant_id', 'state', 'seq'])
        .execute();
      await db.schema
        .createTable('work_package_versions')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('wp_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('hash', dialect === 'sqlite' ? 'blob' : 'bytea', (c) => c.notNull())
        .addColumn('booked_by', 'text', (c) => c.notNull())
        .addColumn('booked_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('work_package_versions_pk', ['tenant_id', 'wp_id', 'version'])
        .execute();
      await appendOnly(db, dialect, 'work_package_versions');
    },
  };
}
