/**
 * What Temporal stores is ciphertext: a real `temporal server start-dev`, a real Postgres store,
 * `serve` and a worker on one data directory whose key file they create on first use. The run's
 * history is read back three ways: with a bare client (no codec: no e-mail address anywhere in
 * its bytes), with the key file's codec (the input in clear), and as an operator of the
 * Temporal UI or CLI would read it, through serve's codec endpoint.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { ApplicationFailure, type Payload, defaultPayloadConverter } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../src/adapters/temporal/encryption-codec.js';
import { readKeyFile } from '../src/adapters/temporal/key-file.js';
import { operatorContext } from '../src/core/context.js';
import { snapshot } from '../src/engine/temporal/contract.js';
import type { JsonObject } from '../src/core/model.js';
import { runIdFor } from '../src/core/workflow-ops.js';
import {
  type TemporalActivities,
  createTemporalActivities,
} from '../src/engine/temporal/activities.js';
import { openCore, openRuntime } from '../src/main/compose.js';
import { type Config, KEY_FILE_NAME } from '../src/main/config.js';
import { type RunningServer, startServer } from '../src/main/serve.js';
import { openTemporalCodec } from '../src/main/temporal.js';
import { type RunningWorker, buildWorker, startWorker } from '../src/main/worker.js';
import { type FreshPgDatabase, freshPgDatabase } from './setup/pg.js';
import { findTemporalCli } from './setup/temporal-server.js';
import {
  eventually,
  openWindowChange,
  temporalClient,
  temporalConfig,
} from './support/temporal-fixture.js';

const run = promisify(execFile);
const EMAIL = 'riley.ops@example.com';
const { History } = proto.temporal.api.history.v1;
const ctx = operatorContext('temporal encryption tests');

let db: FreshPgDatabase;
let config: Config;
let server: RunningServer;
let worker: RunningWorker;
let bare: Client;
let decoding: Client;

/** The run's input, with personal data in it. */
function input(ticket: string): JsonObject {
  const base = openWindowChange(ticket);
  return {
    ...base,
    change_request: {
      ...(base.change_request as JsonObject),
      requested_by: EMAIL,
      summary: `Raise the checkout timeout; questions to ${EMAIL}.`,
    },
  };
}

/** Every payload in a history, except search attributes (which Temporal indexes, in clear). */
function payloadsOf(node: unknown, out: Payload[] = [], key = ''): Payload[] {
  if (node === null || typeof node !== 'object' || ArrayBuffer.isView(node)) return out;
  if (/searchAttributes$/i.test(key)) return out;
  const o = node as Record<string, unknown>;
  if (o.metadata && typeof o.metadata === 'object' && 'data' in o) out.push(o);
  else for (const [k, v] of Object.entries(o)) payloadsOf(v, out, k);
  return out;
}
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');

beforeAll(async () => {
  db = await freshPgDatabase(inject('pgUrl'), 'temporal_encryption');
  const c = temporalConfig(inject('temporalAddress'), db.url, 'encryption');
  // No COUNTERSIGN_TEMPORAL_KEY_FILE: the key file is the data directory's, made on first use.
  config = { ...c, temporal: { ...c.temporal!, keyFile: undefined } };
  expect(fs.existsSync(path.join(config.dataDir, KEY_FILE_NAME))).toBe(false);
  [worker, server] = await Promise.all([
    startWorker(config),
    startServer(config, { port: 0, log: () => undefined }),
  ]);
  bare = await temporalClient(inject('temporalAddress'));
  decoding = await temporalClient(inject('temporalAddress'), config);
}, 120_000);

afterAll(async () => {
  await server?.close();
  await worker?.stop();
  await bare?.connection.close();
  await decoding?.connection.close();
  await db?.drop();
  if (config) fs.rmSync(config.dataDir, { recursive: true, force: true });
});

