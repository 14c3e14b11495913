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

/** Parses `input` or throws VALIDATION_FAILED naming each bad field. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = fieldIssues(result.error);
  throw new CountersignError('VALIDATION_FAILED', `Invalid ${what}: ${describeIssues(issues)}`, {
    issues,
  });
}
