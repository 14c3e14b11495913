/**
 * Exactly once under a crash: a write sent with an Idempotency-Key commits its answer in the
 * same transaction as the write itself. The store here "dies" right after the transaction that
 * committed the write (every later call fails, as if the process was killed before it could
 * answer or save anything else); a new process on the same database then gets the client's
 * retry, with the same key, and must replay the answer instead of writing again.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { CedarPolicyEngine } from '../src/adapters/policy/cedar-policy-engine.js';
import type { KyselyStore } from '../src/adapters/store/kysely-store.js';
import { Kernel } from '../src/core/kernel.js';
import type { NewEvent } from '../src/core/ledger.js';
import { ManualClock } from '../src/core/ports/clock.js';
import type { StoreTx } from '../src/core/ports/store.js';
import { staticToolRegistry } from '../src/core/ports/tools.js';
import { WorkflowOps } from '../src/core/workflow-ops.js';
import { createActivities } from '../src/engine/activities.js';
import { EmbeddedRuntime } from '../src/engine/embedded-runtime.js';
import { buildHttpApp } from '../src/surfaces/http/app.js';
import { createMcpServer, IDEMPOTENCY_META_KEY } from '../src/surfaces/mcp/server.js';
import { enginePolicyText, scriptedModels, testDefinition } from './support/engine-fixture.js';
import { STORES, ctx, testTools } from './support/kernel-fixture.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { tokenContext } from '../src/core/context.js';

/** A store that dies after the first commit whose ledger events include `killOn`. */
function mortal(inner: KyselyStore) {
  const state: { killOn: string | undefined; dead: boolean } = { killOn: undefined, dead: false };
  const store = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'transaction')
        return async <T>(work: (tx: StoreTx) => Promise<T>): Promise<T> => {
          if (state.dead) throw new Error('the process is dead');
          const types: string[] = [];
          const result = await target.transaction((tx) =>
            work(
              new Proxy(tx, {
                get(t, p) {
                  const v = Reflect.get(t, p, t) as unknown;
                  if (p === 'appendLedger')
                    return (e: NewEvent & { type: string }) => {
                      types.push(e.type);
                      return (v as (e: unknown) => Promise<void>).call(t, e);
                    };
                  return typeof v === 'function' ? (v as () => unknown).bind(t) : v;
                },
              }),
            ),
          );
          if (state.killOn && types.includes(state.killOn)) {
            state.dead = true;
            throw new Error(`killed right after committing ${state.killOn}`);
          }
          return result;
        };
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as () => unknown).bind(target) : v;
    },
  });
  return { store, state };
}

/** One "process": a kernel, the workflow engine and the HTTP app over `store`. */
function boot(store: KyselyStore) {
  const tools = testTools();
  const kernel = new Kernel({
    store,
    policy: CedarPolicyEngine.fromText([{ name: 'policies.cedar', text: enginePolicyText() }]),
    tools: staticToolRegistry(tools.tools),
    clock: new ManualClock('2026-03-01T00:00:00.000Z', 1000),
    newSecret: () => randomBytes(24).toString('base64url'),
  });
  const workflows = new WorkflowOps(kernel);
  const models = scriptedModels({
    drafter: (input) => ({ tables: input.tables ?? [], note: 'draft' }),
  });
  const engine = new EmbeddedRuntime({
    ops: workflows,
    activities: createActivities({ ops: workflows, kernel, models }),
    definitions: [testDefinition()],
    timers: false,
  });
  const services = { kernel, workflows, engine };
  return { kernel, engine, services, app: buildHttpApp(services), tools };
}

type Booted = ReturnType<typeof boot>;

async function send(
  app: FastifyInstance,
  method: 'POST' | 'GET',
  url: string,
  token: string,
  body?: object,
  headers: Record<string, string> = {},
) {
  const res = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, 'x-purpose': 'crash test', ...headers },
    ...(body ? { payload: body } : {}),
  });
  return {
    status: res.statusCode,
    replayed: res.headers['idempotent-replayed'] === 'true',
    body: JSON.parse(res.body) as Record<string, unknown>,
  };
}

