import { assertActsAs, assertInScope } from '../core/authority.js';
import type { CallContext } from '../core/context.js';
import { CountersignError } from '../core/errors.js';
import { parseInput } from '../core/validation.js';
import { CONNECTOR_OPERATIONS } from './connector-operations.js';
import { CONSOLE_OPERATIONS } from './console-operations.js';
import type { Operation } from './operation.js';
import type { Services } from './services.js';
import { WORKFLOW_OPERATIONS } from './workflow-operations.js';

export type { Operation } from './operation.js';

/**
 * The catalogue: one entry per core operation. The MCP tools, the HTTP routes and the CLI
 * commands are views of this table: same name, same input and output schemas, same core call.
 */
export const OPERATIONS: readonly Operation[] = [
  ...CONNECTOR_OPERATIONS,
  ...WORKFLOW_OPERATIONS,
  ...CONSOLE_OPERATIONS,
];

/**
 * Runs an operation for a caller at any door (HTTP, MCP on either transport): the token's
 * scope, then the acting-actor fields. An actor's token that leaves an acting field out acts
 * as itself; naming anyone else, or naming anyone with an operator token, is refused before
 * the core runs (and the core checks again).
 */
export async function invokeOperation(
  services: Services,
  op: Operation,
  ctx: CallContext,
  input: Record<string, unknown>,
): Promise<unknown> {
  assertInScope(ctx, op.name);
  const args = withCallerDefaults(op, ctx, input);
  for (const field of op.actorFields) {
    const named = args[field];
    if (typeof named === 'string') assertActsAs(ctx, named, field);
  }
  // Parsed once, here: the core takes the parsed value as it is (validation.ts).
  const parsed: unknown = parseInput(op.input, args, `${op.name} input`);
  for (const field of op.operationNameFields ?? []) assertOperationNames(parsed, field);
  return op.run(services, ctx, parsed);
}

/** Refuses a list of operation names (a token's scope) naming one the catalogue lacks. */
function assertOperationNames(input: unknown, field: string): void {
  const names = (input as Record<string, unknown> | null)?.[field];
  if (!Array.isArray(names)) return;
  const unknown = names.filter((n) => typeof n !== 'string' || !OPERATION_NAMES.has(n));
  if (unknown.length > 0)
    throw new CountersignError(
      'VALIDATION_FAILED',
      `${field} names no such operation: ${unknown.join(', ')}.`,
      { issues: unknown.map((n) => ({ path: field, message: `unknown operation ${String(n)}` })) },
    );
}

/** The input with each actor field an actor's call leaves out set to that actor. */
export function withCallerDefaults(
  op: Operation,
  ctx: CallContext,
  input: Record<string, unknown>,
): Record<string, unknown> {
  const args = { ...input };
  for (const field of op.actorFields)
    if (args[field] === undefined && ctx.caller.kind === 'actor') args[field] = ctx.caller.actor_id;
  return args;
}

const OPERATION_NAMES: ReadonlySet<string> = new Set(OPERATIONS.map((o) => o.name));

export function operation(name: string): Operation {
  const o = OPERATIONS.find((x) => x.name === name);
  if (!o) throw new Error(`no operation ${name}`);
  return o;
}
