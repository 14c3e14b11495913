/**
 * Hostile input at every route over real HTTP: malformed and adversarial bodies, query strings,
 * paths and headers. The server never answers 5xx, always answers the JSON error shape, stays
 * up, and a rejected request changes no state (at most it records its own refusal).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { operatorContext } from '../src/core/context.js';
import { ERROR_CODES } from '../src/core/errors.js';
import { SQLITE_FILE } from '../src/main/compose.js';
import { configFromEnv } from '../src/main/config.js';
import { type RunningServer, startServer } from '../src/main/serve.js';
import { OPERATIONS, type Operation } from '../src/surfaces/operations.js';

let dir: string;
let server: RunningServer;
let ledgerDb: Database.Database;
const tokens: string[] = [];
const serverLog: string[] = [];

/** Codes a refusal is recorded for (OPERATION_REFUSED); any other rejection writes nothing. */
const RECORDED = new Set([
  'POLICY_DENIED',
  'SELF_APPROVAL',
  'MISSING_ROLE',
  'DUPLICATE_DECISION',
  'INVALID_STATE',
  'REVIEW_REQUIRED',
  'APPROVAL_HASH_MISMATCH',
  'EXECUTION_IN_DOUBT',
]);

function ledgerTail(afterSeq: number): { seq: number; type: string }[] {
  return ledgerDb
    .prepare('SELECT seq, type FROM ledger_events WHERE seq > ? ORDER BY seq')
    .all(afterSeq) as { seq: number; type: string }[];
}

function lastSeq(): number {
  return (ledgerDb.prepare('SELECT max(seq) AS n FROM ledger_events').get() as { n: number }).n;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-http-fuzz-'));
  server = await startServer(
    { ...configFromEnv({}), dataDir: dir },
    { port: 0, log: (l) => serverLog.push(l) },
  );
  const k = server.kernel;
  const op = operatorContext('fuzz setup');
  const alice = (await k.registerActor(op, { name: 'Alice', role: 'Developer' })).actor_id;
  const bob = (await k.registerActor(op, { name: 'Bob', role: 'admin' })).actor_id;
  const { workflow_id } = await k.startWorkflow(op, { title: 'Fuzz' });
  const propose = () =>
    k.proposeAction(op, {
      workflow_id,
      actor_id: alice,
      tool: 'update_status',
      params: { status: 'fuzz' },
      reason: 'fuzz',
    });
  await propose();
  const approved = await propose();
  await k.reviewAction(op, {
    proposal_id: approved.proposal_id,
    reviewer_id: bob,
    decision: 'approve',
  });
  tokens.push(server.adminToken!);
  tokens.push((await k.createToken(op, { actor_id: alice, name: 'alice' })).token);
  tokens.push((await k.createToken(op, { actor_id: bob, name: 'bob' })).token);
  const acme = operatorContext('fuzz setup', 'acme');
  const m = (await k.registerActor(acme, { name: 'M', role: 'admin' })).actor_id;
  tokens.push((await k.createToken(acme, { actor_id: m, name: 'm' })).token);
  ledgerDb = new Database(path.join(dir, SQLITE_FILE), { readonly: true });
});

afterAll(async () => {
  ledgerDb?.close();
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

// ---- arbitraries ----------------------------------------------------------------------------

const ids = fc.constantFrom(
  'workflow_1',
  'proposal_1',
  'proposal_2',
  'actor_1',
  'actor_2',
  'operator',
  'proposal_0',
  'proposal_99999999999999999',
);
const nasty = fc.constantFrom(
  '',
  ' ',
  '%00',
  '%2F..%2F..',
  '..',
  '__proto__',
  'constructor',
  '%E0%A4%A',
  '\u{1F4A9}',
  'a'.repeat(300),
  "' OR 1=1 --",
  '${7*7}',
  '<script>',
  '-1',
  '1e309',
  'NaN',
  'null',
  'true',
);
const segment = fc.oneof(ids, nasty, fc.string({ maxLength: 20 }));

/** A JSON value, deep or odd: prototype keys, huge numbers, long strings, deep nesting. */
const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(
    { __proto__: { admin: true } },
    { constructor: { prototype: { polluted: true } } },
    { name: 'x', role: 'r', extra: true },
    { params: { nested: { __proto__: null } } },
    { calls: Array.from({ length: 101 }, () => ({ tool: 'update_status', params: {} })) },
    { calls: [] },
    { dry_run: 'yes' },
    { decision: 'approve', reviewer_id: 'actor_2', edits: { params: [] } },
    { max_concurrency: 1e9 },
    { title: '\u0000' },
    { title: 'x'.repeat(600) },
  ),
  fc.integer({ min: 1, max: 200 }).map((depth) => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = { a: v };
    return v;
  }),
);