describe('payloads on Temporal', () => {
  let workflowId: string;
  let raw: Uint8Array;
  let payloads: Payload[];

  beforeAll(async () => {
    const started = await server.services.engine.start(ctx, {
      definition: 'ops_change_control',
      input: input('ENC-1'),
      idempotency_key: 'ENC-1',
    });
    expect(started).toMatchObject({ status: 'waiting', stage: 'risk_review' });
    workflowId = started.workflow_id;
    const history = await bare.workflow.getHandle(workflowId).fetchHistory();
    raw = History.encode(history).finish();
    payloads = payloadsOf(history);
  }, 60_000);

  it('are stored encrypted: the history a client without the key fetches holds no e-mail address', () => {
    expect(raw.length).toBeGreaterThan(1000);
    expect(Buffer.from(raw).includes(EMAIL)).toBe(false);
    expect(Buffer.from(raw).includes('Raise the checkout timeout')).toBe(false);
    // Every payload (workflow input, update and activity arguments and results) is ciphertext
    // under the key file's current key.
    const { current } = readKeyFile(path.join(config.dataDir, KEY_FILE_NAME));
    expect(payloads.length).toBeGreaterThan(5);
    for (const p of payloads) {
      expect(text(p.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
      expect(text(p.metadata![KEY_ID_METADATA])).toBe(current);
    }
    expect(fs.statSync(path.join(config.dataDir, KEY_FILE_NAME)).mode & 0o777).toBe(0o600);
  });

  it('decode with the key file: the run input is there in clear', async () => {
    const history = await decoding.workflow.getHandle(workflowId).fetchHistory();
    const startedEvent = history.events!.find((e) => e.workflowExecutionStartedEventAttributes)!;
    const args = startedEvent.workflowExecutionStartedEventAttributes!.input!.payloads!;
    const codec = openTemporalCodec(config.dataDir, config.temporal!);
    const [arg] = (await codec.decode(args)).map((p) => defaultPayloadConverter.fromPayload(p));
    expect(arg).toMatchObject({
      run_id: workflowId,
      input: { change_request: { requested_by: EMAIL } },
    });
  });

  it('decode for an operator through serve’s codec endpoint, as the Temporal UI and CLI call it', async () => {
    const wire = payloads.map((p) => ({
      metadata: Object.fromEntries(
        Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
      data: Buffer.from(p.data!).toString('base64'),
    }));
    const call = (token?: string) =>
      fetch(`${server.url}/codec/decode`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-namespace': 'default',
          origin: 'http://127.0.0.1:8233',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ payloads: wire }),
      });
    const res = await call(server.adminToken!);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
    const body = (await res.json()) as { payloads: { data: string }[] };
    expect(body.payloads).toHaveLength(wire.length);
    expect(body.payloads.some((p) => Buffer.from(p.data, 'base64').includes(EMAIL))).toBe(true);
    expect((await call()).status).toBe(401);
  });

  it('the Temporal CLI shows the history in clear only through the codec endpoint with an operator token', async () => {
    const cli = findTemporalCli()!;
    const show = (...extra: string[]) =>
      run(cli, [
        'workflow',
        'show',
        '--address',
        inject('temporalAddress'),
        '--workflow-id',
        workflowId,
        // The text view shows payloads as their JSON (the JSON view keeps them base64).
        '--detailed',
        ...extra,
      ]).then((r) => r.stdout);
    expect(await show()).not.toContain(EMAIL);
    const decoded = await show(
      '--codec-endpoint',
      `${server.url}/codec`,
      '--codec-auth',
      `Bearer ${server.adminToken!}`,
    );
    expect(decoded).toContain(EMAIL);
    // An actor's token is refused, and the CLI shows nothing in clear.
    const op = operatorContext('encryption test');
    const actor = await server.kernel.registerActor(op, { name: 'Ana', role: 'change_manager' });
    const token = (await server.kernel.createToken(op, { actor_id: actor.actor_id, name: 'a' }))
      .token;
    const refused = await show(
      '--codec-endpoint',
      `${server.url}/codec`,
      '--codec-auth',
      `Bearer ${token}`,
      // The CLI retries a refused decode until its deadline.
      '--command-timeout',
      '3s',
    ).catch((e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`);
    expect(refused).not.toContain(EMAIL);
  });

  it('the worker answers the client through the codec; a client without the key cannot read it', async () => {
    const snap = await decoding.workflow.getHandle(workflowId).query(snapshot);
    expect(snap).toMatchObject({ run_id: workflowId, stage: 'risk_review' });
    await expect(bare.workflow.getHandle(workflowId).query(snapshot)).rejects.toThrow(
      /encoding|binary\/encrypted/i,
    );
    await server.services.engine.cancel(ctx, { workflow_id: workflowId, reason: 'test done' });
    await expect(decoding.workflow.getHandle(workflowId).result()).rejects.toThrow(/cancel/i);
  });
});

describe('rotating the key', () => {
  it('a worker still holding the old key reads runs started under the new one; old histories still decode', async () => {
    const file = path.join(config.dataDir, KEY_FILE_NAME);
    const before = readKeyFile(file);
    const old = JSON.parse(fs.readFileSync(file, 'utf8')) as { keys: Record<string, string> };
    const rotated = {
      current: 'k-rotated',
      keys: { ...old.keys, 'k-rotated': randomBytes(32).toString('base64') },
    };
    // As an operator would: the new file whole, in place.
    fs.writeFileSync(`${file}.new`, JSON.stringify(rotated), { mode: 0o600 });
    fs.renameSync(`${file}.new`, file);

    // A server restarted after the rotation encrypts with the new key; the worker of this test
    // file started before it and has only the old one until it re-reads the file.
    const rt = await openRuntime(config, { warn: () => undefined });
    try {
      const run = await rt.engine.start(ctx, {
        definition: 'ops_change_control',
        input: input('ENC-3'),
        idempotency_key: 'ENC-3',
      });
      expect(run).toMatchObject({ status: 'waiting', stage: 'risk_review' });
      const history = await bare.workflow.getHandle(run.workflow_id).fetchHistory();
      const ids = new Set(payloadsOf(history).map((p) => text(p.metadata![KEY_ID_METADATA])));
      expect(ids).toEqual(new Set(['k-rotated']));
      expect(Buffer.from(History.encode(history).finish()).includes(EMAIL)).toBe(false);

      // The first run's history, under the old key, still decodes with the rotated file.
      const first = runIdFor('default', 'ops_change_control', 'ENC-1');
      const oldPayloads = payloadsOf(await bare.workflow.getHandle(first).fetchHistory());
      expect(text(oldPayloads[0]!.metadata![KEY_ID_METADATA])).toBe(before.current);
      const codec = openTemporalCodec(config.dataDir, config.temporal!);
      expect(codec.currentKeyId).toBe('k-rotated');
      const decoded = await codec.decode(oldPayloads);
      expect(decoded.some((p) => Buffer.from(p.data ?? []).includes(EMAIL))).toBe(true);
      await rt.engine.cancel(ctx, { workflow_id: run.workflow_id, reason: 'test done' });
    } finally {
      await rt.close();
    }
  }, 90_000);
});

describe('failure messages', () => {
  it('are encrypted too: an activity failure quoting an e-mail address leaves none in the history', async () => {
    // A worker on a queue of its own whose activities all fail, quoting personal data.
    const t = { ...config.temporal!, taskQueue: `${config.temporal!.taskQueue}-fail` };
    const failConfig: Config = { ...config, temporal: t };
    const core = await openCore(failConfig);
    const native = await NativeConnection.connect({ address: t.address });
    const fail = () => {
      throw ApplicationFailure.nonRetryable(`No change requester ${EMAIL}`, 'VALIDATION_FAILED');
    };
    const names = Object.keys(
      createTemporalActivities({ ops: core.workflows, activities: core.activities }),
    );
    const failing = await buildWorker(core, native, t, {
      activities: Object.fromEntries(names.map((n) => [n, fail])) as unknown as TemporalActivities,
    });
    const running = failing.run();
    const rt = await openRuntime(failConfig, { warn: () => undefined });
    try {
      await rt.engine
        .start(ctx, {
          definition: 'ops_change_control',
          input: input('ENC-2'),
          idempotency_key: 'ENC-2',
        })
        .catch(() => undefined);
      const id = runIdFor('default', 'ops_change_control', 'ENC-2');
      const history = await eventually(async () => {
        const h = await bare.workflow.getHandle(id).fetchHistory();
        return h.events!.some((e) => e.activityTaskFailedEventAttributes) ? h : undefined;
      }, 30_000);
      const failed = history.events!.find((e) => e.activityTaskFailedEventAttributes)!
        .activityTaskFailedEventAttributes!.failure!;
      expect(failed.message).toBe('Encoded failure');
      expect(failed.applicationFailureInfo?.type).toBe('VALIDATION_FAILED');
      expect(text(failed.encodedAttributes?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
      expect(Buffer.from(History.encode(history).finish()).includes(EMAIL)).toBe(false);
      // With the key, the message is the activity's.
      const codec = openTemporalCodec(config.dataDir, config.temporal!);
      const [attrs] = await codec.decode([failed.encodedAttributes!]);
      expect(defaultPayloadConverter.fromPayload(attrs!)).toMatchObject({
        message: `No change requester ${EMAIL}`,
      });
    } finally {
      await rt.close();
      failing.shutdown();
      await running;
      await native.close();
      await core.close();
    }
  }, 90_000);
});

describe('a bad key file', () => {
  it('stops the worker before it connects, with a stable code and no stack trace', () => {
    const dir = fs.mkdtempSync(path.join(config.dataDir, 'bad-'));
    const file = path.join(dir, 'keys.json');
    fs.writeFileSync(file, JSON.stringify({ current: 'k2', keys: { k1: 'c2hvcnQ=' } }));
    const r = spawnSync(process.execPath, [path.resolve('bin/countersign.js'), 'worker'], {
      env: {
        ...process.env,
        COUNTERSIGN_DATA_DIR: dir,
        COUNTERSIGN_DATABASE_URL: '',
        COUNTERSIGN_SERVER: '',
        COUNTERSIGN_TEMPORAL_ADDRESS: inject('temporalAddress'),
        COUNTERSIGN_TEMPORAL_KEY_FILE: file,
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error ENCRYPTION_KEYS_INVALID');
    expect(r.stderr).toContain(file);
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });
});
