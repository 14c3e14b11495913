/**
 * The error every failed call of the client throws: the server's stable code (the codes of
 * `ERROR_CODES`, e.g. NOT_FOUND, SELF_APPROVAL, VALIDATION_FAILED), the HTTP status and whether
 * the same call may succeed later. `UNREACHABLE` (status 0) is the client's own: no answer came
 * back, even after its retries.
 */
import type { ErrorCode, ErrorDetails } from '../core/errors.js';

export type ClientErrorCode = ErrorCode | 'UNREACHABLE';

export class CountersignError extends Error {
  override readonly name = 'CountersignError';

  constructor(
    readonly code: ClientErrorCode,
    message: string,
    /** The HTTP status of the answer; 0 when none came. */
    readonly status: number,
    readonly retryable: boolean,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
  }
}

/** Whether `e` is a CountersignError of the client (with `code` narrowed when given). */
export function isCountersignError<C extends ClientErrorCode>(
  e: unknown,
  code?: C,
): e is CountersignError & { readonly code: C } {
  return e instanceof CountersignError && (code === undefined || e.code === code);
}
