import { telemetry } from '../../core/ports/telemetry.js';
/**
 * The demo tools of the seed document, made real against a "demo target" kept under
 * `<dataDir>/demo-target/`: named SQLite databases (`<name>.sqlite`), their backups
 * (`backups/`), `ops.sqlite` holding the notification outbox and workflow status records, and
 * service configuration as flat JSON files (`config/<service>.json`).
 *
 * Every `plan()` reads only: it describes precisely what `apply()` would do (statements,
 * files, rows) and reports a `would_fail` reason instead of throwing. Where a database does not
 * exist yet, the plan works on an in-memory database seeded exactly as `apply()` would seed the
 * file; migrations are trial-run on an in-memory copy and discarded.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { defineTool } from '../../core/define-tool.js';
import { CountersignError } from '../../core/errors.js';
import {
  DEFAULT_DATABASE,
  describeBackup,
  describeConfig,
  describeMigration,
  describeNotification,
  describeStatus,
} from './demo-descriptions.js';
import type { JsonObject, JsonValue } from '../../core/model.js';
import type { ToolContext, ToolDefinition } from '../../core/ports/tools.js';
import {
  createPrivateFile,
  makePrivateDir,
  openPrivateDatabase,
  writePrivateFile,
} from '../private-files.js';

type Db = Database.Database;

export interface DemoToolsOptions {
  /** The data directory; the demo target lives in `<dataDir>/demo-target/`. */
  dataDir: string;
  /** When set, send_notification POSTs each message here as JSON. */
  webhookUrl?: string | undefined;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch | undefined;
}

export interface DemoTools {
  tools: ToolDefinition[];
  /** Closes every SQLite connection the tools opened. */
  close(): void;
}

// ---------------------------------------------------------------------------------------------
// SQL identifiers and literals

/** The only identifiers (tables, columns, database names) ever placed into SQL text. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function quoteIdent(name: string): string {
  if (!IDENTIFIER.test(name))
    throw new Error(`refusing unsafe SQL identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}

function quoteText(value: string): string {
  if (value.includes('\u0000')) throw new Error('refusing a string literal containing NUL');
  return `'${value.replace(/'/g, "''")}'`;
}

export const identifier = (what: string) =>
  z
    .string()
    .regex(
      IDENTIFIER,
      `${what} must match ${IDENTIFIER.source} (letters, digits, underscore; not starting with a digit)`,
    );

const RESERVED_DATABASES = new Set(['ops']);

export const databaseName = identifier('database').refine(
  (n) => !RESERVED_DATABASES.has(n.toLowerCase()),
  {
    message: '"ops" is reserved for the demo target\'s own outbox and status records',
  },
);

const CHANNELS = ['slack', 'email', 'pagerduty', 'webhook'] as const;
const channel = z.enum(CHANNELS);

// ---------------------------------------------------------------------------------------------
// Seed schema and migration catalog

const SEED_STATEMENTS = [
  'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, created_at TEXT NOT NULL)',
  'CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at TEXT, rollback_sql TEXT, maintenance_window TEXT, notification_channels TEXT)',
] as const;
const SEED_USERS = ['alice@example.com', 'bob@example.com', 'carol@example.com'] as const;

interface CatalogMigration {
  readonly description: string;
  readonly up: readonly string[];
  readonly down: readonly string[];
}

/** Demo migrations by version; SQL is constant text, nothing is interpolated. */
const MIGRATIONS: Readonly<Record<string, CatalogMigration>> = {
  '2.0.0': {
    description: 'Adds the audit_log table and its time index.',
    up: [
      'CREATE TABLE audit_log (id INTEGER PRIMARY KEY, actor TEXT NOT NULL, action TEXT NOT NULL, created_at TEXT NOT NULL)',
      'CREATE INDEX audit_log_created_at ON audit_log (created_at)',
    ],
    down: ['DROP INDEX audit_log_created_at', 'DROP TABLE audit_log'],
  },
  '2.1.0': {
    description: 'Adds the feature_flags table and users.last_login.',
    up: [
      'CREATE TABLE feature_flags (name TEXT PRIMARY KEY, enabled INTEGER NOT NULL DEFAULT 0, updated_at TEXT)',
      'ALTER TABLE users ADD COLUMN last_login TEXT',
    ],
    down: ['ALTER TABLE users DROP COLUMN last_login', 'DROP TABLE feature_flags'],
  },
  '2.2.0': {
    description: 'Makes users.email unique.',
    up: ['CREATE UNIQUE INDEX users_email_unique ON users (email)'],
    down: ['DROP INDEX users_email_unique'],
  },
};
const KNOWN_VERSIONS = Object.keys(MIGRATIONS).sort();

function unknownVersionMessage(version: string): string {
  return `unknown migration version "${version}"; known versions: ${KNOWN_VERSIONS.join(', ')}`;
}

// ---------------------------------------------------------------------------------------------
// The demo target: lazily opened connections, one per file

export class DemoTarget {
  readonly root: string;
  private readonly connections = new Map<string, Db>();
  private closed = false;

  constructor(dataDir: string) {
    this.root = path.join(path.resolve(dataDir), 'demo-target');
  }

  databaseFile(name: string): string {
    return path.join(this.root, `${name}.sqlite`);
  }

  get opsFile(): string {
    return path.join(this.root, 'ops.sqlite');
  }

  get backupDir(): string {
    return path.join(this.root, 'backups');
  }

  configFile(service: string): string {
    return path.join(this.root, 'config', `${service}.json`);
  }

  /** The connection to `file`; null when the file does not exist and `create` is false. */
  private connect(file: string, create: boolean): Db | null {
    if (this.closed) throw new Error('the demo tools are closed');
    const open = this.connections.get(file);
    if (open) return open;
    if (!create && !fs.existsSync(file)) return null;
    const db = openPrivateDatabase(file, (f) => {
      const d = new Database(f);
      d.pragma('journal_mode = WAL');
      return d;
    });
    db.pragma('busy_timeout = 5000');
    this.connections.set(file, db);
    return db;
  }

