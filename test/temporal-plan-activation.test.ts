import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DemoTarget } from '../src/adapters/tools/demo-tools.js';
import { type CallContext, operatorContext } from '../src/core/context.js';
import { validateTrace } from '../src/core/trace.js';
import type { AnyDefinition } from '../src/engine/catalogue.js';
import type { RunStatusView } from '../src/engine/port.js';
import { type PlanRead, planHash } from '../src/engine/plan-reads.js';
import { type Runtime, openRuntime } from '../src/main/compose.js';
import type { Config } from '../src/main/config.js';
import { startWorker } from '../src/main/worker.js';
import { OPERATIONS } from '../src/surfaces/operations.js';
import { type FreshPgDatabase, freshPgDatabase } from './setup/pg.js';
import {
  blockedPhase,
  proposedPhase,
  savedPlan,
  startPlannerServer,
} from './support/plan-fixture.js';
import {
  keepHistory,
  temporalClient,
  temporalConfig,
  testDataConverter,
} from './support/temporal-fixture.js';

/**
 * Activating an approved plan on the Temporal runtime (Postgres store, a real Temporal dev
 * server, the real demo target): the activation runs phase by phase with its gates and changes
 * the demo database; drift while a phase waits refuses that phase; both runs' traces validate;
 * and the recorded history of the activation replays with the SDK's replayer without running
 * any activity again.
 */
const WORKFLOWS = path.resolve('test/fixtures/temporal/plan-workflows.mjs');
const op = operatorContext('temporal plan activation');
const READS: PlanRead[] = [
  { tool: 'list_tables', params: { database: 'production' } },
  { tool: 'get_table_schema', params: { database: 'production', table: 'users' } },
  { tool: 'read_row_counts', params: { database: 'production' } },
];
let db: FreshPgDatabase;
let config: Config;
let rt: Runtime;
let planner: Awaited<ReturnType<typeof startPlannerServer>>;
let worker: Awaited<ReturnType<typeof startWorker>>;
const as: Record<string, CallContext> = {};

const dbFile = () => path.join(config.dataDir, 'demo-target', 'production.sqlite');
const columns = () => {
  const d = new Database(dbFile(), { readonly: true });
  try {
    return (
      d.prepare('SELECT name FROM pragma_table_info(?)').all('users') as { name: string }[]
    ).map((c) => c.name);
  } finally {
    d.close();
  }
};
const insertUser = (email: string) => {
  const d = new Database(dbFile());
  try {
    d.prepare('INSERT INTO users (email, created_at) VALUES (?, ?)').run(email, '2026-02-01');
  } finally {
    d.close();
  }
};
const activate = OPERATIONS.find((o) => o.name === 'activate_plan')!;

const column = (name: string) =>
  proposedPhase(
    'p2',
    `Add users.${name}`,
    [
      {
        tool: 'database_migration',
        params: {
          database: 'production',
          table: 'users',
          operation: 'add_column',
          column_name: name,
          column_type: 'text',
        },
      },
    ],
    [`users has a column ${name}`],
    [
      {
        criterion: `users has a column ${name}`,
        tool: 'get_table_schema',
        params: JSON.stringify({ database: 'production', table: 'users' }),
        path: 'columns.*.name',
        op: 'contains',
        value: JSON.stringify(name),
      },
    ],
  );
const backup = proposedPhase(
  'p1',
  'Back up production',
  [{ tool: 'database_backup', params: { database: 'production', backup_type: 'full' } }],
  ['a full backup exists'],
  [
    {
      criterion: 'a full backup exists',
      tool: 'list_backups',
      params: JSON.stringify({ database: 'production' }),
      path: 'backups.*.type',
      op: 'contains',
      value: '"full"',
    },
  ],
);

async function approve(run: RunStatusView): Promise<RunStatusView> {
  const approval_id = (run.waiting_on as { approval_id: string }).approval_id;
  return (
    await rt.engine.decide(as.bob!, {
      approval_id,
      reviewer_id: (as.bob!.caller as { actor_id: string }).actor_id,
      decision: 'approve',
    })
  ).run;
}

async function approvedPlan(key: string, phases: Parameters<typeof savedPlan>[2]) {
  const saved = await savedPlan(rt.kernel.listTools(), key, phases, READS);
  planner.put(saved);
  const run = await rt.engine.start(as.alice!, {
    definition: 'temporal_schema_plan',
    input: { topic: key },
    idempotency_key: key,
  });
  expect(run.status, JSON.stringify(run.error)).toBe('waiting');
  const done = await approve(run);
  expect(done.status).toBe('completed');
  return { id: run.workflow_id, hash: planHash(saved.plan) };
}

beforeAll(async () => {
  const { temporalPlan } = (await import(
    pathToFileURL(path.resolve('test/fixtures/temporal/plan-definition.mjs')).href
  )) as { temporalPlan: AnyDefinition };
  planner = await startPlannerServer();
  db = await freshPgDatabase(inject('pgUrl'), 'temporal_plan_activation');
  config = {
    ...temporalConfig(inject('temporalAddress'), db.url, 'planactivation'),
    model: 'openai-compatible/planner',
  };
  // The worker opens its own core from the process environment: the planner model is set there.
  process.env.COUNTERSIGN_OPENAI_BASE_URL = planner.baseUrl;
  process.env.COUNTERSIGN_OPENAI_MODEL = 'planner';
  const target = new DemoTarget(config.dataDir);
  target.database('production');
  target.close();
  rt = await openRuntime(config, {
    warn: () => undefined,
    definitions: [temporalPlan],
    env: { COUNTERSIGN_OPENAI_BASE_URL: planner.baseUrl, COUNTERSIGN_OPENAI_MODEL: 'planner' },
  });
  for (const [who, role] of [
    ['alice', 'engineer'],
    ['bob', 'change_manager'],
  ] as const) {
    const { actor_id } = await rt.kernel.registerActor(op, { name: who, role });
    as[who] = { tenant_id: 'default', caller: { kind: 'actor', actor_id }, purpose: op.purpose };
  }
  worker = await startWorker(config, { workflowsPath: WORKFLOWS });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await rt?.close();
  await db?.drop();
  await planner?.close();
  delete process.env.COUNTERSIGN_OPENAI_BASE_URL;
  delete process.env.COUNTERSIGN_OPENAI_MODEL;
  if (config) fs.rmSync(config.dataDir, { recursive: true, force: true });
});

