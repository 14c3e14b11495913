/**
 * The Temporal codec endpoint over real HTTP: who may decode (only an operator token of the
 * server's tenant), the codec server protocol's shapes, CORS for the Temporal UI's origin, and
 * the API's error shape for every refusal. The codec is the one the worker uses, on a key file
 * of its own; no Temporal server is needed (test/temporal-encryption.test.ts runs serve on one).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncryptionCodec, KEY_ID_METADATA } from '../src/adapters/temporal/encryption-codec.js';
import { ensureKeyFile, parseKeyring } from '../src/adapters/temporal/key-file.js';
import { operatorContext } from '../src/core/context.js';
import { type Runtime, openRuntime } from '../src/main/compose.js';
import { configFromEnv } from '../src/main/config.js';
import { buildHttpApp } from '../src/surfaces/http/app.js';
import { codecRoute } from '../src/surfaces/http/codec-route.js';

const UI = 'http://127.0.0.1:8233';
const EMAIL = 'dana.customer@example.com';
let dir: string;
let core: Runtime;
let app: FastifyInstance;
let base: string;
let codec: EncryptionCodec;
const tokens: Record<'operator' | 'actor' | 'admin' | 'foreignOperator', string> = {
  operator: '',
  actor: '',
  admin: '',
  foreignOperator: '',
};

interface WirePayload {
  metadata?: Record<string, string>;
  data?: string;
}
const toWire = (p: Payload): WirePayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  ...(p.data ? { data: Buffer.from(p.data).toString('base64') } : {}),
});
const fromWire = (p: WirePayload): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  ),
  ...(p.data !== undefined ? { data: Buffer.from(p.data, 'base64') } : {}),
});

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${url}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-codec-route-'));
  core = await openRuntime({ ...configFromEnv({}), dataDir: dir });
  codec = new EncryptionCodec(ensureKeyFile(path.join(dir, 'temporal-keys.json')));
  // As serve composes it on Temporal, without the Temporal runtime.
  app = buildHttpApp(core.services, {
    extraRoutes: (a) =>
      void a.register(codecRoute, {
        kernel: core.kernel,
        codec,
        tenant: 'default',
        allowedOrigin: UI,
      }),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  const op = operatorContext('codec route test');
  const k = core.kernel;
  tokens.operator = (await k.createToken(op, { actor_id: 'operator', name: 'admin' })).token;
  const riley = await k.registerActor(op, { name: 'Riley', role: 'change_manager' });
  tokens.actor = (await k.createToken(op, { actor_id: riley.actor_id, name: 'r' })).token;
  const ada = await k.registerActor(op, { name: 'Ada', role: 'admin' });
  tokens.admin = (await k.createToken(op, { actor_id: ada.actor_id, name: 'a' })).token;
  tokens.foreignOperator = (
    await k.createToken(operatorContext('codec route test', 'other'), {
      actor_id: 'operator',
      name: 'other-admin',
    })
  ).token;
});

afterAll(async () => {
  await app?.close();
  await core?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const encrypted = async () =>
  toWire((await codec.encode([defaultPayloadConverter.toPayload({ email: EMAIL })]))[0]!);

describe('POST /codec/decode and /codec/encode', () => {
  it('decode gives an operator the payloads in clear, in the codec server protocol’s shape', async () => {
    const wire = await encrypted();
    expect(Buffer.from(wire.data!, 'base64').includes(EMAIL)).toBe(false);
    const plain = { metadata: { encoding: Buffer.from('json/plain').toString('base64') } };
    const res = await post('/codec/decode', { payloads: [wire, plain] }, bearer(tokens.operator));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const payloads = res.body.payloads as WirePayload[];
    expect(payloads).toHaveLength(2);
    expect(Buffer.from(payloads[0]!.metadata!.encoding!, 'base64').toString()).toBe('json/plain');
    expect(defaultPayloadConverter.fromPayload(fromWire(payloads[0]!))).toEqual({ email: EMAIL });
    // Not encrypted: passed through as it came.
    expect(payloads[1]).toEqual(plain);
  });

  it('reads `{}` as no payloads, as protobuf JSON writes an empty list (the Temporal CLI sends it)', async () => {
    for (const url of ['/codec/decode', '/codec/encode']) {
      const res = await post(url, {}, bearer(tokens.operator));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ payloads: [] });
    }
  });

  it('encode encrypts for an operator, and what it returns decodes again', async () => {
    const clear = toWire(defaultPayloadConverter.toPayload({ email: EMAIL }));
    const res = await post('/codec/encode', { payloads: [clear] }, bearer(tokens.operator));
    expect(res.status).toBe(200);
    const [out] = res.body.payloads as WirePayload[];
    expect(Buffer.from(out!.metadata![KEY_ID_METADATA]!, 'base64').toString()).toBe(
      codec.currentKeyId,
    );
    expect(Buffer.from(out!.data!, 'base64').includes(EMAIL)).toBe(false);
    const [back] = await codec.decode([fromWire(out!)]);
    expect(defaultPayloadConverter.fromPayload(back!)).toEqual({ email: EMAIL });
  });

  it.each([
    ['an actor', 'actor'],
    ['an actor with the admin role', 'admin'],
    ['the operator of another tenant', 'foreignOperator'],
  ] as const)('refuses %s with 403 POLICY_DENIED in the API’s error shape', async (_w, who) => {
    for (const url of ['/codec/decode', '/codec/encode']) {
      const res = await post(url, { payloads: [await encrypted()] }, bearer(tokens[who]));
      expect(res.status).toBe(403);
      expect(res.body).toEqual({
        error: {
          code: 'POLICY_DENIED',
          message: expect.stringContaining('only an operator token') as string,
          retryable: false,
          details: { required: 'operator' },
        },
      });
      expect(JSON.stringify(res.body)).not.toContain(EMAIL);
    }
  });

  it('answers 401 without a token, with an unknown one, or with a non-Bearer header', async () => {
    const body = { payloads: [await encrypted()] };
    const none = await post('/codec/decode', body);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.body).toMatchObject({ error: { code: 'UNAUTHENTICATED', retryable: false } });
    expect((await post('/codec/decode', body, bearer('cs_unknown_token_000000000'))).status).toBe(
      401,
    );
    expect((await post('/codec/decode', body, { authorization: 'Basic abc' })).status).toBe(401);
  });

  it('refuses before reading the body: an unauthenticated body over the limit is 401, not 413', async () => {
    const res = await post('/codec/decode', `{"payloads": [${'{},'.repeat(3_000_000)}{}]}`);
    expect(res.status).toBe(401);
  });

  it('takes bodies beyond the API’s 1 MiB: one large payload', async () => {
    const big = defaultPayloadConverter.toPayload({ blob: 'x'.repeat(1_500_000), email: EMAIL });
    const [enc] = await codec.encode([big]);
    const res = await post('/codec/decode', { payloads: [toWire(enc!)] }, bearer(tokens.operator));
    expect(res.status).toBe(200);
    const [out] = res.body.payloads as WirePayload[];
    expect(defaultPayloadConverter.fromPayload(fromWire(out!))).toMatchObject({ email: EMAIL });
  });

  it('names a payload under an unknown key, or altered, with 422 and a stable code', async () => {
    const foreign = new EncryptionCodec(
      parseKeyring(
        JSON.stringify({ current: 'k9', keys: { k9: Buffer.alloc(32, 9).toString('base64') } }),
        'x',
      ),
    );
    const [alien] = await foreign.encode([defaultPayloadConverter.toPayload({ email: EMAIL })]);
    const unknown = await post(
      '/codec/decode',
      { payloads: [toWire(alien!)] },
      bearer(tokens.operator),
    );
    expect(unknown.status).toBe(422);
    expect(unknown.body).toMatchObject({
      error: { code: 'ENCRYPTION_KEY_UNKNOWN', details: { key_id: 'k9' } },
    });

    const wire = await encrypted();
    const bytes = Buffer.from(wire.data!, 'base64');
    bytes[bytes.length - 1]! ^= 1;
    const altered = await post(
      '/codec/decode',
      { payloads: [{ ...wire, data: bytes.toString('base64') }] },
      bearer(tokens.operator),
    );
    expect(altered.status).toBe(422);
    expect(altered.body).toMatchObject({ error: { code: 'DECRYPTION_FAILED' } });
    expect(JSON.stringify(altered.body)).not.toContain('stack');
  });

  it('refuses a malformed body with 400 VALIDATION_FAILED naming the field', async () => {
    for (const body of [
      { payloads: 'x' },
      { payloads: [{ data: 'not base64!' }] },
      { payloads: [{ metadata: { encoding: 7 } }] },
    ]) {
      const res = await post('/codec/decode', body, bearer(tokens.operator));
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    }
    expect((await post('/codec/decode', '{', bearer(tokens.operator))).status).toBe(400);
  });

  it('answers other methods with 405 and the allowed ones', async () => {
    const res = await fetch(`${base}/codec/decode`, { headers: bearer(tokens.operator) });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST, OPTIONS');
    expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });
});

describe('CORS for the Temporal UI', () => {
  const preflight = (origin: string) =>
    fetch(`${base}/codec/decode`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,x-namespace',
      },
    });

  it('answers the UI origin’s preflight: POST with credentials and the headers the UI sends', async () => {
    const res = await preflight(UI);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(UI);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    const allowed = res.headers.get('access-control-allow-headers')!.toLowerCase();
    for (const h of ['authorization', 'content-type', 'x-namespace']) expect(allowed).toContain(h);
    expect(res.headers.get('vary')).toContain('Origin');
  });

  it('refuses another origin’s preflight, without CORS headers', async () => {
    const res = await preflight('http://evil.example');
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(await res.json()).toMatchObject({ error: { code: 'POLICY_DENIED' } });
  });

  it('lets the UI read the answer, success or refusal; other origins get no CORS headers', async () => {
    const body = { payloads: [await encrypted()] };
    const ok = await post('/codec/decode', body, { origin: UI, ...bearer(tokens.operator) });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(UI);
    const refused = await post('/codec/decode', body, { origin: UI });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(UI);
    expect(refused.headers.get('access-control-allow-credentials')).toBe('true');
    const other = await post('/codec/decode', body, {
      origin: 'http://evil.example',
      ...bearer(tokens.operator),
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