  /** For apply(): the named database, created and seeded on first use. */
  database(name: string): Db {
    const db = this.connect(this.databaseFile(name), true);
    if (!db) throw new Error(`cannot open database "${name}"`);
    if (tableNames(db).length === 0) seed(db);
    return db;
  }

  /**
   * For plan(): the named database as apply() would find it, without changing anything. A
   * database that does not exist yet is an in-memory database seeded the same way.
   */
  peekDatabase<T>(name: string, fn: (db: Db, exists: boolean) => T): T {
    const db = this.connect(this.databaseFile(name), false);
    if (db && tableNames(db).length > 0) return fn(db, true);
    const scratch = new Database(':memory:');
    try {
      seed(scratch);
      return fn(scratch, false);
    } finally {
      scratch.close();
    }
  }

  /** For apply(): ops.sqlite with its tables. */
  ops(): Db {
    const db = this.connect(this.opsFile, true);
    if (!db) throw new Error('cannot open ops.sqlite');
    db.exec(`CREATE TABLE IF NOT EXISTS outbox (
      id INTEGER PRIMARY KEY, idempotency_key TEXT UNIQUE, channel TEXT, recipient TEXT, message TEXT,
      created_at TEXT, delivered_at TEXT, delivery_status TEXT);
    CREATE TABLE IF NOT EXISTS status_records (
      tenant_id TEXT NOT NULL, workflow_id TEXT NOT NULL, status TEXT, note TEXT, updated_at TEXT,
      proposal_id TEXT, PRIMARY KEY (tenant_id, workflow_id));`);
    return db;
  }

  /** For plan(): ops.sqlite when it exists and holds `table`, else null. */
  peekOps(table: 'outbox' | 'status_records'): Db | null {
    const db = this.connect(this.opsFile, false);
    return db && tableExists(db, table) ? db : null;
  }

  close(): void {
    this.closed = true;
    for (const db of this.connections.values()) {
      try {
        db.close();
      } catch {
        // closing is best effort; the connection is gone either way
      }
    }
    this.connections.clear();
  }
}

const SEED_TIME = '2026-01-01T00:00:00.000Z';

function seed(db: Db): void {
  // Seed rows carry a fixed time so that demo runs are reproducible byte for byte.
  const now = SEED_TIME;
  db.transaction(() => {
    for (const sql of SEED_STATEMENTS) db.exec(sql);
    const insert = db.prepare('INSERT INTO users (email, created_at) VALUES (?, ?)');
    for (const email of SEED_USERS) insert.run(email, now);
  })();
}

export function tableNames(db: Db): string[] {
  const rows = db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .all() as { name: string }[];
  return rows.map((r) => r.name);
}

/** The table's real name when it exists (SQLite names are case-insensitive), else null. */
export function findTable(db: Db, table: string): string | null {
  const row = db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )
    .get(table) as { name: string } | undefined;
  return row?.name ?? null;
}

function tableExists(db: Db, table: string): boolean {
  return findTable(db, table) !== null;
}

function columnNames(db: Db, table: string): string[] {
  const rows = db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[];
  return rows.map((r) => r.name);
}

export function countRows(db: Db, table: string): number | null {
  if (!IDENTIFIER.test(table)) return null;
  const row = db.prepare(`SELECT COUNT(*) AS n FROM ${quoteIdent(table)}`).get() as { n: number };
  return row.n;
}

function tableSummary(db: Db): JsonObject[] {
  return tableNames(db).map((name) => ({ name, rows: countRows(db, name) }));
}

/** Runs `fn` on a throw-away in-memory copy of `db`: the error message, or null when it ran. */
function trialRun(db: Db, fn: (copy: Db) => void): string | null {
  const image = db.serialize();
  // A WAL database's header says so (bytes 18-19 = 2); an in-memory copy must be rollback-journal.
  if (image.length >= 20) image[18] = image[19] = 1;
  const copy = new Database(image);
  try {
    fn(copy);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  } finally {
    copy.close();
  }
}

/** Runs synchronous work as a promise: a throw becomes a rejection. */
export function settle<T>(fn: () => T): Promise<T> {
  return new Promise((resolve) => resolve(fn()));
}

export function safeFilePart(value: string): string {
  return value.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 120) || '_';
}

// ---------------------------------------------------------------------------------------------
// database_migration parameters

const COLUMN_TYPES = ['boolean', 'integer', 'text', 'timestamp', 'real'] as const;
type ColumnType = (typeof COLUMN_TYPES)[number];

/** How each column type is declared in SQLite (the storage the demo uses). */
const SQLITE_TYPES: Record<ColumnType, string> = {
  boolean: 'INTEGER',
  integer: 'INTEGER',
  text: 'TEXT',
  timestamp: 'TEXT',
  real: 'REAL',
};

type DefaultPlan =
  | { kind: 'none' }
  | { kind: 'constant'; sql: string }
  | { kind: 'backfill'; sql: 'CURRENT_TIMESTAMP' };

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const INTEGER_TEXT = /^[+-]?\d{1,18}$/;
const REAL_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** The SQL form of `default_value` for `type`, or an error message naming what is expected. */
function defaultFor(
  type: ColumnType,
  value: string | number | boolean | undefined,
): DefaultPlan | string {
  if (value === undefined) return { kind: 'none' };
  switch (type) {
    case 'boolean': {
      if (value === true || value === 1 || value === 'true' || value === '1')
        return { kind: 'constant', sql: '1' };
      if (value === false || value === 0 || value === 'false' || value === '0')
        return { kind: 'constant', sql: '0' };
      return 'for column_type "boolean" default_value must be true, false, 0, 1, "true" or "false"';
    }
    case 'integer': {
      if (typeof value === 'number' && Number.isSafeInteger(value))
        return { kind: 'constant', sql: String(value) };
      if (typeof value === 'string' && INTEGER_TEXT.test(value))
        return { kind: 'constant', sql: String(BigInt(value)) };
      return 'for column_type "integer" default_value must be an integer';
    }
    case 'real': {
      if (typeof value === 'number' && Number.isFinite(value))
        return { kind: 'constant', sql: String(value) };
      if (typeof value === 'string' && REAL_TEXT.test(value) && Number.isFinite(Number(value)))
        return { kind: 'constant', sql: String(Number(value)) };
      return 'for column_type "real" default_value must be a finite number';
    }
    case 'text': {
      if (typeof value === 'string' && value.includes('\u0000'))
        return 'default_value must not contain NUL';
      return { kind: 'constant', sql: quoteText(String(value)) };
    }
    case 'timestamp': {
      if (typeof value === 'string' && value.toUpperCase() === 'CURRENT_TIMESTAMP')
        return { kind: 'backfill', sql: 'CURRENT_TIMESTAMP' };
      if (typeof value === 'string' && ISO_DATE.test(value) && !Number.isNaN(Date.parse(value)))
        return { kind: 'constant', sql: quoteText(value) };
      return 'for column_type "timestamp" default_value must be an ISO-8601 date/time or "CURRENT_TIMESTAMP"';
    }
  }
}

