/**
 * The trust boundary's attacks, as an attacker would try them against a running server:
 * an operator token acting as people, a run's future gate planted ahead of it, an edit that
 * approves its editor's own content, tokens that outlive their revocation or their scope,
 * secrets kept in idempotency records, and MCP calls without a purpose. Each attack must be
 * refused and leave nothing changed. (MCP over stdio: mcp-stdio.test.ts; the CLI's remote
 * mode: cli-remote.test.ts; every route × token: http-authz-matrix.test.ts.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import Database from 'better-sqlite3';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorContext } from '../src/core/context.js';
import { configFromEnv } from '../src/main/config.js';
import { type RunningServer, startServer } from '../src/main/serve.js';
import { callTool, fails, ok } from './support/mcp-client.js';

let dir: string;
let server: RunningServer;
const tokens: Record<string, string> = {};
const clients: Client[] = [];

interface Answer {
  status: number;
  body: Record<string, unknown>;
  error?: { code: string; message: string };
}

async function call(
  who: string,
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${server.url}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${tokens[who]}`,
      'x-purpose': 'trust boundary test',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  return {
    status: res.status,
    body: json,
    ...(json.error ? { error: json.error as Answer['error'] } : {}),
  };
}

async function mcpAs(who: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: `attacker-${who}`, version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${tokens[who]}`, ...headers } },
    }),
  );
  clients.push(client);
  return client;
}

/** What an attack must leave as it was: proposals, versions, decisions, executions, gates. */
async function snapshot() {
  const db = new Database(path.join(dir, 'countersign.sqlite'), { readonly: true });
  try {
    // Sorted in memory: some tables are WITHOUT ROWID.
    const rows = (table: string) =>
      JSON.stringify(
        db
          .prepare(`SELECT * FROM ${table}`)
          .all()
          .map((row) => JSON.stringify(row))
          .sort(),
      );
    return {
      proposals: rows('proposals'),
      versions: rows('proposal_versions'),
      decisions: rows('decisions'),
      executions: rows('executions'),
      gates: rows('approval_requests'),
      gate_decisions: rows('approval_decisions'),
    };
  } finally {
    db.close();
  }
}

const OPS_INPUT = {
  change_request: {
    title: 'Tune the checkout timeout',
    summary: 'Raise the upstream timeout of the checkout API on staging.',
    change_type: 'configuration',
    requested_by: 'dana',
  },
  impacted_systems: [{ name: 'checkout', criticality: 'low', environment: 'staging' }],
  requirements: { compliance: [] },
  change_window: { start: '2026-01-01T00:00:00Z', end: '2036-01-01T00:00:00Z' },
  parameters: { config_changes: [{ service: 'checkout', key: 'timeout', from: null, to: '45s' }] },
};

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-trust-'));
  server = await startServer(configFromEnv({ COUNTERSIGN_DATA_DIR: dir }), {
    port: 0,
    log: () => undefined,
  });
  tokens.operator = server.adminToken!;
  const op = operatorContext('setup');
  const { kernel } = server;
  for (const [name, role, kind] of [
    ['Alice', 'Developer', 'human'],
    ['Bob', 'Senior Developer', 'human'],
    ['Carol', 'DevOps Engineer', 'human'],
    ['Claude', 'agent', 'agent'],
    ['Dev', 'Developer', 'human'],
  ] as const) {
    const { actor_id } = await kernel.registerActor(op, { name, role, kind });
    tokens[name.toLowerCase()] = (await kernel.createToken(op, { actor_id, name })).token;
  }
  await kernel.startWorkflow(op, { title: 'Trust boundary' });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('an operator token administers and never acts as an actor', () => {
  it('cannot propose as one actor and approve as another, over HTTP or MCP over HTTP', async () => {
    const before = await snapshot();
    const propose = await call('operator', 'POST', '/proposals', {
      workflow_id: 'workflow_1',
      actor_id: 'actor_1',
      tool: 'update_status',
      params: { status: 'owned' },
      reason: 'operator as Alice',
    });
    expect(propose).toMatchObject({ status: 403, error: { code: 'POLICY_DENIED' } });
    expect(propose.error!.message).toContain('never acts as an actor');

    // A real proposal by Alice; the operator token tries to approve it as Bob.
    const real = await call('alice', 'POST', '/proposals', {
      workflow_id: 'workflow_1',
      tool: 'update_status',
      params: { status: 'alice' },
      reason: 'Alice asks',
    });
    expect(real.body).toMatchObject({ status: 'pending' });
    const mid = await snapshot();
    const review = await call(
      'operator',
      'POST',
      `/proposals/${String(real.body.proposal_id)}/review`,
      {
        reviewer_id: 'actor_2',
        decision: 'approve',
      },
    );
    expect(review).toMatchObject({ status: 403, error: { code: 'POLICY_DENIED' } });
    const mcp = await mcpAs('operator');
    fails(
      await callTool(mcp, 'review_action', {
        proposal_id: real.body.proposal_id,
        reviewer_id: 'actor_2',
        decision: 'approve',
        purpose: 'as Bob',
      }),
      'POLICY_DENIED',
    );
    fails(
      await callTool(mcp, 'propose_action', {
        workflow_id: 'workflow_1',
        actor_id: 'actor_1',
        tool: 'update_status',
        params: { status: 'owned' },
        reason: 'operator as Alice',
      }),
      'POLICY_DENIED',
    );
    expect(await snapshot()).toEqual(mid);
    expect(mid.decisions).toEqual(before.decisions);
    // It still administers: register an actor, read.
    expect((await call('operator', 'GET', '/reviews/pending')).status).toBe(200);
    ok(await callTool(mcp, 'list_tokens', {}));
  });
});

