import type { z } from 'zod';
import type { CallContext } from '../core/context.js';
import type { JsonValue } from '../core/model.js';
import type { Services } from './services.js';

/**
 * One operation of the catalogue: the MCP tool, the HTTP route and the CLI command are views
 * of it (same name, same input and output schemas, same core call). `run` gets the input as
 * its schema parsed it, once, at the door (operations.ts `invokeOperation`).
 */
export interface OperationSpec<I extends z.ZodType, O extends z.ZodType> {
  /** The connector name, used as the MCP tool name. */
  readonly name: string;
  readonly title: string;
  /** Written for an agent deciding whether and how to call it. */
  readonly description: string;
  readonly input: I;
  readonly output: O;
  /** Changes state (a GET that is `write` is a read that is itself recorded). */
  readonly write: boolean;
  /** Over HTTP, needs an `X-Purpose` header (reviews, executions, policy, workflow starts). */
  readonly privileged: boolean;
  /** Parameters naming the acting actor: over HTTP they must be the token's own actor. */
  readonly actorFields: readonly string[];
  /** Input fields listing operation names (a token's scope): each must name one of the catalogue. */
  readonly operationNameFields?: readonly string[];
  /** The HTTP route; `{name}` segments are taken from the input of the same name. */
  readonly http: { readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE'; readonly path: string };
  /** Output fields holding a secret: never kept in an idempotency record (a replay says so). */
  readonly secretFields?: readonly string[];
  /**
   * For a write whose answer is composed after its last transaction (a run's status, read once
   * the run moved on): what that transaction keeps for a retry sent with the same idempotency
   * key, and how the retry composes the answer from it again (keyed-calls.ts).
   */
  readonly replay?: {
    keep(committed: unknown): JsonValue;
    answer(services: Services, ctx: CallContext, kept: JsonValue): Promise<unknown>;
  };
  /**
   * The core call. Its answer is checked against `output` where a door promises that schema
   * (MCP's structured content): the core's records are readonly interfaces, not zod types.
   */
  run(services: Services, ctx: CallContext, input: z.output<I>): Promise<unknown>;
}

/** An operation of any schema, as the catalogue lists it. */
export type Operation = OperationSpec<z.ZodType, z.ZodType>;

/** Declares an operation: `run` is typed from its schemas; the catalogue holds it untyped. */
export function defineOperation<I extends z.ZodType, O extends z.ZodType>(
  spec: OperationSpec<I, O>,
): Operation {
  // Sound: the catalogue only ever calls `run` with what `spec.input` parsed.
  return Object.freeze(spec);
}
