import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { KyselyStore } from '../src/adapters/store/kysely-store.js';
import { migrationProvider } from '../src/adapters/store/migrations.js';
import type { Tables } from '../src/adapters/store/schema.js';
import { openPostgresStore, openSqliteStore } from '../src/adapters/store/open-store.js';
import { sha256Hex } from '../src/core/canonical.js';
import { ChainVerifier, GENESIS_HASH, type NewEvent, chainEvent } from '../src/core/ledger.js';
import type { LedgerEvent } from '../src/core/model.js';
import { freshPgDatabase } from './setup/pg.js';

/**
 * A database written before hashes were stored as bytes (hex text in every hash column) is
 * converted in place by the next start: the chain still verifies, the API still answers hex,
 * the columns hold 32 bytes, and the append-only rules survive the conversion.
 */

const CALL_HASH = sha256Hex('{"params":{"i":1},"tool":"noop"}');
const T0 = '2026-01-01T00:00:00.000Z';

function oldChain(): LedgerEvent[] {
  const events: LedgerEvent[] = [];
  let head = { seq: 0, hash: GENESIS_HASH };
  for (const [i, type] of ['ACTION_PROPOSED', 'APPROVAL_DECISION', 'ACTION_EXECUTED'].entries()) {
    const e = chainEvent('default', head, T0, {
      type: type as NewEvent['type'],
      actor: 'actor_1',
      workflow_id: 'workflow_1',
      data: { proposal_id: 'proposal_1', hash: CALL_HASH, i },
    });
    events.push(e);
    head = { seq: e.seq, hash: e.hash };
  }
  return events;
}

/** Writes the old format with the migrations as they stood before hashes became bytes. */
async function writeOldFormat(db: Kysely<Tables>, dialect: 'sqlite' | 'postgres') {
  const migrator = new Migrator({
    db,
    provider: migrationProvider(dialect),
    migrationTableName: 'countersign_migrations',
    migrationLockTableName: 'countersign_migrations_lock',
  });
  const { error } = await migrator.migrateTo('0008_idempotency_retention');
  if (error) throw error instanceof Error ? error : new Error(JSON.stringify(error));
  const events = oldChain();
  await db
    .insertInto('ledger_events')
    .values(events.map((e) => ({ ...e, data: JSON.stringify(e.data) })))
    .execute();
  await db
    .insertInto('ledger_heads')
    .values({ tenant_id: 'default', seq: 3, hash: events[2]!.hash })
    .execute();
  await db
    .insertInto('proposals')
    .values({
      tenant_id: 'default',
      id: 'proposal_1',
      workflow_id: 'workflow_1',
      proposer_id: 'actor_1',
      tool: 'noop',
      reason: 'r',
      status: 'approved',
      version: 1,
      required_approvals: 1,
      required_roles: '[]',
      approved_version: 1,
      approved_hash: CALL_HASH,
      policy_version: 'p',
      created_at: T0,
      updated_at: T0,
    })
    .execute();
  await db
    .insertInto('proposal_versions')
    .values({
      tenant_id: 'default',
      proposal_id: 'proposal_1',
      version: 1,
      params: '{"i":1}',
      hash: CALL_HASH,
      origin: 'proposed',
      author_id: 'actor_1',
      created_at: T0,
    })
    .execute();
  await db
    .insertInto('decisions')
    .values({
      tenant_id: 'default',
      id: 'decision_1',
      proposal_id: 'proposal_1',
      version: 1,
      hash: CALL_HASH,
      reviewer_id: 'actor_2',
      decision: 'approve',
      comment: null,
      edits: null,
      policy_version: 'p',
      created_at: T0,
      token_id: null,
    })
    .execute();
  return events;
}

