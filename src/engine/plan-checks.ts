import { z } from 'zod';
import type { JsonObject, JsonValue } from '../core/model.js';
import type { ToolDefinition } from '../core/ports/tools.js';
import { redactJson } from '../core/redact.js';

/**
 * Machine-checked acceptance criteria of a plan's phases. A check names a read (a read tool and
 * its parameters), a path into what the read returns and a comparison with an expected value;
 * after a phase of an activated plan ran, its assurance step makes the check reads (the plan's
 * governed read path: read tools' dry runs) and evaluates each check here.
 *
 * Evaluation is pure and deterministic: it runs inside workflow code, which the Temporal worker
 * replays. Nothing here throws on what a read returned: a path that is not there or a value of
 * the wrong type fails the check, with the reason.
 */

/** How a check compares the value found at its path with the expected one. */
export const CHECK_OPS = [
  'equals',
  'not_equals',
  'contains',
  'not_contains',
  'exists',
  'absent',
  'gte',
  'lte',
] as const;
export type CheckOp = (typeof CHECK_OPS)[number];

/** The ops that compare with no expected value (`value` is null). */
const NO_VALUE: ReadonlySet<CheckOp> = new Set(['exists', 'absent']);

/** A check as a plan holds it (strict-structured-output compatible, like the rest of the brief). */
export const planCheckSchema = z.strictObject({
  criterion: z.string().describe('The acceptance criterion the check proves, in words'),
  tool: z.string().describe('A read tool the run may call; its result is what is checked'),
  params: z
    .string()
    .describe('The read\'s parameters as a JSON-encoded object, e.g. "{\\"table\\":\\"users\\"}"'),
  path: z
    .string()
    .describe(
      'Dotted path into the read\'s result; "*" maps over an array (e.g. "columns.*.name"); "" is the whole result',
    ),
  op: z.enum(CHECK_OPS),
  value: z
    .string()
    .nullable()
    .describe(
      'The expected value, JSON-encoded (e.g. "\\"email\\"" or "3"); null for exists and absent',
    ),
});
export type PlanCheck = z.infer<typeof planCheckSchema>;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJson(text: string): { ok: true; value: JsonValue } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as JsonValue };
  } catch {
    return { ok: false };
  }
}

/** The read a check makes: its tool and parameters (null when the parameters are not an object). */
export function checkRead(check: PlanCheck): { tool: string; params: JsonObject } | null {
  const parsed = parseJson(check.params);
  return parsed.ok && isObject(parsed.value) ? { tool: check.tool, params: parsed.value } : null;
}

/**
 * What is wrong with a check, as messages (empty when nothing is). Without `tools` only its form
 * is checked (parameters a JSON object, the expected value JSON where the op needs one); with
 * them, also that its tool is a registered read tool (and one of `allowed`, when given) and that
 * the parameters are valid for it. A check never names a write tool: it would run at activation.
 *
 * @example
 * checkProblems({ criterion: 'c', tool: 'add_column', params: '{}', path: '', op: 'exists', value: null }, tools);
 * // ['add_column is a write tool, not a read']
 */
export function checkProblems(
  check: PlanCheck,
  tools?: { get(name: string): ToolDefinition | undefined },
  allowed?: readonly string[],
): string[] {
  const out: string[] = [];
  const read = checkRead(check);
  if (!read) out.push('params is not a JSON-encoded object');
  if (NO_VALUE.has(check.op)) {
    if (check.value !== null) out.push(`value must be null for ${check.op}`);
  } else if (check.value === null) out.push(`${check.op} needs a value`);
  else {
    const expected = parseJson(check.value);
    if (!expected.ok) out.push('value is not JSON-encoded');
    else if ((check.op === 'gte' || check.op === 'lte') && typeof expected.value !== 'number')
      out.push(`${check.op} needs a number as its value`);
  }
  if (tools) {
    const tool = tools.get(check.tool);
    if (!tool) out.push(`${check.tool} is not a registered tool`);
    else if (tool.risk !== 'read') out.push(`${check.tool} is a ${tool.risk} tool, not a read`);
    else if (allowed && !allowed.includes(check.tool))
      out.push(`${check.tool} is not a tool this run may call`);
    else if (read) {
      const valid = tool.validate(read.params);
      if (!valid.ok)
        out.push(
          `invalid params for ${check.tool}: ${valid.issues.map((i) => `${i.path || 'params'}: ${i.message}`).join('; ')}`,
        );
    }
  }
  return out;
}

/** What a path finds in a value: nothing, or the value there. */
export type Found =
  { readonly present: false } | { readonly present: true; readonly value: JsonValue };

/**
 * The value at a dotted path. A segment is an object key, or an array index; `*` maps the rest of
 * the path over an array (items where the rest is not there are left out); "" is the value.
 *
 * @example
 * valueAt({ columns: [{ name: 'id' }, { name: 'email' }] }, 'columns.*.name');
 * // { present: true, value: ['id', 'email'] }
 */
