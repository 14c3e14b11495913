/**
 * The kernel's speed, as ratios against baselines measured in the same run (the machines are
 * shared and noisy, so absolute numbers mean little). Rounds alternate subject and baseline;
 * the median ratio is reported.
 *
 *   npm run bench            (COUNTERSIGN_BENCH_SECONDS=1 per measurement by default)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { CedarPolicyEngine } from '../src/adapters/policy/cedar-policy-engine.js';
import { openSqliteStore } from '../src/adapters/store/open-store.js';
import { operatorContext } from '../src/core/context.js';
import { defineTool } from '../src/core/define-tool.js';
import { Kernel } from '../src/core/kernel.js';
import { EVENT_TYPES, chainEvent } from '../src/core/ledger.js';
import { systemClock } from '../src/core/ports/clock.js';
import type { PolicyRequest } from '../src/core/ports/policy.js';
import { staticToolRegistry } from '../src/core/ports/tools.js';
import { installSqlCounter } from './sql-counter.js';

const SECONDS = Number(process.env.COUNTERSIGN_BENCH_SECONDS ?? '1');
const ROUNDS = Number(process.env.COUNTERSIGN_BENCH_ROUNDS ?? '3');
const SYNC = 'FULL' as const;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-bench-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Runs `op` repeatedly for SECONDS; returns operations per second. */
async function rate(op: (i: number) => unknown): Promise<number> {
  const end = performance.now() + SECONDS * 1000;
  const start = performance.now();
  let n = 0;
  while (performance.now() < end) {
    await op(n);
    n += 1;
  }
  return n / ((performance.now() - start) / 1000);
}