const inlineMigration = z
  .strictObject({
    table: identifier('table').describe('The table to alter.'),
    operation: z.literal('add_column').describe('The only inline operation: add_column.'),
    column_name: identifier('column_name').describe('The column to add.'),
    column_type: z.enum(COLUMN_TYPES).describe('boolean | integer | text | timestamp | real'),
    default_value: z
      .union([z.string().max(1000), z.number(), z.boolean()])
      .optional()
      .describe('Constant default; "CURRENT_TIMESTAMP" for a timestamp backfills existing rows.'),
    database: databaseName.optional().describe(`Database name; default "${DEFAULT_DATABASE}".`),
  })
  .superRefine((p, ctx) => {
    const d = defaultFor(p.column_type, p.default_value);
    if (typeof d === 'string')
      ctx.addIssue({ code: 'custom', path: ['default_value'], message: d, input: p.default_value });
  });

const versionedMigration = z.strictObject({
  version: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, 'version must be a semantic version such as "2.1.0"')
    .describe(`Catalog version; known: ${KNOWN_VERSIONS.join(', ')}.`),
  rollback_plan: z.enum(['enabled', 'disabled']).describe('"enabled" records the rollback SQL.'),
  maintenance_window: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('Recorded with the migration, e.g. "2:00-4:00 AM UTC".'),
  notification_channels: z
    .array(channel)
    .max(10)
    .optional()
    .describe('Recorded with the migration.'),
  database: databaseName.optional().describe(`Database name; default "${DEFAULT_DATABASE}".`),
});

const backfillMigration = z
  .strictObject({
    table: identifier('table').describe('The table to backfill.'),
    operation: z
      .literal('backfill_column')
      .describe('backfill_column: set the column on rows where it is NULL.'),
    column_name: identifier('column_name').describe('The column to backfill.'),
    column_type: z.enum(COLUMN_TYPES).describe('boolean | integer | text | timestamp | real'),
    value: z
      .union([z.string().max(1000), z.number(), z.boolean()])
      .describe('The value NULL rows get; "CURRENT_TIMESTAMP" for a timestamp.'),
    database: databaseName.optional().describe(`Database name; default "${DEFAULT_DATABASE}".`),
  })
  .superRefine((p, ctx) => {
    const d = defaultFor(p.column_type, p.value);
    if (typeof d === 'string')
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: d.replace('default_value', 'value'),
        input: p.value,
      });
  });

const dropColumnMigration = z.strictObject({
  table: identifier('table').describe('The table to alter.'),
  operation: z
    .literal('drop_column')
    .describe('drop_column: not implemented by the demo target (WRITE_NOT_IMPLEMENTED).'),
  column_name: identifier('column_name').describe('The column to drop.'),
  database: databaseName.optional().describe(`Database name; default "${DEFAULT_DATABASE}".`),
});

type InlineMigration = z.output<typeof inlineMigration>;
type BackfillMigration = z.output<typeof backfillMigration>;
type DropColumnMigration = z.output<typeof dropColumnMigration>;
type VersionedMigration = z.output<typeof versionedMigration>;
type MigrationParams =
  InlineMigration | BackfillMigration | DropColumnMigration | VersionedMigration;

const INLINE_KEYS = [
  'table',
  'operation',
  'column_name',
  'column_type',
  'default_value',
  'value',
] as const;
const VERSIONED_KEYS = [
  'version',
  'rollback_plan',
  'maintenance_window',
  'notification_channels',
] as const;

/**
 * The two parameter shapes as one schema. A plain union would report only "Invalid input" when
 * both shapes fail; this routes the input to the shape its keys belong to first, so each issue
 * names its own field (`column_type`, `rollback_plan`, …). The published JSON Schema is the
 * union (`anyOf`) of the two shapes.
 */
const migrationInput = z.preprocess(
  (input, ctx) => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      ctx.addIssue({ code: 'custom', input, message: 'expected an object of parameters' });
      return input;
    }
    const keys = Object.keys(input);
    const inline = INLINE_KEYS.filter((k) => keys.includes(k));
    const versioned = VERSIONED_KEYS.filter((k) => keys.includes(k));
    if (inline.length > 0 && versioned.length > 0) {
      ctx.addIssue({
        code: 'custom',
        input,
        message: `mixes the inline shape (${inline.join(', ')}) with the versioned shape (${versioned.join(', ')}); send one`,
      });
      return input;
    }
    if (inline.length === 0 && versioned.length === 0) {
      ctx.addIssue({
        code: 'custom',
        input,
        message:
          'expected the inline shape {table, operation: "add_column", column_name, column_type, default_value?, database?} ' +
          'or the versioned shape {version, rollback_plan, maintenance_window?, notification_channels?, database?}',
      });
      return input;
    }
    const operation = (input as { operation?: unknown }).operation;
    const shape =
      inline.length === 0
        ? versionedMigration
        : operation === 'backfill_column'
          ? backfillMigration
          : operation === 'drop_column'
            ? dropColumnMigration
            : inlineMigration;
    const result = (shape as z.ZodType).safeParse(input);
    if (result.success) return result.data;
    for (const issue of result.error.issues)
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message, input: undefined });
    return input;
  },
  z.union([inlineMigration, backfillMigration, dropColumnMigration, versionedMigration]),
) as unknown as z.ZodType<MigrationParams, MigrationParams>;

