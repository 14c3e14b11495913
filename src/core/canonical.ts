import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** RFC 8785 (JCS) canonical JSON: the byte string every hash in Countersign is taken over. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON representation');
  return text;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The hash an approval binds to: SHA-256 over the canonical JSON of `{ tool, params }`.
 * Execution recomputes it from what is about to run and refuses on any difference.
 */
export function callHash(tool: string, params: unknown): string {
  return sha256Hex(canonicalJson({ tool, params }));
}
