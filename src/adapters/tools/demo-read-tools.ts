/**
 * Read tools on the demo target, for plan-only work: a planner looks at the databases and the
 * backups before it proposes a change. Every tool here is `risk: 'read'` and can change nothing:
 * each call opens the database file read-only (`readonly`, `fileMustExist`) and closes it again,
 * so a database that does not exist is reported, never created (the write tools seed a missing
 * database; these do not). Only names matching IDENTIFIER reach SQL text; everything else is a
 * bound parameter. `plan()` runs the same read as `apply()` and reports `would_fail` instead of
 * throwing.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { defineTool } from '../../core/define-tool.js';
import type { JsonObject } from '../../core/model.js';
import type { ToolContext, ToolDefinition } from '../../core/ports/tools.js';
import {
  DemoTarget,
  countRows,
  databaseName,
  findTable,
  identifier,
  safeFilePart,
  settle,
  tableNames,
} from './demo-tools.js';

type Db = Database.Database;

export interface DemoReadToolsOptions {
  /** The data directory; the demo target lives in `<dataDir>/demo-target/`. */
  dataDir: string;
}

/** At most this many tables are counted in one read_row_counts call. */
export const MAX_COUNTED_TABLES = 50;

/** A read that cannot be answered (no such database or table): plan reports it, apply throws. */
class ReadRefusal extends Error {}

