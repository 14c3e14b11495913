/**
 * Per-test-file isolation on the shared test server: each caller gets its own database.
 *
 *   const db = await freshPgDatabase(inject('pgUrl'), 'kernel');
 *   ... use db.url ...
 *   await db.drop();
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface FreshPgDatabase {
  /** Connection URL of the new database (same server, user and options as baseUrl). */
  url: string;
  /** Drops the database, terminating any connections still open to it. Idempotent. */
  drop(): Promise<void>;
}

/**
 * Creates `cs_[<label>_]<random>` on the server of `baseUrl` (whose user needs CREATEDB).
 * `name` is an optional label that makes the database recognisable, not the exact name.
 */
export async function freshPgDatabase(baseUrl: string, name?: string): Promise<FreshPgDatabase> {
  const label = (name ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 40);
  const database = `cs_${label ? `${label}_` : ''}${randomBytes(6).toString('hex')}`;
  await admin(baseUrl, `CREATE DATABASE "${database}"`);

  const url = new URL(baseUrl);
  url.pathname = `/${database}`;
  let dropped = false;
  return {
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await admin(baseUrl, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    },
  };
}

async function admin(baseUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
