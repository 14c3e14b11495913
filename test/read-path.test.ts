/**
 * The read path (issue 12): reads that never wait for the write lock, a token cache that a
 * revocation or an expiry defeats on the very next request (in one process and across two),
 * last-use writes kept off the request, decisions cached per policy version, and the ledger
 * head recorded once per transaction.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CedarPolicyEngine } from '../src/adapters/policy/cedar-policy-engine.js';
import { DecisionCache } from '../src/adapters/policy/decision-cache.js';
import type { KyselyStore } from '../src/adapters/store/kysely-store.js';
import { openPostgresStore, openSqliteStore } from '../src/adapters/store/open-store.js';
import { operatorContext, tokenContext } from '../src/core/context.js';
import { Kernel } from '../src/core/kernel.js';
import { EVENT_TYPES, GENESIS_HASH, chainEvent } from '../src/core/ledger.js';
import { type Clock, ManualClock } from '../src/core/ports/clock.js';
import type { PolicyRequest } from '../src/core/ports/policy.js';
import type { StoreReader } from '../src/core/ports/store.js';
import { staticToolRegistry } from '../src/core/ports/tools.js';
import { STORES, expectCode, testTools } from './support/kernel-fixture.js';
import { freshPgDatabase } from './setup/pg.js';
import { inject } from 'vitest';

const op = operatorContext('read path tests');
const T = '2026-01-01T00:00:00.000Z';

function kernelOn(store: KyselyStore, clock: Clock = new ManualClock(T, 0)) {
  return new Kernel({
    store,
    policy: CedarPolicyEngine.fromDirectory(),
    tools: staticToolRegistry(testTools().tools),
    clock,
    newSecret: () => randomBytes(24).toString('base64url'),
  });
}

/** Resolves with what `p` gives, or with 'blocked' if it takes longer than `ms`. */
function within<T>(p: Promise<T>, ms = 2000): Promise<T | 'blocked'> {
  return Promise.race([p, new Promise<'blocked'>((r) => setTimeout(() => r('blocked'), ms))]);
}

const actor = (id: string) => ({
  tenant_id: 'default',
  id,
  name: id,
  role: 'Developer',
  kind: 'human' as const,
  created_at: T,
});