/** A plausible body for the operation with one field replaced by something hostile. */
function mutatedBody(op: Operation): fc.Arbitrary<unknown> {
  const shape = op.input instanceof z.ZodObject ? Object.keys(op.input.shape) : [];
  const fields = shape.length > 0 ? shape : ['x'];
  return fc
    .record({
      field: fc.constantFrom(...fields),
      value: fc.oneof(hostileJson, ids, nasty),
      base: fc.dictionary(
        fc.constantFrom(...fields),
        fc.oneof(ids, fc.jsonValue({ maxDepth: 2 })),
        {
          maxKeys: 5,
        },
      ),
    })
    .map(({ field, value, base }) => ({ ...base, [field]: value }));
}

interface Attack {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

const headerText = fc
  .string({ maxLength: 40, unit: 'binary-ascii' })
  .map((s) => s.replace(/[^\x20-\x7e]/g, ''));

function attackOn(op: Operation): fc.Arbitrary<Attack> {
  const pathArb = fc.array(segment, { minLength: 1, maxLength: 2 }).map((segs) => {
    let i = 0;
    return op.http.path.replace(/\{[a-z_]+\}/g, () => encodeURIComponent(segs[i++ % segs.length]!));
  });
  const query = fc
    .array(
      fc.tuple(
        fc.oneof(
          fc.constantFrom('limit', 'min_age_seconds', 'workflow_id', 'tool', '__proto__', 'limit'),
          fc.string({ maxLength: 8 }),
        ),
        fc.oneof(nasty, ids, fc.string({ maxLength: 10 })),
      ),
      { maxLength: 4 },
    )
    .map((pairs) =>
      pairs.length
        ? `?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`
        : '',
    );
  const rawQuery = fc.constantFrom(
    '',
    '?',
    '?&&&',
    '?a[b]=1',
    '?limit=1&limit=2',
    '?%zz=1',
    '?limit=%00',
  );
  const body = fc.oneof(
    fc.constant(undefined),
    hostileJson.map((v) => JSON.stringify(v)),
    mutatedBody(op).map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 60 }),
    fc.constantFrom(
      '{',
      '{"a":',
      '[1,2',
      '"str"',
      'null',
      '1',
      '{"a":1}garbage',
      '\u0000',
      '{"__proto__":{"x":1}}',
      '{"a":1e999}',
    ),
  );
  const token = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...tokens).map((t) => `Bearer ${t}`) },
    fc.constantFrom(...tokens).map((t) => `bearer   ${t}  `),
    fc.constantFrom(
      '',
      'Bearer',
      'Bearer ',
      'Basic Zm9vOmJhcg==',
      `Bearer ${tokens[0]}${tokens[1]}`,
      'Bearer cs_' + 'A'.repeat(200),
    ),
    headerText,
  );
  const contentType = fc.oneof(
    { weight: 6, arbitrary: fc.constant('application/json') },
    fc.constantFrom(
      'application/json; charset=utf-8',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=latin1',
      '',
    ),
  );
  return fc
    .record({
      method: fc.oneof(
        { weight: 4, arbitrary: fc.constant(op.http.method as string) },
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
      ),
      path: pathArb,
      q: fc.oneof(query, rawQuery),
      body,
      token: fc.option(token, { nil: undefined }),
      purpose: fc.option(fc.oneof(headerText, fc.constant('x'.repeat(600))), { nil: undefined }),
      key: fc.option(fc.oneof(headerText, fc.constantFrom('k1', 'k2')), { nil: undefined }),
      contentType: fc.option(contentType, { nil: undefined, freq: 8 }),
    })
    .map((a) => {
      const headers: Record<string, string> = {};
      if (a.token !== undefined) headers.authorization = a.token;
      if (a.purpose !== undefined) headers['x-purpose'] = a.purpose;
      if (a.key !== undefined) headers['idempotency-key'] = a.key;
      if (a.contentType !== undefined && a.body !== undefined)
        headers['content-type'] = a.contentType;
      const hasBody = a.body !== undefined && a.method !== 'GET';
      return {
        method: a.method,
        url: `${a.path}${a.q}`,
        headers,
        body: hasBody ? a.body : undefined,
      };
    });
}