// ---------------------------------------------------------------------------------------------
// database_migration: drop_column (not implemented) and backfill_column

/** What the demo target cannot do yet: dropping a column. plan() says so; apply() refuses. */
const DROP_DEFERRED_TO =
  'a database adapter that can drop columns (table rebuild with a verified copy)';

function planDropColumn(target: DemoTarget, p: DropColumnMigration): JsonObject {
  const database = p.database ?? DEFAULT_DATABASE;
  return target.peekDatabase(database, (db) => {
    const realTable = findTable(db, p.table);
    const columns = realTable ? columnNames(db, realTable) : [];
    return {
      shape: 'inline',
      database,
      table: p.table,
      operation: 'drop_column',
      column_name: p.column_name,
      checks: {
        table_exists: realTable !== null,
        column_exists: columns.some((c) => c.toLowerCase() === p.column_name.toLowerCase()),
      },
      code: 'WRITE_NOT_IMPLEMENTED',
      would_fail: `the demo target cannot drop column "${p.column_name}" of "${p.table}": dropping a column is not implemented`,
      deferred_to: DROP_DEFERRED_TO,
    };
  });
}

function dropColumnRefusal(p: DropColumnMigration): CountersignError {
  return new CountersignError(
    'WRITE_NOT_IMPLEMENTED',
    `The demo target cannot drop column "${p.column_name}" of "${p.table}": dropping a column is not implemented.`,
    { tool: 'database_migration', operation: 'drop_column', deferred_to: DROP_DEFERRED_TO },
  );
}

interface BackfillFacts {
  database: string;
  statement: string;
  table_exists: boolean;
  column_exists: boolean;
  null_rows: number | null;
  failure: string | null;
}

function backfillFacts(db: Db, p: BackfillMigration): BackfillFacts {
  const database = p.database ?? DEFAULT_DATABASE;
  const d = defaultFor(p.column_type, p.value);
  // validate() already refuses a bad value; a value is never "none"
  if (typeof d === 'string' || d.kind === 'none') throw new Error(`bad value for ${p.column_type}`);
  const realTable = findTable(db, p.table);
  const column = realTable
    ? (columnNames(db, realTable).find((c) => c.toLowerCase() === p.column_name.toLowerCase()) ??
      null)
    : null;
  const statement = `UPDATE ${quoteIdent(p.table)} SET ${quoteIdent(p.column_name)} = ${d.sql} WHERE ${quoteIdent(p.column_name)} IS NULL`;
  let failure: string | null = null;
  if (!realTable)
    failure = `table "${p.table}" does not exist in database "${database}" (tables: ${tableNames(db).join(', ') || 'none'})`;
  else if (!column)
    failure = `column "${p.column_name}" does not exist in table "${realTable}" of database "${database}" (yet: add it first)`;
  const nullRows =
    realTable && column
      ? (
          db
            .prepare(
              `SELECT COUNT(*) AS n FROM ${quoteIdent(realTable)} WHERE ${quoteIdent(column)} IS NULL`,
            )
            .get() as { n: number }
        ).n
      : null;
  return {
    database,
    statement,
    table_exists: realTable !== null,
    column_exists: column !== null,
    null_rows: nullRows,
    failure,
  };
}

function planBackfill(target: DemoTarget, p: BackfillMigration): JsonObject {
  return target.peekDatabase(p.database ?? DEFAULT_DATABASE, (db, exists) => {
    const f = backfillFacts(db, p);
    const failure = f.failure ?? trialRun(db, (copy) => copy.prepare(f.statement).run());
    const out: JsonObject = {
      shape: 'inline',
      database: f.database,
      database_exists: exists,
      table: p.table,
      operation: 'backfill_column',
      column_name: p.column_name,
      statements: [f.statement],
      checks: {
        table_exists: f.table_exists,
        column_exists: f.column_exists,
        rows_to_backfill: f.null_rows,
        trial_run: failure === null ? 'ok' : 'failed',
      },
      notes: ['only rows where the column is NULL are changed; running it again changes nothing'],
    };
    if (failure !== null) out.would_fail = failure;
    return out;
  });
}

function applyBackfill(target: DemoTarget, p: BackfillMigration): JsonObject {
  const db = target.database(p.database ?? DEFAULT_DATABASE);
  return db.transaction((): JsonObject => {
    const f = backfillFacts(db, p);
    if (f.failure) throw new Error(f.failure);
    const changed = db.prepare(f.statement).run().changes;
    return {
      shape: 'inline',
      database: f.database,
      table: p.table,
      operation: 'backfill_column',
      column_name: p.column_name,
      applied_statements: [f.statement],
      rows_backfilled: changed,
    };
  })();
}

// ---------------------------------------------------------------------------------------------
// database_migration: inline add_column

interface InlineFacts {
  database: string;
  sqliteType: string;
  defaultPlan: DefaultPlan;
  statements: string[];
  table_exists: boolean;
  column_exists: boolean;
  row_count: number | null;
  failure: string | null;
}

