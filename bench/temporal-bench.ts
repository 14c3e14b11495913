/**
 * The Temporal runtime's speed, each figure against a baseline measured in the same run (the
 * machines are shared and noisy):
 *
 *  1. One ops change control run, both gates answered at once, on the embedded runtime and on
 *     Temporal, the same Postgres store. Temporal's added time is compared with Temporal's own
 *     cost for the same number of activities: a bare workflow running that many no-op
 *     activities on the same server (target: added / bare <= 1.15).
 *  2. From a decision (committed in the store) to the next activity starting on the worker
 *     (target p99 < 100 ms on the local dev server).
 *  3. Worker memory per cached workflow with reuseV8Context on: runs left waiting at their risk
 *     gate, process RSS before and after (the workflows live in the worker's thread).
 *
 * Starts a throwaway Postgres and a `temporal server start-dev` unless given
 * COUNTERSIGN_BENCH_DATABASE_URL / COUNTERSIGN_BENCH_TEMPORAL_ADDRESS.
 *
 *   npm run build && node --expose-gc dist/bench/temporal-bench.js
 *   (COUNTERSIGN_BENCH_ROUNDS=10, COUNTERSIGN_BENCH_CACHED=200)
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import {
  NativeConnection,
  Runtime as TemporalSdkRuntime,
  Worker,
  bundleWorkflowCode,
} from '@temporalio/worker';
import pg from 'pg';
import { type CallContext, operatorContext } from '../src/core/context.js';
import type { JsonObject } from '../src/core/model.js';
import type { WorkflowEngine } from '../src/engine/port.js';
import {
  type ActivityCall,
  type TemporalActivities,
  createTemporalActivities,
} from '../src/engine/temporal/activities.js';
import { type Runtime, openCore, openRuntime } from '../src/main/compose.js';
import { type Config, configFromEnv } from '../src/main/config.js';
import { buildWorker } from '../src/main/worker.js';
import { startThrowawayServer } from '../test/setup/postgres-server.js';
import { startTemporalDevServer } from '../test/setup/temporal-server.js';

const ROUNDS = Number(process.env.COUNTERSIGN_BENCH_ROUNDS ?? '10');
const CACHED = Number(process.env.COUNTERSIGN_BENCH_CACHED ?? '200');
const TARGET_RATIO = 1.15;
const TARGET_DECISION_P99_MS = 100;
const ctx = operatorContext('temporal bench');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;

function changeInput(ticket: string): JsonObject {
  const now = Date.now();
  return {
    change_request: {
      title: `Raise checkout timeout (${ticket})`,
      summary: 'Raise the upstream timeout of the checkout API on staging.',
      change_type: 'configuration',
      requested_by: 'bench',
      ticket,
    },
    impacted_systems: [{ name: 'checkout-api', criticality: 'medium', environment: 'staging' }],
    requirements: { compliance: [] },
    change_window: {
      start: new Date(now - 60_000).toISOString(),
      end: new Date(now + 3_600_000).toISOString(),
    },
    parameters: {
      config_changes: [{ service: `svc-${ticket}`, key: 'timeout', from: null, to: '45s' }],
      notify_channel: 'ops',
    },
  };
}

interface Reviewer {
  readonly id: string;
  readonly role: string;
}

/** Runs one change through both gates, answering each at once; returns its wall time. */
async function runOnce(
  rt: Runtime,
  reviewers: readonly Reviewer[],
  key: string,
  onDecide?: () => void,
): Promise<number> {
  const engine: WorkflowEngine = rt.engine;
  const t0 = performance.now();
  let run = await engine.start(ctx, {
    definition: 'ops_change_control',
    input: changeInput(key),
    idempotency_key: key,
  });
  while (run.status === 'waiting' && run.waiting_on?.kind === 'approval') {
    const approval_id = run.waiting_on.approval_id as string;
    const { approval } = await rt.workflows.approvalState('default', approval_id);
    const fit = reviewers.filter(
      (r) => approval.required_roles.length === 0 || approval.required_roles.includes(r.role),
    );
    for (const r of fit.slice(0, approval.required_approvals)) {
      onDecide?.();
      run = (await engine.decide(ctx, { approval_id, reviewer_id: r.id, decision: 'approve' })).run;
    }
  }
  const elapsed = performance.now() - t0;
  if (run.status !== 'completed')
    throw new Error(`${key} ended ${run.status}: ${JSON.stringify(run.error)}`);
  return elapsed;
}

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

