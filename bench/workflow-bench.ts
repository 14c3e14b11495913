/**
 * The embedded runtime's speed and scale targets, each reported against a baseline measured in
 * the same run (the machines are shared and noisy, so absolute numbers mean little). Runs the
 * steps in the order 2, 3, 1, so that the queries and decisions see the 10,000 waiting runs:
 *
 *  1. decision -> next step: from the moment decide_approval has committed to the moment the
 *     step after the gate starts its first effect (target p99 < 10 ms), with where the time
 *     goes. Baseline: one bare write transaction of the store (lock the ledger head, append one
 *     hashed event, commit), sampled alternately with the decisions.
 *  2. 10,000 runs waiting at gates: heap and RSS growth over the idle process, warm (after a
 *     few runs were done) and cold (just built) (target < 50 MB). Progress every 1,000 starts.
 *  3. list_pending_approvals, first page (50), with those runs waiting (target p99 < 20 ms).
 *     Baseline: the plain SELECT ... LIMIT 50 on the same tables with better-sqlite3.
 *
 * Real SQLite file (WAL, synchronous=FULL as the product opens it), the default Cedar policies,
 * the system clock; the agent is a scripted model (no network). Measures without changing
 * product code: the activities and a few WorkflowOps methods are wrapped to note times.
 *
 *   npm run build && node --expose-gc dist/bench/workflow-bench.js
 *   (COUNTERSIGN_BENCH_RUNS=10000, COUNTERSIGN_BENCH_DECISIONS=300, COUNTERSIGN_BENCH_QUERIES=200,
 *    COUNTERSIGN_BENCH_WARM=200)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { CedarPolicyEngine } from '../src/adapters/policy/cedar-policy-engine.js';
import { openSqliteStore } from '../src/adapters/store/open-store.js';
import { operatorContext } from '../src/core/context.js';
import { defineTool } from '../src/core/define-tool.js';
import { Kernel } from '../src/core/kernel.js';
import { EVENT_TYPES, chainEvent } from '../src/core/ledger.js';
import { systemClock } from '../src/core/ports/clock.js';
import { staticToolRegistry } from '../src/core/ports/tools.js';
import { WorkflowOps } from '../src/core/workflow-ops.js';
import { type Activities, type AgentModels, createActivities } from '../src/engine/activities.js';
import type { WorkflowDefinition } from '../src/engine/definition.js';
import type { ActivityName } from '../src/engine/effects.js';
import { EmbeddedRuntime } from '../src/engine/embedded-runtime.js';

// Node 20's V8 (11.3) aborts the process ("Fatal error ... unreachable code" in
// Deoptimizer::DoComputeBuiltinContinuation) when optimized code that inlined a JS->Wasm call
// (CedarPolicyEngine.decide into cedar-wasm) is deoptimized after a full GC invalidated it: this
// bench's forced GCs hit it after ~1000 runs every time. Not inlining those calls avoids it.
// COUNTERSIGN_BENCH_WASM_INLINING=1 keeps V8's default, to check whether a Node version is affected.
if (process.env.COUNTERSIGN_BENCH_WASM_INLINING !== '1')
  v8.setFlagsFromString('--no-turbo-inline-js-wasm-calls');

const RUNS = Number(process.env.COUNTERSIGN_BENCH_RUNS ?? '10000');
const DECISIONS = Number(process.env.COUNTERSIGN_BENCH_DECISIONS ?? '300');
const DECISION_WARMUP = Math.max(20, Math.floor(DECISIONS / 10));
const WARM = Number(process.env.COUNTERSIGN_BENCH_WARM ?? '200');
const QUERIES = Number(process.env.COUNTERSIGN_BENCH_QUERIES ?? '200');
const QUERY_WARMUP = Math.max(20, Math.floor(QUERIES / 10));
const TARGET_DECISION_P99_MS = 10;
const TARGET_MEMORY_MB = 50;
const TARGET_QUERY_P99_MS = 20;
const MB = 1024 * 1024;

// ---- helpers ------------------------------------------------------------------------------

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function summary(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted.at(-1)!,
  };
}

const ms = (x: number) => `${x.toFixed(3)} ms`;
const line = (s: Summary) =>
  `p50 ${ms(s.p50)}, p90 ${ms(s.p90)}, p99 ${ms(s.p99)}, max ${ms(s.max)} (n=${s.n})`;
const met = (ok: boolean) => (ok ? 'MET' : 'NOT MET');

/** `global.gc`, exposed at run time when node was started without --expose-gc. */
function gcFunction(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}
const gc = gcFunction();

