import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { operatorContext } from '../src/core/context.js';
import { validateTrace } from '../src/core/trace.js';
import { type Runtime, openRuntime } from '../src/main/compose.js';
import type { Config } from '../src/main/config.js';
import { type RunningWorker, startWorker } from '../src/main/worker.js';
import { type FreshPgDatabase, freshPgDatabase } from './setup/pg.js';
import { writeDownstreamGateway } from './support/downstream-gateway.js';
import { keepHistory, temporalClient, temporalConfig } from './support/temporal-fixture.js';

/**
 * Seed 001's SafeAIAssistedWorkflow on Temporal and Postgres: knowledge retrieval, the rules
 * drafter through the model gateway, a human gate, and the write-back through the governed
 * gateway to a real downstream MCP server over stdio, run by a worker's activities.
 */
const ctx = operatorContext('temporal safe ai tests');
let db: FreshPgDatabase;
let config: Config;
let rt: Runtime;
let worker: RunningWorker;
let downstream: string;

beforeAll(async () => {
  db = await freshPgDatabase(inject('pgUrl'), 'temporal_safe_ai');
  const base = temporalConfig(inject('temporalAddress'), db.url, 'safeai');
  const setup = writeDownstreamGateway(base.dataDir);
  downstream = setup.downstream;
  const policies = setup.policies;
  config = { ...base, policyDir: policies };
  worker = await startWorker(config);
  rt = await openRuntime(config, { env: {}, warn: () => undefined });
  await rt.services.workflows.addDocument(ctx, {
    title: 'Checkout service restart runbook',
    body: 'To restart the checkout service, drain traffic first, then run systemctl restart checkout and watch the error rate for ten minutes.',
    tags: ['runbook'],
  });
}, 120_000);

afterAll(async () => {
  await rt?.close();
  await worker?.stop();
  await db?.drop();
  fs.rmSync(config.dataDir, { recursive: true, force: true });
});

it('retrieves, drafts, waits at the gate, then writes back once through the downstream MCP server', async () => {
  const reviewer = (await rt.kernel.registerActor(ctx, { name: 'Rita', role: 'support_lead' }))
    .actor_id;
  const input = {
    case_id: 'CASE-T1',
    question: 'How do I restart the checkout service safely?',
    reply: { tool: 'down.write_file', params: { name: 'reply.txt' }, text_param: 'content' },
  };
  const run = await rt.engine.start(ctx, {
    definition: 'safe_ai_assisted',
    input,
    idempotency_key: 'case-t1',
  });
  expect(run).toMatchObject({ status: 'waiting', stage: 'approval' });
  expect(fs.existsSync(path.join(downstream, 'reply.txt'))).toBe(false);
  const draft = run.artifacts.draft as { answer: string };

  const done = await rt.engine.decide(ctx, {
    approval_id: run.waiting_on!.approval_id as string,
    reviewer_id: reviewer,
    decision: 'approve',
    comment: 'accurate',
  });
  expect(done.run).toMatchObject({ status: 'completed', stage: 'completed' });
  expect(fs.readFileSync(path.join(downstream, 'reply.txt'), 'utf8')).toBe(`${draft.answer}\n`);

  const events = await rt.store.transaction((tx) =>
    tx.listLedger('default', { workflow_id: run.workflow_id }),
  );
  expect(validateTrace(run.workflow_id, events).problems).toEqual([]);
  expect(events.filter((e) => e.type === 'TOOL_INVOKE')).toHaveLength(1);
  expect(events.find((e) => e.type === 'NOTIFICATION_SENT')).toBeDefined();

  // The same start again is the same run: nothing is written twice.
  const again = await rt.engine.start(ctx, {
    definition: 'safe_ai_assisted',
    input,
    idempotency_key: 'case-t1',
  });
  expect(again).toMatchObject({ workflow_id: run.workflow_id, status: 'completed' });
  expect(fs.readFileSync(path.join(downstream, 'reply.txt'), 'utf8')).toBe(`${draft.answer}\n`);

  const client = await temporalClient(inject('temporalAddress'), config);
  try {
    await keepHistory(
      inject('temporalAddress'),
      client.workflow.getHandle(run.workflow_id),
      'safe-ai-approved',
    );
  } finally {
    await client.connection.close();
  }
});
