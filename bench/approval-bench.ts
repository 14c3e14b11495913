/**
 * The approval cycle against a peer, measured in the same run: Countersign vs LangGraph.js with
 * its SQLite checkpointer. One cycle, on both sides, is a new workflow (a new thread), a
 * proposed tool call that stops for a human, an approval, and the execution of a no-op tool:
 *
 *   Countersign: start_workflow, propose_action (policy: needs review), review_action
 *                (approve, by a person), execute_action (the agent runs the approved call).
 *                The default Cedar policies; every step is authorized and ledgered.
 *   LangGraph:   a graph propose -> review (interrupt() for the approval) -> execute, invoked
 *                on a new thread, then resumed with Command({ resume: 'approve' }).
 *
 * Both write to their own SQLite file opened with WAL and synchronous=FULL. Rounds alternate
 * the two; the median of the per-round ratios is reported. Bytes per cycle are the growth of
 * each database (pages in use after a checkpoint of the WAL) over a fixed number of cycles.
 *
 *   npm run build && node dist/bench/approval-bench.js
 *   (COUNTERSIGN_BENCH_SECONDS per measurement, default 2; COUNTERSIGN_BENCH_ROUNDS, default 3;
 *    COUNTERSIGN_BENCH_BYTES_CYCLES, default 200)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Annotation, Command, END, START, StateGraph, interrupt } from '@langchain/langgraph';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { z } from 'zod';
import { CedarPolicyEngine } from '../src/adapters/policy/cedar-policy-engine.js';
import { openSqliteStore } from '../src/adapters/store/open-store.js';
import { type CallContext, callerFor, operatorContext } from '../src/core/context.js';
import { defineTool } from '../src/core/define-tool.js';
import { Kernel } from '../src/core/kernel.js';
import type { JsonObject } from '../src/core/model.js';
import { systemClock } from '../src/core/ports/clock.js';
import { staticToolRegistry } from '../src/core/ports/tools.js';
import { installSqlCounter } from './sql-counter.js';

const SECONDS = Number(process.env.COUNTERSIGN_BENCH_SECONDS ?? '2');
const ROUNDS = Number(process.env.COUNTERSIGN_BENCH_ROUNDS ?? '3');
const BYTES_CYCLES = Number(process.env.COUNTERSIGN_BENCH_BYTES_CYCLES ?? '200');
const SYNC = (process.env.COUNTERSIGN_BENCH_SYNCHRONOUS ?? 'FULL') as 'FULL' | 'OFF' | 'NORMAL';
const TARGET_RATIO = 3;
const TARGET_BYTES = 0.5;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs `op` repeatedly for SECONDS; returns operations per second. */
async function rate(op: (i: number) => Promise<unknown>, start: number): Promise<number> {
  const t0 = performance.now();
  const end = t0 + SECONDS * 1000;
  let n = 0;
  while (performance.now() < end) {
    await op(start + n);
    n += 1;
  }
  return n / ((performance.now() - t0) / 1000);
}

/** Bytes the database file holds in used pages, after the WAL is folded into it. */
function usedBytes(file: string): number {
  const db = new Database(file);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
    const pages = db.pragma('page_count', { simple: true }) as number;
    const free = db.pragma('freelist_count', { simple: true }) as number;
    const size = db.pragma('page_size', { simple: true }) as number;
    return (pages - free) * size;
  } finally {
    db.close();
  }
}

// ---- the no-op tool, the same on both sides ---------------------------------------------------

const noopApply = (params: JsonObject) => Promise.resolve({ ok: true, i: params.i ?? null });

// ---- Countersign ----------------------------------------------------------------------------

async function countersign(file: string) {
  const store = await openSqliteStore(file, { synchronous: SYNC });
  const noop = defineTool({
    name: 'noop',
    description: 'Does nothing (a governed write that changes nothing).',
    risk: 'write',
    // A no-op may be repeated, like LangGraph's node: both sides give the same guarantee. (A
    // tool that is not idempotent is claimed in its own transaction before it runs.)
    idempotent: true,
    input: z.strictObject({ i: z.number().int() }),
    plan: async (p) => ({ would: 'nothing', i: p.i }),
    apply: noopApply,
  });
  const kernel = new Kernel({
    store,
    policy: CedarPolicyEngine.fromDirectory(),
    tools: staticToolRegistry([noop]),
    clock: systemClock,
  });
  const op = operatorContext('bench setup');
  const agent = await kernel.registerActor(op, { name: 'Agent', role: 'Developer', kind: 'agent' });
  const human = await kernel.registerActor(op, { name: 'Reviewer', role: 'Senior Developer' });
  const as = (actor_id: string): CallContext => ({
    tenant_id: 'default',
    caller: callerFor(actor_id),
    purpose: 'approval cycle bench',
  });
  const agentCtx = as(agent.actor_id);
  const humanCtx = as(human.actor_id);
  return {
    async cycle(i: number) {
      const { workflow_id } = await kernel.startWorkflow(agentCtx, { title: `cycle ${i}` });
      const p = await kernel.proposeAction(agentCtx, {
        workflow_id,
        actor_id: agent.actor_id,
        tool: 'noop',
        params: { i },
        reason: 'bench',
      });
      if (p.status !== 'pending') throw new Error(`expected a review, got ${p.status}`);
      const r = await kernel.reviewAction(humanCtx, {
        proposal_id: p.proposal_id,
        reviewer_id: human.actor_id,
        decision: 'approve',
      });
      if (r.status !== 'approved') throw new Error(`expected approved, got ${r.status}`);
      const e = await kernel.executeAction(agentCtx, { proposal_id: p.proposal_id });
      if (e.result.status !== 'succeeded') throw new Error(`execution ${e.result.status}`);
    },
    close: () => store.close(),
  };
}

