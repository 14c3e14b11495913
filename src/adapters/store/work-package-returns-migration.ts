import { type Migration, sql } from 'kysely';

import { type Dialect, appendOnly } from './append-only.js';

/**
 * What agents hand back on a work package: scope confirmations and returns, numbered per
 * package, each with the hash of its canonical JSON. Append-only: a return is never edited, a
 * revision is a new return.
 */
export function workPackageReturnsMigration(dialect: Dialect): Migration {
  return {
    async up(db) {
      await db.schema
        .createTable('work_package_returns')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('wp_id', 'text', (c) => c.notNull())
        .addColumn('wp_version', 'integer', (c) => c.notNull())
        .addColumn('n', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('scope', 'return')`))
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('hash', dialect === 'sqlite' ? 'blob' : 'bytea', (c) => c.notNull())
        .addColumn('returned_by', 'text', (c) => c.notNull())
        .addColumn('returned_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('work_package_returns_pk', ['tenant_id', 'wp_id', 'n'])
        .execute();
      await appendOnly(db, dialect, 'work_package_returns');
    },
  };
}