for (const factory of STORES) {
  describe(`a write retried after a crash that followed its commit (${factory.name})`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c();
    });

    async function setup() {
      const { store: inner, cleanup } = await factory.open();
      cleanups.push(cleanup);
      const { store, state } = mortal(inner);
      const first = boot(store);
      cleanups.push(() => first.engine.close());
      const k = first.kernel;
      const id = async (name: string, role: string, kind: 'human' | 'agent') =>
        (await k.registerActor(ctx, { name, role, kind })).actor_id;
      const agent = await id('Agent', 'Developer', 'agent');
      const bob = await id('Bob', 'Senior Developer', 'human');
      const token = async (actor_id: string) =>
        (await k.createToken(ctx, { actor_id, name: actor_id })).token;
      const tokens = { agent: await token(agent), bob: await token(bob) };
      const { workflow_id } = await k.startWorkflow(ctx, { title: 'crash test' });
      /** The process dies; a new one starts on the same database. */
      const restart = (): Booted => {
        state.dead = false;
        state.killOn = undefined;
        const next = boot(inner);
        cleanups.push(() => next.engine.close());
        return next;
      };
      return { first, state, tokens, workflow_id, agent, bob, restart };
    }

    it('a proposal is applied once and the retry replays its answer', async () => {
      const s = await setup();
      const propose = {
        workflow_id: s.workflow_id,
        tool: 'write_record',
        params: { table: 'users' },
        reason: 'crash test',
      };
      const key = { 'idempotency-key': 'propose-1' };
      s.state.killOn = 'ACTION_PROPOSED';
      const lost = await send(s.first.app, 'POST', '/proposals', s.tokens.agent, propose, key);
      expect(lost.status).toBe(500); // the client never saw an answer
      expect(s.state.dead).toBe(true);

      const second = s.restart();
      const retry = await send(second.app, 'POST', '/proposals', s.tokens.agent, propose, key);
      expect(retry).toMatchObject({
        status: 200,
        replayed: true,
        body: { proposal_id: 'proposal_1', status: 'pending' },
      });
      const { reviews } = await second.kernel.listPendingReviews(ctx, {});
      expect(reviews.map((r) => r.proposal_id)).toEqual(['proposal_1']);
      // The same key with another request is still refused, not run.
      const other = await send(
        second.app,
        'POST',
        '/proposals',
        s.tokens.agent,
        { ...propose, params: { table: 'orders' } },
        key,
      );
      expect(other).toMatchObject({
        status: 422,
        body: { error: { code: 'IDEMPOTENCY_KEY_REUSED' } },
      });
      expect((await second.kernel.listPendingReviews(ctx, {})).reviews).toHaveLength(1);
    });

    it('a decision is recorded once and the retry replays it instead of DUPLICATE_DECISION', async () => {
      const s = await setup();
      const proposed = await send(s.first.app, 'POST', '/proposals', s.tokens.agent, {
        workflow_id: s.workflow_id,
        tool: 'write_record',
        params: { table: 'users' },
        reason: 'crash test',
      });
      const id = proposed.body.proposal_id as string;
      const review = { decision: 'approve', comment: 'ok' };
      const key = { 'idempotency-key': 'approve-1' };
      s.state.killOn = 'APPROVAL_DECISION';
      const url = `/proposals/${id}/review`;
      expect((await send(s.first.app, 'POST', url, s.tokens.bob, review, key)).status).toBe(500);

      const second = s.restart();
      const retry = await send(second.app, 'POST', url, s.tokens.bob, review, key);
      expect(retry).toMatchObject({ status: 200, replayed: true, body: { status: 'approved' } });
      const view = await second.kernel.getProposal(ctx, { proposal_id: id });
      expect(view.decisions).toHaveLength(1);
      // Executed once, whatever the retries.
      const exec = { 'idempotency-key': 'execute-1' };
      const ran = await send(
        second.app,
        'POST',
        `/proposals/${id}/execute`,
        s.tokens.agent,
        {},
        exec,
      );
      const again = await send(
        second.app,
        'POST',
        `/proposals/${id}/execute`,
        s.tokens.agent,
        {},
        exec,
      );
      expect(ran.status).toBe(200);
      expect(again).toMatchObject({ status: 200, replayed: true, body: ran.body });
      expect(second.tools.calls.filter((c) => c.tool === 'write_record')).toHaveLength(1);
    });

    it("a gate's decision is recorded once; the retry answers with the run as it is now", async () => {
      const s = await setup();
      const started = await send(s.first.app, 'POST', '/workflows/start', s.tokens.bob, {
        definition: 'test_flow',
        input: { tables: ['users'] },
        idempotency_key: 'run-1',
      });
      expect(started).toMatchObject({ status: 200, body: { status: 'waiting' } });
      const run_id = started.body.workflow_id as string;
      const { approvals } = (
        await send(s.first.app, 'GET', `/approvals/pending?workflow_id=${run_id}`, s.tokens.bob)
      ).body as { approvals: { id: string }[] };
      const approval_id = approvals[0]!.id;
      // A person who did not request the gate decides it.
      const carol = (
        await s.first.kernel.registerActor(ctx, { name: 'Carol', role: 'DevOps Engineer' })
      ).actor_id;
      const carolToken = (await s.first.kernel.createToken(ctx, { actor_id: carol, name: 'carol' }))
        .token;
      const url = `/approvals/${approval_id}/decision`;
      const key = { 'idempotency-key': 'gate-1' };
      s.state.killOn = 'APPROVAL_DECISION';
      expect(
        (await send(s.first.app, 'POST', url, carolToken, { decision: 'approve' }, key)).status,
      ).toBe(500);

      const second = s.restart();
      await second.engine.resume();
      const retry = await send(second.app, 'POST', url, carolToken, { decision: 'approve' }, key);
      expect(retry).toMatchObject({
        status: 200,
        replayed: true,
        body: {
          approval: { id: approval_id, status: 'approved' },
          decision: { reviewer_id: carol, decision: 'approve' },
          run: { workflow_id: run_id, status: 'completed' },
        },
      });
      const { decisions } = await second.services.workflows.getApproval(ctx, approval_id);
      expect(decisions).toHaveLength(1);
    });
  });
}

