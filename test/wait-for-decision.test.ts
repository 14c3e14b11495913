/**
 * `wait_for_decision` on every door, against a real server on a real SQLite file: HTTP
 * (long-poll), MCP over Streamable HTTP, MCP over stdio (the built CLI in a child process, its
 * own connection to the database) and the CLI (local and --server). The agent blocks on its
 * proposal; a reviewer decides meanwhile (so the wait holds no write lock); the answer carries
 * the decision and the comment. The timeout answers pending. An agent cannot wait on another's
 * proposal, nor on another tenant's, and waiting decides nothing. Run `npm run build` first.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorContext } from '../src/core/context.js';
import { type Config, configFromEnv } from '../src/main/config.js';
import { type RunningServer, startServer } from '../src/main/serve.js';
import { callTool, fails, ok } from './support/mcp-client.js';

const CLI = path.resolve('bin/countersign.js');
const run = promisify(execFile);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-wait-'));
const config: Config = { ...configFromEnv({}), dataDir: dir, checkpointIntervalSeconds: 0 };
let server: RunningServer;
const t = { alice: '', bob: '', carol: '', globex: '' };
let workflow = '';
const clients: Client[] = [];

const api = async (method: string, url: string, token: string, body?: unknown) => {
  const res = await fetch(`${server.url}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      'x-purpose': 'wait test',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const propose = async (status: string) => {
  const r = await api('POST', '/proposals', t.alice, {
    workflow_id: workflow,
    actor_id: 'actor_1',
    tool: 'update_status',
    params: { status },
    reason: 'wait test',
  });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.proposal_id as string;
};
/** Bob decides after `ms`, while the caller waits. */
const decideLater = (proposal: string, decision: string, comment: string, ms = 400) =>
  new Promise<void>((resolve, reject) =>
    setTimeout(() => {
      api('POST', `/proposals/${proposal}/review`, t.bob, {
        reviewer_id: 'actor_2',
        decision,
        comment,
      }).then((r) => {
        if (r.status !== 200) reject(new Error(JSON.stringify(r.body)));
        else resolve();
      }, reject);
    }, ms),
  );
const ledgerHead = async () => (await server.kernel.verifyAudit(operatorContext('t'))).events;

