/**
 * What the approval console needs from the server, over real HTTP: the console's reads
 * (who_am_i, list_ledger, plan_action) as ordinary catalogue routes, the built console served
 * at `/` beside the API, and `serve --demo`'s sample data. Run `npm run build` first (the
 * console's static files come from dist/console).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorContext } from '../src/core/context.js';
import { openRuntime } from '../src/main/compose.js';
import { configFromEnv } from '../src/main/config.js';
import { demoBanner, seedConsoleDemo } from '../src/main/console-demo.js';
import { type RunningServer, startServer } from '../src/main/serve.js';

const dirs: string[] = [];
const tmp = (name: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `cs-console-api-${name}-`));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('the console reads over HTTP', () => {
  let server: RunningServer;
  let bob: string;
  let alice: string;
  const get = async (url: string, token: string) => {
    const res = await fetch(`${server.url}${url}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    server = await startServer({ ...configFromEnv({}), dataDir: tmp('reads') }, { port: 0 });
    const op = operatorContext('console api test');
    const k = server.kernel;
    const a = await k.registerActor(op, { name: 'Alice', role: 'Developer' });
    const b = await k.registerActor(op, { name: 'Bob', role: 'Senior Developer' });
    alice = (await k.createToken(op, { actor_id: a.actor_id, name: 'a' })).token;
    bob = (await k.createToken(op, { actor_id: b.actor_id, name: 'b' })).token;
    const w = await k.startWorkflow(op, { title: 'W' });
    await k.proposeAction(op, {
      workflow_id: w.workflow_id,
      actor_id: a.actor_id,
      tool: 'update_status',
      params: { status: 'planned' },
      reason: 'r',
    });
  });
  afterAll(() => server.close());

  it('who_am_i names the token’s actor and roles, and the operator as operator', async () => {
    expect((await get('/me', bob)).body).toEqual({
      tenant_id: 'default',
      kind: 'actor',
      actor_id: 'actor_2',
      name: 'Bob',
      roles: ['Senior Developer'],
      principal_kind: 'human',
      token_id: expect.stringMatching(/^token_\d+$/) as unknown,
      // Under the default policies an actor starts runs and activates plans, nothing more.
      may: ['start_workflow_run', 'activate_plan'],
    });
    expect((await get('/me', server.adminToken!)).body).toMatchObject({
      kind: 'operator',
      roles: ['operator'],
      may: [
        'start_workflow_run',
        'activate_plan',
        'register_actor',
        'set_actor_role',
        'set_policy',
        'create_token',
      ],
    });
    expect((await get('/me', 'cs_unknown_token_000000000')).status).toBe(401);
  });

  it('list_actors names who the IDs stand for, filters by kind, and refuses without a token', async () => {
    const all = await get('/actors', alice);
    expect(all.status).toBe(200);
    expect(
      (all.body as { actors: { actor_id: string; name: string; role: string; kind: string }[] })
        .actors,
    ).toMatchObject([
      { actor_id: 'actor_1', name: 'Alice', role: 'Developer', kind: 'human' },
      { actor_id: 'actor_2', name: 'Bob', role: 'Senior Developer', kind: 'human' },
    ]);
    expect(JSON.stringify(all.body)).not.toMatch(/cs_|token/);
    expect((await get('/actors?kind=agent', bob)).body).toEqual({ actors: [] });
    expect((await get('/actors?kind=robot', bob)).status).toBe(400);
    expect((await get('/actors', 'cs_unknown_token_000000000')).status).toBe(401);
  });

  it('plan_action returns the dry-run plan bound to the current hash, and runs nothing', async () => {
    const before = (await server.kernel.verifyAudit(operatorContext('t'))).events;
    const { status, body } = await get('/proposals/proposal_1/plan', bob);
    expect(status).toBe(200);
    const proposal = (await get('/proposals/proposal_1', bob)).body as {
      final_tool_call: { hash: string };
    };
    expect(body).toMatchObject({
      proposal_id: 'proposal_1',
      version: 1,
      tool: 'update_status',
      risk: 'write',
      hash: proposal.final_tool_call.hash,
    });
    expect(JSON.stringify(body.plan)).toContain('planned');
    expect((await server.kernel.verifyAudit(operatorContext('t'))).events).toBe(before);
    expect((await get('/proposals/proposal_1', bob)).body).toMatchObject({
      proposal: { status: 'pending' },
      executions: [],
    });
  });

  it('plan_action refuses bad and unknown IDs with codes, not 500s', async () => {
    const bad = await get('/proposals/nope/plan', bob);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    const missing = await get('/proposals/proposal_999/plan', bob);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('list_ledger pages through the tenant ledger and records each read', async () => {
    const first = (await get('/audit/ledger?limit=3', alice)).body as {
      entries: { seq: number }[];
      next_after_seq: number | null;
    };
    expect(first.entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(first.next_after_seq).toBe(3);
    const rest = (await get('/audit/ledger?after_seq=3&limit=1000', alice)).body as {
      entries: { seq: number; type: string; data: Record<string, unknown> }[];
      next_after_seq: number | null;
    };
    expect(rest.entries[0]?.seq).toBe(4);
    expect(rest.next_after_seq).toBeNull();
    // The first page's read is in the ledger now, with its scope.
    expect(rest.entries.at(-1)).toMatchObject({
      type: 'AUDIT_LOG_READ',
      data: { scope: 'tenant', entries: 3 },
    });
    expect((await server.kernel.verifyAudit(operatorContext('t'))).ok).toBe(true);
    for (const q of ['limit=0', 'limit=1001', 'after_seq=-1', 'limit=abc', 'bogus=1']) {
      const r = await get(`/audit/ledger?${q}`, alice);
      expect(r.status, q).toBe(400);
      expect(r.body, q).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    }
  });

  it('lists the console operations in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    expect(doc.paths['/me']?.get?.operationId).toBe('who_am_i');
    expect(doc.paths['/audit/ledger']?.get?.operationId).toBe('list_ledger');
    expect(doc.paths['/proposals/{proposal_id}/plan']?.get?.operationId).toBe('plan_action');
  });
});

describe('the console beside the API', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(
      { ...configFromEnv({}), dataDir: tmp('static') },
      {
        port: 0,
        temporalUiUrl: 'http://localhost:8233/namespaces/default/workflows/{workflow_id}',
      },
    );
  });
  afterAll(() => server.close());
  /** GET `url`, body read (an unread body would hold the connection open at close). */
  const get = async (url: string) => {
    const res = await fetch(`${server.url}${url}`);
    await res.arrayBuffer();
    return res;
  };

  it('serves the built console at / and its assets, without touching the API routes', async () => {
    const index = await fetch(`${server.url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    const html = await index.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${server.url}${asset!}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect((await js.text()).length).toBeGreaterThan(1000);
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ ok: true });
    const openapi = await fetch(`${server.url}/openapi.json`);
    expect(openapi.status).toBe(200);
    await openapi.arrayBuffer(); // an unread body would hold the connection open at close
    const unknown = await fetch(`${server.url}/assets/nothing-here.js`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const wrongMethod = await fetch(`${server.url}/proposals`);
    expect(wrongMethod.status).toBe(405);
    await wrongMethod.arrayBuffer();
  });

  it('sends the console with its Content-Security-Policy, and nosniff on every answer', async () => {
    const index = await fetch(`${server.url}/`);
    const html = await index.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.map((a) => path.extname(a)).sort()).toEqual(['.css', '.js']);
    for (const res of [
      index,
      ...(await Promise.all([...assets, '/index.html', '/console-config.json'].map(get))),
    ]) {
      expect(res.status, res.url).toBe(200);
      expect(res.headers.get('content-security-policy'), res.url).toBe(
        "default-src 'self'; img-src 'self'; frame-ancestors 'none'",
      );
      expect(res.headers.get('x-content-type-options'), res.url).toBe('nosniff');
    }
    // The console's HTML has no inline script or style for the policy to block.
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>|<style|\sstyle=/);
    // API answers, errors and MCP included: nosniff everywhere, the console's policy not needed.
    const answers = [
      await get('/healthz'),
      await get('/openapi.json'),
      await get('/assets/nothing-here.js'),
      await get('/proposals'),
      await fetch(`${server.url}/me`, {
        headers: { authorization: 'Bearer cs_nope_nope_nope_nope' },
      }),
      // MCP answers on the raw response, past Fastify's reply.
      await fetch(`${server.url}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${server.adminToken!}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'headers-test', version: '1' },
          },
        }),
      }),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 200, 404, 405, 401, 200]);
    await Promise.all(answers.map((r) => r.arrayBuffer().catch(() => undefined)));
    for (const res of answers)
      expect(res.headers.get('x-content-type-options'), res.url).toBe('nosniff');
  });

  it('gives the console its Temporal UI link template', async () => {
    expect(await (await fetch(`${server.url}/console-config.json`)).json()).toEqual({
      temporal_ui_url: 'http://localhost:8233/namespaces/default/workflows/{workflow_id}',
    });
  });
});

