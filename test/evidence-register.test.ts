import { describe, expect, it } from 'vitest';
import {
  type EvidenceRecords,
  NO_RUNNER_RECORD,
  checkEvidence,
} from '../src/core/work-packages/evidence-register.js';
import type { EvidenceClaim } from '../src/core/work-packages/return-artifact.js';
import { renderReturn, returnArtifact } from '../src/core/work-packages/return-artifact.js';

/**
 * The evidence register checked against records held in memory: which pointer each class needs,
 * which records count, and the tier the verified claims reach. (The same check against a real
 * store, through accept, is in work-packages.test.ts.)
 */
const records = (merge_proof: string | null = null): EvidenceRecords => ({
  execution: (id) =>
    Promise.resolve({ exec_1: 'succeeded', exec_2: 'failed', exec_3: 'simulated' }[id]),
  run: (id) => Promise.resolve({ run_a: 'completed', run_b: 'running' }[id]),
  merge_proof,
});
const claim = (
  cls: EvidenceClaim['class'],
  kind: EvidenceClaim['pointer']['kind'],
  ref: string,
) => ({ claim: `${cls} via ${kind} ${ref}`, class: cls, pointer: { kind, ref } });

describe('the evidence register', () => {
  it('counts a runtime claim only on a succeeded execution or a completed run', async () => {
    const cases: [EvidenceClaim, boolean][] = [
      [claim('runtime_proof', 'execution', 'exec_1'), true],
      [claim('runtime_proof', 'execution', 'exec_2'), false],
      [claim('runtime_proof', 'execution', 'exec_3'), false],
      [claim('runtime_proof', 'execution', 'exec_9'), false],
      [claim('runtime_proof', 'run', 'run_a'), true],
      [claim('runtime_proof', 'run', 'run_b'), false],
      [claim('runtime_proof', 'run', 'exec_1'), false],
      [claim('runtime_proof', 'file', 'src/a.ts'), false],
    ];
    for (const [c, verified] of cases) {
      const r = await checkEvidence([c], records());
      expect([c.claim, r.claims[0]!.verified, r.reached]).toEqual([
        c.claim,
        verified,
        verified ? 'runtime_proof' : 'not_proven',
      ]);
    }
  });

  it('counts a merge claim only on the commit the merge recorded', async () => {
    const c = claim('merge_proof', 'commit', 'abc1234');
    expect((await checkEvidence([c], records())).reached).toBe('not_proven');
    expect((await checkEvidence([c], records('fff0000'))).reached).toBe('not_proven');
    expect((await checkEvidence([c], records('abc1234'))).reached).toBe('merge_proof');
    const wrongKind = claim('merge_proof', 'execution', 'exec_1');
    expect((await checkEvidence([wrongKind], records('exec_1'))).reached).toBe('not_proven');
  });

  it('leaves runner-made classes and non-claims unverified, and reaches the strongest verified class', async () => {
    const r = await checkEvidence(
      [
        claim('local_command_proof', 'command', 'npm test'),
        claim('static_proof', 'command', 'tsc'),
        claim('source_trace', 'file', 'src/a.ts'),
        claim('stress_abuse_proof', 'run', 'run_a'),
        claim('not_proven', 'none', ''),
        claim('runtime_proof', 'execution', 'exec_1'),
      ],
      records(),
    );
    expect(r.claims.map((c) => [c.class, c.verified, c.why])).toEqual([
      ['local_command_proof', false, NO_RUNNER_RECORD],
      ['static_proof', false, NO_RUNNER_RECORD],
      ['source_trace', false, NO_RUNNER_RECORD],
      ['stress_abuse_proof', false, NO_RUNNER_RECORD],
      ['not_proven', false, expect.stringContaining('non-claim')],
      ['runtime_proof', true, 'execution exec_1 succeeded'],
    ]);
    expect(r.reached).toBe('runtime_proof');
  });

  it('renders a return with every section, and refuses an unbounded or incomplete one', () => {
    const a = returnArtifact.parse({
      summary: 'Done.',
      changed: [{ path: 'src/a.ts', what: 'fixed' }],
      validated: [{ how: 'tests', command: 'npm test', result: 'pass' }],
      not_touched: ['docs/'],
      evidence: [claim('runtime_proof', 'execution', 'exec_1')],
      non_claims: ['no load test'],
      risks: ['none known'],
      next_gate: 'review',
    });
    const md = renderReturn({ wp_id: 'wp_1', n: 2, artifact: a });
    for (const h of [
      '# Return 2 of `wp_1`',
      '## What changed',
      '## Evidence register',
      '## Non-claims',
      '## Risks',
      '## Next gate',
    ])
      expect(md).toContain(h);
    expect(md).toContain(
      '- `runtime_proof` runtime_proof via execution exec_1 (execution `exec_1`)',
    );
    expect(returnArtifact.safeParse({ ...a, next_gate: '' }).success).toBe(false);
    expect(returnArtifact.safeParse({ ...a, risks: Array(101).fill('r') }).success).toBe(false);
    expect(returnArtifact.safeParse({ ...a, summary: 'x'.repeat(8001) }).success).toBe(false);
  });
});
