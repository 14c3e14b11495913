import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { CallContext } from '../../core/context.js';
import { CountersignError, isCountersignError } from '../../core/errors.js';
import type { Services } from '../services.js';
import { parseInput } from '../../core/validation.js';
import { OPERATIONS, type Operation, invokeOperation, withCallerDefaults } from '../operations.js';
import { checkedIdempotencyKey, errorOfAnswer, keyedCalls } from '../keyed-calls.js';

export interface McpServerOptions {
  /**
   * Privileged operations (reviews, executions, policy, tokens…) need a purpose: the context's
   * (an X-Purpose header) or a `purpose` argument, as over HTTP. Off only for the trusted local
   * operator (`countersign mcp --operator`), like the local CLI.
   */
  readonly requirePurpose?: boolean;
  /**
   * Told about every error that is not a CountersignError (the caller only sees INTERNAL).
   * Defaults to one line on stderr: stdout may be the MCP channel itself.
   */
  readonly onInternalError?: (error: unknown, tool: string) => void;
}

/** Where the wire form of a failure travels beside the `CODE: message` text of an error result. */
export const ERROR_META_KEY = 'countersign/error';

/**
 * Where a tool call carries its idempotency key (in the request's `_meta`); over HTTP an
 * `Idempotency-Key` header on the POST does the same. A retried write with the same key and
 * arguments answers as the first did and does not run again.
 */
export const IDEMPOTENCY_META_KEY = 'countersign/idempotency-key';

/** What the SDK hands a tool handler beside its arguments, as far as it is read here. */
interface CallExtra {
  readonly _meta?: Readonly<Record<string, unknown>>;
  readonly requestInfo?: {
    readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  };
}

function idempotencyKeyOf(extra: CallExtra | undefined): unknown {
  const meta = extra?._meta?.[IDEMPOTENCY_META_KEY];
  if (meta !== undefined) return meta;
  return extra?.requestInfo?.headers['idempotency-key'];
}

/** The caller's W3C trace context: `_meta.traceparent`, or the HTTP transport's header. */
function traceparentOf(extra: CallExtra | undefined): string | undefined {
  const value = extra?._meta?.traceparent ?? extra?.requestInfo?.headers.traceparent;
  return typeof value === 'string' ? value : undefined;
}

const EXECUTING_TOOLS = new Set(['execute_action', 'execute_parallel']);

const INSTRUCTIONS =
  'Countersign governs tool calls: register actors, start a workflow, propose_action, let another ' +
  'actor review_action, then execute_action or execute_parallel; get_audit_log shows every step. ' +
  'A failed call is a tool error whose text starts with a stable code, e.g. "SELF_APPROVAL: …"; ' +
  `the same error as JSON is in the result's _meta["${ERROR_META_KEY}"].`;

/**
 * An MCP server exposing every operation of the catalogue as a tool: the same name, schemas
 * and kernel call as the HTTP routes and CLI commands. Each call runs in `contextFor()`, asked
 * afresh per call (a token-bound door re-checks its token, so a revocation takes effect at once).
 *
 * Results carry the operation's output as `structuredContent` (and as JSON text). Failures
 * are tool results with `isError: true` and the text `CODE: message`; anything that is not a
 * CountersignError is reported as INTERNAL without its details.
 *
 * @example
 * const server = createMcpServer(services, () => operatorContext('mcp-stdio'));
 * await server.connect(new StdioServerTransport());
 */
export function createMcpServer(
  services: Services,
  contextFor: () => CallContext | Promise<CallContext>,
  options: McpServerOptions = {},
): McpServer {
  const onInternalError = options.onInternalError ?? logInternalError;
  const running = new Set<Promise<CallToolResult>>();
  const server = new McpServer(
    { name: 'countersign', title: 'Countersign', version: packageVersion() },
    { capabilities: { tools: {} }, instructions: INSTRUCTIONS },
  );
  for (const op of OPERATIONS) {
    server.registerTool(
      op.name,
      {
        title: op.title,
        description: op.description,
        inputSchema: advertisedInput(op),
        outputSchema: op.output,
        annotations: annotations(op),
      },
      (args: unknown, extra: CallExtra) =>
        track(call(op, args, idempotencyKeyOf(extra), traceparentOf(extra))),
    );
  }
  inFlight.set(server, running);
  return server;

  function track(p: Promise<CallToolResult>): Promise<CallToolResult> {
    running.add(p);
    void p.finally(() => running.delete(p));
    return p;
  }

  async function call(
    op: Operation,
    args: unknown,
    key: unknown,
    traceparent: string | undefined,
  ): Promise<CallToolResult> {
    try {
      const { purpose, input } = splitPurpose(args);
      const base = await contextFor();
      parseInput(op.input, withCallerDefaults(op, base, input), `${op.name} arguments`);
      const ctx = { ...base, purpose: purpose ?? base.purpose, traceparent };
      if (ctx.purpose.trim() === '') {
        if (op.privileged && (options.requirePurpose ?? true))
          throw new CountersignError(
            'POLICY_DENIED',
            `${op.name} needs a purpose: pass a "purpose" argument (or the X-Purpose header over HTTP) saying why the call is made; it is recorded in the ledger.`,
            { operation: op.name, field: 'purpose' },
          );
        ctx.purpose = `mcp:${op.name}`;
      }
      let output: unknown;
      if (key !== undefined && op.write && op.http.method !== 'GET') {
        const answer = await keyedCalls(services).call(
          op,
          ctx,
          input,
          checkedIdempotencyKey(key, `_meta["${IDEMPOTENCY_META_KEY}"]`),
        );
        if (answer.status !== 200) return errorResult(errorOfAnswer(answer));
        output = answer.body;
      } else {
        output = await invokeOperation(services, op, ctx, input);
      }
      const result = checkedOutput(op, output);
      return {
        content: [{ type: 'text', text: JSON.stringify(result) }],
        structuredContent: result,
      };
    } catch (e) {
      if (!isCountersignError(e)) onInternalError(e, op.name);
      return errorResult(e);
    }
  }
}

