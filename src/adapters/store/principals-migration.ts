import { type Migration, sql } from 'kysely';

/**
 * Principals get a kind, tokens an expiry, a scope, a minter and a last use, and decisions
 * the token they were made with. Existing actors become humans, except the agent actors that
 * workflow runs registered (named in the `agent_actor:<role>` settings).
 */
export const principalsMigration: Migration = {
  async up(db) {
    await db.schema
      .alterTable('actors')
      .addColumn('kind', 'text', (c) => c.notNull().defaultTo('human'))
      .execute();
    await sql`UPDATE actors SET kind = 'agent' WHERE EXISTS (
      SELECT 1 FROM settings s
      WHERE s.tenant_id = actors.tenant_id AND s.key LIKE 'agent_actor:%' AND s.value = actors.id
    )`.execute(db);
    for (const [column, nullable] of [
      ['created_by', false],
      ['expires_at', true],
      ['scope', true],
      ['last_used_at', true],
    ] as const)
      await db.schema
        .alterTable('api_tokens')
        .addColumn(column, 'text', (c) => (nullable ? c : c.notNull().defaultTo('operator')))
        .execute();
    await db.schema.alterTable('decisions').addColumn('token_id', 'text').execute();
    await db.schema.alterTable('approval_decisions').addColumn('token_id', 'text').execute();
  },
};
