import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../src/core/model.js';
import { validateTrace } from '../src/core/trace.js';
import { SAMPLE_RUNS_FILE, generateSampleRuns } from './support/sample-runs.js';

interface SampleRun {
  name: string;
  run: { id: string; status: string; stage: string; trace: { type: string }[] };
  ledger: LedgerEvent[];
}

describe('ops change control sample runs', () => {
  it('regenerate byte for byte (UPDATE_SAMPLE_RUNS=1 rewrites the fixture)', async () => {
    const text = await generateSampleRuns();
    if (process.env.UPDATE_SAMPLE_RUNS === '1') fs.writeFileSync(SAMPLE_RUNS_FILE, text);
    const doc = JSON.parse(text) as { runs: SampleRun[] };
    const outcomes = Object.fromEntries(
      doc.runs.map((r) => [r.name, `${r.run.status}/${r.run.stage}`]),
    );
    expect(outcomes).toEqual({
      'low-risk-config-change': 'completed/closed',
      'rejected-at-risk-review': 'completed/rejected',
      'plan-sent-back-then-approved': 'completed/closed',
      'failing-step-rolled-back': 'failed/failed',
    });
    // Every run's ledger passes trace validation.
    for (const r of doc.runs) {
      const events = r.ledger.map((e) => ({
        ...e,
        tenant_id: 'default',
        workflow_id: r.run.id,
        prev_hash: '',
        hash: '',
      }));
      expect(validateTrace(r.run.id, events).problems, r.name).toEqual([]);
    }
    const rolledBack = doc.runs.find((r) => r.name === 'failing-step-rolled-back')!;
    expect(rolledBack.run.trace.map((t) => t.type)).toContain('rollback');
    expect(fs.readFileSync(SAMPLE_RUNS_FILE, 'utf8')).toBe(text);
  });
});