beforeAll(async () => {
  server = await startServer(config, { port: 0 });
  const op = operatorContext('wait test setup');
  const k = server.kernel;
  await k.registerActor(op, { name: 'Alice', role: 'Developer', kind: 'agent' }); // actor_1
  await k.registerActor(op, { name: 'Bob', role: 'Senior Developer' }); // actor_2
  await k.registerActor(op, { name: 'Carol', role: 'Developer', kind: 'agent' }); // actor_3
  t.alice = (await k.createToken(op, { actor_id: 'actor_1', name: 'a' })).token;
  t.bob = (await k.createToken(op, { actor_id: 'actor_2', name: 'b' })).token;
  t.carol = (await k.createToken(op, { actor_id: 'actor_3', name: 'c' })).token;
  const g = operatorContext('wait test setup', 'globex');
  await k.registerActor(g, { name: 'Gina', role: 'Senior Developer', kind: 'agent' });
  t.globex = (await k.createToken(g, { actor_id: 'actor_1', name: 'g' })).token;
  workflow = (await api('POST', '/workflows', t.alice, { title: 'Wait' })).body
    .workflow_id as string;
});

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('wait_for_decision over HTTP (long-poll)', () => {
  it('blocks until the reviewer decides, then returns the decision and comment', async () => {
    const p = await propose('http');
    const started = Date.now();
    const [waited] = await Promise.all([
      api('GET', `/decisions/wait?proposal_id=${p}&timeout_seconds=20`, t.alice),
      decideLater(p, 'reject', 'not on a Friday'),
    ]);
    expect(waited.status).toBe(200);
    expect(waited.body).toMatchObject({
      proposal_id: p,
      status: 'rejected',
      timed_out: false,
      decision: { decision: 'reject', reviewer_id: 'actor_2', comment: 'not on a Friday' },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
  });

  it('returns an edit and a request for more information as decisions', async () => {
    const p = await propose('to edit');
    const [edited] = await Promise.all([
      api('GET', `/decisions/wait?proposal_id=${p}&timeout_seconds=20`, t.alice),
      new Promise<void>((resolve) =>
        setTimeout(() => {
          void api('POST', `/proposals/${p}/review`, t.bob, {
            reviewer_id: 'actor_2',
            decision: 'edit',
            edits: { params: { status: 'edited' } },
            comment: 'smaller',
          }).then(() => resolve());
        }, 300),
      ),
    ]);
    // The edit is a new version waiting for someone else's approval; the proposer hears of it.
    expect(edited.body).toMatchObject({
      status: 'pending',
      timed_out: false,
      version: 2,
      decision: { decision: 'edit', comment: 'smaller' },
    });
    const q = await propose('more info');
    const [info] = await Promise.all([
      api('GET', `/decisions/wait?proposal_id=${q}`, t.alice),
      decideLater(q, 'request_more_info', 'why?'),
    ]);
    expect(info.body).toMatchObject({ status: 'needs_info', decision: { comment: 'why?' } });
  });

  it('answers pending and timed_out on timeout, having decided and recorded nothing', async () => {
    const p = await propose('nobody decides');
    const before = await ledgerHead();
    const started = Date.now();
    const r = await api('GET', `/decisions/wait?proposal_id=${p}&timeout_seconds=1`, t.alice);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(r.body).toMatchObject({
      proposal_id: p,
      status: 'pending',
      timed_out: true,
      decision: null,
    });
    expect(await ledgerHead()).toBe(before);
    expect((await api('GET', `/proposals/${p}`, t.bob)).body).toMatchObject({
      proposal: { status: 'pending' },
      decisions: [],
    });
  });

  it('answers at once for a decided proposal, and refuses bad input with 400', async () => {
    const p = await propose('decided');
    await decideLater(p, 'approve', 'ok', 0);
    const started = Date.now();
    const r = await api('GET', `/decisions/wait?proposal_id=${p}&timeout_seconds=60`, t.alice);
    expect(r.body).toMatchObject({ status: 'approved', timed_out: false });
    expect(Date.now() - started).toBeLessThan(5000);
    for (const q of [
      '',
      `?proposal_id=${p}&approval_id=approval_1`,
      `?proposal_id=${p}&timeout_seconds=0`,
      `?proposal_id=${p}&timeout_seconds=301`,
      '?proposal_id=nope',
    ]) {
      const bad = await api('GET', `/decisions/wait${q}`, t.alice);
      expect(bad.status, q).toBe(400);
      expect(bad.body).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    }
  });

  it("reads another agent's proposal and another tenant's as not found", async () => {
    const p = await propose('alice only');
    const carol = await api('GET', `/decisions/wait?proposal_id=${p}&timeout_seconds=1`, t.carol);
    expect(carol.status).toBe(404);
    expect(carol.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const foreign = await api(
      'GET',
      `/decisions/wait?proposal_id=${p}&timeout_seconds=1`,
      t.globex,
    );
    expect(foreign.status).toBe(404);
    // A reviewer (a person) may wait on any proposal of the tenant, as they may read it.
    const bob = await api('GET', `/decisions/wait?proposal_id=${p}&timeout_seconds=1`, t.bob);
    expect(bob.body).toMatchObject({ status: 'pending', timed_out: true });
    expect((await api('GET', '/decisions/wait?approval_id=approval_99', t.bob)).status).toBe(404);
  });

  it('waits on a workflow gate by approval_id', async () => {
    const run = await server.services.engine.start(operatorContext('gate'), {
      definition: 'ops_change_control',
      input: {
        change_request: {
          title: 'Gate wait',
          summary: 'A change to wait on.',
          change_type: 'configuration',
          requested_by: 'wait test',
        },
        impacted_systems: [{ name: 'svc', criticality: 'low', environment: 'staging' }],
        requirements: { compliance: [] },
        change_window: { start: '2026-01-01T00:00:00Z', end: '2036-01-01T00:00:00Z' },
        parameters: { config_changes: [{ service: 'svc', key: 'k', from: null, to: 'v' }] },
      },
      idempotency_key: 'gate-wait',
    });
    const approval = run.waiting_on?.approval_id as string;
    expect(approval).toMatch(/^approval_/);
    const gate = await api('GET', `/approvals/${approval}`, t.bob);
    const roles = (gate.body.approval as { required_roles: string[] }).required_roles;
    const op = operatorContext('gate reviewer');
    const reviewer = await server.kernel.registerActor(op, {
      name: 'Rita',
      role: roles[0] ?? 'Senior Developer',
    });
    const rita = (await server.kernel.createToken(op, { actor_id: reviewer.actor_id, name: 'r' }))
      .token;
    const [waited] = await Promise.all([
      api('GET', `/decisions/wait?approval_id=${approval}&timeout_seconds=20`, t.bob),
      new Promise<void>((resolve) =>
        setTimeout(() => {
          void api('POST', `/approvals/${approval}/decision`, rita, {
            reviewer_id: reviewer.actor_id,
            decision: 'reject',
            comment: 'too risky',
          }).then((r) => {
            expect(r.status, JSON.stringify(r.body)).toBe(200);
            resolve();
          });
        }, 300),
      ),
    ]);
    expect(waited.body).toMatchObject({
      approval_id: approval,
      proposal_id: null,
      status: 'rejected',
      timed_out: false,
      decision: { decision: 'reject', comment: 'too risky' },
    });
  });
});

describe('wait_for_decision over MCP', () => {
  it('lets an agent block on its proposal over Streamable HTTP', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${t.alice}` } },
    });
    const client = new Client({ name: 'wait-test', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    const p = await propose('mcp http');
    const [result] = await Promise.all([
      callTool(client, 'wait_for_decision', { proposal_id: p, timeout_seconds: 20 }),
      decideLater(p, 'approve', 'go'),
    ]);
    expect(ok(result)).toMatchObject({ status: 'approved', decision: { comment: 'go' } });
    const timeout = ok(
      await callTool(client, 'wait_for_decision', {
        proposal_id: await propose('x'),
        timeout_seconds: 1,
      }),
    );
    expect(timeout).toMatchObject({ status: 'pending', timed_out: true });
    // Another agent's proposal: not found, as over HTTP.
    const carol = new Client({ name: 'wait-test-carol', version: '1.0.0' });
    await carol.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${t.carol}` } },
      }),
    );
    clients.push(carol);
    fails(
      await callTool(carol, 'wait_for_decision', { proposal_id: p, timeout_seconds: 1 }),
      'NOT_FOUND',
    );
  });

  it('lets an agent block on its proposal over stdio, woken by a decision another process commits', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'mcp', '--actor', 'actor_1'],
      env: { COUNTERSIGN_DATA_DIR: dir, PATH: process.env.PATH ?? '' },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'wait-stdio', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    const p = await propose('mcp stdio');
    const [result] = await Promise.all([
      callTool(client, 'wait_for_decision', { proposal_id: p, timeout_seconds: 30 }),
      decideLater(p, 'reject', 'stdio no', 1000),
    ]);
    expect(ok(result)).toMatchObject({
      proposal_id: p,
      status: 'rejected',
      decision: { comment: 'stdio no', reviewer_id: 'actor_2' },
    });
    fails(await callTool(client, 'wait_for_decision', { timeout_seconds: 1 }), 'VALIDATION_FAILED');
  });
});

