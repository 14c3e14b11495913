import { type Kysely, type Migration, sql } from 'kysely';

/** The columns holding a SHA-256, stored as bytes from this migration on (hash-column.ts). */
export const HASH_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  ledger_events: ['prev_hash', 'hash'],
  ledger_heads: ['hash'],
  proposals: ['approved_hash'],
  proposal_versions: ['hash'],
  decisions: ['hash'],
  executions: ['hash'],
};

/**
 * SQLite tables rebuilt WITHOUT ROWID: their primary key is the table, so no second index
 * repeats it. Only tables read by their primary key alone: with a secondary index beside it,
 * SQLite's planner (without statistics) prefers a scan of the key's `tenant_id` prefix over
 * the index, so a workflow's trace would read the tenant's whole ledger.
 */
const CLUSTERED = new Set(['ledger_heads', 'proposal_versions']);

/**
 * Hashes as bytes. Postgres changes the columns' type in place (the migration's transaction
 * covers it; a type change fires no row trigger, so the append-only tables keep their rules).
 * SQLite cannot change a column's type: each table is rebuilt under the same name with its
 * indexes and triggers (some WITHOUT ROWID, see CLUSTERED), inside one savepoint. A rebuild already done is skipped, so a crash
 * between the rebuild and the migration's record is harmless.
 */
export function hashBytesMigration(dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db) {
      for (const [table, columns] of Object.entries(HASH_COLUMNS)) {
        if (dialect === 'postgres') {
          for (const c of columns)
            await sql
              .raw(`ALTER TABLE ${table} ALTER COLUMN ${c} TYPE bytea USING decode(${c}, 'hex')`)
              .execute(db);
        } else {
          await rebuildSqliteTable(db, table, columns);
        }
      }
    },
  };
}

interface ColumnInfo {
  name: string;
  type: string;
}

async function rebuildSqliteTable(
  db: Kysely<unknown>,
  table: string,
  hashColumns: readonly string[],
): Promise<void> {
  const { rows: columns } = await sql<ColumnInfo>`
    SELECT name, type FROM pragma_table_info(${table})`.execute(db);
  const isBlob = (c: string) => columns.find((r) => r.name === c)?.type.toLowerCase() === 'blob';
  if (hashColumns.every(isBlob)) return;
  const { rows: defs } = await sql<{ type: string; sql: string }>`
    SELECT type, sql FROM sqlite_schema
    WHERE tbl_name = ${table} AND sql IS NOT NULL ORDER BY type = 'table' DESC`.execute(db);
  const create = defs.find((d) => d.type === 'table')?.sql;
  if (!create) throw new Error(`table ${table} not found`);
  const staging = `${table}__bytes`;
  let next = create.replace(/^CREATE TABLE\s+("?)[A-Za-z_]+\1/i, `CREATE TABLE "${staging}"`);
  for (const c of hashColumns) next = next.replace(new RegExp(`"${c}" text`, 'i'), `"${c}" blob`);
  if (CLUSTERED.has(table) && !/WITHOUT ROWID\s*$/i.test(next)) next = `${next} WITHOUT ROWID`;
  const names = columns.map((c) => `"${c.name}"`).join(', ');
  const values = columns
    .map((c) =>
      hashColumns.includes(c.name)
        ? `CASE WHEN typeof("${c.name}") = 'text' THEN unhex("${c.name}") ELSE "${c.name}" END`
        : `"${c.name}"`,
    )
    .join(', ');
  await sql.raw('SAVEPOINT hash_bytes').execute(db);
  try {
    await sql.raw(next).execute(db);
    await sql
      .raw(`INSERT INTO "${staging}" (${names}) SELECT ${values} FROM "${table}"`)
      .execute(db);
    await sql.raw(`DROP TABLE "${table}"`).execute(db);
    await sql.raw(`ALTER TABLE "${staging}" RENAME TO "${table}"`).execute(db);
    for (const d of defs) if (d.type !== 'table') await sql.raw(d.sql).execute(db);
    await sql.raw('RELEASE hash_bytes').execute(db);
  } catch (e) {
    await sql.raw('ROLLBACK TO hash_bytes').execute(db);
    await sql.raw('RELEASE hash_bytes').execute(db);
    throw e;
  }
}
