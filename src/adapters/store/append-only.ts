import { type Kysely, sql } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Makes `table` append-only in the database itself: triggers refuse UPDATE and DELETE (and on
 * Postgres TRUNCATE), so no code path, and no one with a SQL prompt short of dropping the
 * triggers, edits or removes a row once written.
 */
export async function appendOnly(
  db: Kysely<unknown>,
  dialect: Dialect,
  table: string,
): Promise<void> {
  if (dialect === 'sqlite') {
    for (const op of ['UPDATE', 'DELETE']) {
      await sql
        .raw(
          `CREATE TRIGGER ${table}_no_${op.toLowerCase()} BEFORE ${op} ON ${table} ` +
            `BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END`,
        )
        .execute(db);
    }
    return;
  }
  await sql
    .raw(
      `CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table} ` +
        `FOR EACH ROW EXECUTE FUNCTION countersign_append_only()`,
    )
    .execute(db);
  await sql
    .raw(
      `CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} ` +
        `FOR EACH STATEMENT EXECUTE FUNCTION countersign_append_only()`,
    )
    .execute(db);
}
