import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { operatorContext } from '../src/core/context.js';
import type { AnyDefinition } from '../src/engine/catalogue.js';
import { type Runtime, openRuntime } from '../src/main/compose.js';
import type { Config } from '../src/main/config.js';
import { startWorker } from '../src/main/worker.js';
import { type FreshPgDatabase, freshPgDatabase } from './setup/pg.js';
import { keepHistory, temporalClient, temporalConfig } from './support/temporal-fixture.js';

/**
 * A definition a user declares runs on Temporal unchanged: its change-window wait and its
 * gate deadline are durable timers, which fire even while no worker is running.
 */
const USER_WORKFLOWS = path.resolve('test/fixtures/temporal/user-workflows.mjs');
const ctx = operatorContext('temporal user workflow tests');
let db: FreshPgDatabase;
let config: Config;
let rt: Runtime;

beforeAll(async () => {
  const definitionUrl = pathToFileURL(path.resolve('test/fixtures/temporal/user-definition.mjs'));
  const { quickReview } = (await import(definitionUrl.href)) as { quickReview: AnyDefinition };
  db = await freshPgDatabase(inject('pgUrl'), 'temporal_user');
  config = temporalConfig(inject('temporalAddress'), db.url, 'user');
  rt = await openRuntime(config, { warn: () => undefined, definitions: [quickReview] });
}, 60_000);

afterAll(async () => {
  await rt?.close();
  await db?.drop();
  fs.rmSync(config.dataDir, { recursive: true, force: true });
});

it('runs a user-declared definition; its window and gate deadline are durable timers that fire while the worker is down', async () => {
  let worker = await startWorker(config, { workflowsPath: USER_WORKFLOWS });
  const opens = new Date(Date.now() + 1_500).toISOString();
  const run = await rt.engine.start(ctx, {
    definition: 'quick_review',
    input: { subject: 'rotate keys', window_opens: opens },
    idempotency_key: 'Q-1',
  });
  expect(run).toMatchObject({ status: 'waiting', stage: 'scheduled' });
  expect(run.waiting_on).toMatchObject({ kind: 'time', until: opens });

  // No worker while the window opens and the gate's deadline passes.
  await worker.stop();
  await new Promise((r) => setTimeout(r, 2_000));
  worker = await startWorker(config, { workflowsPath: USER_WORKFLOWS });
  try {
    const client = await temporalClient(inject('temporalAddress'), config);
    try {
      const handle = client.workflow.getHandle(run.workflow_id);
      // The gate (3 s after the window) times out with nobody deciding: rejected, recorded.
      expect(await handle.result()).toMatchObject({ state: 'completed', stage: 'expired' });
      const history = await handle.fetchHistory();
      const timers = history.events!.filter((e) => e.timerFiredEventAttributes).length;
      expect(timers).toBe(2);
      await keepHistory(inject('temporalAddress'), handle, 'quick-review-expired');
    } finally {
      await client.connection.close();
    }
    const status = await rt.engine.status(ctx, run.workflow_id);
    expect(status).toMatchObject({ status: 'completed', stage: 'expired' });
    const events = await rt.store.transaction((tx) =>
      tx.listLedger('default', { workflow_id: run.workflow_id }),
    );
    const requested = events.find((e) => e.type === 'APPROVAL_REQUESTED');
    expect(requested).toBeDefined();
    const { approval, decisions } = await rt.workflows.approvalState(
      'default',
      requested!.data.approval_id as string,
    );
    expect(approval.status).toBe('timed_out');
    expect(decisions.every((d) => d.decision !== 'approve')).toBe(true);
    expect(events.at(-1)?.type).toBe('WORKFLOW_COMPLETED');
  } finally {
    await worker.stop();
  }
}, 90_000);