/** Two stores on one database: one SQLite file, or one Postgres database. */
const SHARED = [
  {
    name: 'sqlite',
    async open() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-read-'));
      const file = path.join(dir, 'countersign.sqlite');
      const a = await openSqliteStore(file);
      const b = await openSqliteStore(file);
      return {
        a,
        b,
        async cleanup() {
          await a.close();
          await b.close();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    async open() {
      const db = await freshPgDatabase(inject('pgUrl'), 'read_path');
      const a = await openPostgresStore(db.url, { max: 4 });
      const b = await openPostgresStore(db.url, { max: 4 });
      return {
        a,
        b,
        async cleanup() {
          await a.close();
          await b.close();
          await db.drop();
        },
      };
    },
  },
] as const;

describe.each(STORES)('reads on $name', (factory) => {
  let store: KyselyStore;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await factory.open());
  });
  afterEach(async () => cleanup());

  it('do not wait for an open write transaction, and see only what it committed', async () => {
    await store.transaction((tx) => tx.insertActor(actor('actor_1')));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inside!: () => void;
    const started = new Promise<void>((r) => (inside = r));
    const writing = store.transaction(async (tx) => {
      await tx.insertActor(actor('actor_2'));
      inside();
      await held;
    });
    await started;
    const seen = await within(
      store.read(async (tx) => [
        (await tx.getActor('default', 'actor_1'))?.id,
        (await tx.getActor('default', 'actor_2'))?.id,
      ]),
    );
    release();
    await writing;
    expect(seen).toEqual(['actor_1', undefined]);
    expect(await store.read((tx) => tx.getActor('default', 'actor_2'))).toMatchObject({
      id: 'actor_2',
    });
  });

  it('hand out a view without writes', async () => {
    await store.read((tx: StoreReader) => {
      // @ts-expect-error a reader has no write methods
      expect(tx.insertActor).toBeUndefined();
      // @ts-expect-error nor do its parts
      expect(tx.runs.insertRun).toBeUndefined();
      return Promise.resolve();
    });
  });

  it('record the ledger head once per transaction, as its last append left it', async () => {
    const event = {
      type: EVENT_TYPES.WORKFLOW_STEP,
      actor: 'a',
      workflow_id: null,
      data: { n: 1 },
    };
    const inside = await store.transaction(async (tx) => {
      let head = await tx.lockLedgerHead('default');
      expect(head).toEqual({ seq: 0, hash: GENESIS_HASH });
      for (let i = 0; i < 3; i++) {
        const e = chainEvent('default', head, T, event);
        await tx.appendLedger(e);
        head = await tx.lockLedgerHead('default');
        expect(head).toEqual({ seq: e.seq, hash: e.hash });
      }
      return tx.readLedgerHead('default');
    });
    expect(inside.seq).toBe(3);
    expect(await store.read((tx) => tx.readLedgerHead('default'))).toEqual(inside);
    // A transaction that fails records no head.
    await expect(
      store.transaction(async (tx) => {
        const head = await tx.lockLedgerHead('default');
        await tx.appendLedger(chainEvent('default', head, T, event));
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await store.read((tx) => tx.readLedgerHead('default'))).toEqual(inside);
  });
});

describe.each(SHARED)('two processes on one $name database', (factory) => {
  let a: KyselyStore;
  let b: KyselyStore;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ a, b, cleanup } = await factory.open());
  });
  afterEach(async () => cleanup());

  it('read while the other holds a write transaction', async () => {
    await a.transaction((tx) => tx.insertActor(actor('actor_1')));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inside!: () => void;
    const started = new Promise<void>((r) => (inside = r));
    const writing = a.transaction(async (tx) => {
      await tx.insertActor(actor('actor_2'));
      inside();
      await held;
    });
    await started;
    const seen = await within(b.read((tx) => tx.getActor('default', 'actor_1')));
    release();
    await writing;
    expect(seen).toMatchObject({ id: 'actor_1' });
  });

  it('a token revoked by one fails on the very next request to the other, cache warm', async () => {
    const clock = new ManualClock(T, 0);
    const ka = kernelOn(a, clock);
    const kb = kernelOn(b, clock);
    const { actor_id } = await ka.registerActor(op, { name: 'Ann', role: 'Developer' });
    const t = await ka.createToken(op, { actor_id, name: 'laptop' });
    for (let i = 0; i < 3; i++) expect((await ka.authenticate(t.token)).actor_id).toBe(actor_id);
    // Two SQLite stores in one process block each other's event loop while one waits for the
    // other's lock: let A's last-use write land first (a listing waits for it).
    await ka.listTokens(op, {});
    await kb.revokeToken(op, { token_id: t.token_id });
    await expectCode(ka.authenticate(t.token), 'UNAUTHENTICATED');
    await expectCode(kb.authenticate(t.token), 'UNAUTHENTICATED');
  });

  it("a read answered from memory shows the other one's commit on the next request", async () => {
    const ka = kernelOn(a);
    const kb = kernelOn(b);
    const { actor_id } = await ka.registerActor(op, { name: 'Ann', role: 'Developer' });
    const { workflow_id } = await ka.startWorkflow(op, { title: 'read cache' });
    const seen = async () => (await ka.getWorkflow(op, { workflow_id })).proposals.length;
    expect(await seen()).toBe(0);
    expect(await seen()).toBe(0);
    await kb.proposeAction(op, {
      workflow_id,
      actor_id,
      tool: 'noop',
      params: { n: 1 },
      reason: 'from the other process',
    });
    expect(await seen()).toBe(1);
    // A change made by hand, outside any kernel, shows too.
    await sql`UPDATE workflows SET title = 'renamed' WHERE id = ${workflow_id}`.execute(b.kysely);
    expect((await ka.getWorkflow(op, { workflow_id })).workflow.title).toBe('renamed');
  });

  it('a token revoked by hand in SQL fails on the next request too', async () => {
    const ka = kernelOn(a);
    const { actor_id } = await ka.registerActor(op, { name: 'Ann', role: 'Developer' });
    const t = await ka.createToken(op, { actor_id, name: 'laptop' });
    expect((await ka.authenticate(t.token)).actor_id).toBe(actor_id);
    await ka.listTokens(op, {});
    await sql`UPDATE api_tokens SET revoked_at = ${T} WHERE id = ${t.token_id}`.execute(b.kysely);
    await expectCode(ka.authenticate(t.token), 'UNAUTHENTICATED');
  });
});

