import { z } from 'zod';
import { assertActsAs, assertInScope } from '../core/authority.js';
import type { CallContext } from '../core/context.js';
import { type TelemetryAttributes, telemetry } from '../core/ports/telemetry.js';
import { parseInput } from '../core/validation.js';
import { CONNECTOR_OPERATIONS } from './connector-operations.js';
import { CONSOLE_OPERATIONS } from './console-operations.js';
import { EVENT_OPERATIONS } from './event-operations.js';
import type { Operation } from './operation.js';
import { POLICY_OPERATIONS } from './policy-operations.js';
import type { Services } from './services.js';
import { WORKFLOW_OPERATIONS } from './workflow-operations.js';
import { WORK_PACKAGE_OPERATIONS } from './work-package-operations.js';

export type { Operation } from './operation.js';

/**
 * The catalogue: one entry per core operation. The MCP tools, the HTTP routes and the CLI
 * commands are views of this table: same name, same input and output schemas, same core call.
 */
const LISTED: readonly Operation[] = [
  ...CONNECTOR_OPERATIONS,
  ...WORKFLOW_OPERATIONS,
  ...CONSOLE_OPERATIONS,
  ...EVENT_OPERATIONS,
  ...POLICY_OPERATIONS,
  ...WORK_PACKAGE_OPERATIONS,
];

const OPERATION_NAMES = LISTED.map((o) => o.name) as [string, ...string[]];

export const OPERATIONS: readonly Operation[] = LISTED.map(namingOperations);

/**
 * An operation whose input lists operation names (a token's scope), with each such field an
 * enum of the catalogue's names: every schema made from it (the OpenAPI document, the MCP
 * tool) names them, and the door refuses any other name.
 */
function namingOperations(op: Operation): Operation {
  const fields = op.operationNameFields ?? [];
  if (fields.length === 0 || !(op.input instanceof z.ZodObject)) return op;
  const input = op.input;
  const names = z.enum(OPERATION_NAMES, { error: 'must be the name of an operation' });
  const shape: Record<string, z.ZodType> = {};
  for (const field of fields) {
    const original = input.shape[field] as z.ZodType | undefined;
    shape[field] = z
      .array(names)
      .min(1)
      .max(OPERATION_NAMES.length)
      .optional()
      .describe(original?.description ?? 'Operation names');
  }
  return Object.freeze({ ...op, input: input.extend(shape) });
}

/**
 * Runs an operation for a caller at any door (HTTP, MCP on either transport): the token's
 * scope, then the acting-actor fields. An actor's token that leaves an acting field out acts
 * as itself; naming anyone else, or naming anyone with an operator token, is refused before
 * the core runs (and the core checks again).
 */
export function invokeOperation(
  services: Services,
  op: Operation,
  ctx: CallContext,
  input: Record<string, unknown>,
): Promise<unknown> {
  const t = telemetry();
  if (!t.enabled) return runOperation(services, op, ctx, input);
  return t.span(
    `countersign.operation ${op.name}`,
    spanAttributes(op, ctx, input),
    async () => {
      const result = await runOperation(services, op, ctx, input);
      t.annotate(resultAttributes(result));
      return result;
    },
    ctx.traceparent,
  );
}

/**
 * What an operation's span says about it: IDs and names only, never parameters (a tool call's
 * `params` may hold what the redaction rules hide). Read from the raw input, so only strings.
 */
function spanAttributes(
  op: Operation,
  ctx: CallContext,
  input: Record<string, unknown>,
): TelemetryAttributes {
  const str = (v: unknown) => (typeof v === 'string' && v.length <= 200 ? v : undefined);
  return {
    'countersign.operation': op.name,
    'countersign.tenant': ctx.tenant_id,
    'countersign.caller': ctx.caller.kind === 'actor' ? ctx.caller.actor_id : 'operator',
    'countersign.workflow_id': str(input.workflow_id),
    'countersign.proposal_id': str(input.proposal_id),
    'countersign.tool': str(input.tool),
    'countersign.decision': str(input.decision),
  };
}

function resultAttributes(result: unknown): TelemetryAttributes {
  if (typeof result !== 'object' || result === null) return {};
  const r = result as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v.length <= 200 ? v : undefined);
  return {
    'countersign.proposal_id': str(r.proposal_id),
    'countersign.workflow_id': str(r.workflow_id),
    'countersign.execution_id': str(r.execution_id),
    'countersign.status': str(r.status),
  };
}

async function runOperation(
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
  return op.run(services, ctx, parseInput(op.input, args, `${op.name} input`));
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

export function operation(name: string): Operation {
  const o = OPERATIONS.find((x) => x.name === name);
  if (!o) throw new Error(`no operation ${name}`);
  return o;
}
