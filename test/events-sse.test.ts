/**
 * `GET /events` over real HTTP: a fetch-based SSE client reads the stream of a real server on
 * a real SQLite file. Events carry the ledger seq as their id; a client that comes back after a
 * server restart with Last-Event-ID gets every event it missed, including those another
 * process committed while the server was down. An agent sees only its own work, never another
 * tenant's events, and event data is redacted.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorContext } from '../src/core/context.js';
import { EventFeed } from '../src/core/events.js';
import { openCore, openRuntime } from '../src/main/compose.js';
import { type Config, configFromEnv } from '../src/main/config.js';
import { type RunningServer, startServer } from '../src/main/serve.js';
import { buildHttpApp } from '../src/surfaces/http/app.js';
import { eventsRoute } from '../src/surfaces/http/events-route.js';
import { type SseStream, dataOf, openSse } from './support/sse-client.js';

interface Wire {
  seq: number;
  type: string;
  actor: string;
  workflow_id: string | null;
  data: Record<string, unknown>;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-events-sse-'));
const config: Config = { ...configFromEnv({}), dataDir: dir, checkpointIntervalSeconds: 0 };
let server: RunningServer;
const t = { alice: '', bob: '', carol: '', globex: '' };
let workflow = '';
const streams: SseStream[] = [];

const open = async (query: string, token: string, headers: Record<string, string> = {}) => {
  const s = await openSse(`${server.url}/events${query}`, {
    authorization: `Bearer ${token}`,
    ...headers,
  });
  streams.push(s);
  return s;
};
const api = async (method: string, url: string, token: string, body?: unknown) => {
  const res = await fetch(`${server.url}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      'x-purpose': 'events test',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const propose = async (token: string, actor: string, status: string) => {
  const r = await api('POST', '/proposals', token, {
    workflow_id: workflow,
    actor_id: actor,
    tool: 'update_status',
    params: { status },
    reason: 'events test',
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.proposal_id as string;
};

beforeAll(async () => {
  server = await startServer(config, { port: 0 });
  const op = operatorContext('events test setup');
  const k = server.kernel;
  await k.registerActor(op, { name: 'Alice', role: 'Developer', kind: 'agent' }); // actor_1
  await k.registerActor(op, { name: 'Bob', role: 'Senior Developer' }); // actor_2
  await k.registerActor(op, { name: 'Carol', role: 'Developer', kind: 'agent' }); // actor_3
  t.alice = (await k.createToken(op, { actor_id: 'actor_1', name: 'a' })).token;
  t.bob = (await k.createToken(op, { actor_id: 'actor_2', name: 'b' })).token;
  t.carol = (await k.createToken(op, { actor_id: 'actor_3', name: 'c' })).token;
  const g = operatorContext('events test setup', 'globex');
  await k.registerActor(g, { name: 'Gina', role: 'Senior Developer' });
  t.globex = (await k.createToken(g, { actor_id: 'actor_1', name: 'g' })).token;
  workflow = (await api('POST', '/workflows', t.alice, { title: 'Events' })).body
    .workflow_id as string;
});

afterAll(async () => {
  for (const s of streams) s.close();
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('GET /events', () => {
  it('pushes the inbox to a reviewer as it changes, with the ledger seq as event id', async () => {
    const inbox = await open('?inbox=true', t.bob);
    expect(inbox.status).toBe(200);
    expect(inbox.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const p = await propose(t.alice, 'actor_1', 'inbox');
    await inbox.until((es) => dataOf<Wire>(es).some((e) => e.type === 'APPROVAL_REQUESTED'));
    await api('POST', `/proposals/${p}/review`, t.bob, {
      reviewer_id: 'actor_2',
      decision: 'approve',
      comment: 'fine',
    });
    await inbox.until((es) => dataOf<Wire>(es).some((e) => e.type === 'APPROVAL_DECISION'));
    const got = dataOf<Wire>(inbox.events);
    // Only inbox events, in order, each id its seq.
    expect(got.map((e) => e.type)).toEqual(['APPROVAL_REQUESTED', 'APPROVAL_DECISION']);
    expect(got[1]!.data).toMatchObject({ proposal_id: p, decision: 'approve', comment: 'fine' });
    for (const e of inbox.events.filter((x) => x.data))
      expect(Number(e.id)).toBe((JSON.parse(e.data!) as Wire).seq);
    const ledger = await server.kernel.getAuditLog(operatorContext('t'), { workflow_id: workflow });
    const decision = ledger.entries.find((e) => e.type === 'APPROVAL_DECISION')!;
    expect(got[1]!.seq).toBe(decision.seq);
    expect(got[1]).not.toHaveProperty('hash');
  });

  it('redacts secrets in event data', async () => {
    const s = await open(`?workflow_id=${workflow}`, t.bob);
    const p = await propose(t.alice, 'actor_1', 'rotate: password=hunter2hunter2 now');
    await s.until((es) => dataOf<Wire>(es).some((e) => e.data.proposal_id === p));
    const text = s.events.map((e) => e.data ?? '').join('\n');
    expect(text).not.toContain('hunter2hunter2');
    expect(text).toContain('[REDACTED:secret]');
  });

  it('shows an agent only its own work, and names nobody else’s as found', async () => {
    const carol = await open('', t.carol);
    const alice = await open('', t.alice);
    const alicesOwn = await propose(t.alice, 'actor_1', 'alice only');
    await alice.until((es) => dataOf<Wire>(es).some((e) => e.data.proposal_id === alicesOwn));
    // Carol's own proposal comes through; Alice's never did (Carol started no workflow here).
    const wCarol = (await api('POST', '/workflows', t.carol, { title: 'Carol' })).body
      .workflow_id as string;
    await carol.until((es) => dataOf<Wire>(es).some((e) => e.workflow_id === wCarol));
    expect(dataOf<Wire>(carol.events).some((e) => e.data.proposal_id === alicesOwn)).toBe(false);
    expect(
      dataOf<Wire>(carol.events).every((e) => e.actor === 'actor_3' || e.workflow_id === wCarol),
    ).toBe(true);
    // Naming Alice's proposal or workflow: not found, as a foreign tenant's would be.
    for (const q of [`?proposal_id=${alicesOwn}`, `?workflow_id=${workflow}`]) {
      const refused = await open(q, t.carol);
      expect(refused.status).toBe(404);
      expect(refused.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
  });

  it('never sends another tenant’s events, and reads its IDs as not found', async () => {
    const g = await open('', t.globex);
    const marker = await propose(t.alice, 'actor_1', 'default tenant only');
    // The default tenant's stream has moved past the marker; globex's saw nothing of it.
    const b = await open(`?proposal_id=${marker}&after=0`, t.bob);
    await b.until((es) => dataOf<Wire>(es).some((e) => e.type === 'APPROVAL_REQUESTED'));
    await new Promise((r) => setTimeout(r, 400));
    expect(dataOf(g.events)).toEqual([]);
    const foreign = await open(`?proposal_id=${marker}`, t.globex);
    expect(foreign.status).toBe(404);
    const noToken = await openSse(`${server.url}/events`);
    expect(noToken.status).toBe(401);
  });

  it('refuses bad filters and start points with 400', async () => {
    for (const q of [
      '?proposal_id=nope',
      '?inbox=maybe',
      '?after=-1',
      '?colour=red',
      '?after=1&after=2',
    ]) {
      const s = await open(q, t.bob);
      expect(s.status, q).toBe(400);
      expect(s.body).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    }
    const s = await open('', t.bob, { 'last-event-id': 'x' });
    expect(s.status).toBe(400);
  });

  it('caps concurrent streams per token with a 429, and frees a slot on disconnect', async () => {
    for (const s of streams.splice(0)) s.close();
    const feed = EventFeed.of(server.kernel.r.store);
    const until = async (pred: () => boolean) => {
      const deadline = Date.now() + 5000;
      while (!pred()) {
        if (Date.now() > deadline) throw new Error('not freed');
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    await until(() => feed.size === 0);
    const eight: SseStream[] = [];
    for (let i = 0; i < 8; i++) eight.push(await open('', t.bob));
    expect(eight.every((s) => s.status === 200)).toBe(true);
    const ninth = await open('', t.bob);
    expect(ninth.status).toBe(429);
    expect(ninth.body).toMatchObject({ error: { code: 'RATE_LIMITED', retryable: true } });
    // Another token is not affected.
    expect((await open('', t.alice)).status).toBe(200);
    eight[0]!.close();
    await until(() => feed.size === 8);
    let again: SseStream | undefined;
    const deadline = Date.now() + 5000;
    while (!again || again.status !== 200) {
      if (Date.now() > deadline) throw new Error('slot not freed');
      again = await open('', t.bob);
    }
    for (const s of streams.splice(0)) s.close();
    await until(() => feed.size === 0);
  });

  it('resumes after a restart from Last-Event-ID: no event lost, none repeated', async () => {
    const s = await open('?after=0', t.bob);
    const head = (await server.kernel.verifyAudit(operatorContext('t'))).events;
    await s.until((es) => es.length > 0 && Number(es.at(-1)!.id) >= head);
    // Another process commits while this server runs: the stream still sees it.
    const other = await openCore(config);
    const w2 = await other.kernel.startWorkflow(operatorContext('other process'), {
      title: 'Other',
    });
    await s.until((es) => dataOf<Wire>(es).some((e) => e.workflow_id === w2.workflow_id));
    const lastSeen = s.lastId()!;
    s.close();
    await server.close();
    // While the server is down, the other process records more.
    const whileDown = await other.kernel.startWorkflow(operatorContext('other process'), {
      title: 'While down',
    });
    await other.kernel.proposeAction(operatorContext('other process'), {
      workflow_id: whileDown.workflow_id,
      actor_id: 'actor_1',
      tool: 'update_status',
      params: { status: 'while down' },
      reason: 'r',
    });
    await other.close();
    server = await startServer(config, { port: 0 });
    const resumed = await open('', t.bob, { 'last-event-id': lastSeen });
    const ledger = await server.kernel.r.store.read((tx) =>
      tx.listLedger('default', { after_seq: Number(lastSeen) }),
    );
    expect(ledger.length).toBeGreaterThanOrEqual(3);
    await resumed.until((es) => dataOf(es).length >= ledger.length);
    expect(dataOf<Wire>(resumed.events).map((e) => e.seq)).toEqual(ledger.map((e) => e.seq));
    expect(dataOf<Wire>(resumed.events).map((e) => e.type)).toEqual(ledger.map((e) => e.type));
  });

  it('ends open streams when the server stops, so it stops promptly', async () => {
    const s = await open('', t.bob);
    const started = Date.now();
    await server.close();
    await s.closed;
    expect(Date.now() - started).toBeLessThan(5000);
    server = await startServer(config, { port: 0 });
  });
});

describe('GET /events heartbeats', () => {
  it('sends a heartbeat comment while idle, and ends the stream of a revoked token', async () => {
    const hbDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-events-hb-'));
    const rt = await openRuntime({ ...config, dataDir: hbDir });
    const app = buildHttpApp(rt.services, {
      extraRoutes: (a) => eventsRoute(rt.services, { heartbeatMs: 100 })(a),
    });
    try {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.server.address() as { port: number };
      const op = operatorContext('heartbeat test');
      await rt.kernel.registerActor(op, { name: 'Hal', role: 'Developer' });
      const tok = await rt.kernel.createToken(op, { actor_id: 'actor_1', name: 'h' });
      const s = await openSse(`http://127.0.0.1:${port}/events`, {
        authorization: `Bearer ${tok.token}`,
      });
      expect(s.status).toBe(200);
      const deadline = Date.now() + 5000;
      while (s.comments.filter((c) => c === 'heartbeat').length < 2) {
        if (Date.now() > deadline) throw new Error(`no heartbeats: ${JSON.stringify(s.comments)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      await rt.kernel.revokeToken(op, { token_id: tok.token_id });
      await s.closed; // the next heartbeat finds the token revoked and ends the stream
    } finally {
      await app.close();
      await rt.close();
      fs.rmSync(hbDir, { recursive: true, force: true });
    }
  });
});
