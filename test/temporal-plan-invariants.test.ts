import fs from 'node:fs';
import path from 'node:path';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type CallContext, callerFor, operatorContext } from '../src/core/context.js';
import type { LedgerEvent } from '../src/core/model.js';
import { validateTrace } from '../src/core/trace.js';
import { PLAN_INVARIANTS } from '../src/engine/plan-brief.js';
import type { RunStatusView } from '../src/engine/port.js';
import { PLAN_ARTIFACT, type SavedPlan } from '../src/engine/plan-reads.js';
import { type Runtime, openRuntime } from '../src/main/compose.js';
import type { Config } from '../src/main/config.js';
import { type RunningWorker, startWorker } from '../src/main/worker.js';
import { type FreshPgDatabase, freshPgDatabase } from './setup/pg.js';
import { columnsOf, seedPlanTarget } from './support/schema-plan-fixture.js';
import { type ScriptedModel, startScriptedModel } from './support/scripted-model-server.js';
import {
  keepHistory,
  temporalClient,
  temporalConfig,
  testDataConverter,
} from './support/temporal-fixture.js';
import { BREAKERS, goodBrief, tinyPlan, tinyScript, writerRequests } from './support/tiny-plan.js';

/**
 * Plan-only refusals and invariant failures on the Temporal runtime (Postgres store, a real
 * Temporal dev server, the shipped policies, a scripted Chat Completions server as the model),
 * as test/schema-change-plan.test.ts proves them on the embedded runtime: a writer whose two
 * answers break an invariant fails its step naming it; a corrected retry is saved, the phase
 * through an unregistered tool blocked; a planner asking for a write tool is refused on record
 * and the run reaches its plan gate. Every run's trace validates and its history replays with
 * the shipped workflow code (plus the test definition) without running anything again.
 */
const WORKFLOWS = path.resolve('test/fixtures/temporal/tiny-plan-workflows.mjs');
const ctx = operatorContext('temporal plan invariant tests');
let db: FreshPgDatabase;
let config: Config;
let rt: Runtime;
let worker: RunningWorker;
let model: ScriptedModel;
let client: Client;
let dbFile: string;
let reviewer: CallContext;
let workflowBundle: ReturnType<typeof bundleWorkflowCode> | undefined;

beforeAll(async () => {
  model = await startScriptedModel(tinyScript(() => goodBrief()));
  db = await freshPgDatabase(inject('pgUrl'), 'temporal_plan_invariants');
  config = {
    ...temporalConfig(inject('temporalAddress'), db.url, 'planinvariants'),
    model: 'openai-compatible/fake',
  };
  dbFile = seedPlanTarget(config.dataDir);
  // The worker opens its own core from the process environment: the model is set there.
  process.env.COUNTERSIGN_OPENAI_BASE_URL = model.baseUrl;
  process.env.COUNTERSIGN_OPENAI_MODEL = 'fake';
  rt = await openRuntime(config, {
    warn: () => undefined,
    definitions: [tinyPlan],
    env: { COUNTERSIGN_OPENAI_BASE_URL: model.baseUrl, COUNTERSIGN_OPENAI_MODEL: 'fake' },
  });
  const { actor_id } = await rt.kernel.registerActor(ctx, {
    name: 'Olivia',
    role: 'change_manager',
    kind: 'human',
  });
  reviewer = { ...operatorContext('review'), caller: callerFor(actor_id) };
  worker = await startWorker(config, { workflowsPath: WORKFLOWS });
  client = await temporalClient(inject('temporalAddress'), config);
}, 120_000);

afterAll(async () => {
  await client?.connection.close();
  await worker?.stop();
  await rt?.close();
  await db?.drop();
  await model?.close();
  delete process.env.COUNTERSIGN_OPENAI_BASE_URL;
  delete process.env.COUNTERSIGN_OPENAI_MODEL;
  if (config) fs.rmSync(config.dataDir, { recursive: true, force: true });
});

const ledger = (workflow_id: string): Promise<LedgerEvent[]> =>
  rt.store.transaction((tx) => tx.listLedger('default', { workflow_id }));
const ofType = (events: LedgerEvent[], type: string) => events.filter((e) => e.type === type);

const start = (topic: string) =>
  rt.engine.start(ctx, { definition: 'tiny_plan', input: { topic }, idempotency_key: topic });

async function approvePlan(run: RunStatusView): Promise<RunStatusView> {
  const approval_id = (run.waiting_on as { approval_id: string }).approval_id;
  const reviewer_id = (reviewer.caller as { actor_id: string }).actor_id;
  return (await rt.engine.decide(reviewer, { approval_id, reviewer_id, decision: 'approve' })).run;
}

/**
 * The run's trace validates, and its Temporal history, replayed with the SDK's replayer,
 * makes the same calls (no determinism violation) and runs no activity: nothing is written.
 */