function inlineFacts(db: Db, p: InlineMigration): InlineFacts {
  const database = p.database ?? DEFAULT_DATABASE;
  const sqliteType = SQLITE_TYPES[p.column_type];
  const d = defaultFor(p.column_type, p.default_value);
  if (typeof d === 'string') throw new Error(d); // validate() already refuses this
  const table = quoteIdent(p.table);
  const column = quoteIdent(p.column_name);
  const statements =
    d.kind === 'constant'
      ? [`ALTER TABLE ${table} ADD COLUMN ${column} ${sqliteType} DEFAULT ${d.sql}`]
      : [`ALTER TABLE ${table} ADD COLUMN ${column} ${sqliteType}`];
  if (d.kind === 'backfill') statements.push(`UPDATE ${table} SET ${column} = CURRENT_TIMESTAMP`);

  const realTable = findTable(db, p.table);
  const columns = realTable ? columnNames(db, realTable) : [];
  const columnExists = columns.some((c) => c.toLowerCase() === p.column_name.toLowerCase());
  let failure: string | null = null;
  if (!realTable)
    failure = `table "${p.table}" does not exist in database "${database}" (tables: ${tableNames(db).join(', ') || 'none'})`;
  else if (columnExists)
    failure = `column "${p.column_name}" already exists in table "${realTable}" of database "${database}"`;
  return {
    database,
    sqliteType,
    defaultPlan: d,
    statements,
    table_exists: realTable !== null,
    column_exists: columnExists,
    row_count: realTable ? countRows(db, realTable) : null,
    failure,
  };
}

function runStatements(db: Db, statements: readonly string[]): number {
  let changed = 0;
  for (const sql of statements) changed += db.prepare(sql).run().changes;
  return changed;
}

function planInline(target: DemoTarget, p: InlineMigration): JsonObject {
  return target.peekDatabase(p.database ?? DEFAULT_DATABASE, (db, exists) => {
    const f = inlineFacts(db, p);
    const notes: string[] = [];
    if (!exists)
      notes.push(
        `database "${f.database}" does not exist yet; apply() creates it with the demo seed schema first`,
      );
    if (f.defaultPlan.kind === 'backfill')
      notes.push(
        'SQLite refuses ADD COLUMN with the non-constant default CURRENT_TIMESTAMP: the column is added without a ' +
          'default and existing rows are backfilled with CURRENT_TIMESTAMP (UTC "YYYY-MM-DD HH:MM:SS"); rows inserted ' +
          'later get NULL unless they set it',
      );
    if (f.defaultPlan.kind === 'constant') notes.push('existing rows read the constant default');
    notes.push('the statements run in one transaction');
    let failure = f.failure;
    if (!failure)
      failure = trialRun(db, (copy) => copy.transaction(() => runStatements(copy, f.statements))());
    const out: JsonObject = {
      shape: 'inline',
      database: f.database,
      database_file: target.databaseFile(f.database),
      database_exists: exists,
      table: p.table,
      operation: p.operation,
      column_name: p.column_name,
      column_type: p.column_type,
      sqlite_type: f.sqliteType,
      default:
        f.defaultPlan.kind === 'none' ? null : { kind: f.defaultPlan.kind, sql: f.defaultPlan.sql },
      statements: f.statements,
      checks: {
        table_exists: f.table_exists,
        column_exists: f.column_exists,
        row_count: f.row_count,
        ...(f.defaultPlan.kind === 'backfill' ? { rows_to_backfill: f.row_count } : {}),
        trial_run: failure === null ? 'ok' : 'failed',
      },
      notes,
    };
    if (failure !== null) out.would_fail = failure;
    return out;
  });
}

function applyInline(target: DemoTarget, p: InlineMigration): JsonObject {
  const db = target.database(p.database ?? DEFAULT_DATABASE);
  return db.transaction((): JsonObject => {
    const f = inlineFacts(db, p);
    if (f.failure) throw new Error(f.failure);
    const changed = runStatements(db, f.statements);
    const out: JsonObject = {
      shape: 'inline',
      database: f.database,
      table: p.table,
      column_name: p.column_name,
      column_type: p.column_type,
      sqlite_type: f.sqliteType,
      applied_statements: f.statements,
    };
    if (f.defaultPlan.kind === 'backfill') out.rows_backfilled = changed;
    return out;
  })();
}

// ---------------------------------------------------------------------------------------------
// database_migration: versioned catalog

function versionedFailure(db: Db, p: VersionedMigration, database: string): string | null {
  if (!MIGRATIONS[p.version]) return unknownVersionMessage(p.version);
  if (!tableExists(db, 'schema_migrations'))
    return `database "${database}" has no schema_migrations table; it is not a demo-target database`;
  const row = db
    .prepare('SELECT applied_at FROM schema_migrations WHERE version = ?')
    .get(p.version) as { applied_at: string | null } | undefined;
  if (row)
    return `migration ${p.version} is already applied to database "${database}" (at ${row.applied_at ?? 'unknown time'})`;
  return null;
}

function migrationRow(p: VersionedMigration, m: CatalogMigration, appliedAt: string) {
  return {
    version: p.version,
    applied_at: appliedAt,
    rollback_sql: p.rollback_plan === 'enabled' ? m.down.map((s) => `${s};`).join('\n') : null,
    maintenance_window: p.maintenance_window ?? null,
    notification_channels: p.notification_channels ? JSON.stringify(p.notification_channels) : null,
  };
}

function insertMigrationRow(db: Db, row: ReturnType<typeof migrationRow>): void {
  db.prepare(
    `INSERT INTO schema_migrations (version, applied_at, rollback_sql, maintenance_window, notification_channels)
     VALUES (@version, @applied_at, @rollback_sql, @maintenance_window, @notification_channels)`,
  ).run(row);
}