async function main() {
  TemporalSdkRuntime.install({ logger: quiet });
  const own: (() => Promise<void>)[] = [];
  let databaseUrl = process.env.COUNTERSIGN_BENCH_DATABASE_URL;
  if (!databaseUrl) {
    const server = await startThrowawayServer();
    own.push(server.stop);
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query('CREATE DATABASE countersign_bench');
    await admin.end();
    const u = new URL(server.url);
    u.pathname = '/countersign_bench';
    databaseUrl = u.toString();
  }
  let address = process.env.COUNTERSIGN_BENCH_TEMPORAL_ADDRESS;
  if (!address) {
    const server = await startTemporalDevServer();
    own.push(server.stop);
    address = server.address;
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-temporal-bench-'));
  const base: Config = { ...configFromEnv({}), dataDir, databaseUrl };
  const temporal = {
    address,
    namespace: 'default',
    taskQueue: `cs-bench-${randomBytes(3).toString('hex')}`,
    uiUrl: undefined,
    heartbeatTimeoutMs: undefined,
  };
  const warn = () => undefined;
  console.log(`Temporal bench: ${ROUNDS} rounds, Postgres store, Temporal at ${address}`);

  // The worker, in this process, its activities noting when each starts.
  const starts: { name: string; at: number }[] = [];
  const core = await openCore({ ...base, temporal });
  const real = createTemporalActivities({ ops: core.workflows, activities: core.activities });
  const noted = Object.fromEntries(
    Object.entries(real).map(([name, fn]) => [
      name,
      (call: ActivityCall<never>) => {
        starts.push({ name, at: performance.now() });
        return (fn as (c: ActivityCall<never>) => Promise<unknown>)(call);
      },
    ]),
  ) as unknown as TemporalActivities;
  const native = await NativeConnection.connect({ address });
  const worker = await buildWorker(core, native, temporal, {
    activities: noted,
    maxCachedWorkflows: CACHED + 100,
  });
  const running = worker.run();

  // The baseline workflow and its worker, on their own task queue.
  const bareQueue = `${temporal.taskQueue}-bare`;
  const bareWorker = await Worker.create({
    connection: native,
    taskQueue: bareQueue,
    workflowBundle: await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./temporal-bare-workflows.js', import.meta.url)),
      logger: quiet,
    }),
    activities: { noop: () => Promise.resolve(null) },
    reuseV8Context: true,
  });
  const bareRunning = bareWorker.run();
  const client = new Client({ connection: await Connection.connect({ address }) });

  const embedded = await openRuntime(base, { warn });
  const onTemporal = await openRuntime({ ...base, temporal }, { warn });
  // Decisions committed: noted when decideApproval returns (then the update is sent).
  const committed: number[] = [];
  const decide = onTemporal.workflows.decideApproval.bind(onTemporal.workflows);
  onTemporal.workflows.decideApproval = async (
    c: CallContext,
    input: Parameters<typeof decide>[1],
  ) => {
    const r = await decide(c, input);
    if (r.resolved) committed.push(performance.now());
    return r;
  };
  const reviewers: Reviewer[] = [];
  for (const [name, role] of [
    ['Riley', 'change_manager'],
    ['Sam', 'service_owner'],
    ['Ana', 'change_manager'],
  ] as const)
    reviewers.push({
      id: (await embedded.kernel.registerActor(ctx, { name, role })).actor_id,
      role,
    });

  // Warm-up (bundles loaded, connections open, JIT), and the number of activities of one run.
  await runOnce(embedded, reviewers, 'warm-e');
  await runOnce(onTemporal, reviewers, 'warm-t');
  const history = await client.workflow
    .getHandle((await onTemporal.engine.list(ctx, {}))[0]!.workflow_id)
    .fetchHistory();
  const activities = history.events!.filter((e) => e.activityTaskScheduledEventAttributes).length;
  await client.workflow.execute('bareActivities', {
    taskQueue: bareQueue,
    workflowId: `bare-warm-${randomBytes(3).toString('hex')}`,
    args: [activities],
  });

  // 1. Alternating rounds: embedded, Temporal, bare.
  const tEmbedded: number[] = [];
  const tTemporal: number[] = [];
  const tBare: number[] = [];
  const decisionLatency: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    tEmbedded.push(await runOnce(embedded, reviewers, `e-${round}`));
    const before = committed.length;
    tTemporal.push(await runOnce(onTemporal, reviewers, `t-${round}`));
    for (const at of committed.slice(before)) {
      const next = starts.find((s) => s.at >= at);
      if (next) decisionLatency.push(next.at - at);
    }
    const b0 = performance.now();
    await client.workflow.execute('bareActivities', {
      taskQueue: bareQueue,
      workflowId: `bare-${round}-${randomBytes(3).toString('hex')}`,
      args: [activities],
    });
    tBare.push(performance.now() - b0);
  }
  const e = median(tEmbedded);
  const t = median(tTemporal);
  const b = median(tBare);
  const ratio = (t - e) / b;
  console.log(
    `\n1. ops change control, gates answered at once (median of ${ROUNDS}; ${activities} activities per Temporal run):`,
  );
  console.log(
    `   embedded runtime: ${ms(e)}   Temporal runtime: ${ms(t)}   added by Temporal: ${ms(t - e)}`,
  );
  console.log(`   bare workflow, ${activities} no-op activities (Temporal's own cost): ${ms(b)}`);
  console.log(
    `   added / bare = ${ratio.toFixed(2)}x (target <= ${TARGET_RATIO}x) ${ratio <= TARGET_RATIO ? 'MET' : 'NOT MET'}`,
  );
  console.log(`   per activity: added ${ms((t - e) / activities)}, bare ${ms(b / activities)}`);

  const p50 = pct(decisionLatency, 50);
  const p99 = pct(decisionLatency, 99);
  console.log(
    `\n2. decision committed -> next activity starts (${decisionLatency.length} decisions):`,
  );
  console.log(
    `   p50 ${ms(p50)}  p90 ${ms(pct(decisionLatency, 90))}  p99 ${ms(p99)}  max ${ms(Math.max(...decisionLatency))} (target p99 < ${TARGET_DECISION_P99_MS} ms) ${p99 < TARGET_DECISION_P99_MS ? 'MET' : 'NOT MET'}`,
  );

  // 3. Runs left waiting at their risk gate stay cached in the worker.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  await new Promise((r) => setTimeout(r, 500));
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < CACHED; i++) {
    await onTemporal.engine.start(ctx, {
      definition: 'ops_change_control',
      input: changeInput(`c-${i}`),
      idempotency_key: `c-${i}`,
    });
    if ((i + 1) % 50 === 0) process.stdout.write(`   ${i + 1}/${CACHED} runs waiting\n`);
  }
  gc?.();
  await new Promise((r) => setTimeout(r, 1_000));
  const rss1 = process.memoryUsage().rss;
  const per = (rss1 - rss0) / CACHED / 1024;
  console.log(
    `\n3. worker memory with ${CACHED} cached workflows waiting at a gate (reuseV8Context on): RSS +${((rss1 - rss0) / 1048576).toFixed(1)} MB, ${per.toFixed(1)} KB per cached workflow (process RSS: the workflows' V8 context lives in the worker thread; includes the client's and store's share)`,
  );

  worker.shutdown();
  bareWorker.shutdown();
  await Promise.all([running, bareRunning]);
  await native.close();
  await client.connection.close();
  await embedded.close();
  await onTemporal.close();
  await core.close();
  for (const stop of own.reverse()) await stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
