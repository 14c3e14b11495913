import { type Migration, sql } from 'kysely';

/** The columns whose change alters what a token grants (not `last_used_at`, not `name`). */
const VALIDITY_COLUMNS = 'revoked_at, expires_at, scope, actor_id, tenant_id, token_hash';

/**
 * A generation counter for API tokens, advanced by the database itself whenever a token's
 * validity changes or a token is deleted: by a revocation through the kernel, and just as well
 * by an operator's UPDATE in a SQL shell during an incident. A process caches verified tokens
 * under the generation it read and reads the counter on every request (one cheap row), so a
 * revocation made by any process holds from the next request on.
 */
export function tokenGenerationMigration(dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db) {
      await db.schema
        .createTable('token_generation')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .execute();
      await sql`INSERT INTO token_generation (id, value) VALUES (1, 0)`.execute(db);
      const bump = 'UPDATE token_generation SET value = value + 1 WHERE id = 1';
      if (dialect === 'sqlite') {
        await sql
          .raw(
            `CREATE TRIGGER api_tokens_generation_update AFTER UPDATE OF ${VALIDITY_COLUMNS} ` +
              `ON api_tokens BEGIN ${bump}; END`,
          )
          .execute(db);
        await sql
          .raw(
            `CREATE TRIGGER api_tokens_generation_delete AFTER DELETE ON api_tokens ` +
              `BEGIN ${bump}; END`,
          )
          .execute(db);
        return;
      }
      await sql
        .raw(
          `CREATE FUNCTION countersign_token_generation() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN ${bump}; RETURN NULL; END $$`,
        )
        .execute(db);
      await sql
        .raw(
          `CREATE TRIGGER api_tokens_generation AFTER UPDATE OF ${VALIDITY_COLUMNS} OR DELETE ` +
            `ON api_tokens FOR EACH ROW EXECUTE FUNCTION countersign_token_generation()`,
        )
        .execute(db);
      await sql
        .raw(
          `CREATE TRIGGER api_tokens_generation_truncate AFTER TRUNCATE ON api_tokens ` +
            `FOR EACH STATEMENT EXECUTE FUNCTION countersign_token_generation()`,
        )
        .execute(db);
    },
  };
}
