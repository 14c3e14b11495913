import fs from 'node:fs';
import path from 'node:path';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { callerFor, operatorContext } from '../src/core/context.js';
import { validateTrace } from '../src/core/trace.js';
import { PLAN_ARTIFACT, type SavedPlan, planHash } from '../src/engine/plan-reads.js';
import { type Runtime, openRuntime } from '../src/main/compose.js';
import type { Config } from '../src/main/config.js';
import { WORKFLOWS_PATH, type RunningWorker, startWorker } from '../src/main/worker.js';
import { type FreshPgDatabase, freshPgDatabase } from './setup/pg.js';
import {
  keepHistory,
  temporalClient,
  temporalConfig,
  testDataConverter,
} from './support/temporal-fixture.js';
import { SCHEMA_PLAN_REQUEST, columnsOf, seedPlanTarget } from './support/schema-plan-fixture.js';

/**
 * schema_change_plan on the Temporal runtime (Postgres store, the shipped policies and workflow
 * code, the rules models): the scope gate sends a correction back to intake, the planner reads
 * the demo target, the engine saves the plan (the drop blocked) in an activity, the plan gate
 * is approved; nothing but reads ran. The recorded history replays without running anything.
 */
const ctx = operatorContext('temporal schema plan tests');
const READS = ['list_tables', 'get_table_schema', 'read_row_counts', 'list_backups'];
let db: FreshPgDatabase;
let config: Config;
let rt: Runtime;
let worker: RunningWorker;
let dbFile: string;

beforeAll(async () => {
  db = await freshPgDatabase(inject('pgUrl'), 'temporal_schema_plan');
  config = temporalConfig(inject('temporalAddress'), db.url, 'schemaplan');
  dbFile = seedPlanTarget(config.dataDir);
  worker = await startWorker(config);
  rt = await openRuntime(config, { env: {}, warn: () => undefined });
}, 120_000);

afterAll(async () => {
  await rt?.close();
  await worker?.stop();
  await db?.drop();
  if (config) fs.rmSync(config.dataDir, { recursive: true, force: true });
});

it('scopes with a correction, saves the plan with the drop blocked, executes nothing, and replays', async () => {
  const reviewer = (
    await rt.kernel.registerActor(ctx, { name: 'Olivia', role: 'change_manager', kind: 'human' })
  ).actor_id;
  const asReviewer = { ...operatorContext('review'), caller: callerFor(reviewer) };
  const before = columnsOf(dbFile, 'users');
  let run = await rt.engine.start(ctx, {
    definition: 'schema_change_plan',
    input: { ...SCHEMA_PLAN_REQUEST, database: 'prod' },
    idempotency_key: 'tplan-1',
  });
  expect(run).toMatchObject({ status: 'waiting', stage: 'scoping' });
  run = (
    await rt.engine.decide(asReviewer, {
      approval_id: run.waiting_on!.approval_id as string,
      reviewer_id: reviewer,
      decision: 'request_more_info',
      comment: 'Not prod: use database production.',
    })
  ).run;
  expect((run.artifacts.scope as { database: string }).database).toBe('production');
  run = (
    await rt.engine.decide(asReviewer, {
      approval_id: run.waiting_on!.approval_id as string,
      reviewer_id: reviewer,
      decision: 'approve',
    })
  ).run;
  expect(run).toMatchObject({ status: 'waiting', stage: 'plan_review' });
  const saved = run.artifacts[PLAN_ARTIFACT] as unknown as SavedPlan;
  expect(saved.plan.phases.map((p) => [p.phase_id, p.status])).toEqual([
    ['backup', 'proposed'],
    ['add_users_email_verified', 'proposed'],
    ['backfill_users_email_verified', 'proposed'],
    ['drop_users_legacy_flag', 'blocked'],
    ['verify', 'proposed'],
  ]);
  expect(saved.plan.phases[3]!.blocked_reason).toMatch(/^WRITE_NOT_IMPLEMENTED: /);
  expect(saved.plan.read_digest).toMatch(/^[0-9a-f]{64}$/);
  expect(saved.reads.map((r) => r.tool)).toEqual(READS);

  const done = await rt.engine.decide(asReviewer, {
    approval_id: run.waiting_on!.approval_id as string,
    reviewer_id: reviewer,
    decision: 'approve',
  });
  expect(done.run).toMatchObject({ status: 'completed', stage: 'planned' });
  const workflow_id = run.workflow_id;
  const events = await rt.store.transaction((tx) => tx.listLedger('default', { workflow_id }));
  const invoked = events.filter((e) => e.type === 'TOOL_INVOKE').map((e) => e.data.tool);
  expect(invoked).toEqual(READS);
  const savedStep = events.find(
    (e) =>
      e.type === 'WORKFLOW_STEP' &&
      e.data.step_id === 'write_plan' &&
      e.data.status === 'completed',
  )!;
  expect(savedStep.data.detail).toMatchObject({
    plan_saved: { plan_hash: planHash(saved.plan), blocked_phases: ['drop_users_legacy_flag'] },
  });
  expect(columnsOf(dbFile, 'users')).toEqual(before);
  expect(validateTrace(workflow_id, events).problems).toEqual([]);

  const client = await temporalClient(inject('temporalAddress'), config);
  try {
    const handle = client.workflow.getHandle(workflow_id);
    expect(await handle.result()).toMatchObject({ state: 'completed', stage: 'planned' });
    await keepHistory(inject('temporalAddress'), handle, 'schema-change-plan-approved');
    const history = await handle.fetchHistory();
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
    });
    await expect(
      Worker.runReplayHistory(
        { workflowBundle, dataConverter: testDataConverter() },
        history,
        workflow_id,
      ),
    ).resolves.toBeUndefined();
    const after = await rt.store.transaction((tx) => tx.listLedger('default', { workflow_id }));
    expect(after).toHaveLength(events.length);
  } finally {
    await client.connection.close();
  }
  expect(fs.existsSync(path.join(config.dataDir, 'demo-target', 'backups'))).toBe(false);
}, 180_000);