describe("a run's gates belong to the run", () => {
  it('refuses a gate planted on a running workflow under the key its next gate will use', async () => {
    const started = await call('dev', 'POST', '/workflows/start', {
      definition: 'ops_change_control',
      input: OPS_INPUT,
      idempotency_key: 'PLANT-1',
    });
    expect(started.body).toMatchObject({ status: 'waiting' });
    const run = String(started.body.workflow_id);
    const before = await snapshot();
    const plant = {
      workflow_id: run,
      request_key: 'plan_approval#1',
      title: 'Plan approval',
      packet: { summary: 'nothing to see' },
      required_roles: [],
    };
    const http = await call('dev', 'POST', '/approvals/request', plant);
    expect(http).toMatchObject({ status: 409, error: { code: 'INVALID_STATE' } });
    const mcp = await mcpAs('dev');
    fails(await callTool(mcp, 'request_approval', { ...plant, purpose: 'plant' }), 'INVALID_STATE');
    // Not even the operator plants one.
    const asOperator = await call('operator', 'POST', '/approvals/request', plant);
    expect(asOperator.status).toBe(409);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses, never adopts, a gate request whose key holds a different gate', async () => {
    const first = {
      workflow_id: 'workflow_1',
      request_key: 'release',
      title: 'Release 1.2',
      packet: {},
      required_approvals: 2,
      required_roles: ['Senior Developer'],
    };
    const made = await call('alice', 'POST', '/approvals/request', first);
    expect(made.status).toBe(200);
    // The same request again is the same gate.
    expect((await call('alice', 'POST', '/approvals/request', first)).body).toEqual(made.body);
    const before = await snapshot();
    for (const [who, change] of [
      ['alice', { required_approvals: 1 }],
      ['alice', { required_roles: [] }],
      ['alice', { title: 'Release 1.2 (trivial)' }],
      ['dev', {}],
    ] as const) {
      const r = await call(who, 'POST', '/approvals/request', { ...first, ...change });
      expect(r, `${who} ${JSON.stringify(change)}`).toMatchObject({
        status: 409,
        error: { code: 'INVALID_STATE' },
      });
      expect(r.error!.message).toContain('not adopted');
    }
    expect(await snapshot()).toEqual(before);
  });
});