describe('the read cache (SQLite)', () => {
  let dir: string;
  let store: KyselyStore;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-reads-'));
    store = await openSqliteStore(path.join(dir, 'countersign.sqlite'));
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Counts the store's read transactions while `work` runs. */
  async function readsDuring(work: () => Promise<unknown>): Promise<number> {
    const read = store.read.bind(store);
    let n = 0;
    store.read = (w) => {
      n++;
      return read(w);
    };
    try {
      await work();
    } finally {
      store.read = read;
    }
    return n;
  }

  it('answers a repeated read without the store while nothing commits, and stops at a commit', async () => {
    const kernel = kernelOn(store);
    const { actor_id } = await kernel.registerActor(op, { name: 'Ann', role: 'Developer' });
    const { token } = await kernel.createToken(op, { actor_id, name: 'laptop' });
    const { workflow_id } = await kernel.startWorkflow(op, { title: 'cached' });
    const { proposal_id } = await kernel.proposeAction(op, {
      workflow_id,
      actor_id,
      tool: 'noop',
      params: { n: 2 },
      reason: 'r',
    });
    const ann = tokenContext(await kernel.authenticate(token), 'look');
    await kernel.getWorkflow(ann, { workflow_id });
    await kernel.getProposal(ann, { proposal_id });
    // Let the token's last-use write land: it is a commit too.
    await kernel.listTokens(op, {});
    await kernel.authenticate(token);
    await kernel.getWorkflow(ann, { workflow_id });
    await kernel.getProposal(ann, { proposal_id });
    expect(
      await readsDuring(async () => {
        await kernel.authenticate(token);
        await kernel.getWorkflow(ann, { workflow_id });
        await kernel.getProposal(ann, { proposal_id });
      }),
    ).toBe(0);
    // Another caller, or another purpose, is another read (policy may tell them apart).
    expect(
      await readsDuring(() => kernel.getWorkflow({ ...ann, purpose: 'other' }, { workflow_id })),
    ).toBe(1);
    await kernel.proposeAction(op, {
      workflow_id,
      actor_id,
      tool: 'noop',
      params: { n: 3 },
      reason: 'r',
    });
    expect(
      await readsDuring(async () => {
        expect((await kernel.getWorkflow(ann, { workflow_id })).proposals).toHaveLength(2);
      }),
    ).toBe(1);
  });

  it('hands out answers nobody can change under the next caller', async () => {
    const kernel = kernelOn(store);
    const { workflow_id } = await kernel.startWorkflow(op, { title: 'frozen' });
    const first = await kernel.getWorkflow(op, { workflow_id });
    expect(() => {
      (first.workflow as { title: string }).title = 'changed';
    }).toThrow(TypeError);
    expect((await kernel.getWorkflow(op, { workflow_id })).workflow.title).toBe('frozen');
  });

  it('does not keep refusals: a denied read is decided again', async () => {
    const kernel = kernelOn(store);
    const ctx = { ...op, caller: { kind: 'actor' as const, actor_id: 'actor_404' } };
    const { workflow_id } = await kernel.startWorkflow(op, { title: 'w' });
    await expectCode(kernel.getWorkflow(ctx, { workflow_id }), 'POLICY_DENIED');
    expect(
      await readsDuring(() =>
        expectCode(kernel.getWorkflow(ctx, { workflow_id }), 'POLICY_DENIED'),
      ),
    ).toBe(1);
  });
});