describe('idempotency keys over MCP', () => {
  it('a tool call with a key in _meta runs once; the retry answers the same', async () => {
    const { store, cleanup } = await STORES[0]!.open();
    const b = boot(store);
    try {
      const agent = (
        await b.kernel.registerActor(ctx, { name: 'A', role: 'Developer', kind: 'agent' })
      ).actor_id;
      const { workflow_id } = await b.kernel.startWorkflow(ctx, { title: 'mcp' });
      const auth = await b.kernel.authenticate(
        (await b.kernel.createToken(ctx, { actor_id: agent, name: 'a' })).token,
      );
      const server = createMcpServer(b.services, () => tokenContext(auth, 'mcp test'));
      const [a, z] = InMemoryTransport.createLinkedPair();
      await server.connect(z);
      const client = new Client({ name: 't', version: '1' });
      await client.connect(a);
      const call = (table: string) =>
        client.callTool({
          name: 'propose_action',
          arguments: { workflow_id, tool: 'write_record', params: { table }, reason: 'r' },
          _meta: { [IDEMPOTENCY_META_KEY]: 'mcp-1' },
        });
      const first = await call('users');
      const second = await call('users');
      expect(first.isError).toBeFalsy();
      expect(second.structuredContent).toEqual(first.structuredContent);
      expect((await b.kernel.listPendingReviews(ctx, {})).reviews).toHaveLength(1);
      const reused = await call('orders');
      expect(reused).toMatchObject({ isError: true });
      expect(JSON.stringify(reused.content)).toContain('IDEMPOTENCY_KEY_REUSED');
      await client.close();
    } finally {
      await b.engine.close();
      await cleanup();
    }
  });
});