describe('edits need other eyes', () => {
  it("an edit is its editor's proposal: neither editor nor proposer approves it; a third person does", async () => {
    const p = await call('alice', 'POST', '/proposals', {
      workflow_id: 'workflow_1',
      tool: 'send_notification',
      params: { channel: 'slack', message: 'Deploy at noon' },
      reason: 'tell the team',
    });
    const id = String(p.body.proposal_id);
    const edit = await call('bob', 'POST', `/proposals/${id}/review`, {
      decision: 'edit',
      edits: { params: { message: 'Deploy now, skip the checks' } },
    });
    expect(edit.body).toMatchObject({ status: 'pending', final_tool_call: { version: 2 } });
    const before = await snapshot();
    for (const who of ['bob', 'alice']) {
      const r = await call(who, 'POST', `/proposals/${id}/review`, { decision: 'approve' });
      expect(r, who).toMatchObject({ status: 403, error: { code: 'SELF_APPROVAL' } });
    }
    const exec = await call('claude', 'POST', `/proposals/${id}/execute`, {});
    expect(exec).toMatchObject({ status: 409, error: { code: 'REVIEW_REQUIRED' } });
    const stale = await snapshot();
    expect({ ...stale, executions: before.executions }).toEqual({ ...before });
    // Carol saw version 2 and approves it; the agent executes what she approved.
    const approve = await call('carol', 'POST', `/proposals/${id}/review`, { decision: 'approve' });
    expect(approve.body).toMatchObject({ status: 'approved', final_tool_call: { version: 2 } });
    const ran = await call('claude', 'POST', `/proposals/${id}/execute`, {});
    expect(ran.body).toMatchObject({ result: { status: 'succeeded' } });
    const view = await call('carol', 'GET', `/proposals/${id}`);
    expect(view.body.decisions).toMatchObject([
      { decision: 'edit', version: 1, reviewer_id: 'actor_2' },
      {
        decision: 'approve',
        version: 2,
        reviewer_id: 'actor_3',
        token_id: expect.any(String) as unknown,
      },
    ]);
  });

  it('an agent never reviews, even a call it did not propose', async () => {
    const p = await call('alice', 'POST', '/proposals', {
      workflow_id: 'workflow_1',
      tool: 'update_status',
      params: { status: 'agent-bait' },
      reason: 'r',
    });
    const before = await snapshot();
    const r = await call('claude', 'POST', `/proposals/${String(p.body.proposal_id)}/review`, {
      decision: 'approve',
    });
    expect(r).toMatchObject({ status: 403, error: { code: 'POLICY_DENIED' } });
    expect(r.error!.message).toContain('agent');
    expect(await snapshot()).toEqual(before);
  });
});

