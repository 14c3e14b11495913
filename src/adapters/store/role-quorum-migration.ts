import type { Migration } from 'kysely';

/**
 * Approvals per role (core/quorum.ts) for proposals and workflow gates: JSON such as
 * `{"change_manager":1,"security":1}`, or null for the any-of rule every row written before
 * this column existed keeps.
 */
export const roleQuorumMigration: Migration = {
  async up(db) {
    await db.schema.alterTable('proposals').addColumn('role_quorum', 'text').execute();
    await db.schema.alterTable('approval_requests').addColumn('role_quorum', 'text').execute();
  },
};
