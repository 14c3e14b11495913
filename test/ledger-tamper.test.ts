import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KyselyStore } from '../src/adapters/store/kysely-store.js';
import { unpackLedgerData } from '../src/adapters/store/ledger-data.js';
import { type Checkpoint, signCheckpoint } from '../src/core/audit/checkpoint.js';
import { auditCheckpoints } from '../src/core/audit/checkpoint-audit.js';
import { Checkpointer } from '../src/core/audit/checkpointer.js';
import { ed25519Signer, generateEd25519KeyPem } from '../src/core/audit/ed25519.js';
import { checkInclusionProof, proveInclusion } from '../src/core/audit/inclusion.js';
import type { Kernel } from '../src/core/kernel.js';
import type { SignatureVerifier } from '../src/core/ports/checkpoints.js';
import { steppingClock } from '../src/core/ports/clock.js';
import { STORES, ctx, kernelOn, seedActors } from './support/kernel-fixture.js';
import { MemoryCheckpointLog, cutTail, rewriteHistory } from './support/ledger-forgery.js';

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

  it('stores event data packed on SQLite, as JSON on Postgres, and reads either form', async () => {
    const rows = await store.kysely
      .selectFrom('ledger_events')
      .selectAll()
      .orderBy('seq')
      .execute();
    const packed = rows.filter((r) => typeof r.data !== 'string');
    if (factory.name === 'postgres') expect(packed).toHaveLength(0);
    else {
      // Every event big enough to gain is packed (first byte 1), smaller than its JSON.
      expect(packed.length).toBeGreaterThanOrEqual(rows.length - 1);
      for (const r of packed) {
        const bytes = r.data as Uint8Array;
        expect(bytes[0]).toBe(1);
        expect(bytes.length).toBeLessThan(JSON.stringify(unpackLedgerData(bytes)).length);
      }
    }
    // A row written as JSON text (before packing, or by hand, unchanged) reads and verifies.
    await dropTriggers();
    const third = rows.find((r) => r.seq === 3)!;
    await store.kysely
      .updateTable('ledger_events')
      .set({ data: JSON.stringify(unpackLedgerData(third.data)) })
      .where('seq', '=', 3)
      .execute();
    expect((await kernel.verifyAudit(ctx)).ok).toBe(true);
    // Packed data changed by one bit is a broken chain, not a crash.
    if (factory.name === 'sqlite') {
      const fourth = Buffer.from(rows.find((r) => r.seq === 4)!.data as Uint8Array);
      fourth[0] = 9;
      await store.kysely
        .updateTable('ledger_events')
        .set({ data: fourth })
        .where('seq', '=', 4)
        .execute();
      expect(await kernel.verifyAudit(ctx)).toMatchObject({ ok: false, first_broken_seq: 4 });
      const damaged = Buffer.from(rows.find((r) => r.seq === 5)!.data as Uint8Array);
      damaged[damaged.length - 1] = damaged.at(-1)! ^ 0xff;
      expect(unpackLedgerData(damaged)).toHaveProperty('unreadable');
    }
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

describe.each(STORES)('signed checkpoints on $name', (factory) => {
  let kernel: Kernel;
  let store: KyselyStore;
  let cleanup: () => Promise<void>;
  let log: MemoryCheckpointLog;
  let signer: ReturnType<typeof ed25519Signer>;
  const tenant = ctx.tenant_id;

  const checkpointer = () => new Checkpointer({ store, signer, log, clock: steppingClock() });
  const audit = (verifier: SignatureVerifier = signer.verifier) =>
    log.read().then((lines) => auditCheckpoints(store, tenant, lines, verifier, log.location));

  beforeEach(async () => {
    ({ kernel, store, cleanup } = await kernelOn(factory));
    log = new MemoryCheckpointLog();
    signer = ed25519Signer(generateEd25519KeyPem());
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
    expect(await checkpointer().checkpoint(tenant)).toMatchObject({ status: 'written' });
    expect(await audit()).toMatchObject({ ok: true, checked: 1, problem: null });
  });
  afterEach(async () => cleanup());

  it('catches history rewritten with recomputed hashes and a fixed ledger_heads', async () => {
    await rewriteHistory(store, tenant, 2, { actor_id: 'actor_1', name: 'Eve', role: 'Admin' });
    // The chain alone cannot tell: every hash and the head are consistent again.
    expect(await kernel.verifyAudit(ctx)).toMatchObject({ ok: true, first_broken_seq: null });
    const report = await audit();
    expect(report.ok).toBe(false);
    expect(report.problem).toMatchObject({ line: 1, kind: 'history_rewritten' });
    expect(report.problem?.reason).toMatch(/history was rewritten/);
    // Nor does a fresh checkpointer sign the forged history.
    expect(await checkpointer().checkpoint(tenant)).toMatchObject({
      status: 'refused',
      problem: { kind: 'history_rewritten' },
    });
    expect(log.lines).toHaveLength(1);
  });

  it('catches a cut tail with a fixed ledger_heads', async () => {
    const head = await store.transaction((tx) => tx.readLedgerHead(tenant));
    await cutTail(store, tenant, head.seq - 2);
    expect(await kernel.verifyAudit(ctx)).toMatchObject({ ok: true, events: head.seq - 2 });
    expect((await audit()).problem).toMatchObject({ line: 1, kind: 'tail_cut', seq: head.seq });
    expect(await checkpointer().checkpoint(tenant)).toMatchObject({ status: 'refused' });
  });

  it('refuses forged and foreign signatures', async () => {
    const genuine = JSON.parse(log.lines[0]!) as Checkpoint;
    // Altered after signing: the database's forged root, the genuine signature.
    log.lines.push(JSON.stringify({ ...genuine, merkle_root: 'ab'.repeat(32) }));
    // Signed by the forger's own key, once under its own key ID and once under ours.
    const forger = ed25519Signer(generateEd25519KeyPem());
    const own = signCheckpoint(genuine, forger);
    log.lines.push(JSON.stringify(own));
    log.lines.push(JSON.stringify({ ...own, key_id: signer.key_id }));
    log.lines.push('{"not":"a checkpoint"}');
    const report = await audit();
    expect(report).toMatchObject({ ok: false, checked: 4, problems: 4 });
    expect(report.problem).toMatchObject({ line: 2, kind: 'bad_signature' });
    expect(report.problem?.reason).toMatch(/does not verify/);
    // The forger's log is all good under the forger's key, except our genuine line.
    expect((await audit(forger.verifier)).problem).toMatchObject({ line: 1 });
  });

  it('checkpoints only a moved head, extends its tree, and never signs a rewrite it missed', async () => {
    const c = checkpointer();
    expect(await c.checkpoint(tenant, { onlyIfMoved: true })).toMatchObject({
      status: 'unchanged',
    });
    await kernel.startWorkflow(ctx, { title: 'Second' });
    const second = await c.checkpoint(tenant, { onlyIfMoved: true });
    expect(second).toMatchObject({ status: 'written' });
    expect(await c.checkpoint(tenant, { onlyIfMoved: true })).toMatchObject({
      status: 'unchanged',
    });
    expect(await audit()).toMatchObject({ ok: true, checked: 2 });
    // A rewrite behind its back, then an honest event on top of the forged chain.
    await rewriteHistory(store, tenant, 3, { forged: true });
    await kernel.startWorkflow(ctx, { title: 'Third' });
    expect(await kernel.verifyAudit(ctx)).toMatchObject({ ok: true });
    expect(await c.checkpoint(tenant)).toMatchObject({ status: 'refused' });
    expect(log.lines).toHaveLength(2);
    expect((await c.checkpointAll())[0]).toMatchObject({
      tenant_id: tenant,
      outcome: { status: 'refused', problem: { kind: 'history_rewritten', line: 1 } },
    });
  });

  it('proves every event against the checkpoint and refuses tampered proofs', async () => {
    const head = await store.transaction((tx) => tx.readLedgerHead(tenant));
    const checkpoint = JSON.parse(log.lines[0]!) as Checkpoint;
    for (let seq = 1; seq <= head.seq; seq++) {
      const proved = await proveInclusion(store, checkpoint, seq);
      if (!proved.ok) throw new Error(proved.problem);
      expect(checkInclusionProof(proved.proof, signer.verifier), `seq ${seq}`).toMatchObject({
        valid: true,
      });
    }
    const proved = await proveInclusion(store, checkpoint, 2);
    if (!proved.ok) throw new Error(proved.problem);
    const p = proved.proof;
    const refused = (proof: unknown, verifier = signer.verifier) => {
      const check = checkInclusionProof(proof, verifier);
      return check.valid ? 'accepted' : check.reason;
    };
    expect(refused({ ...p, event: { ...p.event, actor: 'mallory' } })).toMatch(/altered/);
    expect(refused({ ...p, audit_path: [...p.audit_path].reverse() })).toMatch(/Merkle root/);
    expect(refused({ ...p, leaf_index: 2 })).toMatch(/not the place/);
    expect(refused({ ...p, checkpoint: { ...checkpoint, merkle_root: p.audit_path[0] } })).toMatch(
      /signature/,
    );
    expect(refused(p, ed25519Signer(generateEd25519KeyPem()).verifier)).toMatch(/names key/);
    // Once the database is rewritten, no proof against the signed root can be made.
    await rewriteHistory(store, tenant, 2, { forged: true });
    const after = await proveInclusion(store, checkpoint, 2);
    expect(after.ok ? 'proved' : after.problem).toMatch(/history was rewritten/);
  });
});