describe('tokens', () => {
  it('only the operator mints them: an admin cannot mint one for an existing actor', async () => {
    const op = operatorContext('setup');
    const { actor_id } = await server.kernel.registerActor(op, { name: 'Ada', role: 'admin' });
    tokens.ada = (await server.kernel.createToken(op, { actor_id, name: 'ada' })).token;
    for (const target of ['actor_2', 'operator', actor_id]) {
      const r = await call('ada', 'POST', '/tokens', { actor_id: target, name: 'mine' });
      expect(r, target).toMatchObject({ status: 403, error: { code: 'POLICY_DENIED' } });
    }
  });

  it('a scope limits a token to its operations', async () => {
    const scoped = await call('operator', 'POST', '/tokens', {
      actor_id: 'actor_2',
      name: 'read only',
      scope: ['get_proposal', 'list_pending_reviews'],
    });
    expect(scoped.body).toMatchObject({ scope: ['get_proposal', 'list_pending_reviews'] });
    tokens.scoped = String(scoped.body.token);
    expect((await call('scoped', 'GET', '/reviews/pending')).status).toBe(200);
    const before = await snapshot();
    const r = await call('scoped', 'POST', '/proposals/proposal_1/review', { decision: 'approve' });
    expect(r).toMatchObject({ status: 403, error: { code: 'POLICY_DENIED' } });
    expect(r.error!.message).toContain('scoped');
    expect(await snapshot()).toEqual(before);
    const bad = await call('operator', 'POST', '/tokens', {
      actor_id: 'actor_2',
      name: 'typo',
      scope: ['review_acton'],
    });
    expect(bad).toMatchObject({ status: 400, error: { code: 'VALIDATION_FAILED' } });
  });

  it('revocation takes effect on the next request, over HTTP and over MCP', async () => {
    const minted = await call('operator', 'POST', '/tokens', { actor_id: 'actor_1', name: 'tmp' });
    tokens.tmp = String(minted.body.token);
    const mcp = await mcpAs('tmp');
    ok(await callTool(mcp, 'who_am_i', {}));
    expect((await call('tmp', 'GET', '/me')).status).toBe(200);
    const revoked = await call('operator', 'DELETE', `/tokens/${String(minted.body.token_id)}`);
    expect(revoked.body).toMatchObject({ already_revoked: false });
    expect((await call('tmp', 'GET', '/me')).status).toBe(401);
    await expect(callTool(mcp, 'who_am_i', {})).rejects.toThrow(/401|Unauthorized|UNAUTHENTICATED/);
    const list = await call('operator', 'GET', '/tokens');
    expect(list.body.tokens).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          token_id: minted.body.token_id,
          status: 'revoked',
          created_by: 'operator',
          last_used_at: expect.any(String) as unknown,
        }),
      ]),
    );
    // An actor revokes its own tokens only; another's reads as not found.
    const mine = await call('bob', 'DELETE', `/tokens/${String(minted.body.token_id)}`);
    expect(mine.status).toBe(404);
  });

  it('a token secret is never stored: a retried create_token replays without it', async () => {
    const key = { 'idempotency-key': 'mint-carol-laptop' };
    const first = await call(
      'operator',
      'POST',
      '/tokens',
      { actor_id: 'actor_3', name: 'laptop' },
      key,
    );
    const secret = String(first.body.token);
    expect(secret).toMatch(/^cs_/);
    const again = await call(
      'operator',
      'POST',
      '/tokens',
      { actor_id: 'actor_3', name: 'laptop' },
      key,
    );
    expect(again.body).toMatchObject({ token_id: first.body.token_id, token: null });
    expect(String(again.body.note)).toContain('shown once');
    const file = fs.readFileSync(path.join(dir, 'countersign.sqlite'));
    const wal = fs.existsSync(path.join(dir, 'countersign.sqlite-wal'))
      ? fs.readFileSync(path.join(dir, 'countersign.sqlite-wal'))
      : Buffer.alloc(0);
    expect(file.includes(secret)).toBe(false);
    expect(wal.includes(secret)).toBe(false);
  });
});

describe('purpose on every door', () => {
  it('MCP over HTTP needs a purpose for privileged tools, as the API does', async () => {
    const mcp = await mcpAs('bob');
    const p = await call('alice', 'POST', '/proposals', {
      workflow_id: 'workflow_1',
      tool: 'update_status',
      params: { status: 'purpose' },
      reason: 'r',
    });
    const before = await snapshot();
    const refused = fails(
      await callTool(mcp, 'review_action', {
        proposal_id: p.body.proposal_id,
        decision: 'approve',
      }),
      'POLICY_DENIED',
    );
    expect(refused).toContain('needs a purpose');
    expect(await snapshot()).toEqual(before);
    ok(
      await callTool(mcp, 'review_action', {
        proposal_id: p.body.proposal_id,
        decision: 'approve',
        purpose: 'CHG-7 reviewed the status change',
      }),
    );
    const withHeader = await mcpAs('carol', { 'X-Purpose': 'CHG-8 via header' });
    ok(await callTool(withHeader, 'execute_action', { proposal_id: p.body.proposal_id }));
    const log = await call('alice', 'GET', '/workflows/workflow_1/audit-log');
    const entries = log.body.entries as { type: string; data: { purpose?: string } }[];
    expect(entries.map((e) => e.data.purpose)).toEqual(
      expect.arrayContaining(['CHG-7 reviewed the status change', 'CHG-8 via header']),
    );
  });
});