describe('wait_for_decision on the CLI', () => {
  const env = {
    ...process.env,
    COUNTERSIGN_DATA_DIR: dir,
    COUNTERSIGN_SERVER: '',
    COUNTERSIGN_TOKEN: '',
  };

  it('waits against a server with --server and --token, as the token’s agent', async () => {
    const p = await propose('cli remote');
    const [out] = await Promise.all([
      run(
        process.execPath,
        [
          CLI,
          '--server',
          server.url,
          '--token',
          t.alice,
          'wait',
          '--proposal',
          p,
          '--timeout',
          '20',
          '--json',
        ],
        { env },
      ),
      decideLater(p, 'approve', 'cli ok', 800),
    ]);
    expect(JSON.parse(out.stdout)).toMatchObject({
      status: 'approved',
      decision: { comment: 'cli ok' },
    });
    const refused = await run(
      process.execPath,
      [CLI, '--server', server.url, '--token', t.carol, 'wait', '--proposal', p, '--timeout', '1'],
      { env },
    ).catch((e: { code: number; stderr: string }) => e);
    expect((refused as { code: number }).code).toBe(4);
  });

  it('waits on the local data directory and prints the timeout plainly', async () => {
    const p = await propose('cli local');
    const out = await run(process.execPath, [CLI, 'wait', '--proposal', p, '--timeout', '1'], {
      env,
    });
    expect(out.stdout).toContain(`${p}: pending (timed out: nobody decided yet)`);
    const [decided] = await Promise.all([
      run(process.execPath, [CLI, 'wait', '--proposal', p, '--timeout', '20'], { env }),
      decideLater(p, 'reject', 'local no', 1000),
    ]);
    expect(decided.stdout).toContain(`${p}: rejected`);
    expect(decided.stdout).toContain('latest decision: reject by actor_2 ("local no")');
  });
});
