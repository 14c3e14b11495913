import type { ErrorCode } from '../core/errors.js';

/** CLI exit codes, one table for every command. */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  DENIED: 3,
  NOT_FOUND_OR_STATE: 4,
  LEDGER_BROKEN: 5,
} as const;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'VALIDATION_FAILED':
    case 'UNKNOWN_TOOL':
    case 'WRITE_NOT_IMPLEMENTED':
    case 'ENCRYPTION_KEYS_INVALID':
    case 'POLICY_INVALID':
      return EXIT.USAGE;
    case 'UNAUTHENTICATED':
    case 'POLICY_DENIED':
    case 'SELF_APPROVAL':
    case 'MISSING_ROLE':
    case 'REVIEW_REQUIRED':
    case 'APPROVAL_HASH_MISMATCH':
    case 'MODEL_NOT_ALLOWED':
    case 'PLAN_ONLY':
      return EXIT.DENIED;
    case 'NOT_FOUND':
    case 'INVALID_STATE':
    case 'DUPLICATE_DECISION':
    case 'IDEMPOTENCY_KEY_REUSED':
    case 'CONFLICT':
    case 'EXECUTION_IN_DOUBT':
    case 'PLAN_STALE':
    case 'ACCEPTANCE_FAILED':
    case 'EVIDENCE_BELOW_TIER':
      return EXIT.NOT_FOUND_OR_STATE;
    case 'STORE_UNAVAILABLE':
    case 'RATE_LIMITED':
    case 'ENGINE_UNAVAILABLE':
    case 'INTERNAL':
    case 'MODEL_UNAVAILABLE':
    case 'MODEL_REQUEST_REJECTED':
    case 'MODEL_REFUSED':
    case 'MODEL_OUTPUT_INVALID':
    case 'ENCRYPTION_KEY_UNKNOWN':
    case 'DECRYPTION_FAILED':
    case 'DEPENDENCY_MISSING':
      return EXIT.FAILURE;
  }
}

export const EXIT_HELP = `Exit codes:
  0  success
  1  failure (store or workflow engine unavailable, an optional package missing, internal error)
  2  usage or validation error (bad flags, bad JSON, unknown tool, a malformed key file,
     candidate policy text that does not parse)
  3  denied (policy, self-approval, missing role, review required, hash mismatch)
  4  not found, wrong state, duplicate or in-doubt execution, a work package's return below
     its evidence tier
  5  audit verify found a broken ledger or one its signed checkpoints contradict (audit checkpoint
     and audit prove refuse such a ledger), audit check-proof a proof that does not hold, or
     trace validate a broken run trace`;