function rawInserter(file: string) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${SYNC}`);
  db.exec('CREATE TABLE IF NOT EXISTS bench_rows (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO bench_rows (payload) VALUES (?)');
  const tx = db.transaction((p: string) => insert.run(p));
  return { insert: (i: number) => tx(`row ${i}`), close: () => db.close() };
}

const noop = defineTool({
  name: 'noop',
  description: 'does nothing',
  risk: 'read',
  input: z.strictObject({ i: z.number().int() }),
  plan: async () => ({}),
  apply: async () => ({ ok: true }),
});
const policy = CedarPolicyEngine.fromText([
  {
    name: 'bench.cedar',
    text: `@id("all") permit(principal, action, resource) when { action != Action::"proposal.create" };
           @id("noop-free") @approvals("0") permit(principal, action == Action::"proposal.create", resource) when { resource == Tool::"noop" };`,
  },
]);

interface Row {
  name: string;
  subject: number;
  baseline: number;
  ratio: number;
  target: string;
  met: boolean;
}
const rows: Row[] = [];
function report(
  name: string,
  subjects: number[],
  baselines: number[],
  target: number,
  unit: string,
) {
  const ratios = subjects.map((s, i) => s / baselines[i]!);
  const ratio = median(ratios);
  rows.push({
    name,
    subject: median(subjects),
    baseline: median(baselines),
    ratio,
    target: `>= ${target}x`,
    met: ratio >= target,
  });
  console.log(
    `${name}: ${median(subjects).toFixed(0)} vs ${median(baselines).toFixed(0)} ${unit} -> ratio ${ratio.toFixed(3)} (target ${target}x) ${ratio >= target ? 'MET' : 'NOT MET'}`,
  );
}

async function main() {
  console.log(
    `countersign kernel bench: ${SECONDS}s per measurement, ${ROUNDS} rounds, SQLite WAL synchronous=${SYNC}, node ${process.version}, ${os.cpus().length} cores`,
  );
  const file = path.join(tmp, 'countersign.sqlite');
  const store = await openSqliteStore(file, { synchronous: SYNC });
  const kernel = new Kernel({
    store,
    policy,
    tools: staticToolRegistry([noop]),
    clock: systemClock,
  });
  const ctx = operatorContext('bench');
  const { actor_id } = await kernel.registerActor(ctx, { name: 'Bench', role: 'agent' });
  const { workflow_id } = await kernel.startWorkflow(ctx, { title: 'bench' });
  const raw = rawInserter(file);
  const counter = installSqlCounter();

  // 1. An auto-approved call (propose + execute a no-op tool) vs raw single-row INSERT transactions.
  const call = async (i: number) => {
    const p = await kernel.proposeAction(ctx, {
      workflow_id,
      actor_id,
      tool: 'noop',
      params: { i },
      reason: 'bench',
    });
    await kernel.executeAction(ctx, { proposal_id: p.proposal_id });
  };
  const calls: number[] = [];
  const inserts: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    calls.push(await rate((i) => call((r + 1) * 1e7 + i)));
    inserts.push(await rate((i) => raw.insert(i)));
  }
  report('auto-approved call (propose+execute) vs raw INSERT txn', calls, inserts, 0.4, 'ops/s');
  const perOp = (n: number, before: { statements: number; transactions: number }) => {
    const c = counter.since(before);
    return { statements: c.statements / n, transactions: c.transactions / n };
  };
  let before = counter.snapshot();
  for (let i = 0; i < 100; i++) await call(9e8 + i);
  const callCounts = perOp(100, before);
  before = counter.snapshot();
  for (let i = 0; i < 100; i++) raw.insert(i);
  const insertCounts = perOp(100, before);
  console.log(
    `  per operation: auto-approved call ${callCounts.statements.toFixed(1)} statements in ` +
      `${callCounts.transactions.toFixed(1)} transactions; raw INSERT ${insertCounts.statements.toFixed(1)} ` +
      `statements in ${insertCounts.transactions.toFixed(1)} transactions`,
  );

  // Context for the ratio: the same call and insert without fsync (synchronous=OFF), showing
  // how much of a call is CPU and how much is waiting for its commits to reach the disk.
  const offFile = path.join(tmp, 'countersign-off.sqlite');
  const offStore = await openSqliteStore(offFile, { synchronous: 'OFF' });
  const offKernel = new Kernel({
    store: offStore,
    policy,
    tools: staticToolRegistry([noop]),
    clock: systemClock,
  });
  const offActor = (await offKernel.registerActor(ctx, { name: 'Bench', role: 'agent' })).actor_id;
  const offWorkflow = (await offKernel.startWorkflow(ctx, { title: 'bench' })).workflow_id;
  const offDb = new Database(offFile);
  offDb.pragma('synchronous = OFF');
  offDb.exec(
    'CREATE TABLE IF NOT EXISTS bench_rows (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)',
  );
  const offInsert = offDb.prepare('INSERT INTO bench_rows (payload) VALUES (?)');
  const offTx = offDb.transaction((p: string) => offInsert.run(p));
  const offCall = async (i: number) => {
    const p = await offKernel.proposeAction(ctx, {
      workflow_id: offWorkflow,
      actor_id: offActor,
      tool: 'noop',
      params: { i },
      reason: 'bench',
    });
    await offKernel.executeAction(ctx, { proposal_id: p.proposal_id });
  };
  const offCalls = await rate((i) => offCall(5e8 + i));
  const offInserts = await rate((i) => offTx(`row ${i}`));
  const fsyncMs = Math.max(0, 1000 / median(inserts) - 1000 / offInserts);
  console.log(
    `  context (not a target): without fsync (synchronous=OFF) a call takes ${(1000 / offCalls).toFixed(3)} ms of CPU ` +
      `and a raw INSERT ${(1000 / offInserts).toFixed(3)} ms; a durable commit waits ${fsyncMs.toFixed(3)} ms here, ` +
      `so at two commits per call the ratio could reach ${(1000 / median(inserts) / (1000 / offCalls + 2 * fsyncMs)).toFixed(3)} with this CPU time`,
  );
  offDb.close();
  await offStore.close();

  // 2. Ledger appends with hashing vs the same appends without hashing.
  const tenantH = 'bench-hash';
  const tenantP = 'bench-plain';
  const event = {
    type: EVENT_TYPES.WORKFLOW_STEP,
    actor: 'bench',
    workflow_id: 'workflow_1',
    data: { step: 'x', detail: { a: 1, b: [1, 2, 3], c: 'some text of moderate length' } },
  };
  const hashed: number[] = [];
  const plain: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    hashed.push(
      await rate(() =>
        store.transaction(async (tx) => {
          const head = await tx.lockLedgerHead(tenantH);
          await tx.appendLedger(chainEvent(tenantH, head, systemClock.now(), event));
        }),
      ),
    );
    plain.push(
      await rate(() =>
        store.transaction(async (tx) => {
          const head = await tx.lockLedgerHead(tenantP);
          await tx.appendLedger({
            tenant_id: tenantP,
            seq: head.seq + 1,
            time: systemClock.now(),
            ...event,
            prev_hash: head.hash,
            hash: head.hash,
          });
        }),
      ),
    );
  }
  report('ledger append with hashing vs without', hashed, plain, 0.9, 'appends/s');

  // 3. audit verify (events checked per second) vs the append rate.
  const verifyRates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    const v = await kernel.verifyAudit({ ...ctx, tenant_id: tenantH });
    if (!v.ok) throw new Error(`bench ledger broken: ${JSON.stringify(v.problem)}`);
    verifyRates.push(v.events / ((performance.now() - start) / 1000));
  }
  report('audit verify vs ledger append rate', verifyRates, hashed, 10, 'events/s');

  // 4. A policy decision with 100 policies loaded: p99 latency.
  const many = CedarPolicyEngine.fromText([
    {
      name: 'many.cedar',
      text: Array.from(
        { length: 98 },
        (_, i) =>
          `@id("p${i}") permit(principal, action == Action::"proposal.create", resource) when { principal.roles.contains("role-${i}") && resource.risk == "write" };`,
      )
        .concat([
          '@id("review") @approvals("1") permit(principal, action == Action::"proposal.create", resource);',
          '@id("wf") forbid(principal, action == Action::"proposal.create", resource) unless { context has workflow_id };',
        ])
        .join('\n'),
    },
  ]);
  const req: PolicyRequest = {
    tenant_id: 'default',
    principal: { id: 'actor_1', kind: 'agent', roles: ['role-42', 'Developer'] },
    action: 'proposal.create',
    resource: { type: 'Tool', id: 'database_migration', risk: 'write' },
    purpose: 'bench',
    workflow_id: 'workflow_1',
  };
  for (let i = 0; i < 500; i++) many.decide(req);
  const samples: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const t = performance.now();
    many.decide(req);
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  const p50 = samples[Math.floor(samples.length * 0.5)]!;
  const p99 = samples[Math.floor(samples.length * 0.99)]!;
  console.log(
    `policy decision, 100 policies: p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms (target p99 < 1 ms) ${p99 < 1 ? 'MET' : 'NOT MET'}`,
  );

  raw.close();
  await store.close();
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log(
    JSON.stringify({
      rows,
      per_operation: { auto_approved_call: callCounts, raw_insert: insertCounts },
      policy_p50_ms: p50,
      policy_p99_ms: p99,
    }),
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
