import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type SqliteDatabase } from 'kysely';
import pg from 'pg';
import { openPrivateDatabase } from '../private-files.js';
import { KyselyStore } from './kysely-store.js';
import type { Tables } from './schema.js';

/**
 * Kysely's SQLite driver prepares every query anew; preparing dominates a short transaction.
 * The kernel issues a small, fixed set of query shapes, so their statements are kept.
 */
function withStatementCache(database: Database.Database, limit = 256): SqliteDatabase {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (!statement) {
        statement = database.prepare(sql);
        if (cache.size >= limit) cache.delete(cache.keys().next().value!);
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}

export type SqliteSynchronous = 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';

/**
 * Opens (creating if needed) the embedded SQLite store: WAL, `synchronous=FULL` by default so
 * that a committed decision survives a power cut, busy timeout for a second process. A new
 * database file (and its `-wal`, `-shm`) is 0600 in a directory created 0700 (private-files.ts).
 *
 * Two connections: one writes (every transaction, one at a time), one reads (`Store.read`), so
 * that a read never waits for a write transaction to commit (WAL readers see the last commit).
 * The reader is `query_only`: the database refuses a write through it.
 */
export async function openSqliteStore(
  file: string,
  options: { synchronous?: SqliteSynchronous } = {},
): Promise<KyselyStore> {
  const open = (f: string) => {
    const db = new Database(f);
    db.pragma('journal_mode = WAL');
    return db;
  };
  const memory = file === ':memory:';
  const database = memory ? open(file) : openPrivateDatabase(file, open);
  database.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Tables>({
    dialect: new SqliteDialect({ database: withStatementCache(database) }),
  });
  const migrating = new KyselyStore(db, 'sqlite');
  try {
    await migrating.migrate();
  } catch (e) {
    await db.destroy();
    throw e;
  }
  // An in-memory database is private to its connection: reads share the writer's.
  if (memory) return migrating;
  const readerDatabase = new Database(file);
  readerDatabase.pragma('busy_timeout = 5000');
  readerDatabase.pragma('query_only = 1');
  const reader = new Kysely<Tables>({
    dialect: new SqliteDialect({ database: withStatementCache(readerDatabase) }),
  });
  // A third connection that never opens a transaction of its own, so that its data_version
  // moves on every commit of the other two and of other processes (about a microsecond).
  const watcherDatabase = new Database(file);
  watcherDatabase.pragma('query_only = 1');
  const dataVersion = watcherDatabase.prepare('pragma data_version').pluck();
  return new KyselyStore(
    db,
    'sqlite',
    async () => {
      watcherDatabase.close();
      await reader.destroy();
      await db.destroy();
    },
    reader,
    () => dataVersion.get() as number,
  );
}

/** Opens the Postgres store at `url` and applies migrations. */
export async function openPostgresStore(
  url: string,
  options: { max?: number } = {},
): Promise<KyselyStore> {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
  // An idle connection the server closes (restart, failover, admin) is dropped from the pool
  // and replaced on the next checkout; without this listener it would crash the process.
  pool.on('error', () => undefined);
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  const store = new KyselyStore(db, 'postgres');
  try {
    await store.migrate();
  } catch (e) {
    await db.destroy();
    throw e;
  }
  return store;
}
