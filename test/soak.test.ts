import { describe, expect, it } from 'vitest';
import { formatSummary, runSoak } from '../src/main/soak-harness.js';

/**
 * The kill -9 loop (issue 12) on SQLite: one real `countersign serve`, SIGKILLed at random
 * moments (most kills aimed at an in-flight write) and restarted on the same data directory,
 * while four clients propose, approve and execute `send_notification` and drive ops
 * change-control runs, retrying every unanswered request with the same Idempotency-Key and
 * body. Afterwards: nothing acknowledged is lost, no proposal, decision or tool effect happened
 * twice, retries replay their first answer, in-doubt executions are only surfaced, every run
 * ends with a valid trace, and the ledger verifies (over HTTP and with the CLI).
 *
 * Bounded for CI (about 1.5 min on two cores); `npm run soak -- --cycles 1000` runs it longer.
 * Needs the build (`npm test` builds first). COUNTERSIGN_SOAK_KEEP=1 keeps the work directory
 * (data, server logs, the client journal, report.json) of a failed run.
 */

describe('kill -9 soak on SQLite (real `countersign serve`, SIGKILL, restart, retries)', () => {
  it('loses no acknowledged write, applies none twice, replays retries, keeps the chain', async () => {
    const report = await runSoak({
      cycles: 20,
      clients: 4,
      seed: 12,
      aroundWrites: 0.85,
      minUpMs: 200,
      maxUpMs: 1000,
      deadlineMs: 75_000,
      drainMs: 45_000,
      keep: process.env.COUNTERSIGN_SOAK_KEEP ? 'on-failure' : false,
      log: (line) => {
        if (line.startsWith('FINDING') || line.startsWith('cycle'))
          process.stderr.write(`[soak sqlite] ${line}\n`);
      },
    });
    const summary = formatSummary(report);
    process.stderr.write(`${summary}\n`);

    // The loop did real work under real kills.
    expect(report.cycles, summary).toBeGreaterThanOrEqual(5);
    expect(report.acknowledged.propose, summary).toBeGreaterThan(0);
    expect(report.acknowledged.execute, summary).toBeGreaterThan(0);
    expect(report.acknowledged.start_run, summary).toBeGreaterThan(0);
    expect(report.retries, summary).toBeGreaterThan(0);

    // The checks.
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
