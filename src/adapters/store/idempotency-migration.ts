import type { Migration } from 'kysely';

/** Idempotency records expire (a retention period): an index to find and purge the old ones. */
export const idempotencyRetentionMigration: Migration = {
  async up(db) {
    await db.schema
      .createIndex('idempotency_records_created')
      .on('idempotency_records')
      .column('created_at')
      .execute();
  },
};