function planVersioned(target: DemoTarget, p: VersionedMigration, now: string): JsonObject {
  const database = p.database ?? DEFAULT_DATABASE;
  return target.peekDatabase(database, (db, exists) => {
    const m = MIGRATIONS[p.version];
    const applied = tableExists(db, 'schema_migrations')
      ? (
          db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as {
            version: string;
          }[]
        ).map((r) => r.version)
      : [];
    let failure = versionedFailure(db, p, database);
    if (!failure && m)
      failure = trialRun(db, (copy) =>
        copy.transaction(() => {
          runStatements(copy, m.up);
          insertMigrationRow(copy, migrationRow(p, m, now));
        })(),
      );
    const notes: string[] = [];
    if (!exists)
      notes.push(
        `database "${database}" does not exist yet; apply() creates it with the demo seed schema first`,
      );
    notes.push('the up statements and the schema_migrations row are written in one transaction');
    if (p.maintenance_window)
      notes.push('maintenance_window is recorded, not enforced, by the demo target');
    if (p.notification_channels?.length)
      notes.push(
        'notification_channels are recorded with the migration; no message is sent (use send_notification)',
      );
    const out: JsonObject = {
      shape: 'versioned',
      database,
      database_file: target.databaseFile(database),
      database_exists: exists,
      version: p.version,
      description: m?.description ?? null,
      statements: m ? [...m.up] : [],
      rollback_plan: p.rollback_plan,
      rollback_statements: m && p.rollback_plan === 'enabled' ? [...m.down] : [],
      maintenance_window: p.maintenance_window ?? null,
      notification_channels: p.notification_channels ?? [],
      checks: {
        known_version: m !== undefined,
        known_versions: KNOWN_VERSIONS,
        applied_versions: applied,
        already_applied: applied.includes(p.version),
        trial_run: failure === null ? 'ok' : 'failed',
      },
      notes,
    };
    if (failure !== null) out.would_fail = failure;
    return out;
  });
}

function applyVersioned(target: DemoTarget, p: VersionedMigration, now: string): JsonObject {
  const m = MIGRATIONS[p.version];
  if (!m) throw new Error(unknownVersionMessage(p.version));
  const database = p.database ?? DEFAULT_DATABASE;
  const db = target.database(database);
  return db.transaction((): JsonObject => {
    const failure = versionedFailure(db, p, database);
    if (failure) throw new Error(failure);
    runStatements(db, m.up);
    const row = migrationRow(p, m, now);
    insertMigrationRow(db, row);
    return {
      shape: 'versioned',
      database,
      version: p.version,
      applied_statements: [...m.up],
      rollback_available: row.rollback_sql !== null,
      applied_at: row.applied_at,
      maintenance_window: row.maintenance_window,
      notification_channels: p.notification_channels ?? [],
    };
  })();
}

// ---------------------------------------------------------------------------------------------
// send_notification

interface OutboxRow {
  id: number;
  delivery_status: string | null;
  delivered_at: string | null;
}

function webhookPayload(
  p: { channel?: string | undefined; recipient?: string | undefined; message: string },
  ctx: ToolContext,
): JsonObject {
  return {
    channel: p.channel ?? null,
    recipient: p.recipient ?? null,
    message: p.message,
    idempotency_key: ctx.idempotency_key,
    workflow_id: ctx.workflow_id,
    proposal_id: ctx.proposal_id,
  };
}

/** Only the origin: a webhook URL's path or query may carry a secret, and plans are recorded. */
function webhookOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'invalid URL';
  }
}

async function postWebhook(
  doFetch: typeof fetch,
  url: string,
  payload: JsonObject,
  idempotencyKey: string,
): Promise<{ delivered: boolean; status: number | null; delivery_status: string }> {
  try {
    const res = await doFetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': idempotencyKey,
        ...telemetry().traceHeaders(),
      },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(5000),
    });
    await res.body?.cancel().catch(() => undefined); // the body is not needed; release the connection
    return res.ok
      ? { delivered: true, status: res.status, delivery_status: 'delivered' }
      : { delivered: false, status: res.status, delivery_status: `failed: HTTP ${res.status}` };
  } catch (e) {
    return { delivered: false, status: null, delivery_status: `failed: ${failureReason(e, url)}` };
  }
}

/** Why a POST failed, with the webhook URL (which may carry a secret) reduced to its origin. */
function failureReason(e: unknown, url: string): string {
  let reason: string;
  if (e instanceof Error && e.name === 'TimeoutError') reason = 'timeout after 5 s';
  else if (e instanceof Error) {
    const cause = e.cause instanceof Error ? e.cause.message : undefined;
    reason = cause && cause !== e.message ? `${e.message} (${cause})` : e.message;
  } else reason = String(e);
  return reason.split(url).join(webhookOrigin(url)).slice(0, 500);
}

// ---------------------------------------------------------------------------------------------
// config_set

const SERVICE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const CONFIG_KEY = /^[A-Za-z0-9_.-]{1,128}$/;

/**
 * A service's configuration file as a map (a plain object would let a key such as `__proto__`
 * reach the prototype); an absent file is an empty configuration.
 */