// ---- the property -----------------------------------------------------------------------------

async function fire(a: Attack) {
  const res = await fetch(`${server.url}${a.url}`, {
    method: a.method,
    headers: a.headers,
    body: a.body,
  });
  return { status: res.status, text: await res.text() };
}

describe('hostile HTTP input', () => {
  it('never answers 5xx, always answers JSON errors, and rejected requests change nothing', async () => {
    const statuses = new Map<number, number>();
    const perRoute = Math.max(1, Math.floor(Number(process.env.COUNTERSIGN_FUZZ_RUNS ?? '100')));
    for (const op of OPERATIONS) {
      await fc.assert(
        fc.asyncProperty(attackOn(op), async (a) => {
          const before = lastSeq();
          const r = await fire(a);
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          expect(r.status, `${a.method} ${a.url}`).toBeLessThan(500);
          if (r.status >= 400) {
            const body = JSON.parse(r.text) as { error: { code: string; message: string } };
            expect(Object.keys(ERROR_CODES)).toContain(body.error.code);
            expect(r.text).not.toMatch(/\bat .*\.(js|ts):\d+/);
            const added = ledgerTail(before);
            if (RECORDED.has(body.error.code)) {
              expect(added.every((e) => e.type === 'OPERATION_REFUSED')).toBe(true);
            } else {
              expect(added, `${body.error.code} ${a.method} ${a.url}`).toEqual([]);
            }
          }
        }),
        {
          numRuns: perRoute,
          seed: Number(process.env.COUNTERSIGN_FUZZ_SEED ?? Date.now() % 2 ** 31),
        },
      );
    }
    // Still up, still sound.
    expect(
      (await fire({ method: 'GET', url: '/healthz', headers: {}, body: undefined })).status,
    ).toBe(200);
    const verify = await server.kernel.verifyAudit(operatorContext('fuzz'));
    expect(verify.ok).toBe(true);
    expect(serverLog).toEqual([]);
    // A sanity check that the fuzzing reached past authentication and validation.
    expect([...statuses.keys()].some((s) => s >= 200 && s < 300)).toBe(true);
    expect(statuses.get(400)).toBeGreaterThan(0);
    if (process.env.COUNTERSIGN_FUZZ_STATS) console.log(JSON.stringify([...statuses].sort()));
  });

  it('survives raw malformed HTTP on the socket', async () => {
    const net = await import('node:net');
    const { port } = new URL(server.url);
    for (const raw of [
      'GARBAGE\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      `GET /tools HTTP/1.1\r\nHost: x\r\n${'X-Big: ' + 'a'.repeat(20000)}\r\n\r\n`,
      'POST /actors HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n',
    ]) {
      const answer = await new Promise<string>((resolve) => {
        const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(raw));
        let data = '';
        socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
        socket.on('close', () => resolve(data));
        socket.on('error', () => resolve(data));
        socket.setTimeout(2000, () => socket.destroy());
      });
      expect(answer).toMatch(/^HTTP\/1\.1 4\d\d /);
      expect(answer).not.toMatch(/HTTP\/1\.1 5\d\d/);
    }
    expect(
      (await fire({ method: 'GET', url: '/healthz', headers: {}, body: undefined })).status,
    ).toBe(200);
  });
});