function openReadOnly(target: DemoTarget, name: string): Db {
  const file = target.databaseFile(name);
  // Checked first so that the message is clear; fileMustExist closes the race anyway.
  if (!fs.existsSync(file))
    throw new ReadRefusal(
      `database "${name}" does not exist in the demo target (no ${name}.sqlite); read tools never create one`,
    );
  try {
    return new Database(file, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new ReadRefusal(
      `database "${name}" cannot be opened read-only: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/** Runs `fn` on a read-only connection to the named database, closed afterwards. */
function withDatabase<T>(target: DemoTarget, name: string, fn: (db: Db) => T): T {
  const db = openReadOnly(target, name);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function requireTable(db: Db, database: string, table: string): string {
  const found = findTable(db, table);
  if (found === null)
    throw new ReadRefusal(
      `table "${table}" does not exist in database "${database}"; tables: ${tableNames(db).join(', ') || '(none)'}`,
    );
  return found;
}

function columnCount(db: Db, table: string): number {
  const row = db.prepare('SELECT COUNT(*) AS n FROM pragma_table_info(?)').get(table) as {
    n: number;
  };
  return row.n;
}

interface ColumnRow {
  cid: number;
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
}
interface IndexRow {
  seq: number;
  name: string;
  unique: number;
  origin: string;
  partial: number;
}
interface ForeignKeyRow {
  id: number;
  seq: number;
  table: string;
  from: string;
  to: string | null;
  on_update: string;
  on_delete: string;
  match: string;
}

function tableSchema(db: Db, table: string): JsonObject {
  const columns = (
    db.prepare('SELECT * FROM pragma_table_info(?) ORDER BY cid').all(table) as ColumnRow[]
  ).map((c) => ({
    name: c.name,
    type: c.type,
    notnull: c.notnull === 1,
    default: c.dflt_value,
    pk: c.pk,
  }));
  const indexes = (
    db.prepare('SELECT * FROM pragma_index_list(?) ORDER BY name').all(table) as IndexRow[]
  ).map((i) => ({
    name: i.name,
    unique: i.unique === 1,
    origin: i.origin,
    partial: i.partial === 1,
    columns: (
      db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno').all(i.name) as {
        name: string | null;
      }[]
    ).map((r) => r.name),
  }));
  const foreignKeys = (
    db
      .prepare('SELECT * FROM pragma_foreign_key_list(?) ORDER BY id, seq')
      .all(table) as ForeignKeyRow[]
  ).map((f) => ({
    id: f.id,
    seq: f.seq,
    from: f.from,
    table: f.table,
    to: f.to,
    on_update: f.on_update,
    on_delete: f.on_delete,
  }));
  return { table, columns, indexes, foreign_keys: foreignKeys };
}

/** plan(): the read, or `would_fail` with the reason it cannot be answered. */
function planRead(params: JsonObject, read: () => JsonObject): Promise<JsonObject> {
  return settle(() => {
    try {
      return read();
    } catch (e) {
      if (e instanceof ReadRefusal) return { ...params, would_fail: e.message };
      throw e;
    }
  });
}

const BACKUP_NAME = /^([A-Za-z_][A-Za-z0-9_]{0,62})-(full|incremental)-(.+)\.sqlite$/;

/** The caller's tenant's backup files, newest first. */
function listBackups(target: DemoTarget, ctx: ToolContext, database?: string): JsonObject {
  const dir = target.backupDir;
  const tenantPart = `-${safeFilePart(ctx.tenant_id)}-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      return { backup_dir: dir, ...(database ? { database } : {}), backups: [] };
    throw e;
  }
  const backups: { name: string; created_ms: number; entry: JsonObject }[] = [];
  for (const name of names) {
    const m = BACKUP_NAME.exec(name);
    if (!m) continue; // .partial files, anything else someone put there
    const [, db, type, rest] = m as unknown as [string, string, string, string];
    // Backups are named <database>-<type>-<tenant>-<execution_id>.sqlite: only the caller's own.
    const execution = rest.slice(tenantPart.length - 1);
    if (!`-${rest}`.startsWith(tenantPart) || execution.length === 0 || execution.includes('-'))
      continue;
    if (database !== undefined && db !== database) continue;
    let stat: fs.Stats;
    try {
      stat = fs.statSync(path.join(dir, name));
    } catch {
      continue; // removed while listing
    }
    if (!stat.isFile()) continue;
    backups.push({
      name,
      created_ms: stat.mtimeMs,
      entry: {
        name,
        database: db,
        type,
        bytes: stat.size,
        created_at: stat.mtime.toISOString(),
      },
    });
  }
  backups.sort((a, b) => b.created_ms - a.created_ms || (a.name < b.name ? -1 : 1));
  return {
    backup_dir: dir,
    ...(database ? { database } : {}),
    backups: backups.map((b) => b.entry),
  };
}

/** The four read tools: list_tables, get_table_schema, read_row_counts, list_backups. */
export function createDemoReadTools(options: DemoReadToolsOptions): ToolDefinition[] {
  // Used for its paths only: these tools never use its (writable) connections.
  const target = new DemoTarget(options.dataDir);
  const database = databaseName.describe('Database name, e.g. "production".');

  const listTablesRead = (p: { database: string }): JsonObject =>
    withDatabase(target, p.database, (db) => ({
      database: p.database,
      tables: tableNames(db).map((name) => ({
        name,
        rows: countRows(db, name),
        columns: columnCount(db, name),
      })),
    }));
  const listTables = defineTool({
    name: 'list_tables',
    description:
      'Lists the tables of a demo-target database with their row and column counts. Reads only; a database that does not exist is an error.',
    risk: 'read',
    input: z.strictObject({ database }),
    describe: (p) => `Read the list of tables (row and column counts) of database "${p.database}".`,
    plan: (p) => planRead(p, () => listTablesRead(p)),
    apply: (p) => settle(() => listTablesRead(p)),
  });

  const schemaRead = (p: { database: string; table: string }): JsonObject =>
    withDatabase(target, p.database, (db) => ({
      database: p.database,
      ...tableSchema(db, requireTable(db, p.database, p.table)),
    }));
  const getTableSchema = defineTool({
    name: 'get_table_schema',
    description:
      'Shows a table of a demo-target database: its columns (name, type, not null, default, primary key), indexes and foreign keys. Reads only.',
    risk: 'read',
    input: z.strictObject({
      database,
      table: identifier('table').describe('Table name, e.g. "users".'),
    }),
    describe: (p) => `Read the schema of table "${p.table}" in database "${p.database}".`,
    plan: (p) => planRead(p, () => schemaRead(p)),
    apply: (p) => settle(() => schemaRead(p)),
  });

  const countsRead = (p: { database: string; tables?: string[] | undefined }): JsonObject =>
    withDatabase(target, p.database, (db) => {
      const all = tableNames(db);
      const wanted = p.tables
        ? [...new Set(p.tables.map((t) => requireTable(db, p.database, t)))]
        : all.slice(0, MAX_COUNTED_TABLES);
      const counts = wanted.map((name) => ({ name, rows: countRows(db, name) }));
      return {
        database: p.database,
        counts,
        ...(p.tables === undefined && all.length > MAX_COUNTED_TABLES
          ? {
              truncated: true,
              note: `only the first ${MAX_COUNTED_TABLES} of ${all.length} tables are counted; name the tables to count others`,
            }
          : {}),
      };
    });
  const readRowCounts = defineTool({
    name: 'read_row_counts',
    description: `Counts the rows (exact COUNT(*)) of tables in a demo-target database: the named tables, or every table (at most ${MAX_COUNTED_TABLES}). Reads only.`,
    risk: 'read',
    input: z.strictObject({
      database,
      tables: z
        .array(identifier('table'))
        .min(1)
        .max(MAX_COUNTED_TABLES)
        .optional()
        .describe(`Tables to count, 1..${MAX_COUNTED_TABLES}; every table when left out.`),
    }),
    describe: (p) =>
      p.tables
        ? `Count the rows of ${p.tables.length} table(s) in database "${p.database}".`
        : `Count the rows of every table in database "${p.database}".`,
    plan: (p) => planRead(p, () => countsRead(p)),
    apply: (p) => settle(() => countsRead(p)),
  });

  const backupsTool = defineTool({
    name: 'list_backups',
    description:
      "Lists this tenant's demo-target backup files (name, database, type, bytes, created time), newest first, for one database or all. Reads only.",
    risk: 'read',
    input: z.strictObject({
      database: databaseName.optional().describe('Only the backups of this database.'),
    }),
    describe: (p) =>
      p.database
        ? `List the backups of database "${p.database}", newest first.`
        : 'List every demo-target backup, newest first.',
    plan: (p, ctx) => settle(() => listBackups(target, ctx, p.database)),
    apply: (p, ctx) => settle(() => listBackups(target, ctx, p.database)),
  });

  return [listTables, getTableSchema, readRowCounts, backupsTool];
}
