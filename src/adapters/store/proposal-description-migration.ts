import type { Migration } from 'kysely';

/**
 * The sentence a tool's describe() wrote for each version of a call: stored with the version
 * (append-only like it), so what the reviewer reads is fixed with the call's hash. Null for
 * tools without describe() and for versions written before this column existed.
 */
export const proposalDescriptionMigration: Migration = {
  async up(db) {
    await db.schema.alterTable('proposal_versions').addColumn('description', 'text').execute();
  },
};
