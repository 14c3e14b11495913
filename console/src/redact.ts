import { redactJson } from '../../src/core/redact.js';
import type { Json } from './types.js';

/**
 * The context summary a reviewer sees, with secrets and personal data replaced by
 * `[REDACTED:<kind>]` (the core's redaction rules, the same ones applied before text reaches
 * a model).
 */
export function redacted(value: Json): { value: Json; count: number } {
  const r = redactJson(value);
  const count = Object.values(r.redactions).reduce((a, b) => a + b, 0);
  return { value: r.value, count };
}