describe('idempotency records are bounded', () => {
  it('expire after the retention period, and answers over the size cap keep a note', async () => {
    const { store, cleanup } = await STORES[0]!.open();
    const clock = new ManualClock('2026-03-01T00:00:00.000Z', 1000);
    const tools = testTools();
    const kernel = new Kernel({
      store,
      policy: CedarPolicyEngine.fromText([{ name: 'policies.cedar', text: enginePolicyText() }]),
      tools: staticToolRegistry(tools.tools),
      clock,
      newSecret: () => randomBytes(24).toString('base64url'),
      idempotencyRetentionSeconds: 3600,
    });
    const workflows = new WorkflowOps(kernel);
    const engine = new EmbeddedRuntime({
      ops: workflows,
      activities: createActivities({ ops: workflows, kernel, models: scriptedModels({}) }),
      definitions: [],
      timers: false,
    });
    const app = buildHttpApp({ kernel, workflows, engine }, { maxKeptBytes: 100 });
    try {
      const agent = (
        await kernel.registerActor(ctx, { name: 'A', role: 'Developer', kind: 'agent' })
      ).actor_id;
      const token = (await kernel.createToken(ctx, { actor_id: agent, name: 'a' })).token;
      const { workflow_id } = await kernel.startWorkflow(ctx, { title: 'bounded' });
      const propose = (table: string) =>
        send(
          app,
          'POST',
          '/proposals',
          token,
          {
            workflow_id,
            tool: 'write_record',
            params: { table },
            reason: 'r',
          },
          { 'idempotency-key': 'k-1' },
        );
      const first = await propose('users');
      expect(first.body).toMatchObject({ proposal_id: 'proposal_1', status: 'pending' });
      // The answer (with its 64-hex hash) is over 100 bytes: the replay says so, and runs nothing.
      const replay = await propose('users');
      expect(replay).toMatchObject({
        status: 200,
        replayed: true,
        body: { replay_truncated: true },
      });
      expect(String(replay.body.note)).toContain('larger than the 100 bytes');
      // Within the retention period the key stays bound to its request…
      expect((await propose('orders')).body).toMatchObject({
        error: { code: 'IDEMPOTENCY_KEY_REUSED' },
      });
      // …and after it, the record is gone and the key is free again.
      clock.advance(3601 * 1000);
      const fresh = await propose('orders');
      expect(fresh).toMatchObject({
        status: 200,
        replayed: false,
        body: { proposal_id: 'proposal_2' },
      });
      expect(await kernel.purgeResponses()).toBe(0);
    } finally {
      await engine.close();
      await cleanup();
    }
  });
});

describe('idempotency settings', () => {
  it('read from the environment, with defaults and clear errors', async () => {
    const { configFromEnv } = await import('../src/main/config.js');
    expect(configFromEnv({})).toMatchObject({
      idempotencyRetentionSeconds: 86400,
      idempotencyMaxBytes: 262144,
    });
    expect(
      configFromEnv({
        COUNTERSIGN_IDEMPOTENCY_RETENTION_SECONDS: '600',
        COUNTERSIGN_IDEMPOTENCY_MAX_BYTES: '4096',
      }),
    ).toMatchObject({ idempotencyRetentionSeconds: 600, idempotencyMaxBytes: 4096 });
    expect(() => configFromEnv({ COUNTERSIGN_IDEMPOTENCY_RETENTION_SECONDS: '5' })).toThrow(
      /COUNTERSIGN_IDEMPOTENCY_RETENTION_SECONDS must be a whole number of seconds, at least 60, not "5"/,
    );
    expect(() => configFromEnv({ COUNTERSIGN_IDEMPOTENCY_MAX_BYTES: 'lots' })).toThrow(
      /COUNTERSIGN_IDEMPOTENCY_MAX_BYTES must be a whole number of bytes/,
    );
  });
});