describe('the token cache', () => {
  let dir: string;
  let store: KyselyStore;
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-tokens-'));
    store = await openSqliteStore(path.join(dir, 'countersign.sqlite'));
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a revoked token on its next request in the same process', async () => {
    const kernel = kernelOn(store);
    const { actor_id } = await kernel.registerActor(op, { name: 'Ann', role: 'Developer' });
    const t = await kernel.createToken(op, { actor_id, name: 'laptop' });
    await kernel.authenticate(t.token);
    await kernel.authenticate(t.token);
    await kernel.revokeToken(op, { token_id: t.token_id });
    await expectCode(kernel.authenticate(t.token), 'UNAUTHENTICATED');
  });

  it('refuses an expired token on its next request, cache warm', async () => {
    const clock = new ManualClock(T, 0);
    const kernel = kernelOn(store, clock);
    const { actor_id } = await kernel.registerActor(op, { name: 'Ann', role: 'Developer' });
    const t = await kernel.createToken(op, { actor_id, name: 'temp', expires_in_seconds: 60 });
    clock.advance(59_999);
    await kernel.authenticate(t.token);
    await kernel.authenticate(t.token);
    clock.advance(1);
    await expectCode(kernel.authenticate(t.token), 'UNAUTHENTICATED');
  });

  it('writes the last use at most once a minute per token, and lists it', async () => {
    const clock = new ManualClock(T, 0);
    const kernel = kernelOn(store, clock);
    const { actor_id } = await kernel.registerActor(op, { name: 'Ann', role: 'Developer' });
    const t = await kernel.createToken(op, { actor_id, name: 'laptop' });
    const lastUse = async () => (await kernel.listTokens(op, {})).tokens[0]!.last_used_at;
    const writes = () =>
      store.kysely
        .selectFrom('api_tokens')
        .select('last_used_at')
        .executeTakeFirstOrThrow()
        .then((r) => r.last_used_at);
    await kernel.authenticate(t.token);
    expect(await lastUse()).toBe(T);
    clock.advance(30_000);
    await kernel.authenticate(t.token);
    expect(await lastUse()).toBe(T);
    clock.advance(30_000);
    await kernel.authenticate(t.token);
    expect(await lastUse()).toBe('2026-01-01T00:01:00.000Z');
    expect(await writes()).toBe('2026-01-01T00:01:00.000Z');
  });
});

