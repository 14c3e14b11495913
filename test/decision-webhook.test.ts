/**
 * Decision webhooks against a real local HTTP receiver that verifies each signature as the
 * README tells receivers to: HMAC-SHA256 over `${timestamp}.${raw body}`, constant-time
 * compare, timestamp within five minutes. The receiver refuses the first attempts (the server
 * retries with backoff, recording each attempt), the server stops before it gets through, a
 * decision is recorded while no server runs, and after a restart both arrive, in order, each
 * under its stable delivery ID.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorContext } from '../src/core/context.js';
import { DELIVERY_SETTING, type DeliveryCursor } from '../src/core/decision-deliveries.js';
import { openCore } from '../src/main/compose.js';
import { type Config, configFromEnv } from '../src/main/config.js';
import { type RunningServer, startServer } from '../src/main/serve.js';

const SECRET = 'whsec-test-0123456789abcdef';

/** The README's verification recipe. */
function verify(secret: string, headers: http.IncomingHttpHeaders, rawBody: string): boolean {
  const timestamp = Number(headers['x-countersign-timestamp']);
  const signature = String(headers['x-countersign-signature'] ?? '');
  if (!Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > 300) return false;
  const expected = `v1=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
  const a = Buffer.from(signature);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

interface Received {
  delivery: string;
  attempt: number;
  valid: boolean;
  validWithOtherSecret: boolean;
  status: number;
  body: { delivery_id: string; seq: number; type: string; data: Record<string, unknown> };
}

const received: Received[] = [];
let failing = true;
let receiver: http.Server;
let receiverUrl = '';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-decision-webhook-'));
let config: Config;
let server: RunningServer;

const until = async (pred: () => boolean, ms = 15_000) => {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out; received ${JSON.stringify(received)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const status = failing ? 500 : 200;
      received.push({
        delivery: String(req.headers['x-countersign-delivery']),
        attempt: Number(req.headers['x-countersign-attempt']),
        valid: verify(SECRET, req.headers, raw),
        validWithOtherSecret: verify('another-secret-0123456789', req.headers, raw),
        status,
        body: JSON.parse(raw) as Received['body'],
      });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/decisions`;
  config = {
    ...configFromEnv({
      COUNTERSIGN_DECISION_WEBHOOK_URL: receiverUrl,
      COUNTERSIGN_DECISION_WEBHOOK_SECRET: SECRET,
    }),
    dataDir: dir,
    checkpointIntervalSeconds: 0,
  };
  config = {
    ...config,
    decisionWebhook: { ...config.decisionWebhook!, retryBaseMs: 100, retryMaxMs: 400 },
  };
});

afterAll(async () => {
  await server?.close();
  await new Promise((r) => receiver.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('decision webhooks', () => {
  it('reads its URL and secret (or secret file) from the environment, and refuses a missing secret', () => {
    const file = path.join(dir, 'secret.txt');
    fs.writeFileSync(file, `${SECRET}\n`);
    expect(
      configFromEnv({
        COUNTERSIGN_DECISION_WEBHOOK_URL: receiverUrl,
        COUNTERSIGN_DECISION_WEBHOOK_SECRET_FILE: file,
      }).decisionWebhook,
    ).toEqual({ url: receiverUrl, secret: SECRET });
    expect(() => configFromEnv({ COUNTERSIGN_DECISION_WEBHOOK_URL: receiverUrl })).toThrow(
      /COUNTERSIGN_DECISION_WEBHOOK_SECRET/,
    );
    expect(() =>
      configFromEnv({
        COUNTERSIGN_DECISION_WEBHOOK_URL: 'ftp://x',
        COUNTERSIGN_DECISION_WEBHOOK_SECRET: SECRET,
      }),
    ).toThrow(/http\(s\) URL/);
    expect(configFromEnv({}).decisionWebhook).toBeUndefined();
  });

  it('retries a refused delivery with backoff, survives a restart, and delivers every decision signed, in order', async () => {
    server = await startServer(config, { port: 0 });
    const op = operatorContext('webhook test');
    const k = server.kernel;
    await k.registerActor(op, { name: 'Alice', role: 'Developer', kind: 'agent' });
    await k.registerActor(op, { name: 'Bob', role: 'Senior Developer' });
    const w = await k.startWorkflow(op, { title: 'Hooks' });
    const propose = async (kernel: typeof k, status: string) =>
      (
        await kernel.proposeAction(op, {
          workflow_id: w.workflow_id,
          actor_id: 'actor_1',
          tool: 'update_status',
          params: { status },
          reason: 'r',
        })
      ).proposal_id;
    const p1 = await propose(k, 'first');
    await k.reviewAction(op, {
      proposal_id: p1,
      reviewer_id: 'actor_2',
      decision: 'approve',
      comment: 'ok; db password=hunter2hunter2',
    });
    // Refused three times, each attempt recorded, with growing pauses.
    await until(() => received.length >= 3);
    const cursor = JSON.parse(
      (await k.r.store.read((tx) => tx.getSetting('default', DELIVERY_SETTING)))!,
    ) as DeliveryCursor;
    expect(cursor.retry).toMatchObject({
      attempts: expect.any(Number) as number,
      last_error: 'HTTP 500',
    });
    expect(cursor.retry!.attempts).toBeGreaterThanOrEqual(2);
    const firstId = received[0]!.delivery;
    expect(received.every((r) => r.delivery === firstId)).toBe(true);
    expect(received.map((r) => r.attempt).slice(0, 3)).toEqual([1, 2, 3]);
    await server.close();
    const refusedBeforeRestart = received.length;

    // While no server runs, another process records a decision.
    const other = await openCore(config);
    const p2 = await propose(other.kernel, 'second');
    await other.kernel.reviewAction(op, {
      proposal_id: p2,
      reviewer_id: 'actor_2',
      decision: 'reject',
      comment: 'no',
    });
    await other.close();
    expect(received.length).toBe(refusedBeforeRestart);

    failing = false;
    server = await startServer(config, { port: 0 });
    await until(() => received.filter((r) => r.status === 200).length >= 2);
    const delivered = received.filter((r) => r.status === 200);
    expect(delivered.map((r) => r.body.data.proposal_id)).toEqual([p1, p2]);
    expect(delivered[0]!.delivery).toBe(firstId);
    expect(delivered[0]!.attempt).toBeGreaterThan(received[refusedBeforeRestart - 1]!.attempt);
    for (const r of received) {
      expect(r.valid).toBe(true);
      expect(r.validWithOtherSecret).toBe(false);
      expect(r.body.delivery_id).toBe(r.delivery);
      expect(r.body.type).toBe('APPROVAL_DECISION');
    }
    expect(delivered[0]!.body.data).toMatchObject({ decision: 'approve', status: 'approved' });
    expect(JSON.stringify(delivered[0]!.body)).not.toContain('hunter2hunter2');
    expect(delivered[1]!.body.data).toMatchObject({ decision: 'reject', comment: 'no' });
    // Delivered once each: nothing more arrives, and the cursor has no retry left.
    await new Promise((r) => setTimeout(r, 800));
    expect(received.filter((r) => r.status === 200)).toHaveLength(2);
    const after = JSON.parse(
      (await server.kernel.r.store.read((tx) => tx.getSetting('default', DELIVERY_SETTING)))!,
    ) as DeliveryCursor;
    expect(after.retry).toBeNull();
  });
});
