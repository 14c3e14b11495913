import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freshPgDatabase, type FreshPgDatabase } from './setup/pg.js';

async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

describe('postgres test harness', () => {
  const baseUrl = inject('pgUrl');
  let a: FreshPgDatabase;
  let b: FreshPgDatabase;

  beforeAll(async () => {
    a = await freshPgDatabase(baseUrl, 'harness a');
    b = await freshPgDatabase(baseUrl, 'harness b');
  });
  afterAll(async () => {
    await a?.drop();
    await b?.drop();
  });

  it('provides a real PostgreSQL server', async () => {
    expect(baseUrl).toMatch(/^postgres(ql)?:\/\//);
    const [row] = await query<{ version: string }>(baseUrl, 'select version()');
    expect(row?.version).toMatch(/^PostgreSQL \d+/);
  });

  it('gives each caller an isolated database', async () => {
    expect(a.url).not.toBe(b.url);
    const [dbA] = await query<{ db: string }>(a.url, 'select current_database() as db');
    const [dbB] = await query<{ db: string }>(b.url, 'select current_database() as db');
    expect(dbA?.db).toMatch(/^cs_harness_a_[0-9a-f]{12}$/);
    expect(dbB?.db).not.toBe(dbA?.db);

    await query(a.url, 'create table only_in_a (id int primary key)');
    const [inA] = await query<{ t: string | null }>(
      a.url,
      "select to_regclass('only_in_a')::text as t",
    );
    const [inB] = await query<{ t: string | null }>(
      b.url,
      "select to_regclass('only_in_a')::text as t",
    );
    expect(inA?.t).toBe('only_in_a');
    expect(inB?.t).toBeNull();
  });

  it('drops the database, even with connections still open', async () => {
    const c = await freshPgDatabase(baseUrl);
    const name = new URL(c.url).pathname.slice(1);
    const open = new pg.Client({ connectionString: c.url });
    open.on('error', () => {}); // the forced drop terminates this connection
    await open.connect();
    await c.drop();
    await c.drop(); // idempotent
    const rows = await query(baseUrl, `select 1 from pg_database where datname = '${name}'`);
    expect(rows).toHaveLength(0);
    await open.end().catch(() => {});
  });
});