export function valueAt(value: JsonValue, path: string): Found {
  return walk(value, path === '' ? [] : path.split('.'));
}

function walk(value: JsonValue, segments: readonly string[]): Found {
  if (segments.length === 0) return { present: true, value };
  const [head, ...rest] = segments as [string, ...string[]];
  if (head === '*') {
    if (!Array.isArray(value)) return { present: false };
    const values: JsonValue[] = [];
    for (const item of value) {
      const f = walk(item, rest);
      if (f.present) values.push(f.value);
    }
    return { present: true, value: values };
  }
  if (Array.isArray(value)) {
    if (!/^(0|[1-9][0-9]*)$/.test(head)) return { present: false };
    const i = Number(head);
    return i < value.length ? walk(value[i]!, rest) : { present: false };
  }
  if (isObject(value) && Object.prototype.hasOwnProperty.call(value, head))
    return walk(value[head] as JsonValue, rest);
  return { present: false };
}

/** Deep equality of JSON values (object keys in any order). */
export function jsonEquals(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEquals(x, b[i]!));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    return ka.every(
      (k) =>
        Object.prototype.hasOwnProperty.call(b, k) &&
        jsonEquals(a[k] as JsonValue, b[k] as JsonValue),
    );
  }
  return false;
}

const kindOf = (v: JsonValue): string => {
  const kind = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
  return `${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind}`;
};

/** The outcome of one check on a read's result. */
export interface CheckOutcome {
  readonly passed: boolean;
  /** The value found at the path (null when nothing is there). */
  readonly found: JsonValue;
  /** Why the check failed; null when it passed. */
  readonly why: string | null;
}

/**
 * Evaluates a check on what its read returned. Never throws: a path that is not there fails
 * every op but `absent`, and a value of the wrong type for the op fails the check.
 *
 * @example
 * evaluateCheck({ ..., path: 'columns.*.name', op: 'contains', value: '"email"' }, { columns: [{ name: 'email' }] });
 * // { passed: true, found: ['email'], why: null }
 */
export function evaluateCheck(check: PlanCheck, result: JsonValue): CheckOutcome {
  const at = valueAt(result, check.path);
  const found = at.present ? at.value : null;
  const pass = (): CheckOutcome => ({ passed: true, found, why: null });
  const fail = (why: string): CheckOutcome => ({ passed: false, found, why });
  const where = check.path === '' ? 'the result' : `"${check.path}"`;
  if (check.op === 'absent')
    return !at.present || at.value === null ? pass() : fail(`${where} is there`);
  if (!at.present) return fail(`${where} is not in the result`);
  if (check.op === 'exists') return at.value !== null ? pass() : fail(`${where} is null`);
  const parsed = check.value === null ? null : parseJson(check.value);
  if (!parsed?.ok) return fail(`the expected value is not JSON`);
  const expected = parsed.value;
  const value = at.value;
  switch (check.op) {
    case 'equals':
      return jsonEquals(value, expected) ? pass() : fail(`${where} is not equal to ${check.value}`);
    case 'not_equals':
      return jsonEquals(value, expected) ? fail(`${where} equals ${check.value}`) : pass();
    case 'contains':
    case 'not_contains': {
      let has: boolean;
      if (Array.isArray(value)) has = value.some((v) => jsonEquals(v, expected));
      else if (typeof value === 'string' && typeof expected === 'string')
        has = value.includes(expected);
      else
        return fail(
          `${where} is ${kindOf(value)}: ${check.op} needs an array, or a string and a string value`,
        );
      if (check.op === 'contains')
        return has ? pass() : fail(`${where} does not contain ${check.value}`);
      return has ? fail(`${where} contains ${check.value}`) : pass();
    }
    case 'gte':
    case 'lte': {
      if (typeof value !== 'number' || typeof expected !== 'number')
        return fail(`${check.op} compares numbers; ${where} is ${kindOf(value)}`);
      const holds = check.op === 'gte' ? value >= expected : value <= expected;
      return holds
        ? pass()
        : fail(`${where} is ${value}, not ${check.op === 'gte' ? '>=' : '<='} ${expected}`);
    }
  }
  return fail(`unknown op ${String(check.op)}`);
}

/** How much of a found value a record keeps (characters of its JSON). */
export const FOUND_LIMIT = 2000;

/**
 * A found value as a run records it: redacted with the core's redaction rules, and cut to
 * FOUND_LIMIT characters of JSON (then a string ending in "… (truncated)").
 */
export function recordedFound(found: JsonValue): JsonValue {
  const { value } = redactJson(found);
  const text = JSON.stringify(value);
  return text.length > FOUND_LIMIT ? `${text.slice(0, FOUND_LIMIT)}… (truncated)` : value;
}
