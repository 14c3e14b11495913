/**
 * Every failure Countersign reports to a caller is a `CountersignError` with a stable string
 * code. Surfaces map the code (never the message) to HTTP status, MCP `isError` results and
 * CLI exit codes, each in one place.
 */

export const ERROR_CODES = {
  VALIDATION_FAILED: { retryable: false, summary: 'The input does not match the schema.' },
  UNAUTHENTICATED: { retryable: false, summary: 'No valid API token was presented.' },
  IDEMPOTENCY_KEY_REUSED: {
    retryable: false,
    summary: 'The idempotency key was already used for a different request.',
  },
  NOT_FOUND: { retryable: false, summary: 'No such object in this tenant.' },
  UNKNOWN_TOOL: { retryable: false, summary: 'The tool is not registered.' },
  INVALID_STATE: { retryable: false, summary: 'The object is not in a state that allows this.' },
  SELF_APPROVAL: {
    retryable: false,
    summary:
      'Nobody decides their own case: a proposer cannot review their call, an actor cannot change their own role.',
  },
  MISSING_ROLE: { retryable: false, summary: 'The reviewer lacks a role the policy requires.' },
  DUPLICATE_DECISION: { retryable: false, summary: 'This reviewer already decided this version.' },
  POLICY_DENIED: { retryable: false, summary: 'Policy denies the action.' },
  POLICY_INVALID: {
    retryable: false,
    summary: 'Candidate policy text does not parse or does not match the schema.',
  },
  REVIEW_REQUIRED: { retryable: false, summary: 'The call needs an approval it does not have.' },
  APPROVAL_HASH_MISMATCH: {
    retryable: false,
    summary: 'The call no longer matches the hash its approval binds to.',
  },
  EXECUTION_IN_DOUBT: {
    retryable: false,
    summary: 'A live execution started and never finished; a human must reconcile it.',
  },
  CONFLICT: { retryable: true, summary: 'A concurrent change won; try again.' },
  STORE_UNAVAILABLE: { retryable: true, summary: 'The store could not be reached.' },
  RATE_LIMITED: {
    retryable: true,
    summary: 'Too many concurrent requests of this kind for this token; retry later.',
  },
  ENGINE_UNAVAILABLE: {
    retryable: true,
    summary: 'The workflow engine (Temporal) could not be reached or did not answer.',
  },
  INTERNAL: { retryable: false, summary: 'An unexpected error inside Countersign.' },
  MODEL_NOT_ALLOWED: {
    retryable: false,
    summary: "The model is not in the tenant's allow-list.",
  },
  MODEL_UNAVAILABLE: {
    retryable: true,
    summary: 'The model provider is not configured, not reachable, timed out or overloaded.',
  },
  MODEL_REQUEST_REJECTED: {
    retryable: false,
    summary: 'The model server rejected the request (bad key, unknown model, bad request).',
  },
  MODEL_REFUSED: { retryable: false, summary: 'The model declined to answer.' },
  MODEL_OUTPUT_INVALID: {
    retryable: false,
    summary: 'The model answered with something other than the JSON it was asked for.',
  },
  ENCRYPTION_KEYS_INVALID: {
    retryable: false,
    summary: 'The key file that encrypts what is sent to Temporal is unreadable or malformed.',
  },
  ENCRYPTION_KEY_UNKNOWN: {
    retryable: false,
    summary: 'An encrypted payload names a key ID the key file does not hold.',
  },
  DECRYPTION_FAILED: {
    retryable: false,
    summary: 'An encrypted payload does not authenticate: altered, truncated or under another key.',
  },
  DEPENDENCY_MISSING: {
    retryable: false,
    summary: 'An optional package the configuration needs (the Temporal SDK) is not installed.',
  },
  WRITE_NOT_IMPLEMENTED: {
    retryable: false,
    summary: 'The tool cannot make this write (yet): a plan marks the phase blocked.',
  },
  PLAN_STALE: {
    retryable: false,
    summary: 'What the plan read has changed since it was made; make the plan again.',
  },
  PLAN_ONLY: {
    retryable: false,
    summary: 'The workflow is plan-only: no action is executed in it.',
  },
  ACCEPTANCE_FAILED: {
    retryable: false,
    summary:
      'A phase of an activated plan ran but its acceptance checks failed; the run stops there.',
  },
  EVIDENCE_BELOW_TIER: {
    retryable: false,
    summary:
      "A work package's return does not reach its evidence tier; accepting it needs an override with a reason.",
  },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `params.column_type`; empty for the whole input. */
  readonly path: string;
  readonly message: string;
}

export interface ErrorDetails {
  readonly issues?: readonly FieldIssue[];
  readonly [key: string]: unknown;
}

export class CountersignError extends Error {
  override readonly name = 'CountersignError';
  readonly retryable: boolean;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.retryable = ERROR_CODES[code].retryable;
  }

  /** The wire form every surface sends: stable code, readable message, typed details. */
  toJSON(): { code: ErrorCode; message: string; retryable: boolean; details: ErrorDetails } {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      details: this.details,
    };
  }
}

export function isCountersignError(e: unknown): e is CountersignError {
  return e instanceof CountersignError;
}

/** Wraps anything thrown into a CountersignError, hiding internals behind INTERNAL. */
export function toCountersignError(e: unknown): CountersignError {
  if (isCountersignError(e)) return e;
  return new CountersignError('INTERNAL', 'Unexpected internal error; see the server log.', {
    cause: e instanceof Error ? e.message : String(e),
  });
}