function readConfig(file: string): Map<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `config file ${file} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`config file ${file} must hold a JSON object of string values`);
  const config = new Map<string, string>();
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string')
      throw new Error(`config file ${file}: the value of "${key}" is not a string`);
    config.set(key, value);
  }
  return config;
}

/** Writes the configuration with sorted keys via a temporary file and a rename. */
function writeConfig(file: string, config: Map<string, string>, tmpSuffix: string): void {
  const entries = [...config.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const text = `${JSON.stringify(Object.fromEntries(entries), null, 2)}\n`;
  const tmp = `${file}.${tmpSuffix}.tmp`;
  makePrivateDir(path.dirname(file));
  try {
    writePrivateFile(tmp, text);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

function showValue(value: string | null): string {
  return value === null ? 'unset' : JSON.stringify(value);
}

/** Why `expect_previous` does not hold, or null when it does (or was not given). */
function expectationFailure(
  p: { service: string; key: string; expect_previous?: string | null | undefined },
  current: string | null,
): string | null {
  if (p.expect_previous === undefined || p.expect_previous === current) return null;
  return (
    `config ${p.service}.${p.key}: expected previous value ${showValue(p.expect_previous)}, ` +
    `actual ${showValue(current)}; nothing was changed`
  );
}

// ---------------------------------------------------------------------------------------------
// The tools

/** The demo tools bound to the demo target under `<dataDir>/demo-target/`. */
export function createDemoTools(options: DemoToolsOptions): DemoTools {
  const target = new DemoTarget(options.dataDir);
  const webhookUrl = options.webhookUrl;
  const doFetch: typeof fetch = options.fetch ?? ((input, init) => fetch(input, init));

  const backupFile = (database: string, type: string, ctx: ToolContext) =>
    path.join(
      target.backupDir,
      `${database}-${type}-${safeFilePart(ctx.tenant_id)}-${safeFilePart(ctx.execution_id)}.sqlite`,
    );
  const incrementalNote = { note: 'incremental is taken as a full copy in the demo target' };

  const databaseBackup = defineTool({
    name: 'database_backup',
    description:
      'Backs up a demo-target SQLite database with the online backup API to demo-target/backups/<database>-<backup_type>-<tenant>-<execution_id>.sqlite.',
    risk: 'write',
    input: z.strictObject({
      database: databaseName.describe('Database name, e.g. "production".'),
      backup_type: z
        .enum(['full', 'incremental'])
        .describe('full | incremental (the demo takes a full copy either way).'),
    }),
    describe: describeBackup,
    plan: (p, ctx) =>
      settle(() =>
        target.peekDatabase(p.database, (db, exists): JsonObject => {
          const file = backupFile(p.database, p.backup_type, ctx);
          return {
            database: p.database,
            database_file: target.databaseFile(p.database),
            database_exists: exists,
            backup_type: p.backup_type,
            backup_file: file,
            would_overwrite: fs.existsSync(file),
            method:
              'SQLite online backup (better-sqlite3 db.backup), then journal_mode=DELETE on the copy',
            tables: tableSummary(db),
            ...(exists
              ? {}
              : {
                  note_database: `database "${p.database}" is created with the demo seed schema first`,
                }),
            ...(p.backup_type === 'incremental' ? incrementalNote : {}),
          };
        }),
      ),
    apply: async (p, ctx) => {
      const db = target.database(p.database);
      const file = backupFile(p.database, p.backup_type, ctx);
      const partial = `${file}.partial`;
      makePrivateDir(path.dirname(file));
      fs.rmSync(partial, { force: true });
      let tables: JsonObject[];
      try {
        // Created 0600 first: the backup API writes into it without changing its mode.
        createPrivateFile(partial);
        await db.backup(partial);
        const copy = new Database(partial);
        try {
          copy.pragma('journal_mode = DELETE'); // one self-contained file
          tables = tableSummary(copy);
        } finally {
          copy.close();
        }
        fs.renameSync(partial, file);
      } catch (e) {
        fs.rmSync(partial, { force: true });
        throw e;
      }
      const out: JsonObject = {
        backup_file: file,
        bytes: fs.statSync(file).size,
        tables,
        database: p.database,
        backup_type: p.backup_type,
        created_at: ctx.now,
      };
      return p.backup_type === 'incremental' ? { ...out, ...incrementalNote } : out;
    },
  });

  const databaseMigration = defineTool({
    name: 'database_migration',
    description:
      'Changes a demo-target database schema. Inline: {table, operation:"add_column", column_name, column_type, default_value?}; ' +
      '{table, operation:"backfill_column", column_name, column_type, value} sets NULL rows; ' +
      'operation "drop_column" is not implemented (its plan says WRITE_NOT_IMPLEMENTED). ' +
      `Versioned: {version, rollback_plan, maintenance_window?, notification_channels?} from the catalog (${KNOWN_VERSIONS.join(', ')}).`,
    risk: 'write',
    idempotent: false,
    input: migrationInput,
    describe: describeMigration,
    plan: (p, ctx) =>
      settle(() =>
        !('table' in p)
          ? planVersioned(target, p, ctx.now)
          : p.operation === 'drop_column'
            ? planDropColumn(target, p)
            : p.operation === 'backfill_column'
              ? planBackfill(target, p)
              : planInline(target, p),
      ),
    apply: (p, ctx) =>
      settle(() => {
        if (!('table' in p)) return applyVersioned(target, p, ctx.now);
        if (p.operation === 'drop_column') throw dropColumnRefusal(p);
        if (p.operation === 'backfill_column') return applyBackfill(target, p);
        return applyInline(target, p);
      }),
  });

  const sendNotification = defineTool({
    name: 'send_notification',
    description:
      'Queues a message in the demo-target outbox (once per idempotency key) and, when a webhook is configured, POSTs it there.',
    risk: 'write',
    input: z
      .strictObject({
        message: z.string().min(1).max(2000).describe('The message, 1..2000 characters.'),
        recipient: z
          .string()
          .min(1)
          .max(320)
          .optional()
          .describe('Who receives it; this or channel is required.'),
        channel: channel
          .optional()
          .describe('slack | email | pagerduty | webhook; this or recipient is required.'),
      })
      .refine((p) => p.recipient !== undefined || p.channel !== undefined, {
        message: 'recipient or channel is required (give at least one)',
        path: ['recipient'],
      }),
    describe: describeNotification,
    plan: (p, ctx) =>
      settle((): JsonObject => {
        const db = target.peekOps('outbox');
        const existing = db
          ? (db
              .prepare(
                'SELECT id, delivery_status, delivered_at FROM outbox WHERE idempotency_key = ?',
              )
              .get(ctx.idempotency_key) as OutboxRow | undefined)
          : undefined;
        const payload = webhookPayload(p, ctx);
        const wouldPost = Boolean(webhookUrl) && existing?.delivery_status !== 'delivered';
        const webhook: JsonObject = webhookUrl
          ? {
              configured: true,
              origin: webhookOrigin(webhookUrl),
              would_post: wouldPost,
              payload: wouldPost ? payload : null,
              timeout_ms: 5000,
            }
          : {
              configured: false,
              would_post: false,
              note: 'no webhook configured; the outbox row is the record',
            };
        const out: JsonObject = {
          outbox_file: target.opsFile,
          would_queue: existing
            ? null
            : {
                channel: p.channel ?? null,
                recipient: p.recipient ?? null,
                message: p.message,
                idempotency_key: ctx.idempotency_key,
              },
          already_queued: existing
            ? { outbox_id: existing.id, delivery_status: existing.delivery_status }
            : null,
          webhook,
        };
        return out;
      }),
    apply: async (p, ctx) => {
      const db = target.ops();
      const inserted =
        db
          .prepare(
            `INSERT OR IGNORE INTO outbox (idempotency_key, channel, recipient, message, created_at, delivered_at, delivery_status)
             VALUES (?, ?, ?, ?, ?, NULL, ?)`,
          )
          .run(
            ctx.idempotency_key,
            p.channel ?? null,
            p.recipient ?? null,
            p.message,
            ctx.now,
            webhookUrl ? 'pending' : 'queued',
          ).changes === 1;
      const row = db
        .prepare('SELECT id, delivery_status, delivered_at FROM outbox WHERE idempotency_key = ?')
        .get(ctx.idempotency_key) as OutboxRow;
      if (!webhookUrl) {
        return {
          outbox_id: row.id,
          delivered: null,
          webhook_status: null,
          delivery_status: row.delivery_status,
          repeated: !inserted,
        };
      }
      if (!inserted && row.delivery_status === 'delivered') {
        return {
          outbox_id: row.id,
          delivered: true,
          webhook_status: null,
          delivery_status: 'delivered',
          repeated: true,
        };
      }
      const result = await postWebhook(
        doFetch,
        webhookUrl,
        webhookPayload(p, ctx),
        ctx.idempotency_key,
      );
      db.prepare('UPDATE outbox SET delivery_status = ?, delivered_at = ? WHERE id = ?').run(
        result.delivery_status,
        result.delivered ? ctx.now : null,
        row.id,
      );
      return {
        outbox_id: row.id,
        delivered: result.delivered,
        webhook_status: result.status,
        delivery_status: result.delivery_status,
        repeated: !inserted,
      };
    },
  });

  const updateStatus = defineTool({
    name: 'update_status',
    description: "Records the workflow's status in the demo target (upsert keyed by workflow id).",
    risk: 'write',
    idempotent: true,
    input: z.strictObject({
      status: z.string().min(1).max(100).describe('The new status, e.g. "in_progress".'),
      note: z.string().max(2000).optional().describe('Optional note stored with the status.'),
    }),
    describe: describeStatus,
    plan: (p, ctx) =>
      settle((): JsonObject => {
        const db = target.peekOps('status_records');
        const prev = db
          ? (db
              .prepare(
                'SELECT status, note FROM status_records WHERE tenant_id = ? AND workflow_id = ?',
              )
              .get(ctx.tenant_id, ctx.workflow_id) as
              { status: string | null; note: string | null } | undefined)
          : undefined;
        return {
          status_file: target.opsFile,
          workflow_id: ctx.workflow_id,
          from: prev?.status ?? null,
          to: p.status,
          note: p.note ?? null,
          would_change: !prev || prev.status !== p.status || prev.note !== (p.note ?? null),
        };
      }),
    apply: (p, ctx) =>
      settle(() => {
        const db = target.ops();
        return db.transaction((): JsonObject => {
          const prev = db
            .prepare('SELECT status FROM status_records WHERE tenant_id = ? AND workflow_id = ?')
            .get(ctx.tenant_id, ctx.workflow_id) as { status: string | null } | undefined;
          const updatedAt = ctx.now;
          db.prepare(
            `INSERT INTO status_records (tenant_id, workflow_id, status, note, updated_at, proposal_id) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (tenant_id, workflow_id) DO UPDATE SET status = excluded.status, note = excluded.note,
             updated_at = excluded.updated_at, proposal_id = excluded.proposal_id`,
          ).run(
            ctx.tenant_id,
            ctx.workflow_id,
            p.status,
            p.note ?? null,
            updatedAt,
            ctx.proposal_id,
          );
          const previous: JsonValue = prev?.status ?? null;
          return {
            workflow_id: ctx.workflow_id,
            status: p.status,
            previous_status: previous,
            updated_at: updatedAt,
          };
        })();
      }),
  });

  const configSet = defineTool({
    name: 'config_set',
    description:
      'Sets one key of a service configuration (demo-target/config/<service>.json, a flat object of strings). ' +
      'With expect_previous (null: must be unset) it refuses when the current value differs.',
    risk: 'write',
    idempotent: false,
    input: z.strictObject({
      service: z
        .string()
        .regex(SERVICE_NAME, `service must match ${SERVICE_NAME.source}`)
        .describe('Service name, e.g. "checkout-api".'),
      key: z
        .string()
        .regex(CONFIG_KEY, `key must match ${CONFIG_KEY.source}`)
        .describe('Configuration key, e.g. "db.pool_size".'),
      value: z.string().max(2000).describe('The new value, up to 2000 characters.'),
      expect_previous: z
        .string()
        .max(2000)
        .nullable()
        .optional()
        .describe('Refuse unless the current value is this; null: the key must be unset.'),
    }),
    describe: describeConfig,
    plan: (p) =>
      settle((): JsonObject => {
        const file = target.configFile(p.service);
        const out: JsonObject = {
          service: p.service,
          key: p.key,
          current: null,
          value: p.value,
          would_change: false,
          file,
          file_exists: fs.existsSync(file),
        };
        if (p.expect_previous !== undefined) out.expect_previous = p.expect_previous;
        let current: string | null;
        try {
          current = readConfig(file).get(p.key) ?? null;
        } catch (e) {
          out.would_fail = e instanceof Error ? e.message : String(e);
          return out;
        }
        out.current = current;
        out.would_change = current !== p.value;
        const failure = expectationFailure(p, current);
        if (failure !== null) out.would_fail = failure;
        return out;
      }),
    apply: (p, ctx) =>
      settle((): JsonObject => {
        const file = target.configFile(p.service);
        const config = readConfig(file);
        const previous = config.get(p.key) ?? null;
        const failure = expectationFailure(p, previous);
        if (failure !== null) throw new Error(failure);
        config.set(p.key, p.value);
        writeConfig(file, config, safeFilePart(ctx.execution_id));
        return {
          service: p.service,
          key: p.key,
          previous,
          value: p.value,
          file,
          changed_at: ctx.now,
        };
      }),
  });

  return {
    tools: [databaseBackup, databaseMigration, sendNotification, updateStatus, configSet],
    close: () => target.close(),
  };
}