/**
 * The result as the output schema describes it. Its JSON Schema (which clients check
 * structured content against) forbids keys the schema does not name, so they are dropped here
 * rather than sent (e.g. a ledger entry's tenant_id); a result that does not match is a bug.
 */
function checkedOutput(op: Operation, result: unknown): Record<string, unknown> {
  const parsed = op.output.safeParse(result);
  if (!parsed.success)
    throw new Error(`${op.name} returned output that does not match its schema`, {
      cause: parsed.error,
    });
  return parsed.data as Record<string, unknown>;
}

const inFlight = new WeakMap<McpServer, ReadonlySet<Promise<unknown>>>();

/**
 * Resolves once no tool call of `server` is running and their answers have been handed to the
 * transport, so a surface can let calls that already reached the kernel finish before it
 * closes the store under them.
 */
export async function whenIdle(server: McpServer): Promise<void> {
  const running = inFlight.get(server);
  for (;;) {
    // A request read just now reaches its handler, and a finished call's answer reaches the
    // transport, after a few promise turns: a macrotask later both have happened.
    await new Promise((resolve) => setImmediate(resolve));
    if (!running || running.size === 0) return;
    await Promise.allSettled([...running]);
  }
}

/**
 * The tool result for a failure. It has no `structuredContent`: the SDK client checks any
 * structured content against the tool's output schema even when `isError` is set, so an
 * error object there would turn into a client-side exception instead of a readable error.
 */
export function errorResult(e: unknown): CallToolResult {
  const err = isCountersignError(e)
    ? e
    : new CountersignError('INTERNAL', 'Unexpected internal error; see the server log.');
  return {
    isError: true,
    content: [{ type: 'text', text: `${err.code}: ${err.message}` }],
    _meta: { [ERROR_META_KEY]: err.toJSON() },
  };
}

/**
 * The schema the SDK holds for a tool's arguments. It lists as the operation's own input
 * schema (the JSON Schema is pinned as metadata, which zod's converter copies over what it
 * generates) but accepts any object, so bad arguments reach `call`, which answers
 * VALIDATION_FAILED naming each field. Left to the SDK, they would come back as a tool error
 * reading "MCP error -32602: Input validation error: …", with no stable code.
 */
const advertised = new WeakMap<Operation, z.ZodType>();
function advertisedInput(op: Operation): z.ZodType {
  let schema = advertised.get(op);
  if (!schema) {
    const { $schema: _ignored, ...jsonSchema } = z.toJSONSchema(op.input, {
      target: 'draft-7',
      io: 'input',
    });
    jsonSchema.properties = { ...(jsonSchema.properties ?? {}), purpose: PURPOSE_PROPERTY };
    schema = z.looseObject({}).meta(jsonSchema);
    advertised.set(op, schema);
  }
  return schema;
}

const PURPOSE_MAX = 500;
const PURPOSE_PROPERTY = {
  type: 'string',
  minLength: 1,
  maxLength: PURPOSE_MAX,
  description:
    'Why this call is made (recorded in the ledger); required for reviews, executions, policy and tokens unless the X-Purpose header says it.',
} as const;

/** Takes the MCP-only `purpose` argument out of a tool call's arguments. */
function splitPurpose(args: unknown): {
  purpose: string | undefined;
  input: Record<string, unknown>;
} {
  if (typeof args !== 'object' || args === null || Array.isArray(args))
    return { purpose: undefined, input: args as Record<string, unknown> };
  const { purpose, ...input } = args as Record<string, unknown>;
  if (purpose === undefined) return { purpose: undefined, input };
  if (typeof purpose !== 'string' || purpose.trim() === '' || purpose.length > PURPOSE_MAX)
    throw new CountersignError(
      'VALIDATION_FAILED',
      `purpose must be a non-empty string of at most ${PURPOSE_MAX} characters.`,
      { issues: [{ path: 'purpose', message: `1 to ${PURPOSE_MAX} characters` }] },
    );
  return { purpose: purpose.trim(), input };
}

function annotations(op: Operation): ToolAnnotations {
  if (!op.write) return { title: op.title, readOnlyHint: true, openWorldHint: false };
  const executes = EXECUTING_TOOLS.has(op.name);
  return {
    title: op.title,
    readOnlyHint: false,
    destructiveHint: executes,
    // A second execute_action of the same proposal returns the first execution.
    idempotentHint: op.name === 'execute_action',
    openWorldHint: executes,
  };
}

/** The default `onInternalError`: one line on stderr (stdout may be the MCP channel). */
export function logInternalError(error: unknown, tool: string): void {
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`countersign mcp: ${tool} failed unexpectedly: ${detail}\n`);
}

let version: string | undefined;
/** The version in the nearest package.json above this file (src or dist). */
function packageVersion(): string {
  if (version) return version;
  version = '0.0.0';
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: unknown };
      if (typeof pkg.version === 'string') version = pkg.version;
      return version;
    }
    const up = path.dirname(dir);
    if (up === dir) return version;
    dir = up;
  }
}
