import { afterAll, describe, expect, inject, it } from 'vitest';
import { formatSummary, runSoak } from '../src/main/soak-harness.js';
import { type FreshPgDatabase, freshPgDatabase } from './setup/pg.js';

/**
 * The kill -9 loop (issue 12) on Postgres: TWO real `countersign serve` processes on one
 * database (each with its own data directory), clients spread across both, kills hitting
 * either, and every unanswered request retried with the same Idempotency-Key on the other
 * server, as a client behind a load balancer would. Afterwards: no ID handed out twice, no
 * duplicate proposal, decision or tool effect, nothing acknowledged lost, retries replay, and
 * one valid chain for the tenant (over HTTP, and `countersign audit verify` per data dir).
 *
 * Bounded for CI (about 1.5 min on two cores). Needs the build (`npm test` builds first).
 */

let db: FreshPgDatabase | undefined;
afterAll(async () => {
  await db?.drop();
});

describe('kill -9 soak on Postgres (two `countersign serve` on one database)', () => {
  it('loses no acknowledged write, applies none twice, replays retries, keeps one valid chain', async () => {
    db = await freshPgDatabase(inject('pgUrl'), 'soak');
    const report = await runSoak({
      databaseUrl: db.url,
      servers: 2,
      cycles: 15,
      clients: 4,
      seed: 21,
      aroundWrites: 0.85,
      minUpMs: 200,
      maxUpMs: 1000,
      deadlineMs: 60_000,
      drainMs: 45_000,
      keep: process.env.COUNTERSIGN_SOAK_KEEP ? 'on-failure' : false,
      log: (line) => {
        if (line.startsWith('FINDING') || line.startsWith('cycle'))
          process.stderr.write(`[soak postgres] ${line}\n`);
      },
    });
    const summary = formatSummary(report);
    process.stderr.write(`${summary}\n`);

    expect(report.store).toBe('postgres');
    expect(report.cycles, summary).toBeGreaterThanOrEqual(4);
    expect(report.acknowledged.propose, summary).toBeGreaterThan(0);
    expect(report.acknowledged.execute, summary).toBeGreaterThan(0);
    expect(report.acknowledged.start_run, summary).toBeGreaterThan(0);
    expect(report.retries, summary).toBeGreaterThan(0);

    expect(report.lostAcks, summary).toBe(0);
    expect(report.duplicates, summary).toEqual({
      proposals: 0,
      decisions: 0,
      gateDecisions: 0,
      executions: 0,
      effects: 0,
      ids: 0,
    });
    expect(report.retryNotReplayed, summary).toEqual({});
    expect(report.resends.identical, summary).toBe(report.resends.sent);
    expect(report.chain.ok, summary).toBe(true);
    expect(report.runs.traceValid, summary).toBe(report.runs.started);
    expect(report.serverErrors, summary).toBe(0);
    expect(report.findings, summary).toEqual([]);
  }, 240_000);
});
