/**
 * The evidence ladder: the class of proof a claim rests on, from none to a merged commit. A
 * work package names the class its return must reach (its tier); a return lists each claim
 * with its class and a pointer to what proves it. Classes do not collapse into each other: a
 * claim is only worth its class when its pointer is the kind of record that class needs (a
 * command the runner ran, an execution in the ledger, a commit on the target branch).
 */
export const EVIDENCE_CLASSES = [
  'not_proven',
  'source_trace',
  'static_proof',
  'local_command_proof',
  'runtime_proof',
  'stress_abuse_proof',
  'merge_proof',
] as const;
export type EvidenceClass = (typeof EVIDENCE_CLASSES)[number];

/** What a claim of each class must point at to count (the record its pointer names). */
export const EVIDENCE_POINTERS: Readonly<Record<EvidenceClass, string>> = {
  not_proven: 'nothing: an explicit non-claim',
  source_trace: 'a file and line range in the workspace',
  static_proof: 'a check that ran without executing the change (type check, lint, schema)',
  local_command_proof: 'a validation command the runner ran, by its record',
  runtime_proof: 'tool executions or workflow runs recorded in the ledger',
  stress_abuse_proof: 'a recorded stress or abuse run and its outcome',
  merge_proof: 'a commit that exists on the target branch',
};

/** The rung of a class on the ladder: 0 for `not_proven`, higher is stronger. */
export function evidenceRank(c: EvidenceClass): number {
  return EVIDENCE_CLASSES.indexOf(c);
}

/**
 * The tier a set of verified claims reaches: the strongest class among them (`not_proven`
 * when there is none). Only claims whose pointers were checked may be passed in.
 */
export function reachedTier(verified: readonly EvidenceClass[]): EvidenceClass {
  let best: EvidenceClass = 'not_proven';
  for (const c of verified) if (evidenceRank(c) > evidenceRank(best)) best = c;
  return best;
}

/** Whether `reached` is at or above `required` on the ladder. */
export function meetsTier(reached: EvidenceClass, required: EvidenceClass): boolean {
  return evidenceRank(reached) >= evidenceRank(required);
}
