/**
 * The approval cycle on Postgres with concurrent clients, against raw single-row INSERT
 * transactions from as many clients on the same server, measured in the same run (rounds
 * alternate; the median of the per-round ratios is reported). One cycle is a new workflow, a
 * proposed call that needs review, a person's approval, and the execution of an idempotent
 * no-op tool (as in approval-bench.ts), through one kernel (one `countersign serve` process)
 * with a pool of CLIENTS connections. The raw side sends BEGIN; INSERT; COMMIT on its own pool.
 *
 *   npm run build && node dist/bench/postgres-bench.js
 *   (COUNTERSIGN_BENCH_PG_URL: a database to use; otherwise a throwaway server is started with
 *    the test harness's settings (fsync off). COUNTERSIGN_BENCH_CLIENTS, default 8;
 *    COUNTERSIGN_BENCH_SECONDS, default 3; COUNTERSIGN_BENCH_ROUNDS, default 3.)
 */
import os from 'node:os';
import pg from 'pg';
import { z } from 'zod';
import { CedarPolicyEngine } from '../src/adapters/policy/cedar-policy-engine.js';
import { openPostgresStore } from '../src/adapters/store/open-store.js';
import { type CallContext, callerFor, operatorContext } from '../src/core/context.js';
import { defineTool } from '../src/core/define-tool.js';
import { isCountersignError } from '../src/core/errors.js';
import { Kernel } from '../src/core/kernel.js';
import { systemClock } from '../src/core/ports/clock.js';
import { staticToolRegistry } from '../src/core/ports/tools.js';
import { startThrowawayServer } from '../test/setup/postgres-server.js';
import { installSqlCounter } from './sql-counter.js';

const CLIENTS = Number(process.env.COUNTERSIGN_BENCH_CLIENTS ?? '8');
const SECONDS = Number(process.env.COUNTERSIGN_BENCH_SECONDS ?? '3');
const ROUNDS = Number(process.env.COUNTERSIGN_BENCH_ROUNDS ?? '3');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** CLIENTS loops of `op` for SECONDS; returns completed operations per second (and retries). */
async function concurrentRate(op: (client: number, i: number) => Promise<unknown>) {
  const end = performance.now() + SECONDS * 1000;
  const start = performance.now();
  let done = 0;
  let retries = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      for (let i = 0; performance.now() < end; i++) {
        try {
          await op(client, i);
          done += 1;
        } catch (e) {
          // A retryable refusal (a deadlock or a lost race the store reports) is retried.
          if (!isCountersignError(e) || !e.retryable) throw e;
          retries += 1;
        }
      }
    }),
  );
  return { rate: done / ((performance.now() - start) / 1000), retries };
}