describe('plan activation on Temporal', () => {
  it('runs the phases at their gates on the demo database, lists the blocked one, validates both traces and replays', async () => {
    const plan = await approvedPlan('t-activate-ok', [
      backup,
      column('nickname'),
      blockedPhase('p3', 'drop_column cannot write yet', 'an implementation of drop_column'),
    ]);
    let run = (await activate.run(rt.services, as.alice!, {
      workflow_id: plan.id,
      plan_hash: plan.hash,
    })) as RunStatusView;
    expect(run).toMatchObject({
      definition: 'plan_activation',
      status: 'waiting',
      stage: 'phase p1',
    });
    expect(run.trace[0]).toMatchObject({
      type: 'plan',
      plan_run_id: plan.id,
      plan_hash: plan.hash,
    });
    expect(run.trace).toContainEqual(
      expect.objectContaining({ type: 'blocked_phase', phase_id: 'p3' }),
    );
    // The one who activated cannot approve a phase.
    await expect(
      rt.engine.decide(as.alice!, {
        approval_id: (run.waiting_on as { approval_id: string }).approval_id,
        reviewer_id: (as.alice!.caller as { actor_id: string }).actor_id,
        decision: 'approve',
      }),
    ).rejects.toMatchObject({ code: 'SELF_APPROVAL' });
    run = await approve(run);
    expect(run).toMatchObject({ status: 'waiting', stage: 'phase p2' });
    expect(columns()).not.toContain('nickname');
    run = await approve(run);
    expect(run).toMatchObject({ status: 'completed', stage: 'activated' });
    expect(columns()).toContain('nickname');
    expect(run.trace.filter((t) => t.type === 'tool').map((t) => [t.tool, t.status])).toEqual([
      ['database_backup', 'succeeded'],
      ['database_migration', 'succeeded'],
    ]);
    // Each phase's checks were made after it ran, in workflow code, and passed.
    for (const [phase, criterion, found] of [
      ['p1', 'a full backup exists', ['full']],
      ['p2', 'users has a column nickname', columns()],
    ] as const)
      expect(run.artifacts[`phase.${phase}.assurance`]).toMatchObject({
        criteria: [{ criterion, checked: true, passed: true, found }],
      });
    expect(run.trace.filter((t) => t.type === 'acceptance')).toEqual([
      { type: 'acceptance', phase_id: 'p1', checks: 1, failed: [] },
      { type: 'acceptance', phase_id: 'p2', checks: 1, failed: [] },
    ]);
    for (const id of [plan.id, run.workflow_id]) {
      const events = await rt.store.transaction((tx) =>
        tx.listLedger('default', { workflow_id: id }),
      );
      expect(validateTrace(id, events).problems).toEqual([]);
    }

    const client = await temporalClient(inject('temporalAddress'), config);
    try {
      const handle = client.workflow.getHandle(run.workflow_id);
      expect(await handle.result()).toMatchObject({ state: 'completed', stage: 'activated' });
      await keepHistory(inject('temporalAddress'), handle, 'plan-activation');
      const before = await rt.store.transaction((tx) =>
        tx.listLedger('default', { workflow_id: run.workflow_id }),
      );
      const workflowBundle = await bundleWorkflowCode({
        workflowsPath: WORKFLOWS,
        logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
      });
      await expect(
        Worker.runReplayHistory(
          { workflowBundle, dataConverter: testDataConverter() },
          await handle.fetchHistory(),
          run.workflow_id,
        ),
      ).resolves.toBeUndefined();
      const after = await rt.store.transaction((tx) =>
        tx.listLedger('default', { workflow_id: run.workflow_id }),
      );
      expect(after).toHaveLength(before.length);
    } finally {
      await client.connection.close();
    }
  }, 240_000);

  it('refuses a stale plan at activation and the next phase after drift, with PLAN_STALE', async () => {
    const stale = await approvedPlan('t-activate-stale', [column('stale_col')]);
    insertUser('drift@example.com');
    const before = await rt.engine.list(op, { definition: 'plan_activation' });
    await expect(
      activate.run(rt.services, as.alice!, { workflow_id: stale.id }),
    ).rejects.toMatchObject({ code: 'PLAN_STALE' });
    expect(await rt.engine.list(op, { definition: 'plan_activation' })).toHaveLength(before.length);

    const plan = await approvedPlan('t-activate-drift', [backup, column('late_col')]);
    let run = (await activate.run(rt.services, as.alice!, {
      workflow_id: plan.id,
    })) as RunStatusView;
    run = await approve(run);
    expect(run.stage).toBe('phase p2');
    insertUser('late@example.com');
    run = await approve(run);
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ step_id: 'phase.p2.recheck' });
    expect(JSON.stringify(run.error)).toContain('PLAN_STALE');
    expect(columns()).not.toContain('late_col');
    const events = await rt.store.transaction((tx) =>
      tx.listLedger('default', { workflow_id: run.workflow_id }),
    );
    expect(validateTrace(run.workflow_id, events).problems).toEqual([]);
  }, 240_000);
});
