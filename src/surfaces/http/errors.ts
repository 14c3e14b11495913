import { CountersignError, type ErrorCode } from '../../core/errors.js';

/** The one mapping from error code to HTTP status. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  POLICY_DENIED: 403,
  POLICY_INVALID: 422,
  SELF_APPROVAL: 403,
  MISSING_ROLE: 403,
  NOT_FOUND: 404,
  INVALID_STATE: 409,
  DUPLICATE_DECISION: 409,
  CONFLICT: 409,
  EXECUTION_IN_DOUBT: 409,
  REVIEW_REQUIRED: 409,
  APPROVAL_HASH_MISMATCH: 409,
  UNKNOWN_TOOL: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  STORE_UNAVAILABLE: 503,
  RATE_LIMITED: 429,
  ENGINE_UNAVAILABLE: 503,
  INTERNAL: 500,
  MODEL_NOT_ALLOWED: 403,
  MODEL_UNAVAILABLE: 503,
  MODEL_REQUEST_REJECTED: 502,
  MODEL_REFUSED: 422,
  MODEL_OUTPUT_INVALID: 502,
  ENCRYPTION_KEYS_INVALID: 500,
  ENCRYPTION_KEY_UNKNOWN: 422,
  DECRYPTION_FAILED: 422,
  DEPENDENCY_MISSING: 500,
  WRITE_NOT_IMPLEMENTED: 422,
  PLAN_STALE: 409,
  PLAN_ONLY: 403,
  ACCEPTANCE_FAILED: 409,
  EVIDENCE_BELOW_TIER: 409,
});

export interface ErrorBody {
  readonly error: ReturnType<CountersignError['toJSON']>;
}

export interface HttpError {
  readonly status: number;
  readonly body: ErrorBody;
  readonly headers: Readonly<Record<string, string>>;
}

/** What Fastify (or Node) itself throws: a 4xx `statusCode` and an `FST_…` code. */
interface FrameworkError {
  readonly statusCode: number;
  readonly code?: unknown;
  readonly message?: unknown;
}

function isFrameworkClientError(e: unknown): e is FrameworkError {
  const status = (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** Readable messages for the framework errors a client can cause; anything else is generic. */
const FRAMEWORK_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'The request body is not valid JSON.',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The request body is empty but its content type is JSON.',
  FST_ERR_CTP_BODY_TOO_LARGE:
    'The request body is larger than this route accepts (1 MiB for API operations).',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Unsupported content type: send the body as application/json.',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'The Content-Length header does not match the body.',
  FST_ERR_CTP_INVALID_TYPE: 'The Content-Type header is invalid.',
  FST_ERR_BAD_URL: 'The URL is malformed.',
  FST_ERR_MAX_PARAM_LENGTH: 'A path parameter is too long.',
};

/**
 * Turns anything thrown while serving a request into the wire error: a Countersign error keeps
 * its code; a framework 4xx (bad JSON, body too large, unsupported media type…) keeps its status
 * with a stable Countersign code; anything else is INTERNAL, without internals or stack.
 */
export function toHttpError(e: unknown): HttpError {
  let err: CountersignError;
  let status: number;
  if (e instanceof CountersignError) {
    err = e;
    status = HTTP_STATUS[e.code];
  } else if (isFrameworkClientError(e)) {
    const fastifyCode = typeof e.code === 'string' ? e.code : undefined;
    const code: ErrorCode =
      e.statusCode === 404
        ? 'NOT_FOUND'
        : e.statusCode === 401
          ? 'UNAUTHENTICATED'
          : 'VALIDATION_FAILED';
    const message =
      (fastifyCode && FRAMEWORK_MESSAGES[fastifyCode]) ??
      `The request was rejected (${e.statusCode}).`;
    err = new CountersignError(code, message, fastifyCode ? { reason: fastifyCode } : {});
    status = e.statusCode;
  } else {
    // Whatever it was (and its message: SQL, paths…) is for the server log only.
    err = new CountersignError('INTERNAL', 'Unexpected internal error; see the server log.');
    status = HTTP_STATUS.INTERNAL;
  }
  const headers: Record<string, string> = {};
  if (err.code === 'UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer';
  return { status, body: { error: err.toJSON() }, headers };
}

/** A 4xx answer the client can fix; worth remembering under an idempotency key. */
export function isRememberable(e: HttpError): boolean {
  return e.status >= 400 && e.status < 500 && !e.body.error.retryable;
}