async function validatesAndReplays(workflow_id: string, history?: string): Promise<void> {
  const events = await ledger(workflow_id);
  expect(validateTrace(workflow_id, events).problems).toEqual([]);
  const handle = client.workflow.getHandle(workflow_id);
  await handle.result();
  if (history) await keepHistory(inject('temporalAddress'), handle, history);
  workflowBundle ??= bundleWorkflowCode({
    workflowsPath: WORKFLOWS,
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
  await expect(
    Worker.runReplayHistory(
      { workflowBundle: await workflowBundle, dataConverter: testDataConverter() },
      await handle.fetchHistory(),
      workflow_id,
    ),
  ).resolves.toBeUndefined();
  expect(await ledger(workflow_id)).toHaveLength(events.length);
}

describe('a plan-only output agent behind a real model server, on Temporal', () => {
  for (const invariant of PLAN_INVARIANTS)
    it(`fails the writer's step naming ${invariant} when both its answers break it`, async () => {
      model.use(tinyScript(() => BREAKERS[invariant](goodBrief())));
      const run = await start(invariant);
      expect(run).toMatchObject({ status: 'failed', stage: 'failed' });
      expect(run.error).toMatchObject({ step_id: 'write' });
      expect(String((run.error as { reason: string }).reason)).toContain(invariant);
      expect(run.artifacts[PLAN_ARTIFACT]).toBeUndefined();

      const events = await ledger(run.workflow_id);
      const failed = ofType(events, 'WORKFLOW_STEP').find(
        (e) => e.data.step_id === 'write' && e.data.status === 'failed',
      )!;
      expect(String((failed.data.detail as { error: string }).error)).toContain(invariant);
      const end = events.at(-1)!;
      expect(end.type).toBe('WORKFLOW_FAILED');
      expect(JSON.stringify(end.data)).toContain(invariant);
      const writer = ofType(events, 'AGENT_INVOKE').filter((e) => e.data.role === 'writer');
      expect(writer.map((e) => [e.data.ok, e.data.attempts])).toEqual([[false, 2]]);
      // The retry told the model which invariant its first answer broke.
      const asked = writerRequests(model.bodies);
      expect(asked).toHaveLength(2);
      expect(JSON.stringify(asked[1]!.messages)).toContain(invariant);
      await validatesAndReplays(
        run.workflow_id,
        invariant === 'HUMAN_REVIEW_REQUIRED' ? 'tiny-plan-invariant-failed' : undefined,
      );
      expect(writerRequests(model.bodies)).toHaveLength(2);
    }, 60_000);

  it('accepts a corrected answer on the retry and saves it, blocking the unregistered cutover', async () => {
    model.use(
      tinyScript((attempt) =>
        attempt === 1 ? BREAKERS.NO_PHASE_DROPPED(goodBrief()) : goodBrief(),
      ),
    );
    const run = await start('retry');
    expect(run).toMatchObject({ status: 'waiting', stage: 'planning' });
    const saved = run.artifacts[PLAN_ARTIFACT] as unknown as SavedPlan;
    expect(saved.plan.phases.map((p) => [p.phase_id, p.status])).toEqual([
      ['p1', 'proposed'],
      ['p2', 'blocked'],
    ]);
    expect(saved.plan.phases[1]!.blocked_reason).toContain('not registered');
    expect(saved.reads).toEqual([
      { tool: 'list_tables', params: { database: 'production' } },
      { tool: 'list_tables', params: { database: 'production' } },
    ]);
    const events = await ledger(run.workflow_id);
    const writer = ofType(events, 'AGENT_INVOKE').filter((e) => e.data.role === 'writer');
    expect(writer.map((e) => [e.data.ok, e.data.attempts])).toEqual([[true, 2]]);
    expect(JSON.stringify(writerRequests(model.bodies)[1]!.messages)).toContain('NO_PHASE_DROPPED');
    const done = await approvePlan(run);
    expect(done).toMatchObject({ status: 'completed', stage: 'planned' });
    await validatesAndReplays(run.workflow_id);
  }, 60_000);

  it('refuses a planner asking for a write tool, records the refusal, and the run goes on to its plan gate', async () => {
    model.use(tinyScript(() => goodBrief(), 'database_migration'));
    const before = columnsOf(dbFile, 'users');
    const run = await start('write');
    expect(run).toMatchObject({ status: 'waiting', stage: 'planning' });
    expect(run.waiting_on).toMatchObject({ kind: 'approval' });
    const events = await ledger(run.workflow_id);
    const refused = ofType(events, 'OPERATION_REFUSED');
    expect(refused.map((e) => [e.data.operation, e.data.code, e.data.tool])).toEqual([
      ['agent_tool_call', 'POLICY_DENIED', 'database_migration'],
    ]);
    expect(ofType(events, 'TOOL_INVOKE').map((e) => e.data.tool)).toEqual(['list_tables']);
    // The planner's step records the refused call beside the read that ran.
    const planned = ofType(events, 'WORKFLOW_STEP').find(
      (e) => e.data.step_id === 'plan' && e.data.status === 'completed',
    )!;
    expect(
      (
        planned.data.detail as { tool_calls: { tool: string; ok: boolean; code: string | null }[] }
      ).tool_calls.map((c) => [c.tool, c.ok, c.code]),
    ).toEqual([
      ['database_migration', false, 'POLICY_DENIED'],
      ['list_tables', true, null],
    ]);
    // Only the read that ran is behind the digest.
    const saved = run.artifacts[PLAN_ARTIFACT] as unknown as SavedPlan;
    expect(saved.reads.map((r) => r.tool)).toEqual(['list_tables']);
    expect(columnsOf(dbFile, 'users')).toEqual(before);
    const done = await approvePlan(run);
    expect(done).toMatchObject({ status: 'completed', stage: 'planned' });
    await validatesAndReplays(run.workflow_id, 'tiny-plan-write-refused');
    expect(columnsOf(dbFile, 'users')).toEqual(before);
  }, 60_000);
});
