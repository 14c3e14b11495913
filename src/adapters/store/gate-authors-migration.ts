import type { Migration } from 'kysely';

/**
 * Who else may not decide a gate, beside whoever asked for it: a JSON array of actor IDs (e.g.
 * who requested the plan an activation carries out), or null for none, as on every gate written
 * before this column existed.
 */
export const gateAuthorsMigration: Migration = {
  async up(db) {
    await db.schema.alterTable('approval_requests').addColumn('authors', 'text').execute();
  },
};
