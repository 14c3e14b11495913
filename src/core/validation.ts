import type { z } from 'zod';
import { CountersignError, type FieldIssue } from './errors.js';

/** zod issues as `{ path, message }` pairs, paths dotted (`calls.1.params`). */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

export function describeIssues(issues: readonly FieldIssue[]): string {
  return issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
}

/** Each object a schema produced, with that schema: parsing it again with it changes nothing. */
const parsedBy = new WeakMap<object, z.ZodType>();

/**
 * Parses `input` or throws VALIDATION_FAILED naming each bad field. A value this function
 * produced with the same schema is returned as it is: a door parses the input once and the
 * core takes it without parsing it again.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
): z.output<S> {
  if (typeof input === 'object' && input !== null && parsedBy.get(input) === schema)
    return input as z.output<S>;
  const result = schema.safeParse(input);
  if (result.success) {
    const data: unknown = result.data;
    // Only an object the schema made: a caller's own object may change after it was checked.
    if (typeof data === 'object' && data !== null && data !== input) parsedBy.set(data, schema);
    return result.data;
  }
  const issues = fieldIssues(result.error);
  throw new CountersignError('VALIDATION_FAILED', `Invalid ${what}: ${describeIssues(issues)}`, {
    issues,
  });
}
