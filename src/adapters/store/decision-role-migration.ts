import type { Migration } from 'kysely';

/**
 * The role a reviewer held when they decided, so that changing an actor's role later never
 * changes which quorum slot an earlier approval filled. Null on rows written before this
 * column existed: those count with the reviewer's current role, as they always did.
 */
export const decisionRoleMigration: Migration = {
  async up(db) {
    await db.schema.alterTable('decisions').addColumn('reviewer_role', 'text').execute();
    await db.schema.alterTable('approval_decisions').addColumn('reviewer_role', 'text').execute();
  },
};