describe('a server whose console is not built', () => {
  it('says so at /, with the console headers', async () => {
    const server = await startServer(
      { ...configFromEnv({}), dataDir: tmp('unbuilt') },
      { port: 0, consoleDir: tmp('empty-console') },
    );
    try {
      const res = await fetch(`${server.url}/`);
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('npm run build');
      expect(res.headers.get('content-security-policy')).toBe(
        "default-src 'self'; img-src 'self'; frame-ancestors 'none'",
      );
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    } finally {
      await server.close();
    }
  });
});

describe('serve --demo sample data', () => {
  it('seeds people with tokens, a pending proposal and a run at its risk gate, on a verifiable ledger', async () => {
    const base = tmp('demo');
    fs.mkdirSync(path.join(base, 'console-demo'), { recursive: true });
    fs.writeFileSync(path.join(base, 'console-demo', 'stale.txt'), 'old');
    const demo = await seedConsoleDemo({ ...configFromEnv({}), dataDir: base });
    expect(demo.config.dataDir).toBe(path.join(base, 'console-demo'));
    expect(fs.existsSync(path.join(base, 'console-demo', 'stale.txt'))).toBe(false);
    expect(demo.people.map((p) => `${p.name}:${p.role}`)).toEqual([
      'Alice:Developer',
      'Bob:Senior Developer',
      'Carol:DevOps Engineer',
      'Dana:change_manager',
    ]);
    const rt = await openRuntime(demo.config);
    try {
      const op = operatorContext('demo test');
      for (const p of demo.people)
        expect((await rt.kernel.authenticate(p.token)).actor_id).toBe(p.actor_id);
      const pending = await rt.services.workflows.listPendingApprovals(op, {});
      expect(pending.map((i) => `${i.kind}:${i.id}`).sort()).toEqual([
        `gate:${demo.approval_id}`,
        `proposal:${demo.proposal_id}`,
      ]);
      const run = await rt.engine.status(op, demo.run_id);
      expect(run).toMatchObject({ status: 'waiting', stage: 'risk_review' });
      expect((await rt.kernel.verifyAudit(op)).ok).toBe(true);
    } finally {
      await rt.close();
    }
  });

  it('gives an operator token that reads everything and changes nothing, as the banner says', async () => {
    const demo = await seedConsoleDemo({ ...configFromEnv({}), dataDir: tmp('demo-ro') });
    const server = await startServer(demo.config, { port: 0 });
    try {
      const call = (method: string, url: string, body?: unknown) =>
        fetch(`${server.url}${url}`, {
          method,
          headers: {
            authorization: `Bearer ${demo.operatorToken}`,
            'x-purpose': 'demo read-only check',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      for (const url of [
        '/reviews/pending',
        '/approvals/pending',
        `/workflows/${demo.run_id}/status`,
        '/audit/verify',
        '/tokens',
      ])
        expect((await call('GET', url)).status, url).toBe(200);
      expect((await call('GET', `/workflows/${demo.run_id}/audit-log`)).status).toBe(200);
      const writes: [string, string, unknown][] = [
        ['POST', '/actors', { name: 'Mallory', role: 'change_manager' }],
        ['POST', '/tokens', { actor_id: demo.people[0]!.actor_id, name: 'stolen' }],
        [
          'POST',
          `/proposals/${demo.proposal_id}/review`,
          { decision: 'approve', reviewer_id: demo.people[1]!.actor_id },
        ],
      ];
      for (const [method, url, body] of writes) {
        const res = await call(method, url, body);
        expect(res.status, url).toBe(403);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
          'POLICY_DENIED',
        );
      }
      expect(demoBanner(server.url, demo)).toContain('operator (read only)');
    } finally {
      await server.close();
    }
  });
});
