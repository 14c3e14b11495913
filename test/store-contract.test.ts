import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KyselyStore } from '../src/adapters/store/kysely-store.js';
import { openPostgresStore } from '../src/adapters/store/open-store.js';
import { CountersignError } from '../src/core/errors.js';
import { ChainVerifier, EVENT_TYPES, chainEvent } from '../src/core/ledger.js';
import type { Execution, Proposal } from '../src/core/model.js';
import { STORES, expectCode } from './support/kernel-fixture.js';

/** SHA-256 hashes as the core makes them (the store keeps them as bytes, hands back hex). */
const HASH_A = 'a1'.repeat(32);
const HASH_B = '0b'.repeat(32);

const T = '2026-01-01T00:00:00.000Z';

function proposal(id: string, over: Partial<Proposal> = {}): Proposal {
  return {
    tenant_id: 'default',
    id,
    workflow_id: 'workflow_1',
    proposer_id: 'actor_1',
    tool: 'noop',
    reason: 'r',
    status: 'pending',
    version: 1,
    required_approvals: 1,
    required_roles: ['DBA'],
    approved_version: null,
    approved_hash: null,
    policy_version: 'v',
    created_at: T,
    updated_at: T,
    ...over,
  };
}

function execution(id: string, over: Partial<Execution> = {}): Execution {
  return {
    tenant_id: 'default',
    id,
    workflow_id: 'workflow_1',
    proposal_id: 'proposal_1',
    version: 1,
    tool: 'noop',
    params: { a: [1, { b: null }] },
    hash: HASH_A,
    dry_run: false,
    status: 'started',
    output: null,
    error: null,
    started_at: T,
    finished_at: null,
    ...over,
  };
}

