import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KyselyStore } from '../src/adapters/store/kysely-store.js';
import type { Kernel } from '../src/core/kernel.js';
import { STORES, ctx, kernelOn, seedActors } from './support/kernel-fixture.js';

const TRIGGERS = {
  sqlite: [
    'ledger_events_no_update',
    'ledger_events_no_delete',
    'decisions_no_update',
    'decisions_no_delete',
  ],
  postgres: ['ledger_events_append_only ON ledger_events', 'decisions_append_only ON decisions'],
};

describe.each(STORES)('append-only ledger on $name', (factory) => {
  let kernel: Kernel;
  let store: KyselyStore;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ kernel, store, cleanup } = await kernelOn(factory));
    await seedActors(kernel);
    await kernel.proposeAction(ctx, {
      workflow_id: 'workflow_1',
      actor_id: 'actor_1',
      tool: 'write_record',
      params: { table: 'users' },
      reason: 'r',
    });
    await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_2',
      decision: 'approve',
    });
    await kernel.executeAction(ctx, { proposal_id: 'proposal_1' });
    expect((await kernel.verifyAudit(ctx)).ok).toBe(true);
  });
  afterEach(async () => cleanup());

  const dropTriggers = async () => {
    for (const t of TRIGGERS[factory.name])
      await sql.raw(`DROP TRIGGER ${t}`).execute(store.kysely);
  };

  it('the database itself rejects UPDATE and DELETE of ledger rows and decisions', async () => {
    const db = store.kysely;
    await expect(
      db.updateTable('ledger_events').set({ actor: 'mallory' }).where('seq', '=', 3).execute(),
    ).rejects.toThrow(/append-only/);
    await expect(db.deleteFrom('ledger_events').where('seq', '=', 3).execute()).rejects.toThrow(
      /append-only/,
    );
    await expect(db.updateTable('decisions').set({ decision: 'reject' }).execute()).rejects.toThrow(
      /append-only/,
    );
    await expect(db.deleteFrom('decisions').execute()).rejects.toThrow(/append-only/);
    if (factory.name === 'postgres')
      await expect(sql`TRUNCATE ledger_events`.execute(db)).rejects.toThrow(/append-only/);
    expect((await kernel.verifyAudit(ctx)).ok).toBe(true);
  });

  it('names the first broken seq when a row was edited', async () => {
    await dropTriggers();
    await store.kysely
      .updateTable('ledger_events')
      .set({ data: JSON.stringify({ actor_id: 'actor_9', name: 'Eve', role: 'Admin' }) })
      .where('seq', '=', 2)
      .execute();
    const report = await kernel.verifyAudit(ctx);
    expect(report).toMatchObject({ ok: false, first_broken_seq: 2 });
    expect(report.problem?.reason).toContain('altered');
  });

  it('names the first broken seq when a row was deleted', async () => {
    await dropTriggers();
    await store.kysely.deleteFrom('ledger_events').where('seq', '=', 5).execute();
    expect(await kernel.verifyAudit(ctx)).toMatchObject({ ok: false, first_broken_seq: 5 });
  });

  it('notices the newest rows being cut off', async () => {
    await dropTriggers();
    const head = await store.kysely
      .selectFrom('ledger_events')
      .select((db) => db.fn.max('seq').as('m'))
      .executeTakeFirstOrThrow();
    await store.kysely.deleteFrom('ledger_events').where('seq', '=', Number(head.m)).execute();
    expect(await kernel.verifyAudit(ctx)).toMatchObject({
      ok: false,
      first_broken_seq: Number(head.m),
    });
  });

  it('names the first broken seq when rows were reordered', async () => {
    await dropTriggers();
    const db = store.kysely;
    // Swap the contents of events 3 and 4 while keeping their seq numbers.
    const rows = await db
      .selectFrom('ledger_events')
      .selectAll()
      .where('seq', 'in', [3, 4])
      .orderBy('seq')
      .execute();
    const [a, b] = rows as [(typeof rows)[0], (typeof rows)[0]];
    await db.deleteFrom('ledger_events').where('seq', 'in', [3, 4]).execute();
    await db
      .insertInto('ledger_events')
      .values([
        { ...b, seq: 3 },
        { ...a, seq: 4 },
      ])
      .execute();
    expect(await kernel.verifyAudit(ctx)).toMatchObject({ ok: false, first_broken_seq: 3 });
  });
});