async function expectConverted(store: KyselyStore, events: LedgerEvent[]) {
  const read = await store.read(async (r) => ({
    ledger: await r.listLedger('default', {}),
    head: await r.readLedgerHead('default'),
    proposal: await r.getProposal('default', 'proposal_1'),
    version: await r.getVersion('default', 'proposal_1', 1),
    decisions: await r.listDecisions('default', 'proposal_1'),
    byHash: await r.findApprovedByHash('default', CALL_HASH),
  }));
  expect(read.ledger).toEqual(events);
  const v = new ChainVerifier('default');
  for (const e of read.ledger) v.push(e);
  expect(v.finish(read.head)).toMatchObject({ ok: true, events: 3 });
  expect(read.head).toEqual({ seq: 3, hash: events[2]!.hash });
  expect(read.proposal?.approved_hash).toBe(CALL_HASH);
  expect(read.version?.hash).toBe(CALL_HASH);
  expect(read.decisions.map((d) => d.hash)).toEqual([CALL_HASH]);
  expect(read.byHash.map((p) => p.id)).toEqual(['proposal_1']);
  // New events chain onto the converted head.
  await store.transaction(async (tx) => {
    const head = await tx.lockLedgerHead('default');
    const e = chainEvent('default', head, T0, {
      type: 'ACTION_PROPOSED',
      actor: 'actor_1',
      workflow_id: 'workflow_1',
      data: { after: 'conversion' },
    });
    await tx.appendLedger(e);
  });
  const after = await store.read(async (r) => ({
    events: await r.listLedger('default', {}),
    head: await r.readLedgerHead('default'),
  }));
  const v2 = new ChainVerifier('default');
  for (const e of after.events) v2.push(e);
  expect(v2.finish(after.head)).toMatchObject({ ok: true, events: 4 });
}

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe('hashes as bytes', () => {
  it('converts a SQLite database written with hex hashes, keeping its rules', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-hash-bytes-'));
    const file = path.join(dir, 'countersign.sqlite');
    const old = new Kysely<Tables>({
      dialect: new SqliteDialect({ database: new Database(file) }),
    });
    const events = await writeOldFormat(old, 'sqlite');
    await old.destroy();

    const store = await openSqliteStore(file);
    cleanup = async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    };
    await expectConverted(store, events);

    const raw = new Database(file);
    try {
      const types = raw
        .prepare(
          'SELECT typeof(hash) AS h, typeof(prev_hash) AS p, length(hash) AS n FROM ledger_events',
        )
        .all();
      expect(types).toEqual(Array(4).fill({ h: 'blob', p: 'blob', n: 32 }));
      expect(raw.prepare('SELECT typeof(approved_hash) AS t FROM proposals').get()).toEqual({
        t: 'blob',
      });
      const schema = raw
        .prepare("SELECT name, sql FROM sqlite_schema WHERE tbl_name = 'ledger_events'")
        .all() as { name: string; sql: string | null }[];
      expect(schema.map((s) => s.name).sort()).toEqual([
        'ledger_events',
        'ledger_events_by_workflow',
        'ledger_events_no_delete',
        'ledger_events_no_update',
        'sqlite_autoindex_ledger_events_1',
      ]);
      // A workflow's events are found by the workflow index, not a scan of the tenant's ledger.
      const plan = raw
        .prepare(
          "EXPLAIN QUERY PLAN SELECT * FROM ledger_events WHERE tenant_id = 'default' AND workflow_id = 'w' ORDER BY seq",
        )
        .all() as { detail: string }[];
      expect(plan.map((p) => p.detail).join('\n')).toContain('ledger_events_by_workflow');
      expect(() => raw.prepare("UPDATE ledger_events SET actor = 'mallory'").run()).toThrow(
        /append-only/,
      );
      expect(() => raw.prepare('DELETE FROM decisions').run()).toThrow(/append-only/);
      expect(() => raw.prepare('DELETE FROM proposal_versions').run()).toThrow(/append-only/);
    } finally {
      raw.close();
    }
  });

  it('converts a Postgres database written with hex hashes, keeping its rules', async () => {
    const fresh = await freshPgDatabase(inject('pgUrl'), 'hash_bytes');
    const pool = new pg.Pool({ connectionString: fresh.url, max: 2 });
    const old = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
    const events = await writeOldFormat(old, 'postgres');
    await old.destroy();

    const store = await openPostgresStore(fresh.url, { max: 2 });
    cleanup = async () => {
      await store.close();
      await fresh.drop();
    };
    await expectConverted(store, events);

    const types = await sql<{ table_name: string; column_name: string; data_type: string }>`
      SELECT table_name, column_name, data_type FROM information_schema.columns
      WHERE column_name IN ('hash', 'prev_hash', 'approved_hash') AND table_schema = 'public'
      ORDER BY table_name, column_name`.execute(store.kysely);
    expect(new Set(types.rows.map((r) => r.data_type))).toEqual(new Set(['bytea']));
    expect(types.rows).toHaveLength(9);
    await expect(
      sql`UPDATE ledger_events SET actor = 'mallory'`.execute(store.kysely),
    ).rejects.toThrow(/append-only/);
  });
});
