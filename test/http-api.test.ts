/**
 * The HTTP API over real requests: a server listening on 127.0.0.1 (port 0) on a temporary
 * SQLite data directory, driven with fetch.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorContext } from '../src/core/context.js';
import { ERROR_CODES } from '../src/core/errors.js';
import type { Kernel } from '../src/core/kernel.js';
import { configFromEnv } from '../src/main/config.js';
import { type RunningServer, parsePort, serveBanner, startServer } from '../src/main/serve.js';
import { HTTP_STATUS } from '../src/surfaces/http/errors.js';
import { OPERATIONS } from '../src/surfaces/operations.js';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
  error: { code: string; message: string; retryable: boolean; details: Record<string, unknown> };
}

let dir: string;
let server: RunningServer;
let kernel: Kernel;
const serverLog: string[] = [];

async function request(
  method: string,
  url: string,
  o: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let body: string | undefined;
  if (o.raw !== undefined) body = o.raw;
  else if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
    headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}${url}`, { method, headers, body });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // left empty: the assertions name the status
  }
  return {
    status: res.status,
    headers: res.headers,
    text,
    body: parsed,
    error: parsed.error as Answer['error'],
  };
}

async function ledgerLength(tenant = 'default'): Promise<number> {
  return (await kernel.verifyAudit(operatorContext('tests', tenant))).events;
}

const tokens: Record<string, string> = {};
const purpose = (p: string) => ({ 'x-purpose': p });

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-http-api-'));
  server = await startServer(
    { ...configFromEnv({}), dataDir: dir },
    { port: 0, log: (l) => serverLog.push(l) },
  );
  kernel = server.kernel;
  expect(server.adminToken).toMatch(/^cs_/);
  tokens.admin = server.adminToken!;
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("seed 002's complete example over HTTP", () => {
  it('runs every step, each actor acting as itself through its own token', async () => {
    const ids: string[] = [];
    for (const actor of [
      { name: 'Alice', role: 'Developer' },
      { name: 'Bob', role: 'Senior Developer' },
      { name: 'Carol', role: 'DevOps Engineer' },
    ]) {
      const r = await request('POST', '/actors', { token: tokens.admin, body: actor });
      expect(r.status).toBe(200);
      ids.push(r.body.actor_id as string);
    }
    // The bootstrap token is the operator's: it consumed no actor ID, so the seed's IDs hold.
    expect(ids).toEqual(['actor_1', 'actor_2', 'actor_3']);
    for (const [name, actor_id] of [
      ['alice', 'actor_1'],
      ['bob', 'actor_2'],
      ['carol', 'actor_3'],
    ] as const) {
      tokens[name] = (await kernel.createToken(operatorContext('tests'), { actor_id, name })).token;
    }

    const wf = await request('POST', '/workflows', {
      token: tokens.alice,
      body: { title: 'Production Database Migration' },
      headers: purpose('CHG-42 schema change'),
    });
    expect(wf).toMatchObject({ status: 200, body: { workflow_id: 'workflow_1' } });

    const backup = await request('POST', '/proposals', {
      token: tokens.alice,
      body: {
        workflow_id: 'workflow_1',
        actor_id: 'actor_1',
        tool: 'database_backup',
        params: { database: 'production', backup_type: 'full' },
        reason: 'Creating backup before migration',
      },
    });
    expect(backup).toMatchObject({
      status: 200,
      body: { proposal_id: 'proposal_1', status: 'pending', required_approvals: 1 },
    });

    const self = await request('POST', '/proposals/proposal_1/review', {
      token: tokens.alice,
      body: { reviewer_id: 'actor_1', decision: 'approve' },
      headers: purpose('review'),
    });
    expect(self.status).toBe(403);
    expect(self.error.code).toBe('SELF_APPROVAL');

    const approve = await request('POST', '/proposals/proposal_1/review', {
      token: tokens.bob,
      body: { reviewer_id: 'actor_2', decision: 'approve', comment: 'LGTM' },
      headers: purpose('review'),
    });
    expect(approve).toMatchObject({ status: 200, body: { status: 'approved' } });

    const noPurpose = await request('POST', '/proposals/proposal_1/execute', {
      token: tokens.bob,
      body: {},
    });
    expect(noPurpose.status).toBe(403);
    expect(noPurpose.error.code).toBe('POLICY_DENIED');
    expect(noPurpose.error.message).toContain('X-Purpose header is required');

    const exec = await request('POST', '/proposals/proposal_1/execute', {
      token: tokens.bob,
      headers: purpose('CHG-42: take the backup'),
    });
    expect(exec).toMatchObject({
      status: 200,
      body: { execution_id: 'execution_1', result: { status: 'succeeded', dry_run: false } },
    });
    const again = await request('POST', '/proposals/proposal_1/execute', {
      token: tokens.bob,
      body: { proposal_id: 'proposal_1' },
      headers: purpose('CHG-42: retry'),
    });
    expect(again.body).toEqual(exec.body);

    const migration = await request('POST', '/proposals', {
      token: tokens.alice,
      body: {
        workflow_id: 'workflow_1',
        actor_id: 'actor_1',
        tool: 'database_migration',
        params: { version: '2.1.0', rollback_plan: 'enabled' },
        reason: 'Applying schema changes for new features',
      },
    });
    expect(migration.body).toMatchObject({ proposal_id: 'proposal_2', status: 'pending' });

    const edits = {
      maintenance_window: '2:00-4:00 AM UTC',
      notification_channels: ['slack', 'email'],
    };
    const edit = await request('POST', '/proposals/proposal_2/review', {
      token: tokens.carol,
      body: { reviewer_id: 'actor_3', decision: 'edit', edits: { params: edits } },
      headers: purpose('review with edits'),
    });
    // Carol's edit proposes version 2; it needs someone other than Carol and Alice.
    expect(edit).toMatchObject({
      status: 200,
      body: {
        status: 'pending',
        final_tool_call: {
          tool: 'database_migration',
          version: 2,
          params: { version: '2.1.0', rollback_plan: 'enabled', ...edits },
        },
      },
    });
    const ownEdit = await request('POST', '/proposals/proposal_2/review', {
      token: tokens.carol,
      body: { reviewer_id: 'actor_3', decision: 'approve' },
      headers: purpose('approve my edit'),
    });
    expect(ownEdit).toMatchObject({ status: 403, error: { code: 'SELF_APPROVAL' } });
    const approveEdit = await request('POST', '/proposals/proposal_2/review', {
      token: tokens.bob,
      body: { reviewer_id: 'actor_2', decision: 'approve', comment: 'edited window is fine' },
      headers: purpose('review the edit'),
    });
    expect(approveEdit).toMatchObject({ status: 200, body: { status: 'approved' } });

    const parallel = await request('POST', '/executions/parallel', {
      token: tokens.admin,
      headers: purpose('CHG-42: migrate and notify'),
      body: {
        calls: [
          {
            tool: 'database_migration',
            params: { version: '2.1.0', rollback_plan: 'enabled', ...edits },
          },
          {
            tool: 'send_notification',
            params: { channel: 'slack', message: 'Database migration starting in 5 minutes' },
          },
        ],
      },
    });
    expect(parallel.status).toBe(200);
    const results = parallel.body.results as {
      status: string;
      proposal_id: string | null;
      error: { code: string } | null;
    }[];
    expect(results.map((r) => [r.status, r.proposal_id, r.error?.code ?? null])).toEqual([
      ['succeeded', 'proposal_2', null],
      ['refused', null, 'REVIEW_REQUIRED'],
    ]);

    const show = await request('GET', '/proposals/proposal_2', { token: tokens.carol });
    expect(show.body).toMatchObject({ proposal: { status: 'executed', version: 2 } });
    const wfShow = await request('GET', '/workflows/workflow_1', { token: tokens.bob });
    expect(wfShow.body.proposals).toHaveLength(2);

    const log = await request('GET', '/workflows/workflow_1/audit-log', { token: tokens.alice });
    expect(log.status).toBe(200);
    const entries = log.body.entries as {
      type: string;
      actor: string;
      data: Record<string, unknown>;
    }[];
    expect(entries.map((e) => e.type)).toEqual(
      expect.arrayContaining([
        'WORKFLOW_STARTED',
        'ACTION_PROPOSED',
        'APPROVAL_DECISION',
        'TOOL_INVOKE',
        'ACTION_EXECUTED',
        'OPERATION_REFUSED',
        'PARALLEL_EXECUTED',
      ]),
    );
    // The purpose header lands in the ledger, and the acting actor is the token's.
    const started = entries.find((e) => e.type === 'WORKFLOW_STARTED')!;
    expect(started).toMatchObject({ actor: 'actor_1', data: { purpose: 'CHG-42 schema change' } });
    const invoke = entries.find((e) => e.type === 'TOOL_INVOKE')!;
    expect(invoke).toMatchObject({
      actor: 'actor_2',
      data: { purpose: 'CHG-42: take the backup' },
    });

    const verify = await request('GET', '/audit/verify', { token: tokens.bob });
    expect(verify.body).toMatchObject({ ok: true, first_broken_seq: null });

    const pending = await request('GET', '/reviews/pending?limit=10&min_age_seconds=0', {
      token: tokens.bob,
    });
    expect(pending).toMatchObject({ status: 200, body: { reviews: [] } });
    const tools = await request('GET', '/tools', { token: tokens.bob });
    expect((tools.body.tools as { name: string }[]).map((t) => t.name)).toContain(
      'database_migration',
    );
  });
});

describe('errors over HTTP', () => {
  it('401 without a token or with an unknown one, with WWW-Authenticate: Bearer', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Bearer cs_thisTokenDoesNotExist0000000' },
      { authorization: 'Basic YWxpY2U6c2VjcmV0' },
      { authorization: `Bearer ${tokens.admin}x` },
    ]) {
      const r = await request('GET', '/workflows/workflow_1', { headers });
      expect(r.status).toBe(401);
      expect(r.error).toMatchObject({ code: 'UNAUTHENTICATED', retryable: false, details: {} });
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('403 for a missing X-Purpose on privileged routes, 400 for an empty one anywhere; non-privileged routes default it', async () => {
    for (const op of OPERATIONS.filter((o) => o.privileged)) {
      const url = op.http.path.replace('{proposal_id}', 'proposal_1');
      const r = await request(op.http.method, url, { token: tokens.admin, body: {} });
      expect(r.status, op.name).toBe(403);
      expect(r.error.code).toBe('POLICY_DENIED');
      expect(r.error.message).toContain('X-Purpose header is required');
    }
    // A header sent empty or blank is a mistake, not a purpose: 400 on every route, privileged
    // or not, as the OpenAPI document says (minLength 1, a non-whitespace character).
    for (const [method, url, body, value] of [
      ['PUT', '/policy', {}, '   '],
      ['PUT', '/policy', {}, ''],
      ['GET', '/tools', undefined, ''],
      ['POST', '/actors', { name: 'Blank', role: 'r' }, '\u00a0'],
    ] as const) {
      const before = await ledgerLength();
      const blank = await request(method, url, {
        token: tokens.admin,
        ...(body ? { body } : {}),
        headers: purpose(value),
      });
      expect(blank.status, `${method} ${url} ${JSON.stringify(value)}`).toBe(400);
      expect(blank.error.code).toBe('VALIDATION_FAILED');
      expect(blank.error.message).toContain('The X-Purpose header is empty');
      expect(blank.error.details.issues).toEqual([
        { path: 'X-Purpose', message: 'must not be empty' },
      ]);
      expect(await ledgerLength()).toBe(before);
    }
    expect((await request('GET', '/tools', { token: tokens.admin })).status).toBe(200);
    const long = await request('PUT', '/policy', {
      token: tokens.admin,
      body: {},
      headers: purpose('x'.repeat(501)),
    });
    expect(long.status).toBe(400);
    expect(long.error.details.issues).toEqual([
      { path: 'X-Purpose', message: 'at most 500 characters' },
    ]);
  });

  it('403 when a token acts as another actor, before anything runs', async () => {
    const before = await ledgerLength();
    const asCarol = await request('POST', '/proposals/proposal_1/review', {
      token: tokens.bob,
      body: { reviewer_id: 'actor_3', decision: 'reject' },
      headers: purpose('impersonation attempt'),
    });
    expect(asCarol.status).toBe(403);
    expect(asCarol.error.code).toBe('POLICY_DENIED');
    expect(asCarol.error.message).toContain('authenticated as actor_2');
    const proposeAsBob = await request('POST', '/proposals', {
      token: tokens.alice,
      body: {
        workflow_id: 'workflow_1',
        actor_id: 'actor_2',
        tool: 'update_status',
        params: { status: 'x' },
        reason: 'r',
      },
    });
    expect(proposeAsBob.status).toBe(403);
    const parallelAsBob = await request('POST', '/executions/parallel', {
      token: tokens.alice,
      headers: purpose('p'),
      body: {
        calls: [{ tool: 'update_status', params: { status: 'x' } }],
        actor_id: 'actor_2',
        workflow_id: 'workflow_1',
      },
    });
    expect(parallelAsBob.status).toBe(403);
    expect(await ledgerLength()).toBe(before);
    // Nothing changed: proposal_1 is still executed, with one decision.
    const p = await request('GET', '/proposals/proposal_1', { token: tokens.bob });
    expect(p.body).toMatchObject({ proposal: { status: 'executed' } });
    expect(p.body.decisions).toHaveLength(1);
  });

  it("404 for another tenant's objects, which its tokens cannot see or touch", async () => {
    const acme = operatorContext('tests', 'acme');
    const { actor_id } = await kernel.registerActor(acme, { name: 'Mallory', role: 'admin' });
    const mallory = (await kernel.createToken(acme, { actor_id, name: 'mallory' })).token;
    const defaultBefore = await ledgerLength('default');
    for (const [method, url, body] of [
      ['GET', '/workflows/workflow_1', undefined],
      ['GET', '/proposals/proposal_2', undefined],
      ['GET', '/workflows/workflow_1/audit-log', undefined],
      ['POST', '/proposals/proposal_2/execute', {}],
      ['POST', '/proposals/proposal_2/review', { reviewer_id: actor_id, decision: 'approve' }],
      [
        'POST',
        '/proposals',
        {
          workflow_id: 'workflow_1',
          actor_id,
          tool: 'update_status',
          params: { status: 's' },
          reason: 'r',
        },
      ],
    ] as const) {
      const r = await request(method, url, { token: mallory, body, headers: purpose('probe') });
      expect(r.status, `${method} ${url}`).toBe(404);
      expect(r.error.code).toBe('NOT_FOUND');
    }
    // An actor never mints tokens, for its own tenant or another's.
    const steal = await request('POST', '/tokens', {
      token: mallory,
      body: { actor_id: 'actor_2', name: 'steal' },
      headers: purpose('probe'),
    });
    expect(steal).toMatchObject({ status: 403, error: { code: 'POLICY_DENIED' } });
    const own = await request('GET', '/audit/verify', { token: mallory });
    expect(own.body).toMatchObject({ ok: true });
    expect(await ledgerLength('default')).toBe(defaultBefore);
  });

  it('400 for malformed JSON and schema errors naming each field, never a 500', async () => {
    const bad = await request('POST', '/actors', { token: tokens.admin, raw: '{"name": "x",' });
    expect(bad.status).toBe(400);
    expect(bad.error).toMatchObject({ code: 'VALIDATION_FAILED', retryable: false });
    expect(bad.text).not.toMatch(/\bat .*\.js:\d+/);
    // A JSON null is not an object, and changes nothing.
    const before = await ledgerLength();
    const nullBody = await request('PUT', '/policy', {
      token: tokens.admin,
      raw: 'null',
      headers: purpose('null policy'),
    });
    expect(nullBody).toMatchObject({ status: 400, error: { code: 'VALIDATION_FAILED' } });
    expect(await ledgerLength()).toBe(before);

    const schema = await request('POST', '/proposals', {
      token: tokens.alice,
      body: {
        workflow_id: 'wf-1',
        actor_id: 'actor_1',
        tool: 'update_status',
        params: [],
        extra: 1,
      },
    });
    expect(schema.status).toBe(400);
    const paths = (schema.error.details.issues as { path: string }[]).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['workflow_id', 'params', 'reason']));
    expect(schema.error.message).toContain('Unrecognized key');
    // Text bounds are the document's: a character other than whitespace (pattern), and at most
    // maxLength characters counted as JSON Schema counts them, an emoji being one.
    const blankName = await request('POST', '/actors', {
      token: tokens.admin,
      body: { name: '\t \u00a0', role: 'r' },
    });
    expect(blankName.error.details.issues).toEqual([
      { path: 'name', message: 'must not be empty' },
    ]);
    const emoji = await request('POST', '/actors', {
      token: tokens.admin,
      body: { name: 'Emoji', role: '\u{1F600}'.repeat(100) },
    });
    expect(emoji.status).toBe(200);
    const tooMany = await request('POST', '/actors', {
      token: tokens.admin,
      body: { name: 'Emoji', role: '\u{1F600}'.repeat(101) },
    });
    expect(tooMany.error.details.issues).toEqual([
      { path: 'role', message: 'must be at most 100 characters' },
    ]);

    const toolParams = await request('POST', '/proposals', {
      token: tokens.alice,
      body: {
        workflow_id: 'workflow_1',
        actor_id: 'actor_1',
        tool: 'send_notification',
        params: { channel: 'carrier-pigeon', message: 'm' },
        reason: 'r',
      },
    });
    expect(toolParams.status).toBe(400);
    expect(toolParams.error.details.issues).toEqual([
      expect.objectContaining({ path: 'params.channel' }),
    ]);

    const query = await request('GET', '/reviews/pending?limit=many&min_age_seconds=-1', {
      token: tokens.alice,
    });
    expect(query.status).toBe(400);
    expect((query.error.details.issues as { path: string }[]).map((i) => i.path).sort()).toEqual([
      'limit',
      'min_age_seconds',
    ]);
    const unknownQuery = await request('GET', '/tools?verbose=1', { token: tokens.alice });
    expect(unknownQuery.status).toBe(400);

    const conflict = await request('POST', '/proposals/proposal_2/review', {
      token: tokens.bob,
      body: { proposal_id: 'proposal_1', reviewer_id: 'actor_2', decision: 'approve' },
      headers: purpose('p'),
    });
    expect(conflict.status).toBe(400);
    expect(conflict.error.details.issues).toEqual([
      expect.objectContaining({ path: 'proposal_id' }),
    ]);
    const queryOnPost = await request('POST', '/actors?name=x', {
      token: tokens.admin,
      body: { name: 'N', role: 'r' },
    });
    expect(queryOnPost.status).toBe(400);
    const array = await request('POST', '/actors', { token: tokens.admin, body: [1, 2] });
    expect(array.status).toBe(400);
    const proto = await request('POST', '/actors', {
      token: tokens.admin,
      raw: '{"name":"n","role":"r","__proto__":{"admin":true}}',
    });
    expect(proto.status).toBe(400);
    expect(proto.error.message).toContain('"__proto__" key');
    const nested = await request('POST', '/proposals', {
      token: tokens.alice,
      raw: '{"workflow_id":"workflow_1","tool":"update_status","reason":"r","params":{"a":{"__proto__":{}}}}',
    });
    expect(nested).toMatchObject({ status: 400, error: { code: 'VALIDATION_FAILED' } });
    expect(nested.error.message).toContain('"__proto__" key');
    const big = await request('POST', '/actors', {
      token: tokens.admin,
      body: { name: 'x'.repeat(1024 * 1024 + 10), role: 'r' },
    });
    expect(big).toMatchObject({ status: 413, error: { code: 'VALIDATION_FAILED' } });
    const text = await request('POST', '/actors', {
      token: tokens.admin,
      raw: 'name=x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text).toMatchObject({ status: 415, error: { code: 'VALIDATION_FAILED' } });
    const badUrl = await request('GET', '/workflows/%E0%A4%A', { token: tokens.admin });
    expect(badUrl).toMatchObject({ status: 400, error: { code: 'VALIDATION_FAILED' } });
    const badKey = await request('POST', '/actors', {
      token: tokens.admin,
      body: { name: 'N', role: 'r' },
      headers: { 'idempotency-key': 'has space' },
    });
    expect(badKey.status).toBe(400);
    expect(serverLog).toEqual([]);
  });

  it('refuses a request without a body where the document says the body is required', async () => {
    type Body = { required: boolean; content: Record<string, { schema: { required?: string[] } }> };
    const doc = (await request('GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, { operationId: string; requestBody?: Body }>>;
    };
    const before = await ledgerLength();
    let required = 0;
    for (const op of OPERATIONS) {
      const rb = doc.paths[op.http.path]![op.http.method.toLowerCase()]!.requestBody;
      if (op.http.method === 'GET' || op.http.method === 'DELETE') {
        expect(rb, op.name).toBeUndefined();
        continue;
      }
      const fields = rb!.content['application/json']!.schema.required ?? [];
      expect(rb!.required, op.name).toBe(fields.length > 0);
      if (!rb!.required) continue;
      required++;
      const url = op.http.path.replace(/\{(\w+)\}/g, (_, p: string) =>
        p === 'proposal_id' ? 'proposal_1' : p === 'approval_id' ? 'approval_1' : 'run_0',
      );
      // No body at all, and an empty one: neither stands for {} here.
      for (const headers of [{}, { 'content-type': 'application/json' }] as Record<
        string,
        string
      >[]) {
        const r = await request(op.http.method, url, {
          token: tokens.admin,
          headers: { ...purpose('no body'), ...headers },
          ...('content-type' in headers ? { raw: '' } : {}),
        });
        expect(r.status, op.name).toBe(400);
        expect(r.error.message, op.name).toContain('needs a JSON object body with');
        expect(r.error.details.issues).toEqual(
          fields.map((path) => ({ path, message: 'required' })),
        );
      }
    }
    expect(required).toBeGreaterThan(10);
    expect(await ledgerLength()).toBe(before);
    // Where nothing is required, no body is the empty object: this execute names no proposal
    // that exists, and says so.
    const optional = await request('POST', '/proposals/proposal_99/execute', {
      token: tokens.admin,
      headers: purpose('no body'),
    });
    expect(optional).toMatchObject({ status: 404, error: { code: 'NOT_FOUND' } });
  });

  it('409 INVALID_STATE, 422 UNKNOWN_TOOL, 404/405 for unknown routes and methods', async () => {
    const reviewed = await request('POST', '/proposals/proposal_1/review', {
      token: tokens.carol,
      body: { reviewer_id: 'actor_3', decision: 'approve' },
      headers: purpose('late review'),
    });
    expect(reviewed).toMatchObject({ status: 409, error: { code: 'INVALID_STATE' } });
    const tool = await request('POST', '/proposals', {
      token: tokens.alice,
      body: {
        workflow_id: 'workflow_1',
        actor_id: 'actor_1',
        tool: 'rm_rf',
        params: {},
        reason: 'r',
      },
    });
    expect(tool).toMatchObject({ status: 422, error: { code: 'UNKNOWN_TOOL' } });
    expect(tool.error.details.registered).toContain('database_backup');
    const missing = await request('GET', '/proposals/proposal_99', { token: tokens.alice });
    expect(missing).toMatchObject({ status: 404, error: { code: 'NOT_FOUND' } });
    const route = await request('GET', '/no/such/route', { token: tokens.alice });
    expect(route).toMatchObject({ status: 404, error: { code: 'NOT_FOUND', retryable: false } });
    const method = await request('DELETE', '/workflows/workflow_1', { token: tokens.admin });
    expect(method).toMatchObject({ status: 405, error: { code: 'NOT_FOUND' } });
    expect(method.headers.get('allow')).toBe('GET, HEAD');
    const health = await request('GET', '/healthz');
    expect(health).toMatchObject({ status: 200, body: { ok: true } });
  });
});

describe('methods and paths', () => {
  it('answers 405 with the exact Allow for any method a path does not serve, before its body', async () => {
    const cases: [string, string, string, Record<string, string>?][] = [
      ['PROPFIND', '/proposals', 'POST'],
      ['PATCH', '/policy', 'PUT'],
      // QUERY needs a Content-Type, and other media types are not parsed: neither is reached.
      ['QUERY', '/tools', 'GET, HEAD'],
      ['OPTIONS', '/proposals', 'POST', { 'content-type': 'text/plain' }],
      ['PUT', '/tokens', 'GET, HEAD, POST', { 'content-type': 'application/xml' }],
      ['DELETE', '/workflows/workflow_1', 'GET, HEAD'],
      // A static path outranks a parameter on every method, as in the OpenAPI document: GET
      // /workflows/start is not GET /workflows/{workflow_id}.
      ['PUT', '/workflows/start', 'POST'],
      ['GET', '/workflows/start', 'POST'],
      ['GET', '/approvals/request', 'POST'],
      ['POST', '/workflows/runs', 'GET, HEAD'],
      ['POST', '/workflows/definitions', 'GET, HEAD'],
    ];
    for (const [method, url, allow, headers] of cases) {
      const r = await request(method, url, {
        token: tokens.admin,
        ...(headers ? { raw: 'x', headers } : {}),
      });
      expect(r.status, `${method} ${url}`).toBe(405);
      expect(r.headers.get('allow'), `${method} ${url}`).toBe(allow);
      expect(r.error).toMatchObject({ code: 'NOT_FOUND', details: { allowed: allow.split(', ') } });
    }
    for (const method of ['GET', 'PROPFIND', 'QUERY', 'PATCH']) {
      const r = await request(method, '/no/such/route', { token: tokens.admin });
      expect(r.status, method).toBe(404);
      expect(r.headers.get('allow')).toBeNull();
    }
    // The workflow itself is still a GET on its path.
    expect((await request('GET', '/workflows/workflow_1', { token: tokens.admin })).status).toBe(
      200,
    );
  });

  it('answers HEAD on a plain read, and 405 on the audit-log reads, whose GET is recorded', async () => {
    const head = await request('HEAD', '/workflows/workflow_1', { token: tokens.admin });
    expect(head.status).toBe(200);
    for (const url of ['/workflows/workflow_1/audit-log', '/audit/ledger']) {
      const before = await ledgerLength();
      const r = await request('HEAD', url, { token: tokens.admin });
      expect(r.status, url).toBe(405);
      expect(r.headers.get('allow'), url).toBe('GET');
      expect(await ledgerLength(), url).toBe(before);
      const get = await request('GET', url, { token: tokens.admin });
      expect(get.status, url).toBe(200);
      expect(await ledgerLength(), url).toBe(before + 1);
    }
  });
});

describe('Idempotency-Key', () => {
  it('replays the first response byte for byte and runs the operation once', async () => {
    const before = await ledgerLength();
    const send = (title: string) =>
      request('POST', '/workflows', {
        token: tokens.alice,
        body: { title },
        headers: { ...purpose('idempotent start'), 'idempotency-key': 'start-1' },
      });
    const first = await send('Rotate keys');
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const second = await send('Rotate keys');
    expect(second.status).toBe(200);
    expect(second.text).toBe(first.text);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await ledgerLength()).toBe(before + 1);

    const reused = await send('Something else');
    expect(reused).toMatchObject({ status: 422, error: { code: 'IDEMPOTENCY_KEY_REUSED' } });
    expect(await ledgerLength()).toBe(before + 1);

    // Keys are scoped to the token's principal: bob's "start-1" is his own.
    const bob = await request('POST', '/workflows', {
      token: tokens.bob,
      body: { title: 'Rotate keys' },
      headers: { ...purpose('idempotent start'), 'idempotency-key': 'start-1' },
    });
    expect(bob.headers.get('idempotent-replayed')).toBeNull();
    expect(bob.body.workflow_id).not.toBe(first.body.workflow_id);
  });

  it('remembers a 4xx answer too, and concurrent first requests run once', async () => {
    const body = {
      workflow_id: 'workflow_1',
      actor_id: 'actor_1',
      tool: 'no_such_tool',
      params: {},
      reason: 'r',
    };
    const h = { 'idempotency-key': 'bad-tool' };
    const first = await request('POST', '/proposals', { token: tokens.alice, body, headers: h });
    const second = await request('POST', '/proposals', { token: tokens.alice, body, headers: h });
    expect(first.status).toBe(422);
    expect(second.status).toBe(422);
    expect(second.text).toBe(first.text);
    expect(second.headers.get('idempotent-replayed')).toBe('true');

    const before = await ledgerLength();
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        request('POST', '/actors', {
          token: tokens.admin,
          body: { name: 'Dave', role: 'Developer' },
          headers: { 'idempotency-key': 'register-dave' },
        }),
      ),
    );
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(7);
    expect(await ledgerLength()).toBe(before + 1);
  });
});

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document with one operation per catalogue entry', async () => {
    const r = await request('GET', '/openapi.json');
    expect(r.status).toBe(200);
    const doc = r.body as {
      openapi: string;
      paths: Record<string, Record<string, Record<string, unknown>>>;
      components: Record<string, Record<string, unknown>>;
      security: unknown;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    // Every $ref resolves from the document's root (a recursive JSON value once pointed at
    // "#/$defs/__schema0", which no document holds).
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"(#[^"]*)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of new Set(refs)) {
      const target = ref
        .slice(2)
        .split('/')
        .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], doc);
      expect(target, ref).toBeDefined();
    }
    expect(doc.components.securitySchemes!.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
    const found = new Map<string, { method: string; path: string; o: Record<string, unknown> }>();
    for (const [p, item] of Object.entries(doc.paths))
      for (const [method, o] of Object.entries(item))
        found.set(o.operationId as string, { method: method.toUpperCase(), path: p, o });
    const ajv = new Ajv2020({ strict: false });
    for (const op of OPERATIONS) {
      const f = found.get(op.name);
      expect(f, op.name).toBeDefined();
      expect([f!.method, f!.path]).toEqual([op.http.method, op.http.path]);
      const params = f!.o.parameters as { $ref?: string; name?: string; in?: string }[];
      const refs = params.map((p) => p.$ref).filter(Boolean);
      expect(refs).toContain(
        op.privileged
          ? '#/components/parameters/PurposeRequired'
          : '#/components/parameters/Purpose',
      );
      if (op.write && op.http.method !== 'GET')
        expect(refs).toContain('#/components/parameters/IdempotencyKey');
      else expect(refs).not.toContain('#/components/parameters/IdempotencyKey');
      for (const m of op.http.path.matchAll(/\{(\w+)\}/g))
        expect(params).toContainEqual(expect.objectContaining({ name: m[1], in: 'path' }));
      const responses = f!.o.responses as Record<
        string,
        { content?: Record<string, { schema: object }> }
      >;
      expect(responses['200']!.content!['application/json']!.schema).toBeTypeOf('object');
      expect(responses['400']!.content!['application/json']!.schema).toEqual({
        $ref: '#/components/schemas/Error',
      });
      // The schemas are usable JSON Schema, their references resolved in the document.
      const inDocument = (schema: object) => ({ ...schema, components: doc.components });
      ajv.compile(inDocument(responses['200']!.content!['application/json']!.schema));
      const rb = f!.o.requestBody as { content: Record<string, { schema: object }> } | undefined;
      if (rb) ajv.compile(inDocument(rb.content['application/json']!.schema));
    }
    expect(found.size).toBe(OPERATIONS.length + 2);
    // Every status the server can answer for an operation is documented, with the error shape:
    // the code mapping's, and 413/415 wherever the framework reads a body before the route.
    const mapped = [...new Set(Object.values(HTTP_STATUS))].map(String);
    for (const op of OPERATIONS) {
      const { o } = found.get(op.name)!;
      const responses = o.responses as Record<string, { content?: Record<string, unknown> }>;
      const expected = [
        '200',
        ...mapped,
        ...(op.http.method === 'GET' ? [] : ['413', '415']),
      ].sort();
      expect(Object.keys(responses).sort(), op.name).toEqual(expected);
      for (const status of expected.filter((s) => s !== '200'))
        expect(responses[status]!.content, `${op.name} ${status}`).toEqual({
          'application/json': { schema: { $ref: '#/components/schemas/Error' } },
        });
      // A recorded read says why HEAD is refused there.
      if (op.write && op.http.method === 'GET')
        expect(o.description, op.name).toContain('HEAD is not served here (405)');
    }
    // Links name operations that exist, with the path parameter they fill.
    for (const { o } of found.values()) {
      const links = (o.responses as Record<string, { links?: Record<string, Link> }>)['200']!.links;
      for (const link of Object.values(links ?? {})) {
        const target = found.get(link.operationId)!;
        expect(Object.keys(link.parameters).map((p) => `{${p}}`)).toEqual(
          target.path.match(/\{\w+\}/g),
        );
      }
    }
    type Link = { operationId: string; parameters: Record<string, string> };
    // A token's scope names operations of the catalogue, and the server refuses any other.
    const scope = (
      found.get('create_token')!.o.requestBody as {
        content: Record<string, { schema: { properties: Record<string, { items: unknown }> } }>;
      }
    ).content['application/json']!.schema.properties.scope!.items;
    expect(scope).toEqual({ type: 'string', enum: OPERATIONS.map((o) => o.name) });
    const unknownScope = await request('POST', '/tokens', {
      token: tokens.admin,
      body: { actor_id: 'actor_1', name: 'scoped', scope: ['get_proposal', 'a'] },
      headers: purpose('scope check'),
    });
    expect(unknownScope).toMatchObject({ status: 400, error: { code: 'VALIDATION_FAILED' } });
    expect(unknownScope.error.details.issues).toEqual([
      { path: 'scope.1', message: 'must be the name of an operation' },
    ]);
    const parameters = doc.components.parameters as Record<string, { name: string; in: string }>;
    expect(parameters.PurposeRequired).toMatchObject({
      name: 'X-Purpose',
      in: 'header',
      required: true,
    });
    expect(parameters.IdempotencyKey).toMatchObject({ name: 'Idempotency-Key', in: 'header' });
    const error = doc.components.schemas!.Error as {
      properties: { error: { properties: { code: { enum: string[] } } } };
    };
    expect(error.properties.error.properties.code.enum.sort()).toEqual(
      Object.keys(ERROR_CODES).sort(),
    );
    // The review body is the input without the path's proposal_id, and validates the seed's step 4.
    const review = found.get('review_action')!.o.requestBody as {
      content: Record<string, { schema: { properties: object; required: string[] } }>;
    };
    const schema = review.content['application/json']!.schema;
    expect(Object.keys(schema.properties)).not.toContain('proposal_id');
    expect(schema.required).toEqual(['reviewer_id', 'decision']);
    const validReview = ajv.compile({ ...schema, components: doc.components });
    expect(validReview({ reviewer_id: 'actor_2', decision: 'approve' })).toBe(true);
    expect(validReview({ reviewer_id: 'bob', decision: 'approve' })).toBe(false);
    // Edited params are plain JSON: no prototype key at any depth, as the server refuses them.
    const edit = (params: unknown) =>
      validReview({ reviewer_id: 'actor_2', decision: 'edit', edits: { params } });
    expect(edit({ a: [{ b: 1 }], c: null })).toBe(true);
    expect(edit(JSON.parse('{"a":[{"__proto__":1}]}'))).toBe(false);
    expect(edit({ a: { constructor: 1 } })).toBe(false);
  });
});

describe('serve', () => {
  it('creates the admin token only on the first start and validates the port', async () => {
    const again = await startServer(
      { ...configFromEnv({}), dataDir: dir + '-second' },
      { port: 0 },
    );
    try {
      expect(again.adminToken).toMatch(/^cs_/);
    } finally {
      await again.close();
    }
    const third = await startServer(
      { ...configFromEnv({}), dataDir: dir + '-second' },
      { port: 0 },
    );
    try {
      expect(third.adminToken).toBeNull();
      const r = await fetch(`${third.url}/audit/verify`, {
        headers: { authorization: `Bearer ${again.adminToken}` },
      });
      expect(r.status).toBe(200);
    } finally {
      await third.close();
      fs.rmSync(dir + '-second', { recursive: true, force: true });
    }
    expect(() => parsePort('eighty')).toThrow(/whole number from 0 to 65535/);
    expect(() => parsePort('70000')).toThrow(/whole number/);
    expect(parsePort(' 8080 ')).toBe(8080);
    const old = process.env.PORT;
    process.env.PORT = 'abc';
    try {
      await expect(startServer({ ...configFromEnv({}), dataDir: dir })).rejects.toThrow(
        /PORT must be a whole number/,
      );
    } finally {
      if (old === undefined) delete process.env.PORT;
      else process.env.PORT = old;
    }
    const banner = serveBanner('http://127.0.0.1:8787', 'cs_secret');
    expect(banner).toContain('Operator token (shown once): cs_secret');
    expect(banner).toContain('http://127.0.0.1:8787/openapi.json');
    expect(banner).toContain('"url": "http://127.0.0.1:8787/mcp"');
    // The MCP client config never carries the operator token: an agent gets a token of its own.
    expect(banner).toContain('"Authorization": "Bearer <the agent\'s token>"');
    expect(banner.match(/cs_secret/g)).toHaveLength(1);
    expect(banner).toContain('never acts as an actor');
    expect(banner).toContain('"args": [\n');
  });
});
