import { NOT_BLANK } from '../../core/text.js';

/**
 * The bounds of what a request may send (body size, the headers the API reads besides
 * Authorization), stated once for the server and for the OpenAPI document, so the two cannot
 * drift apart.
 */

/** Request bodies of API operations: 1 MiB; larger is a 413. */
export const BODY_LIMIT = 1024 * 1024;

/** X-Purpose: why the call is made, recorded in the ledger. */
export const PURPOSE_MAX = 500;

/** A purpose says something: a character other than whitespace (as text fields of inputs). */
export const PURPOSE_PATTERN = NOT_BLANK.source;

/** Idempotency-Key: 1 to 200 printable ASCII characters, no space. */
export const IDEMPOTENCY_KEY_PATTERN = '^[\\x21-\\x7E]{1,200}$';