/** Collects from a fresh macrotask (no optimized frames of ours on the stack), then reads. */
async function memory() {
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss };
}

// ---- the workflow under test --------------------------------------------------------------

/** The step after the gate: its first effect is the end of the decision -> next step interval. */
const NEXT_STEP = 'to-approved';

const benchInput = z.strictObject({ item: z.string().regex(/^[a-z0-9_]+$/) });
type BenchInput = z.infer<typeof benchInput>;

/** Draft (scripted agent), propose one write, wait at a gate bound to it, then run it. */
const gateFlow: WorkflowDefinition<BenchInput> = {
  name: 'bench_gate_flow',
  version: '1',
  title: (i) => `Bench change for ${i.item}`,
  description: 'A small change-control run that waits at one gate.',
  input: benchInput,
  initial_stage: 'intake',
  final_stage: 'closed',
  allowed_tools: () => ['bench_write'],
  steps: [
    { kind: 'stage', id: 'open', stage: 'intake' },
    {
      kind: 'agent',
      id: 'draft',
      role: 'drafter',
      artifact: 'draft',
      output: z.strictObject({ item: z.string(), note: z.string() }),
      instructions: 'Say what to write.',
      input: (run) => ({ item: run.input.item }),
    },
    {
      kind: 'propose',
      id: 'calls',
      as: 'executor',
      invocation_of: 'draft',
      calls: (run) => [
        {
          tool: 'bench_write',
          params: { item: (run.artifacts.draft as { item: string }).item },
          reason: 'bench change',
          label: 'w1',
        },
      ],
    },
    { kind: 'stage', id: 'to-review', stage: 'review' },
    {
      kind: 'gate',
      id: 'approve',
      title: (run) => `Approve ${run.input.item}`,
      packet: (run) => ({ item: run.input.item, risk_tier: 'low' }),
      binds: 'calls',
      on_reject: { stage: 'rejected' },
    },
    { kind: 'stage', id: NEXT_STEP, stage: 'approved' },
    {
      kind: 'execute',
      id: 'run_calls',
      from: 'calls',
      as: 'executor',
      on_failure: { stage: 'failed' },
    },
  ],
};

const benchWrite = defineTool({
  name: 'bench_write',
  description: 'Writes nothing (in memory).',
  risk: 'write',
  input: z.strictObject({ item: z.string() }),
  plan: async (p) => ({ would_write: p.item }),
  apply: async (p) => ({ wrote: p.item }),
});

/** A deterministic model: answers the drafter at once. */
const scriptedModel: AgentModels = {
  async generate(r) {
    const input = r.input as { item: string };
    return {
      response: {
        output: { item: input.item, note: 'scripted' },
        usage: { prompt_tokens: 10, completion_tokens: 5 },
        model: 'bench/v1',
      },
      model_id: 'bench/v1',
      redactions: {},
    };
  },
};

/** When a probed run's first effects start after its decision (performance.now()). */
const probe = { run: null as string | null, firstAt: 0, nextAt: 0 };

