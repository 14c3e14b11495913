import { telemetry } from '../../core/ports/telemetry.js';
/**
 * HTTP tools: a governed tool whose plan() and apply() are endpoints of another service, declared
 * in configuration rather than code, for teams whose actions already live behind an API.
 *
 *   { "name": "restart_remote", "description": "Restarts a service through the ops API.",
 *     "risk": "write", "idempotent": false,
 *     "input": { "type": "object", "properties": { "service": { "type": "string" } },
 *                "required": ["service"], "additionalProperties": false },
 *     "apply": { "url": "https://ops.example.com/countersign/apply" },
 *     "plan": { "url": "https://ops.example.com/countersign/plan" },
 *     "timeout_ms": 10000, "secret_env": "OPS_API_SECRET",
 *     "describe": "Restart {service} through the ops API." }
 *
 * Decisions:
 * - Parameters are checked against `input` (JSON Schema 2020-12, compiled with ajv at load) before
 *   the call is proposed, like any tool's; a schema that does not compile stops the start.
 * - Each request is `POST` JSON `{ tool, mode: "plan" | "apply", params, idempotency_key,
 *   execution_id, proposal_id, workflow_id, tenant_id, requested_at }`, signed with
 *   HMAC-SHA256 under the secret in the environment variable `secret_env`, over
 *   `<timestamp>.<body>`: headers `X-Countersign-Timestamp` (Unix seconds) and
 *   `X-Countersign-Signature: v1=<hex>`. The receiver recomputes it over the raw body and
 *   refuses a stale timestamp, so a captured request cannot be altered or replayed later.
 *   `Idempotency-Key` carries the kernel's key (stable per approved version) so the service
 *   can deduplicate a retried apply.
 * - The answer must be 2xx with a JSON object (at most RESPONSE_MAX bytes): it is the recorded
 *   result. Anything else (a timeout, a redirect, another status, another body) fails the
 *   execution with a message naming the status; the kernel records it. A non-idempotent
 *   apply is claimed before it is sent, so a timeout is never silently re-sent.
 * - Without a `plan` endpoint a dry run does not contact the service: it answers that no
 *   preview is available and shows what apply would send. It does not pretend to know more.
 * - `describe` is a sentence template: `{field}` stands for that parameter (text as written,
 *   other values as JSON). Every placeholder must name a property of `input`.
 */
import { createHmac } from 'node:crypto';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { z } from 'zod';
import { CountersignError } from '../../core/errors.js';
import type { JsonObject, JsonValue } from '../../core/model.js';
import { TOOL_NAME, type ToolContext, type ToolDefinition } from '../../core/ports/tools.js';
import { describeIssues, fieldIssues } from '../../core/validation.js';
import { ajvIssues } from './mcp-gateway.js';

export const DEFAULT_HTTP_TOOL_TIMEOUT_MS = 10_000;
/** The largest answer an HTTP tool's endpoint may give. */
export const RESPONSE_MAX = 1_048_576;
/** The shortest HMAC secret accepted. */
export const SECRET_MIN = 16;
/** How much of an unexpected answer is quoted in the recorded error. */
const QUOTE_MAX = 300;

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

const endpoint = z.strictObject({
  url: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .describe('Where the request is POSTed'),
});

/** One HTTP tool as declared in a tools JSON file. */
export const httpToolDeclaration = z.strictObject({
  name: z.string().regex(TOOL_NAME, 'must be a tool name (letters, digits, _ . : -)'),
  description: z.string().min(1).max(1024),
  risk: z.enum(['read', 'write', 'irreversible']),
  idempotent: z.boolean().optional(),
  input: z
    .record(z.string(), z.json())
    .default({ type: 'object' })
    .describe('JSON Schema (2020-12) of the parameters'),
  apply: endpoint,
  plan: endpoint.optional(),
  timeout_ms: z.number().int().min(100).max(300_000).default(DEFAULT_HTTP_TOOL_TIMEOUT_MS),
  secret_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
    .describe('The environment variable holding the HMAC secret'),
  describe: z.string().min(1).max(300).optional(),
});
export type HttpToolDeclaration = z.output<typeof httpToolDeclaration>;

export interface HttpToolOptions {
  /** Where `secret_env` is looked up. */
  env: NodeJS.ProcessEnv;
  /** Names the declaration in errors, e.g. `tools.json: tools[2]`. */
  where: string;
  /** Injected for tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Unix seconds for the signature; defaults to the wall clock. */
  nowSeconds?: () => number;
}

/** The signature header's value for `body` sent at `timestamp` (Unix seconds). */
export function signature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

function invalid(where: string, message: string, path = ''): CountersignError {
  return new CountersignError('VALIDATION_FAILED', `${where}: ${message}`, {
    issues: [{ path, message }],
  });
}

/** Parses a declaration; throws VALIDATION_FAILED naming each bad field and where it is. */
export function parseHttpToolDeclaration(raw: unknown, where: string): HttpToolDeclaration {
  const r = httpToolDeclaration.safeParse(raw);
  if (r.success) return r.data;
  const issues = fieldIssues(r.error);
  throw new CountersignError('VALIDATION_FAILED', `${where}: ${describeIssues(issues)}`, {
    issues,
  });
}