describe.each(STORES)('store contract on $name', (factory) => {
  let store: KyselyStore;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await factory.open());
  });
  afterEach(async () => cleanup());

  it('counts IDs per tenant and kind, and a rolled-back transaction consumes none', async () => {
    const ids = await store.transaction(async (tx) => [
      await tx.nextId('default', 'actor'),
      await tx.nextId('default', 'actor'),
      await tx.nextId('default', 'proposal'),
      await tx.nextId('acme', 'actor'),
    ]);
    expect(ids).toEqual(['actor_1', 'actor_2', 'proposal_1', 'actor_1']);
    await expect(
      store.transaction(async (tx) => {
        await tx.nextId('default', 'actor');
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await store.transaction((tx) => tx.nextId('default', 'actor'))).toBe('actor_3');
  });

  it('rolls back every write of a failed transaction', async () => {
    await expect(
      store.transaction(async (tx) => {
        await tx.insertActor({
          tenant_id: 'default',
          id: 'actor_1',
          name: 'A',
          role: 'r',
          kind: 'human',
          created_at: T,
        });
        const head = await tx.lockLedgerHead('default');
        await tx.appendLedger(
          chainEvent('default', head, T, {
            type: EVENT_TYPES.ACTOR_REGISTERED,
            actor: 'operator',
            workflow_id: null,
            data: {},
          }),
        );
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await store.transaction(async (tx) => {
      expect(await tx.getActor('default', 'actor_1')).toBeUndefined();
      expect(await tx.listLedger('default', {})).toEqual([]);
      expect(await tx.readLedgerHead('default')).toMatchObject({ seq: 0 });
    });
  });

  it('round-trips records exactly and keeps tenants apart', async () => {
    await store.transaction(async (tx) => {
      await tx.insertProposal(proposal('proposal_1'));
      await tx.insertVersion({
        tenant_id: 'default',
        proposal_id: 'proposal_1',
        version: 1,
        params: { x: { y: [1, 'two', true, null] } },
        hash: HASH_B,
        origin: 'proposed',
        author_id: 'actor_1',
        created_at: T,
      });
      await tx.insertExecution(execution('execution_1'));
    });
    await store.transaction(async (tx) => {
      expect(await tx.getProposal('default', 'proposal_1')).toEqual(proposal('proposal_1'));
      expect(await tx.getProposal('acme', 'proposal_1')).toBeUndefined();
      expect((await tx.getVersion('default', 'proposal_1', 1))?.params).toEqual({
        x: { y: [1, 'two', true, null] },
      });
      expect(await tx.getExecution('default', 'execution_1')).toEqual(execution('execution_1'));
      expect(await tx.findLiveExecution('acme', 'proposal_1', 1)).toBeUndefined();
    });
  });

  it('allows one live execution per proposal version (CONFLICT on a second) but any number of dry runs', async () => {
    await store.transaction(async (tx) => {
      await tx.insertExecution(execution('execution_1'));
      await tx.insertExecution(execution('execution_2', { dry_run: true, status: 'simulated' }));
      await tx.insertExecution(execution('execution_3', { dry_run: true, status: 'simulated' }));
    });
    await expectCode(
      store.transaction((tx) => tx.insertExecution(execution('execution_4'))),
      'CONFLICT',
    );
    const e = await store.transaction((tx) => tx.findLiveExecution('default', 'proposal_1', 1));
    expect(e?.id).toBe('execution_1');
    await store.transaction((tx) =>
      tx.finishExecution({ ...e!, status: 'succeeded', output: { ok: true }, finished_at: T }),
    );
    expect(
      await store.transaction((tx) => tx.getExecution('default', 'execution_1')),
    ).toMatchObject({ status: 'succeeded', output: { ok: true } });
  });

  it('finds approved calls by hash (oldest first) and lists proposals by status, workflow, tool and age', async () => {
    await store.transaction(async (tx) => {
      await tx.insertProposal(
        proposal('proposal_1', {
          status: 'approved',
          approved_hash: HASH_A,
          approved_version: 1,
          created_at: '2026-01-01T00:00:01.000Z',
          updated_at: '2026-01-01T00:00:01.000Z',
        }),
      );
      await tx.insertProposal(
        proposal('proposal_2', {
          status: 'executed',
          approved_hash: HASH_A,
          approved_version: 1,
          updated_at: '2026-01-01T00:00:02.000Z',
        }),
      );
      await tx.insertProposal(
        proposal('proposal_3', {
          status: 'approved',
          approved_hash: HASH_A,
          approved_version: 1,
          created_at: '2026-01-01T00:00:00.500Z',
          updated_at: '2026-01-01T00:00:03.000Z',
        }),
      );
      await tx.insertProposal(
        proposal('proposal_4', {
          workflow_id: 'workflow_2',
          tool: 'other',
          updated_at: '2026-01-01T00:00:04.000Z',
        }),
      );
      await tx.insertProposal(proposal('proposal_5', { updated_at: '2026-01-01T00:00:05.000Z' }));
    });
    await store.transaction(async (tx) => {
      expect((await tx.findApprovedByHash('default', HASH_A)).map((p) => p.id)).toEqual([
        'proposal_3',
        'proposal_1',
      ]);
      const ids = async (f: Parameters<typeof tx.listProposals>[1]) =>
        (await tx.listProposals('default', f)).map((p) => p.id);
      expect(await ids({ status: 'pending', limit: 10 })).toEqual(['proposal_5', 'proposal_4']);
      expect(await ids({ status: 'pending', workflow_id: 'workflow_2', limit: 10 })).toEqual([
        'proposal_4',
      ]);
      expect(await ids({ tool: 'other', limit: 10 })).toEqual(['proposal_4']);
      expect(await ids({ updated_before: '2026-01-01T00:00:02.000Z', limit: 10 })).toEqual([
        'proposal_2',
        'proposal_1',
      ]);
      expect(await ids({ limit: 2 })).toEqual(['proposal_5', 'proposal_4']);
    });
  });

  it('serializes concurrent ledger appends into one valid chain', async () => {
    const tenant = 'default';
    await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        store.transaction(async (tx) => {
          const head = await tx.lockLedgerHead(tenant);
          await tx.appendLedger(
            chainEvent(tenant, head, T, {
              type: EVENT_TYPES.WORKFLOW_STEP,
              actor: 'a',
              workflow_id: null,
              data: { i },
            }),
          );
        }),
      ),
    );
    const events = await store.transaction((tx) => tx.listLedger(tenant, {}));
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    const v = new ChainVerifier(tenant);
    for (const e of events) v.push(e);
    expect(v.finish(await store.transaction((tx) => tx.readLedgerHead(tenant)))).toMatchObject({
      ok: true,
      events: 24,
    });
  });

  it('lists the tenants that have a ledger, sorted', async () => {
    expect(await store.transaction((tx) => tx.listLedgerTenants())).toEqual([]);
    for (const tenant of ['zeta', 'acme', 'default'])
      await store.transaction(async (tx) => {
        const head = await tx.lockLedgerHead(tenant);
        await tx.appendLedger(
          chainEvent(tenant, head, T, {
            type: EVENT_TYPES.WORKFLOW_STEP,
            actor: 'a',
            workflow_id: null,
            data: {},
          }),
        );
      });
    expect(await store.transaction((tx) => tx.listLedgerTenants())).toEqual([
      'acme',
      'default',
      'zeta',
    ]);
  });

  it('upserts settings and re-runs migrations harmlessly', async () => {
    await store.transaction((tx) => tx.putSetting('default', 'dry_run', 'true'));
    await store.transaction((tx) => tx.putSetting('default', 'dry_run', 'false'));
    expect(await store.transaction((tx) => tx.getSetting('default', 'dry_run'))).toBe('false');
    expect(await store.transaction((tx) => tx.getSetting('acme', 'dry_run'))).toBeUndefined();
    await store.migrate();
    expect(await store.transaction((tx) => tx.getSetting('default', 'dry_run'))).toBe('false');
  });
});

describe('an unreachable Postgres', () => {
  it('fails with STORE_UNAVAILABLE and a readable message', async () => {
    const err = await openPostgresStore('postgres://postgres@127.0.0.1:1/nowhere').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CountersignError);
    expect((err as CountersignError).code).toBe('STORE_UNAVAILABLE');
    expect((err as CountersignError).message).toMatch(/ECONNREFUSED|connect/);
  });
});
