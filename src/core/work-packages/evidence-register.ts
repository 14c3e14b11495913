import { type EvidenceClass, reachedTier } from './evidence.js';
import type { EvidenceClaim } from './return-artifact.js';

/**
 * Checking an evidence register: a claim counts at its class only when its pointer is the kind
 * of record that class needs and that record exists (in the package's tenant, in a state that
 * proves something). Classes do not collapse: a runtime claim pointing at a file proves nothing.
 *
 * What verifies today: `runtime_proof` (a succeeded execution or a completed run of the
 * tenant) and `merge_proof` (the commit the package's merge recorded). The other classes need
 * records the runner will make (the commands it ran, the checks and stress runs, the files it
 * saw); until it does they are listed unverified and do not count.
 */

/** The records a register is checked against, read through the store's ports. */
export interface EvidenceRecords {
  /** An execution of the tenant, by ID: its status, or undefined when there is none. */
  execution(id: string): Promise<string | undefined>;
  /** A workflow run of the tenant, by ID: its status, or undefined when there is none. */
  run(id: string): Promise<string | undefined>;
  /** The merge commit the package's merge move recorded; null before the merge. */
  readonly merge_proof: string | null;
}

export interface CheckedClaim {
  readonly claim: string;
  readonly class: EvidenceClass;
  readonly verified: boolean;
  readonly why: string;
}

export interface EvidenceCheck {
  /** The strongest verified class (`not_proven` when none verified). */
  readonly reached: EvidenceClass;
  readonly claims: readonly CheckedClaim[];
}

export const NO_RUNNER_RECORD = 'no runner record yet';

async function check(c: EvidenceClaim, records: EvidenceRecords): Promise<[boolean, string]> {
  const { kind, ref } = c.pointer;
  switch (c.class) {
    case 'not_proven':
      return [false, 'a non-claim: not_proven proves nothing'];
    case 'runtime_proof': {
      if (kind === 'execution') {
        const status = await records.execution(ref);
        if (status === undefined) return [false, `no execution ${ref} in this tenant`];
        if (status !== 'succeeded') return [false, `execution ${ref} is ${status}, not succeeded`];
        return [true, `execution ${ref} succeeded`];
      }
      if (kind === 'run') {
        const status = await records.run(ref);
        if (status === undefined) return [false, `no run ${ref} in this tenant`];
        if (status !== 'completed') return [false, `run ${ref} is ${status}, not completed`];
        return [true, `run ${ref} completed`];
      }
      return [false, `runtime_proof points at an execution or a run, not a ${kind}`];
    }
    case 'merge_proof':
      if (kind !== 'commit') return [false, `merge_proof points at a commit, not a ${kind}`];
      if (records.merge_proof === null)
        return [false, 'the package is not merged: no merge proof is recorded'];
      if (records.merge_proof !== ref)
        return [false, `${ref} is not the recorded merge commit ${records.merge_proof}`];
      return [true, `${ref} is the recorded merge commit`];
    case 'source_trace':
    case 'static_proof':
    case 'local_command_proof':
    case 'stress_abuse_proof':
      return [false, NO_RUNNER_RECORD];
  }
}

/**
 * Checks every claim of a register and the tier it reaches.
 *
 * @example
 * await checkEvidence([{ claim: 'the export retried', class: 'runtime_proof',
 *   pointer: { kind: 'execution', ref: 'exec_4' } }], records);
 * // { reached: 'runtime_proof', claims: [{ …, verified: true, why: 'execution exec_4 succeeded' }] }
 */
export async function checkEvidence(
  evidence: readonly EvidenceClaim[],
  records: EvidenceRecords,
): Promise<EvidenceCheck> {
  const claims: CheckedClaim[] = [];
  for (const c of evidence) {
    const [verified, why] = await check(c, records);
    claims.push({ claim: c.claim, class: c.class, verified, why });
  }
  return { reached: reachedTier(claims.filter((c) => c.verified).map((c) => c.class)), claims };
}