describe('policy decisions', () => {
  const request: PolicyRequest = {
    tenant_id: 'default',
    principal: { id: 'actor_1', kind: 'agent', roles: ['Developer'] },
    action: 'proposal.create',
    resource: { type: 'Tool', id: 'noop', risk: 'write' },
    purpose: 'tests',
    workflow_id: 'workflow_1',
  };

  it('are cached, frozen, for requests that agree on all the policies observe', () => {
    const engine = CedarPolicyEngine.fromDirectory();
    const first = engine.decide(request);
    expect(engine.decide({ ...request })).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first.reasons)).toBe(true);
    // No default policy reads the workflow's id, only whether there is one.
    expect(engine.decide({ ...request, workflow_id: 'workflow_2' })).toBe(first);
    expect(engine.decide({ ...request, workflow_id: undefined })).toMatchObject({
      effect: 'deny',
      reasons: ['tools-need-a-workflow'],
    });
    expect(
      engine.decide({ ...request, resource: { type: 'Tool', id: 'noop', risk: 'irreversible' } }),
    ).toMatchObject({ effect: 'review', approvals: 2 });
  });

  it('tell apart the requests a policy tells apart (ids, values, named entities)', () => {
    const engine = CedarPolicyEngine.fromText([
      {
        name: 'a.cedar',
        text: `@id("one-workflow") permit(principal, action == Action::"tool.invoke", resource) when { context has workflow_id && context.workflow_id == "workflow_1" };
               @id("one-proposal") permit(principal, action == Action::"proposal.execute", resource == Proposal::"proposal_1");
               @id("one-reviewer") permit(principal, action == Action::"proposal.review", resource) when { Actor::"actor_1".kind == "human" };
               @id("own-edits") permit(principal, action == Action::"proposal.approve_own_edit", resource) when { resource.risk == "read" };
               @id("deref") permit(principal, action == Action::"approval.decide", resource) when { resource.requested_by.kind == "human" };`,
      },
    ]);
    const as = (id: string) => ({ ...request.principal, id, kind: 'human' as const });
    const tool = { type: 'Tool' as const, id: 'noop', risk: 'write' as const };
    const proposal = (id: string) => ({
      type: 'Proposal' as const,
      id,
      tool: 'noop',
      risk: 'write' as const,
      proposer: 'actor_9',
      workflow: 'workflow_1',
    });
    const effect = (r: Partial<PolicyRequest>) => engine.decide({ ...request, ...r }).effect;
    expect(effect({ action: 'tool.invoke', resource: tool })).toBe('allow');
    expect(effect({ action: 'tool.invoke', resource: tool, workflow_id: 'workflow_2' })).toBe(
      'deny',
    );
    expect(effect({ action: 'proposal.execute', resource: proposal('proposal_1') })).toBe('allow');
    expect(effect({ action: 'proposal.execute', resource: proposal('proposal_2') })).toBe('deny');
    // The requester is an entity only when it is the caller: following it depends on who asks.
    const gate = {
      type: 'Approval' as const,
      id: 'approval_1',
      requested_by: 'actor_1',
      workflow: 'workflow_1',
    };
    expect(effect({ action: 'approval.decide', resource: gate, principal: as('actor_1') })).toBe(
      'allow',
    );
    expect(effect({ action: 'approval.decide', resource: gate, principal: as('actor_2') })).toBe(
      'deny',
    );
    const review = { action: 'proposal.review' as const, resource: proposal('proposal_1') };
    expect(effect({ ...review, principal: as('actor_1') })).toBe('allow');
    expect(effect({ ...review, principal: as('actor_2') })).toBe('deny');
    expect(
      effect({ action: 'proposal.approve_own_edit', resource: { ...tool, risk: 'read' } }),
    ).toBe('allow');
    expect(effect({ action: 'proposal.approve_own_edit', resource: tool })).toBe('deny');
  });

  it('change with the policies: another set decides anew under its own version', () => {
    const reviewed = CedarPolicyEngine.fromText([
      {
        name: 'a.cedar',
        text: '@id("review") @approvals("1") permit(principal, action == Action::"proposal.create", resource);',
      },
    ]);
    const free = CedarPolicyEngine.fromText([
      {
        name: 'a.cedar',
        text: '@id("free") @approvals("0") permit(principal, action == Action::"proposal.create", resource);',
      },
    ]);
    expect(reviewed.decide(request)).toMatchObject({ effect: 'review' });
    expect(free.decide(request)).toMatchObject({ effect: 'allow' });
    expect(reviewed.decide(request)).toMatchObject({ effect: 'review' });
  });

  it('a cache shared across versions forgets what the old version decided', () => {
    const cache = new DecisionCache(10);
    let calls = 0;
    const decide = (effect: 'allow' | 'deny') => () => {
      calls += 1;
      return { effect, approvals: 0, roles: [], policy_version: 'v', reasons: [], errors: [] };
    };
    expect(cache.get('v1', 'request', decide('allow')).effect).toBe('allow');
    expect(cache.get('v1', 'request', decide('deny')).effect).toBe('allow');
    expect(cache.get('v2', 'request', decide('deny')).effect).toBe('deny');
    expect(calls).toBe(2);
    for (let i = 0; i < 20; i++) cache.get('v2', `request ${i}`, decide('deny'));
    expect(cache.size).toBe(10);
  });

  it('decide as the whole, schema-validated set decides, cached or not', () => {
    const tricky = CedarPolicyEngine.fromText([
      {
        name: 'tricky.cedar',
        text: `@id("wf") permit(principal, action == Action::"tool.invoke", resource) when { context has workflow_id && context.workflow_id like "workflow_1*" };
               @id("own") forbid(principal, action == Action::"proposal.review", resource) when { resource.proposer == principal };
               @id("rev") permit(principal, action in [Action::"proposal.review", Action::"proposal.execute"], resource) when { principal.roles.contains("DBA") || resource.tool == Tool::"noop" };
               @id("lit") permit(principal == Actor::"actor_2", action, resource);
               @id("inv") permit(principal, action == Action::"agent.invoke", resource) when { context has agent_invocation_id && context.agent_invocation_id like "*.1" };
               @id("ctx") forbid(principal, action, resource) when { context has local_operator && context.purpose == "forbidden" };
               @id("create") @approvals("2") @roles("DBA") permit(principal, action == Action::"proposal.create", resource) when { resource.risk != "read" };
               @id("deny-approval") forbid(principal, action == Action::"approval.decide", resource) when { resource.requested_by == principal };
               @id("allow-approval") permit(principal, action == Action::"approval.decide", resource);
               @id("services") permit(principal, action, resource) when { action != Action::"proposal.create" && principal.kind == "service" };
               @id("deref") permit(principal, action == Action::"proposal.execute", resource) when { resource.proposer.kind == "agent" };`,
      },
    ]);
    let seed = 42;
    const rnd = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const ids = ['actor_1', 'actor_2', 'actor_3', 'operator'];
    const risks = ['read', 'write', 'irreversible'] as const;
    const resourceFor = (action: PolicyRequest['action']): PolicyRequest['resource'] => {
      switch (action) {
        case 'proposal.create':
        case 'tool.invoke':
        case 'proposal.approve_own_edit':
          return { type: 'Tool', id: pick(['noop', 'drop_table']), risk: pick(risks) };
        case 'proposal.review':
        case 'proposal.execute':
          return {
            type: 'Proposal',
            id: pick(['proposal_1', 'proposal_2', 'proposal_3']),
            tool: pick(['noop', 'drop_table']),
            risk: pick(risks),
            proposer: pick(ids),
            workflow: pick(['workflow_1', 'workflow_2']),
          };
        case 'approval.decide':
          return {
            type: 'Approval',
            id: pick(['approval_1', 'approval_2']),
            requested_by: pick(ids),
            workflow: pick(['workflow_1', 'workflow_12']),
          };
        case 'agent.invoke':
          return { type: 'Agent', id: pick(['planner', 'writer']) };
        case 'workflow.read':
          return pick([
            { type: 'Workflow', id: pick(['workflow_1', 'workflow_2']) } as const,
            { type: 'Tenant', id: 'default' } as const,
          ]);
        default:
          return pick([
            { type: 'Tenant', id: 'default' } as const,
            // Outside the schema for most actions: validation must deny it.
            { type: 'Tool', id: 'noop', risk: 'write' } as const,
          ]);
      }
    };
    for (const engine of [CedarPolicyEngine.fromDirectory(), tricky]) {
      for (let n = 0; n < 400; n++) {
        const action = pick([
          'proposal.create',
          'proposal.review',
          'proposal.execute',
          'tool.invoke',
          'proposal.approve_own_edit',
          'approval.decide',
          'agent.invoke',
          'workflow.read',
          'workflow.start',
          'token.create',
        ] as const);
        const id = pick(ids);
        const r: PolicyRequest = {
          tenant_id: 'default',
          principal: {
            id,
            kind: id === 'operator' ? 'operator' : pick(['human', 'agent', 'service'] as const),
            roles: pick([['Developer'], ['DBA'], ['admin', 'DBA']]),
          },
          action,
          resource: resourceFor(action),
          purpose: pick(['tests', 'forbidden']),
          workflow_id: pick([undefined, '', 'workflow_1', 'workflow_12', 'workflow_2']),
          agent_invocation_id: pick([undefined, 'workflow_1.1', 'workflow_1.2']),
          local_operator: pick([undefined, false, true]),
        };
        const reference = engine.decideWholeSet(r);
        for (let twice = 0; twice < 2; twice++) {
          const d = engine.decide(r);
          expect({ r, effect: d.effect, approvals: d.approvals, roles: d.roles }).toEqual({
            r,
            effect: reference.effect,
            approvals: reference.approvals,
            roles: reference.roles,
          });
          expect(d.reasons).toEqual(reference.reasons);
          expect(d.errors.length > 0).toBe(reference.errors.length > 0);
        }
      }
    }
  });
});