// ---- LangGraph.js ---------------------------------------------------------------------------

function langgraph(file: string) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${SYNC}`);
  const saver = new SqliteSaver(db);
  const State = Annotation.Root({
    i: Annotation<number>(),
    call: Annotation<{ tool: string; params: JsonObject } | null>(),
    decision: Annotation<string | null>(),
    result: Annotation<JsonObject | null>(),
  });
  const graph = new StateGraph(State)
    .addNode('propose', (s) => ({ call: { tool: 'noop', params: { i: s.i } } }))
    .addNode('review', (s) => ({ decision: interrupt<unknown, string>({ call: s.call }) }))
    .addNode('execute', async (s) => ({
      result: s.decision === 'approve' && s.call ? await noopApply(s.call.params) : null,
    }))
    .addEdge(START, 'propose')
    .addEdge('propose', 'review')
    .addEdge('review', 'execute')
    .addEdge('execute', END)
    .compile({ checkpointer: saver });
  return {
    async cycle(i: number) {
      const config = { configurable: { thread_id: `cycle-${i}` } };
      const first = await graph.invoke({ i, call: null, decision: null, result: null }, config);
      if (!('__interrupt__' in first)) throw new Error('expected the graph to stop for review');
      const done = await graph.invoke(new Command({ resume: 'approve' }), config);
      if (!done.result) throw new Error('expected the approved call to run');
    },
    close: () => db.close(),
  };
}

// ---- main -----------------------------------------------------------------------------------

async function main() {
  console.log(
    `approval cycle bench: ${SECONDS}s per measurement, ${ROUNDS} rounds, SQLite WAL synchronous=${SYNC}, ` +
      `node ${process.version}, ${os.cpus().length} cores`,
  );
  const counter = installSqlCounter();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-approval-bench-'));
  try {
    // Throughput, alternating rounds.
    const cs = await countersign(path.join(tmp, 'countersign.sqlite'));
    const lg = langgraph(path.join(tmp, 'langgraph.sqlite'));
    let next = 0;
    for (let i = 0; i < 30; i++) {
      await cs.cycle(next);
      await lg.cycle(next++);
    }
    const subjects: number[] = [];
    const peers: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      subjects.push(await rate((i) => cs.cycle(i), (next += 1e6)));
      peers.push(await rate((i) => lg.cycle(i), (next += 1e6)));
      console.log(
        `  round ${r + 1}: countersign ${subjects[r]!.toFixed(1)}, langgraph ${peers[r]!.toFixed(1)} cycles/s ` +
          `(ratio ${(subjects[r]! / peers[r]!).toFixed(3)})`,
      );
    }
    // Statements and transactions per cycle.
    const per = async (side: { cycle(i: number): Promise<void> }) => {
      const n = 50;
      const before = counter.snapshot();
      for (let i = 0; i < n; i++) await side.cycle((next += 1));
      const c = counter.since(before);
      return { statements: c.statements / n, transactions: c.transactions / n };
    };
    const csCounts = await per(cs);
    const lgCounts = await per(lg);
    await cs.close();
    lg.close();

    // Bytes stored per cycle, on fresh files.
    const bytes = async (
      name: string,
      open: (f: string) => Promise<{ cycle(i: number): Promise<void>; close(): unknown }>,
    ) => {
      const file = path.join(tmp, `${name}-bytes.sqlite`);
      const side = await open(file);
      await side.cycle(0);
      await side.close();
      const before = usedBytes(file);
      const again = await open(file);
      for (let i = 1; i <= BYTES_CYCLES; i++) await again.cycle(i);
      await again.close();
      return (usedBytes(file) - before) / BYTES_CYCLES;
    };
    const csBytes = await bytes('countersign', countersign);
    const lgBytes = await bytes('langgraph', (f) => Promise.resolve(langgraph(f)));

    const ratio = median(subjects.map((s, i) => s / peers[i]!));
    const bytesRatio = csBytes / lgBytes;
    const met = ratio >= TARGET_RATIO;
    const bytesMet = bytesRatio <= TARGET_BYTES;
    console.log(
      `approval cycle (propose -> review -> approve -> execute, new workflow each) vs LangGraph.js + SqliteSaver: ` +
        `${median(subjects).toFixed(1)} vs ${median(peers).toFixed(1)} cycles/s -> ratio ${ratio.toFixed(3)} ` +
        `(target ${TARGET_RATIO}x) ${met ? 'MET' : 'NOT MET'}`,
    );
    console.log(
      `bytes stored per cycle: countersign ${csBytes.toFixed(0)}, langgraph ${lgBytes.toFixed(0)} -> ratio ` +
        `${bytesRatio.toFixed(3)} (target <= ${TARGET_BYTES}x) ${bytesMet ? 'MET' : 'NOT MET'}`,
    );
    console.log(
      `per cycle: countersign ${csCounts.statements.toFixed(1)} statements in ${csCounts.transactions.toFixed(1)} transactions; ` +
        `langgraph ${lgCounts.statements.toFixed(1)} statements in ${lgCounts.transactions.toFixed(1)} explicit transactions`,
    );
    console.log(
      JSON.stringify({
        rows: [
          {
            name: 'approval cycle vs LangGraph.js (SqliteSaver)',
            subject: median(subjects),
            baseline: median(peers),
            ratio,
            target: `>= ${TARGET_RATIO}x`,
            met,
          },
          {
            name: 'bytes stored per approval cycle vs LangGraph.js (SqliteSaver)',
            subject: csBytes,
            baseline: lgBytes,
            ratio: bytesRatio,
            target: `<= ${TARGET_BYTES}x`,
            met: bytesMet,
          },
        ],
        per_cycle: { countersign: csCounts, langgraph: lgCounts },
      }),
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