/** A governed tool calling the declared endpoints. */
export function createHttpTool(
  decl: HttpToolDeclaration,
  options: HttpToolOptions,
): ToolDefinition {
  const { where } = options;
  const doFetch = options.fetch ?? fetch;
  const nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const secret = options.env[decl.secret_env];
  if (secret === undefined || secret === '')
    throw invalid(
      where,
      `the environment variable ${decl.secret_env} (secret_env) is not set`,
      'secret_env',
    );
  if (secret.length < SECRET_MIN)
    throw invalid(
      where,
      `the secret in ${decl.secret_env} is shorter than ${SECRET_MIN} characters`,
      'secret_env',
    );
  if (decl.input.type !== 'object')
    throw invalid(where, 'input must be a JSON Schema with "type": "object"', 'input');
  const ajv = new Ajv2020({
    allErrors: true,
    strict: false,
    validateFormats: false,
    logger: false,
  });
  let check: ReturnType<typeof ajv.compile>;
  try {
    check = ajv.compile(decl.input);
  } catch (e) {
    throw invalid(where, `input is not a valid JSON Schema: ${messageOf(e)}`, 'input');
  }
  const properties =
    typeof decl.input.properties === 'object' && decl.input.properties !== null
      ? Object.keys(decl.input.properties)
      : [];
  for (const [, field] of (decl.describe ?? '').matchAll(PLACEHOLDER))
    if (!properties.includes(field!))
      throw invalid(where, `describe names {${field}}, which input does not declare`, 'describe');

  const send = async (
    mode: 'plan' | 'apply',
    url: string,
    params: JsonObject,
    ctx: ToolContext,
  ) => {
    const body = JSON.stringify({
      tool: decl.name,
      mode,
      params,
      idempotency_key: ctx.idempotency_key,
      execution_id: ctx.execution_id,
      proposal_id: ctx.proposal_id,
      workflow_id: ctx.workflow_id,
      tenant_id: ctx.tenant_id,
      requested_at: ctx.now,
    });
    const timestamp = String(nowSeconds());
    const label = `HTTP tool ${decl.name}: ${mode} endpoint`;
    let res: Response;
    try {
      res = await doFetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'idempotency-key': ctx.idempotency_key,
          'x-countersign-timestamp': timestamp,
          'x-countersign-signature': signature(secret, timestamp, body),
          // The current trace (an execute_action's span), so the endpoint can join it.
          ...telemetry().traceHeaders(),
        },
        body,
        // A redirect would send the signed request somewhere nobody declared.
        redirect: 'error',
        signal: AbortSignal.timeout(decl.timeout_ms),
      });
    } catch (e) {
      if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError'))
        throw new Error(`${label} did not answer within ${decl.timeout_ms} ms (${url})`, {
          cause: e,
        });
      throw new Error(`${label} could not be reached (${url}): ${causeOf(e)}`, { cause: e });
    }
    let text: string;
    try {
      text = await readCapped(res, RESPONSE_MAX);
    } catch (e) {
      if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError'))
        throw new Error(
          `${label} did not finish its answer within ${decl.timeout_ms} ms (${url})`,
          {
            cause: e,
          },
        );
      throw new Error(`${label} answer could not be read: ${messageOf(e)}`, { cause: e });
    }
    if (res.status < 200 || res.status > 299)
      throw new Error(`${label} answered HTTP ${res.status}: ${quote(text)}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(
        `${label} answered HTTP ${res.status} with something other than JSON: ${quote(text)}`,
      );
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error(
        `${label} answered HTTP ${res.status} with JSON that is not an object: ${quote(text)}`,
      );
    return parsed as JsonObject;
  };

  return Object.freeze({
    name: decl.name,
    description: decl.description,
    risk: decl.risk,
    idempotent: decl.idempotent ?? decl.risk === 'read',
    inputSchema: decl.input,
    validate(params: unknown) {
      if (check(params)) return { ok: true as const, value: params as JsonObject };
      return { ok: false as const, issues: ajvIssues(check.errors ?? []) };
    },
    plan(params: JsonObject, ctx: ToolContext): Promise<JsonObject> {
      if (decl.plan) return send('plan', decl.plan.url, params, ctx);
      return Promise.resolve({
        preview: 'unavailable',
        message: `${decl.name} declares no plan endpoint, so a dry run cannot say what the service would do; apply would POST these parameters to its apply endpoint.`,
        would_send: { url: decl.apply.url, tool: decl.name, params },
      });
    },
    apply: (params: JsonObject, ctx: ToolContext) => send('apply', decl.apply.url, params, ctx),
    ...(decl.describe === undefined
      ? {}
      : { describe: (params: JsonObject) => fillTemplate(decl.describe!, params) }),
  });
}

/** `Restart {service}` with `{ service: "api" }` → `Restart api`. */
export function fillTemplate(template: string, params: JsonObject): string {
  return template.replace(PLACEHOLDER, (_, field: string) => {
    const value: JsonValue | undefined = params[field];
    if (value === undefined) return '(not given)';
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader: ReadableStreamDefaultReader<Uint8Array> = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new Error(`the answer is larger than ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function quote(text: string): string {
  const t = text.trim();
  if (t === '') return '(empty body)';
  return t.length > QUOTE_MAX
    ? `${JSON.stringify(t.slice(0, QUOTE_MAX))} [truncated]`
    : JSON.stringify(t);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** fetch's TypeError hides the reason (ECONNREFUSED…) in `cause`. */
function causeOf(e: unknown): string {
  const cause = e instanceof Error ? (e as Error & { cause?: unknown }).cause : undefined;
  return cause instanceof Error ? `${messageOf(e)} (${cause.message})` : messageOf(e);
}