/** The real activities, each noting the first calls of the probed run. */
function probed(real: Activities): Activities {
  const out: Partial<Record<ActivityName, unknown>> = {};
  for (const name of Object.keys(real) as ActivityName[]) {
    const fn = real[name] as (ref: { run_id: string }, seq: number, args: unknown) => unknown;
    out[name] = (ref: { run_id: string }, seq: number, args: unknown) => {
      if (probe.run === ref.run_id) {
        const t = performance.now();
        if (probe.firstAt === 0) probe.firstAt = t;
        if (probe.nextAt === 0 && (args as { step_id?: string }).step_id === NEXT_STEP)
          probe.nextAt = t;
      }
      return fn(ref, seq, args);
    };
  }
  return out as Activities;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-workflow-bench-'));

// ---- the bench ----------------------------------------------------------------------------

async function main(): Promise<void> {
  const began = performance.now();
  console.log(
    `countersign workflow bench: ${RUNS} waiting runs, ${DECISIONS} decisions, ${QUERIES} queries per page; SQLite WAL synchronous=FULL; node ${process.version}, ${os.cpus().length} cores`,
  );
  const file = path.join(tmp, 'countersign.sqlite');
  const store = await openSqliteStore(file);
  const kernel = new Kernel({
    store,
    policy: CedarPolicyEngine.fromDirectory(),
    tools: staticToolRegistry([benchWrite]),
    clock: systemClock,
  });
  const ops = new WorkflowOps(kernel);
  let decidedAt = 0;
  const decideApproval = ops.decideApproval.bind(ops);
  ops.decideApproval = async (c, input) => {
    const r = await decideApproval(c, input);
    decidedAt = performance.now();
    return r;
  };
  // Time spent in the store calls the runtime makes between the decision and the next step.
  const spent = new Map<string, number>();
  const inWindow = () => probe.run !== null && decidedAt > 0 && probe.nextAt === 0;
  const timed = ops as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const name of ['loadRun', 'approvalState', 'setRunWaiting', 'effect', 'recordedEffect']) {
    const fn = timed[name]!.bind(ops);
    timed[name] = async (...a: unknown[]) => {
      if (!inWindow()) return fn(...a);
      const label = name === 'effect' ? `effect(${String(a[3])})` : name;
      const t0 = performance.now();
      try {
        return await fn(...a);
      } finally {
        spent.set(label, (spent.get(label) ?? 0) + performance.now() - t0);
      }
    };
  }
  const errors: unknown[] = [];
  const runtime = new EmbeddedRuntime({
    ops,
    activities: probed(createActivities({ ops, kernel, models: scriptedModel })),
    definitions: [gateFlow],
    onError: (_run, e) => errors.push(e),
  });
  const ctx = operatorContext('workflow bench');
  const { actor_id: reviewer } = await kernel.registerActor(ctx, {
    name: 'Rita Reviewer',
    role: 'change_manager',
  });

  const startRun = async (key: string, item: string) => {
    const run = await runtime.start(ctx, {
      definition: gateFlow.name,
      input: { item },
      idempotency_key: key,
    });
    const approval = run.waiting_on?.approval_id;
    if (run.status !== 'waiting' || typeof approval !== 'string')
      throw new Error(
        `${key}: run is ${run.status} (${JSON.stringify(run.error ?? run.waiting_on)}); errors: ${String(errors[0])}`,
      );
    return { run: run.workflow_id, approval };
  };

  // ---- 2. runs waiting at gates: memory ----
  // Cold idle: the runtime just built. Warm idle: after WARM runs were started and decided to
  // completion (nothing waits; the code is compiled, V8's young generation and SQLite's page
  // cache have grown): what an idle server that has served some work holds.
  const cold = await memory();
  for (let i = 0; i < WARM; i++) {
    const { approval } = await startRun(`warm-${i}`, `warm_${i}`);
    await runtime.decide(ctx, {
      approval_id: approval,
      reviewer_id: reviewer,
      decision: 'approve',
    });
  }
  const warm = await memory();
  const keep = DECISION_WARMUP + DECISIONS;
  const approvals: { run: string; approval: string }[] = [];
  let at1000 = warm;
  const startBegan = performance.now();
  let lap = startBegan;
  for (let i = 0; i < RUNS; i++) {
    const waiting = await startRun(`bench-${i}`, `item_${i}`);
    if (i < keep) approvals.push(waiting);
    if ((i + 1) % 1000 === 0 || i + 1 === RUNS) {
      const now = performance.now();
      console.log(
        `  started ${i + 1}/${RUNS} runs waiting at gates: ${((now - startBegan) / 1000).toFixed(1)} s elapsed, ${((now - lap) / (i + 1 - Math.floor(i / 1000) * 1000)).toFixed(2)} ms/run in this batch`,
      );
      lap = now;
      if (i + 1 === 1000) at1000 = await memory();
    }
  }
  const startSeconds = (performance.now() - startBegan) / 1000;
  const loaded = await memory();
  const growth = (base: { heapUsed: number; rss: number }) => ({
    heap: (loaded.heapUsed - base.heapUsed) / MB,
    rss: (loaded.rss - base.rss) / MB,
  });
  const fromCold = growth(cold);
  const fromWarm = growth(warm);
  const perRun = RUNS > 1000 ? (loaded.heapUsed - at1000.heapUsed) / (RUNS - 1000) : Number.NaN;
  const memoryMet = (g: { heap: number; rss: number }) =>
    Math.max(g.heap, g.rss) < TARGET_MEMORY_MB;
  const walBytes = fs.statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0;
  const dbBytes = fs.statSync(file).size + walBytes;
  const mem = (m: { heapUsed: number; rss: number }) =>
    `heap ${(m.heapUsed / MB).toFixed(1)} MB, rss ${(m.rss / MB).toFixed(1)} MB`;
  console.log(
    `\n2. ${RUNS} runs waiting at gates: started in ${startSeconds.toFixed(1)} s (${((startSeconds * 1000) / RUNS).toFixed(2)} ms/run); database + WAL ${(dbBytes / MB).toFixed(1)} MB`,
  );
  console.log(
    `   cold idle: ${mem(cold)}; warm idle (${WARM} runs done): ${mem(warm)}; ${RUNS} waiting: ${mem(loaded)}`,
  );
  console.log(
    `   growth over the warm idle: heap ${fromWarm.heap.toFixed(1)} MB, rss ${fromWarm.rss.toFixed(1)} MB (target < ${TARGET_MEMORY_MB} MB) ${met(memoryMet(fromWarm))}`,
  );
  console.log(
    `   growth over the cold idle: heap ${fromCold.heap.toFixed(1)} MB, rss ${fromCold.rss.toFixed(1)} MB (target < ${TARGET_MEMORY_MB} MB) ${met(memoryMet(fromCold))}`,
  );
  console.log(
    `   heap per waiting run, runs 1001..${RUNS}: ${perRun.toFixed(0)} bytes (the runtime keeps nothing for a waiting run)`,
  );

  // ---- 3. the pending-approvals inbox with those runs waiting ----
  const raw = new Database(file, { readonly: true });
  const gateSql = `SELECT * FROM approval_requests WHERE tenant_id = ? AND status = 'pending' ORDER BY created_at DESC, id DESC LIMIT 50`;
  const proposalSql = `SELECT * FROM proposals WHERE tenant_id = ? AND status = 'pending' ORDER BY updated_at DESC, id DESC LIMIT 50`;
  const rawGates = raw.prepare(gateSql);
  const rawProposals = raw.prepare(proposalSql);
  const plan = (sql: string) =>
    (raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(ctx.tenant_id) as { detail: string }[])
      .map((r) => r.detail)
      .join('; ');
  const firstGates = await ops.listPendingApprovals(ctx, { kind: 'gate', limit: 50 });
  const firstAll = await ops.listPendingApprovals(ctx, { limit: 50 });
  if (firstGates.length !== 50 || firstAll.length !== 50)
    throw new Error(`inbox pages hold ${firstGates.length} and ${firstAll.length} items, not 50`);
  const subjectGates: number[] = [];
  const subjectAll: number[] = [];
  const subjectProposals: number[] = [];
  const baseGates: number[] = [];
  const baseAll: number[] = [];
  for (let i = 0; i < QUERY_WARMUP + QUERIES; i++) {
    const t0 = performance.now();
    await ops.listPendingApprovals(ctx, { kind: 'gate', limit: 50 });
    const t1 = performance.now();
    rawGates.all(ctx.tenant_id);
    const t2 = performance.now();
    await ops.listPendingApprovals(ctx, { limit: 50 });
    const t3 = performance.now();
    rawGates.all(ctx.tenant_id);
    rawProposals.all(ctx.tenant_id);
    const t4 = performance.now();
    await ops.listPendingApprovals(ctx, { kind: 'proposal', limit: 50 });
    const t5 = performance.now();
    if (i < QUERY_WARMUP) continue;
    subjectProposals.push(t5 - t4);
    subjectGates.push(t1 - t0);
    baseGates.push(t2 - t1);
    subjectAll.push(t3 - t2);
    baseAll.push(t4 - t3);
  }
  const qg = summary(subjectGates);
  const qgBase = summary(baseGates);
  const qa = summary(subjectAll);
  const qaBase = summary(baseAll);
  const qp = summary(subjectProposals);
  const kinds = (items: readonly { kind: string }[]) =>
    ['gate', 'proposal']
      .map((k) => `${items.filter((x) => x.kind === k).length} ${k}s`)
      .join(' + ');
  console.log(
    `\n3. list_pending_approvals, first page of 50, with ${RUNS} gates pending (each binding one pending proposal)`,
  );
  console.log(`   {kind: 'gate', limit: 50}: ${line(qg)}`);
  console.log(`     baseline SELECT approval_requests LIMIT 50: ${line(qgBase)}`);
  console.log(
    `     ratio p99 ${(qg.p99 / qgBase.p99).toFixed(1)}x, p50 ${(qg.p50 / qgBase.p50).toFixed(1)}x (target p99 < ${TARGET_QUERY_P99_MS} ms) ${met(qg.p99 < TARGET_QUERY_P99_MS)}`,
  );
  console.log(`   {limit: 50} (gates + proposals; the page holds ${kinds(firstAll)}): ${line(qa)}`);
  console.log(`     baseline SELECT approval_requests + proposals LIMIT 50: ${line(qaBase)}`);
  console.log(
    `     ratio p99 ${(qa.p99 / qaBase.p99).toFixed(1)}x, p50 ${(qa.p50 / qaBase.p50).toFixed(1)}x (target p99 < ${TARGET_QUERY_P99_MS} ms) ${met(qa.p99 < TARGET_QUERY_P99_MS)}`,
  );
  console.log(`   of which the proposals query, {kind: 'proposal', limit: 50}: ${line(qp)}`);
  console.log(`   plan, gates: ${plan(gateSql)}`);
  console.log(`   plan, proposals: ${plan(proposalSql)}`);
  raw.close();

  // ---- 1. decision -> next step, alternating with bare write transactions ----
  const baselineTenant = 'bench-baseline';
  const event = {
    type: EVENT_TYPES.WORKFLOW_STEP,
    actor: 'bench',
    workflow_id: 'workflow_1',
    data: { step: 'x', detail: { a: 1, b: [1, 2, 3], c: 'some text of moderate length' } },
  };
  const bareWrite = async () => {
    const t0 = performance.now();
    await store.transaction(async (tx) => {
      const head = await tx.lockLedgerHead(baselineTenant);
      await tx.appendLedger(chainEvent(baselineTenant, head, systemClock.now(), event));
    });
    return performance.now() - t0;
  };
  const toNext: number[] = [];
  const toFirst: number[] = [];
  const commit: number[] = [];
  const whole: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < approvals.length; i++) {
    const { run, approval } = approvals[i]!;
    probe.run = run;
    probe.firstAt = 0;
    probe.nextAt = 0;
    decidedAt = 0;
    if (i === DECISION_WARMUP) spent.clear();
    const t0 = performance.now();
    const r = await runtime.decide(ctx, {
      approval_id: approval,
      reviewer_id: reviewer,
      decision: 'approve',
      comment: 'bench',
    });
    const t1 = performance.now();
    probe.run = null;
    if (r.run.status !== 'completed' || probe.nextAt === 0 || decidedAt === 0)
      throw new Error(
        `decision ${i}: run ${r.run.status} (${JSON.stringify(r.run.error)}); errors: ${String(errors[0])}`,
      );
    const b = await bareWrite();
    if (i < DECISION_WARMUP) continue;
    toNext.push(probe.nextAt - decidedAt);
    toFirst.push(probe.firstAt - decidedAt);
    commit.push(decidedAt - t0);
    whole.push(t1 - t0);
    bare.push(b);
  }
  const dn = summary(toNext);
  const df = summary(toFirst);
  const dc = summary(commit);
  const dw = summary(whole);
  const db = summary(bare);
  const decisionMet = dn.p99 < TARGET_DECISION_P99_MS;
  console.log(
    `\n1. decision recorded -> next step starts (embedded, ${RUNS - approvals.length}+ runs still waiting)`,
  );
  console.log(`   decision committed -> "${NEXT_STEP}" first effect: ${line(dn)}`);
  console.log(
    `   decision committed -> first effect of the resumed run (the gate's own step record): ${line(df)}`,
  );
  const meanNext = toNext.reduce((a, b) => a + b, 0) / toNext.length;
  const parts = [...spent].map(([k, v]) => [k, v / toNext.length] as const);
  const rest = meanNext - parts.reduce((a, [, v]) => a + v, 0);
  console.log(
    `   where it goes (mean ${ms(meanNext)}): ${parts.map(([k, v]) => `${k} ${ms(v)}`).join(', ')}, the rest (replay, interpreter) ${ms(rest)}`,
  );
  console.log(`   decide_approval until committed: ${line(dc)}`);
  console.log(`   runtime.decide() whole (decision + run to completion): ${line(dw)}`);
  console.log(`   baseline, one bare write transaction (ledger append + commit): ${line(db)}`);
  console.log(
    `   ratio p99 ${(dn.p99 / db.p99).toFixed(1)}x, p50 ${(dn.p50 / db.p50).toFixed(1)}x the bare write (target p99 < ${TARGET_DECISION_P99_MS} ms) ${met(decisionMet)}`,
  );

  await runtime.close();
  await store.close();
  fs.rmSync(tmp, { recursive: true, force: true });
  const seconds = (performance.now() - began) / 1000;
  console.log(`\nbench took ${seconds.toFixed(1)} s`);
  const round = (s: Summary) => ({
    n: s.n,
    p50: +s.p50.toFixed(3),
    p90: +s.p90.toFixed(3),
    p99: +s.p99.toFixed(3),
    max: +s.max.toFixed(3),
  });
  console.log(
    JSON.stringify({
      decision_to_next_step_ms: round(dn),
      decision_to_first_effect_ms: round(df),
      decision_to_next_step_breakdown_ms: Object.fromEntries(
        [...parts, ['rest', rest] as const].map(([k, v]) => [k, +v.toFixed(3)]),
      ),
      decide_commit_ms: round(dc),
      decide_whole_ms: round(dw),
      bare_write_ms: round(db),
      decision_ratio_p99: +(dn.p99 / db.p99).toFixed(2),
      decision_target_p99_ms: TARGET_DECISION_P99_MS,
      decision_met: decisionMet,
      waiting_runs: RUNS,
      start_seconds: +startSeconds.toFixed(1),
      heap_growth_mb: +fromWarm.heap.toFixed(1),
      rss_growth_mb: +fromWarm.rss.toFixed(1),
      heap_growth_from_cold_mb: +fromCold.heap.toFixed(1),
      rss_growth_from_cold_mb: +fromCold.rss.toFixed(1),
      heap_bytes_per_waiting_run: Math.round(perRun),
      memory_target_mb: TARGET_MEMORY_MB,
      memory_met: memoryMet(fromWarm),
      memory_met_from_cold: memoryMet(fromCold),
      pending_gates_ms: round(qg),
      pending_gates_baseline_ms: round(qgBase),
      pending_gates_ratio_p99: +(qg.p99 / qgBase.p99).toFixed(2),
      pending_all_ms: round(qa),
      pending_all_baseline_ms: round(qaBase),
      pending_all_ratio_p99: +(qa.p99 / qaBase.p99).toFixed(2),
      pending_proposals_only_ms: round(qp),
      query_target_p99_ms: TARGET_QUERY_P99_MS,
      pending_gates_met: qg.p99 < TARGET_QUERY_P99_MS,
      pending_all_met: qa.p99 < TARGET_QUERY_P99_MS,
      seconds: +seconds.toFixed(1),
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e);
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exitCode = 1;
});
