import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CallContext, operatorContext, tokenContext } from '../src/core/context.js';
import { isCountersignError } from '../src/core/errors.js';
import { type Runtime, openRuntime } from '../src/main/compose.js';
import { configFromEnv } from '../src/main/config.js';
import { createMcpHttpHandler } from '../src/surfaces/mcp/streamable-http.js';
import { OPERATIONS } from '../src/surfaces/operations.js';
import { callTool, fails, ok } from './support/mcp-client.js';

/**
 * A stand-in for the real HTTP server: authenticates the bearer token with the kernel, reads
 * the JSON body and hands the request to the MCP handler with the token's actor as caller.
 */
function serve(runtime: Runtime): Promise<http.Server> {
  const mcp = createMcpHttpHandler(runtime.services);
  const server = http.createServer((req, res) => {
    void (async () => {
      const send = (status: number, body: unknown) =>
        res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
      if (req.url !== '/mcp') return send(404, { error: 'not found' });
      let ctx: CallContext;
      try {
        const who = await runtime.kernel.authenticate(
          (req.headers.authorization ?? '').replace(/^Bearer /, ''),
        );
        ctx = tokenContext(who, 'mcp-test');
      } catch (e) {
        return send(401, { error: isCountersignError(e) ? e.code : 'UNAUTHENTICATED' });
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        return send(400, { error: 'invalid JSON' });
      }
      await mcp.handle(req, res, body, ctx);
    })();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('MCP over Streamable HTTP for one authenticated actor per request', () => {
  let dir: string;
  let runtime: Runtime;
  let server: http.Server;
  let url: URL;
  const tokens: Record<string, string> = {};
  const clients: Client[] = [];

  async function clientFor(actor: string): Promise<Client> {
    const transport = new StreamableHTTPClientTransport(url, {
      requestInit: { headers: { Authorization: `Bearer ${tokens[actor]}` } },
    });
    const client = new Client({ name: `test-${actor}`, version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-mcp-http-'));
    runtime = await openRuntime({ ...configFromEnv({}), dataDir: dir });
    const op = operatorContext('mcp http test setup');
    for (const a of [
      { name: 'Alice', role: 'Developer' },
      { name: 'Bob', role: 'Senior Developer' },
      { name: 'Carol', role: 'DevOps Engineer' },
    ]) {
      const { actor_id } = await runtime.kernel.registerActor(op, a);
      tokens[actor_id] = (await runtime.kernel.createToken(op, { actor_id, name: 'mcp' })).token;
    }
    server = await serve(runtime);
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await new Promise((resolve) => server?.close(resolve));
    await runtime?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists every operation', async () => {
    const alice = await clientFor('actor_1');
    const { tools } = await alice.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(OPERATIONS.map((o) => o.name).sort());
    expect(tools.every((t) => t.outputSchema?.type === 'object')).toBe(true);
  });

  it('lets each actor act as itself only', async () => {
    const alice = await clientFor('actor_1');
    const bob = await clientFor('actor_2');
    const { workflow_id } = ok<{ workflow_id: string }>(
      await callTool(alice, 'start_workflow', { title: 'Backup over HTTP' }),
    );
    const propose = {
      workflow_id,
      tool: 'database_backup',
      params: { database: 'production', backup_type: 'full' },
      reason: 'Creating backup before migration',
    };

    const asCarol = fails(
      await callTool(alice, 'propose_action', { ...propose, actor_id: 'actor_3' }),
      'POLICY_DENIED',
    );
    expect(asCarol).toContain('authenticated as actor_1 and cannot act as actor_3 (actor_id)');

    const { proposal_id } = ok<{ proposal_id: string }>(
      await callTool(alice, 'propose_action', { ...propose, actor_id: 'actor_1' }),
    );

    // Alice approving her own call by naming Bob as the reviewer is refused…
    const asBob = fails(
      await callTool(alice, 'review_action', {
        proposal_id,
        reviewer_id: 'actor_2',
        decision: 'approve',
      }),
      'POLICY_DENIED',
    );
    expect(asBob).toContain('cannot act as actor_2 (reviewer_id)');
    // …and as herself she may not approve it either.
    fails(
      await callTool(alice, 'review_action', {
        proposal_id,
        reviewer_id: 'actor_1',
        decision: 'approve',
      }),
      'SELF_APPROVAL',
    );
    // Only administrators create tokens.
    fails(
      await callTool(alice, 'create_token', { actor_id: 'actor_1', name: 'mine' }),
      'POLICY_DENIED',
    );

    expect(
      ok(
        await callTool(bob, 'review_action', {
          proposal_id,
          reviewer_id: 'actor_2',
          decision: 'approve',
        }),
      ),
    ).toMatchObject({ status: 'approved' });
    expect(ok(await callTool(bob, 'execute_action', { proposal_id }))).toMatchObject({
      result: { status: 'succeeded', tool: 'database_backup' },
    });

    const log = ok<{ entries: { type: string; actor: string }[] }>(
      await callTool(bob, 'get_audit_log', { workflow_id }),
    );
    const decision = log.entries.find((e) => e.type === 'APPROVAL_DECISION');
    expect(decision?.actor).toBe('actor_2');
    expect(ok(await callTool(bob, 'verify_audit', {}))).toMatchObject({ ok: true });
  });

  it('serves concurrent calls from different actors, each in its own context', async () => {
    const [alice, bob, carol] = await Promise.all(
      ['actor_1', 'actor_2', 'actor_3'].map((a) => clientFor(a)),
    );
    const started = await Promise.all(
      [alice!, bob!, carol!].map((c, i) =>
        callTool(c, 'start_workflow', { title: `Parallel ${i}` }),
      ),
    );
    const ids = started.map((r) => ok<{ workflow_id: string }>(r).workflow_id);
    expect(new Set(ids).size).toBe(3);
    for (const [i, id] of ids.entries()) {
      const wf = ok<{ workflow: { created_by: string } }>(
        await callTool(alice!, 'get_workflow', { workflow_id: id }),
      );
      expect(wf.workflow.created_by).toBe(`actor_${i + 1}`);
    }
  });

  it('answers invalid arguments with VALIDATION_FAILED', async () => {
    const carol = await clientFor('actor_3');
    const text = fails(
      await callTool(carol, 'review_action', {
        proposal_id: 'proposal_1',
        reviewer_id: 'actor_3',
        decision: 'edit',
        edits: { params: ['not', 'an', 'object'] },
      }),
      'VALIDATION_FAILED',
    );
    expect(text).toContain('edits.params: must be a JSON object');
  });

  it('refuses GET and DELETE with 405 and a JSON-RPC error (no sessions, no server stream)', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(url, {
        method,
        headers: { Authorization: `Bearer ${tokens.actor_1}`, Accept: 'text/event-stream' },
      });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
      expect(await res.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 }, id: null });
    }
  });

  it('replays a tool call sent again with the same Idempotency-Key header instead of running it twice', async () => {
    const transport = new StreamableHTTPClientTransport(url, {
      requestInit: {
        headers: { Authorization: `Bearer ${tokens.actor_1}`, 'Idempotency-Key': 'mcp-http-1' },
      },
    });
    const keyed = new Client({ name: 'test-keyed', version: '1.0.0' });
    await keyed.connect(transport);
    clients.push(keyed);
    const alice = await clientFor('actor_1');
    const { workflow_id } = ok<{ workflow_id: string }>(
      await callTool(alice, 'start_workflow', { title: 'Keyed over HTTP' }),
    );
    const propose = {
      workflow_id,
      tool: 'database_backup',
      params: { database: 'production', backup_type: 'full' },
      reason: 'Backup, sent twice by a client that lost the first answer',
    };
    const first = ok(await callTool(keyed, 'propose_action', propose));
    const second = ok(await callTool(keyed, 'propose_action', propose));
    expect(second).toEqual(first);
    const { proposals } = await runtime.kernel.getWorkflow(operatorContext('check'), {
      workflow_id,
    });
    expect(proposals).toHaveLength(1);
    // The same key for another call is refused, and runs nothing.
    fails(
      await callTool(keyed, 'propose_action', { ...propose, reason: 'another call' }),
      'IDEMPOTENCY_KEY_REUSED',
    );
    expect(
      (await runtime.kernel.getWorkflow(operatorContext('check'), { workflow_id })).proposals,
    ).toHaveLength(1);
  });
});