async function main() {
  const external = process.env.COUNTERSIGN_BENCH_PG_URL;
  const server = external ? undefined : await startThrowawayServer();
  const url = external ?? server!.url;
  const settings = new pg.Client({ connectionString: url });
  await settings.connect();
  const show = async (name: string) =>
    (await settings.query<{ v: string }>(`SELECT current_setting('${name}') AS v`)).rows[0]!.v;
  const version = await show('server_version');
  const fsync = await show('fsync');
  const syncCommit = await show('synchronous_commit');
  await settings.query(
    'CREATE TABLE IF NOT EXISTS bench_rows (id bigserial PRIMARY KEY, payload text NOT NULL)',
  );
  await settings.end();
  console.log(
    `postgres bench: ${CLIENTS} clients, ${SECONDS}s per measurement, ${ROUNDS} rounds, PostgreSQL ${version} ` +
      `(fsync=${fsync}, synchronous_commit=${syncCommit}), node ${process.version}, ${os.cpus().length} cores`,
  );

  const counter = installSqlCounter();
  const store = await openPostgresStore(url, { max: CLIENTS });
  const raw = new pg.Pool({ connectionString: url, max: CLIENTS });
  try {
    const noop = defineTool({
      name: 'noop',
      description: 'Does nothing.',
      risk: 'write',
      idempotent: true,
      input: z.strictObject({ i: z.number().int() }),
      plan: async () => ({}),
      apply: async () => ({ ok: true }),
    });
    const kernel = new Kernel({
      store,
      policy: CedarPolicyEngine.fromDirectory(),
      tools: staticToolRegistry([noop]),
      clock: systemClock,
    });
    const op = operatorContext('bench setup');
    const agent = await kernel.registerActor(op, {
      name: 'Agent',
      role: 'Developer',
      kind: 'agent',
    });
    const human = await kernel.registerActor(op, { name: 'Reviewer', role: 'Senior Developer' });
    const as = (actor_id: string): CallContext => ({
      tenant_id: 'default',
      caller: callerFor(actor_id),
      purpose: 'postgres bench',
    });
    const agentCtx = as(agent.actor_id);
    const humanCtx = as(human.actor_id);
    let seq = 0;
    const cycle = async () => {
      const i = seq++;
      const { workflow_id } = await kernel.startWorkflow(agentCtx, { title: `cycle ${i}` });
      const p = await kernel.proposeAction(agentCtx, {
        workflow_id,
        actor_id: agent.actor_id,
        tool: 'noop',
        params: { i },
        reason: 'bench',
      });
      await kernel.reviewAction(humanCtx, {
        proposal_id: p.proposal_id,
        reviewer_id: human.actor_id,
        decision: 'approve',
      });
      const e = await kernel.executeAction(agentCtx, { proposal_id: p.proposal_id });
      if (e.result.status !== 'succeeded') throw new Error(`execution ${e.result.status}`);
    };
    const insert = async (client: number, i: number) => {
      const c = await raw.connect();
      try {
        await c.query('BEGIN');
        await c.query('INSERT INTO bench_rows (payload) VALUES ($1)', [`row ${client}.${i}`]);
        await c.query('COMMIT');
      } finally {
        c.release();
      }
    };

    for (let i = 0; i < 20; i++) await cycle();
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => insert(c, -1)));

    const cycles: number[] = [];
    const inserts: number[] = [];
    let retries = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const c = await concurrentRate(() => cycle());
      retries += c.retries;
      cycles.push(c.rate);
      inserts.push((await concurrentRate(insert)).rate);
      console.log(
        `  round ${r + 1}: approval cycles ${cycles[r]!.toFixed(1)}/s, raw INSERT transactions ` +
          `${inserts[r]!.toFixed(1)}/s (ratio ${(cycles[r]! / inserts[r]!).toFixed(3)})`,
      );
    }
    const before = counter.snapshot();
    for (let i = 0; i < 20; i++) await cycle();
    const perCycle = counter.since(before);
    const ratio = median(cycles.map((s, i) => s / inserts[i]!));
    console.log(
      `approval cycle on Postgres, ${CLIENTS} clients, vs raw single-row INSERT transactions from ${CLIENTS} clients: ` +
        `${median(cycles).toFixed(1)} cycles/s vs ${median(inserts).toFixed(1)} txn/s -> ratio ${ratio.toFixed(3)}` +
        (retries ? ` (${retries} retried cycles)` : ''),
    );
    console.log(
      `  per cycle: ${(perCycle.statements / 20).toFixed(1)} statements (round trips) in ` +
        `${(perCycle.transactions / 20).toFixed(1)} transactions; raw INSERT: 3 statements in 1 transaction`,
    );
    console.log(
      JSON.stringify({
        rows: [
          {
            name: `postgres approval cycle (${CLIENTS} clients) vs raw INSERT txn (${CLIENTS} clients)`,
            subject: median(cycles),
            baseline: median(inserts),
            ratio,
            target: null,
            met: null,
          },
        ],
        per_cycle: {
          statements: perCycle.statements / 20,
          transactions: perCycle.transactions / 20,
        },
      }),
    );
  } finally {
    await raw.end();
    await store.close();
    await server?.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
