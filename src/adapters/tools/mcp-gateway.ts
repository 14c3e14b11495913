import { telemetry } from '../../core/ports/telemetry.js';
/**
 * The governed gateway: every tool of a downstream MCP server becomes a governed Countersign
 * tool named `<prefix>.<tool>`, proposed, reviewed, run at most once and recorded like any other.
 *
 * Configured by `<dataDir>/gateway.json` (absent: no tools):
 *
 *   {
 *     "servers": [
 *       { "name": "files", "prefix": "files", "command": "node", "args": ["server.js"],
 *         "env": { "ROOT": "/srv" }, "cwd": "servers" },
 *       { "name": "web", "url": "http://127.0.0.1:9000/mcp", "headers": { "Authorization": "…" } }
 *     ],
 *     "risk": { "files.read_*": "read", "files.delete": "irreversible" },
 *     "strict": false
 *   }
 *
 * Decisions:
 * - Risk comes from the operator's `risk` map: an exact tool name wins, then the most specific
 *   matching glob (`*` matches any run of characters; most literal characters wins, a tie goes
 *   to the higher risk). A tool no rule names is 'write' — unless its server explicitly
 *   annotates it `destructiveHint: true`, which raises it to 'irreversible'. Annotations only
 *   ever raise risk: the MCP spec calls them untrusted hints, so `readOnlyHint` never lowers it.
 * - `idempotent` is true exactly when the configured risk is 'read'. `idempotentHint` and
 *   `readOnlyHint` are ignored for it: an idempotent tool is run without the kernel's
 *   claim-before-run record, so trusting a downstream's hint would weaken at-most-once.
 * - Inputs are validated with ajv against the downstream's own inputSchema (compiled once, at
 *   load): JSON Schema 2020-12 when the schema says so or says nothing (the MCP default), else
 *   draft-07; `format` is not checked (the downstream server checks its own formats). A tool
 *   whose schema does not compile, whose name cannot be a Countersign tool name, or that
 *   requires task-based execution is skipped and reported on its server.
 * - `plan()` never contacts the server (MCP has no dry run); it returns what would be sent.
 * - `apply()` passes the kernel's idempotency key and execution ID in the request's `_meta`
 *   (`countersign/idempotency_key`, `countersign/execution_id`) so that a downstream server may
 *   deduplicate; an `isError` result or a timeout throws, and the kernel records a failure.
 * - The tool list is read once at load; later `tools/list_changed` notifications are ignored.
 * - A stdio server gets only the SDK's safe environment (HOME, PATH, SHELL, TERM, USER, LOGNAME)
 *   plus its configured `env`: the gateway's own secrets are not passed down. Its stderr is
 *   kept (the last few KB) and quoted when it fails.
 * - What a downstream server writes is untrusted text that agents and reviewers read: a tool
 *   description or a result may carry instructions aimed at the agent (prompt injection), and
 *   may be any size. So it is bounded, and labelled where it is read:
 *   - the description is cut to DESCRIPTION_MAX characters and prefixed
 *     `[from downstream MCP server <name>, untrusted]`; each description and title inside the
 *     inputSchema is cut to DESCRIPTION_MAX too, and a schema over SCHEMA_MAX skips the tool;
 *   - a result carries the same label in `from`; every string in it is cut to OUTPUT_TEXT_MAX
 *     characters and OUTPUT_TOTAL_MAX in all, each array and object to OUTPUT_ITEMS_MAX entries;
 *   - an isError text is cut to ERROR_TEXT_MAX and labelled in the recorded error.
 *   Every cut says so (`[truncated N chars]`). The text itself is kept as the server wrote it:
 *   rewriting it would change what the tool returned.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type CallToolResult, ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { z } from 'zod';
import { CountersignError, type FieldIssue } from '../../core/errors.js';
import type { JsonObject, JsonValue, RiskClass } from '../../core/model.js';
import type { ToolContext, ToolDefinition, ValidationResult } from '../../core/ports/tools.js';
import { describeIssues, fieldIssues } from '../../core/validation.js';

export const GATEWAY_FILE = 'gateway.json';
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_CALL_TIMEOUT_MS = 60_000;

/** A downstream tool's description (and each description or title in its inputSchema). */
export const DESCRIPTION_MAX = 1024;
/** A downstream tool's inputSchema, as JSON; a larger one skips the tool. */
export const SCHEMA_MAX = 65_536;
/** One string in a result (a text block, a structured value, base64 data). */
export const OUTPUT_TEXT_MAX = 16_384;
/** All strings in a result together. */
export const OUTPUT_TOTAL_MAX = 65_536;
/** Entries of one array or object in a result (content blocks included). */
export const OUTPUT_ITEMS_MAX = 256;
/** Nesting depth kept in a structured result. */
export const OUTPUT_DEPTH_MAX = 32;
/** The text of an isError result, or of a failed call, in the recorded error. */
export const ERROR_TEXT_MAX = 2048;

export interface GatewayOptions {
  /** Holds `gateway.json`; relative paths in the config resolve against it. */
  dataDir: string;
  /** Another config file (relative to the working directory); it must exist when given. */
  configFile?: string;
  /** Bound on connecting to one server and listing its tools. */
  connectTimeoutMs?: number;
  /** Bound on one downstream tool call. */
  callTimeoutMs?: number;
}

export interface GatewayServerReport {
  readonly name: string;
  readonly prefix: string;
  readonly transport: 'stdio' | 'http';
  /** Tools loaded from this server. */
  readonly tools: number;
  /** Why the server was skipped (it did not connect or list its tools). */
  readonly error?: string;
  /** Downstream tools left out, with the reason. */
  readonly skipped?: readonly { tool: string; reason: string }[];
}

export interface Gateway {
  readonly tools: ToolDefinition[];
  readonly servers: GatewayServerReport[];
  /** Things the operator should look at, e.g. a risk rule that names no loaded tool. */
  readonly warnings: string[];
  /** Closes every client; stdio servers are stopped. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Configuration

const IDENT = /^[a-z][a-z0-9_-]{0,31}$/;
/** The kernel's tool-name rule (src/core/schemas.ts). */
const TOOL_NAME = /^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/;
const RISKS = ['read', 'write', 'irreversible'] as const;
const RISK_ORDER: Record<RiskClass, number> = { read: 0, write: 1, irreversible: 2 };

const ident = z
  .string()
  .regex(
    IDENT,
    `must match ${IDENT.source} (a lower-case letter, then up to 31 lower-case letters, digits, _ or -)`,
  );

const serverEntry = z
  .strictObject({
    name: ident,
    prefix: ident.optional(),
    command: z.string().min(1, 'must not be empty').optional(),
    args: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().min(1, 'must not be empty').optional(),
    url: z
      .string()
      .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), {
        message: 'must be an http:// or https:// URL',
      })
      .optional(),
    headers: z.record(z.string(), z.string()).optional(),
  })
  .superRefine((s, ctx) => {
    if (s.command === undefined && s.url === undefined)
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: 'a server needs "command" (stdio) or "url" (streamable HTTP)',
      });
    if (s.command !== undefined && s.url !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'a server has either "command" (stdio) or "url" (streamable HTTP), not both',
      });
    if (s.url !== undefined)
      for (const key of ['args', 'env', 'cwd'] as const)
        if (s[key] !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'only for stdio servers (with "command")',
          });
    if (s.command !== undefined && s.headers !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['headers'],
        message: 'only for HTTP servers (with "url")',
      });
  });

export const gatewayConfigSchema = z
  .strictObject({
    servers: z.array(serverEntry),
    risk: z
      .record(
        z
          .string()
          .regex(
            /^[A-Za-z0-9_.:*-]{1,160}$/,
            'must be a tool name or a glob of one (letters, digits, _ . : - and *)',
          ),
        z.enum(RISKS),
      )
      .optional(),
    strict: z.boolean().optional(),
  })
  .superRefine((c, ctx) => {
    const names = new Map<string, number>();
    const prefixes = new Map<string, number>();
    c.servers.forEach((s, i) => {
      const prefix = s.prefix ?? s.name;
      const sameName = names.get(s.name);
      if (sameName !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['servers', i, 'name'],
          message: `"${s.name}" is already the name of servers.${sameName}`,
        });
      const samePrefix = prefixes.get(prefix);
      if (samePrefix !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['servers', i, s.prefix === undefined ? 'name' : 'prefix'],
          message: `prefix "${prefix}" is already used by servers.${samePrefix}`,
        });
      names.set(s.name, i);
      prefixes.set(prefix, i);
    });
  });

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

type ServerSpec =
  | {
      kind: 'stdio';
      name: string;
      prefix: string;
      command: string;
      args: string[];
      env: Record<string, string>;
      cwd: string;
    }
  | { kind: 'http'; name: string; prefix: string; url: string; headers: Record<string, string> };

/** Parses a config object; throws VALIDATION_FAILED naming each bad field and the file. */
export function parseGatewayConfig(raw: unknown, file: string): GatewayConfig {
  const r = gatewayConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  const issues = fieldIssues(r.error);
  throw new CountersignError(
    'VALIDATION_FAILED',
    `Invalid gateway config ${file}: ${describeIssues(issues)}`,
    { issues, file },
  );
}

function readConfig(file: string): GatewayConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CountersignError(
      'VALIDATION_FAILED',
      `Cannot read gateway config ${file}: ${messageOf(e)}`,
      { file },
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CountersignError(
      'VALIDATION_FAILED',
      `Invalid gateway config ${file}: not JSON (${messageOf(e)})`,
      { file },
    );
  }
  return parseGatewayConfig(raw, file);
}

/** A path-like argument is made absolute against dataDir (`./x`, `../x`, or an existing file). */
function resolveArg(dataDir: string, arg: string): string {
  if (arg === '' || arg.startsWith('-') || path.isAbsolute(arg)) return arg;
  if (/^\.\.?[/\\]/.test(arg)) return path.resolve(dataDir, arg);
  const candidate = path.resolve(dataDir, arg);
  return fs.existsSync(candidate) ? candidate : arg;
}

function serverSpecs(config: GatewayConfig, dataDir: string): ServerSpec[] {
  return config.servers.map((s) => {
    const prefix = s.prefix ?? s.name;
    if (s.url !== undefined)
      return { kind: 'http', name: s.name, prefix, url: s.url, headers: s.headers ?? {} };
    const command = s.command!;
    return {
      kind: 'stdio',
      name: s.name,
      prefix,
      // A bare command is looked up on PATH; one with a directory part is a path.
      command:
        /[/\\]/.test(command) && !path.isAbsolute(command)
          ? path.resolve(dataDir, command)
          : command,
      args: (s.args ?? []).map((a) => resolveArg(dataDir, a)),
      env: s.env ?? {},
      cwd: path.resolve(dataDir, s.cwd ?? '.'),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Risk rules

interface RiskRule {
  readonly pattern: string;
  readonly risk: RiskClass;
  readonly regex: RegExp;
  readonly literal: number;
}

function riskRules(risk: Record<string, RiskClass>): {
  exact: Map<string, RiskClass>;
  globs: RiskRule[];
} {
  const exact = new Map<string, RiskClass>();
  const globs: RiskRule[] = [];
  for (const [pattern, r] of Object.entries(risk)) {
    if (!pattern.includes('*')) exact.set(pattern, r);
    else
      globs.push({
        pattern,
        risk: r,
        regex: new RegExp(
          `^${pattern
            .split('*')
            .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*')}$`,
        ),
        literal: pattern.replace(/\*/g, '').length,
      });
  }
  return { exact, globs };
}

/**
 * The configured risk of `name` and the rule that set it: an exact entry first, then the most
 * specific matching glob (most literal characters; a tie goes to the higher risk).
 */
export function configuredRisk(
  name: string,
  risk: Record<string, RiskClass>,
): { risk: RiskClass; rule: string } | undefined {
  const { exact, globs } = riskRules(risk);
  return matchRisk(name, exact, globs);
}

function matchRisk(
  name: string,
  exact: Map<string, RiskClass>,
  globs: readonly RiskRule[],
): { risk: RiskClass; rule: string } | undefined {
  const hit = exact.get(name);
  if (hit) return { risk: hit, rule: name };
  let best: RiskRule | undefined;
  for (const g of globs) {
    if (!g.regex.test(name)) continue;
    if (
      !best ||
      g.literal > best.literal ||
      (g.literal === best.literal && RISK_ORDER[g.risk] > RISK_ORDER[best.risk])
    )
      best = g;
  }
  return best && { risk: best.risk, rule: best.pattern };
}

// ---------------------------------------------------------------------------------------------
// Input validation

type Dialect = 'draft-07' | '2019-09' | '2020-12';

class SchemaCompiler {
  private readonly shared = new Map<Dialect, Ajv>();

  /** Compiles `schema` (its own `$schema` picks the dialect; none means 2020-12, as in MCP). */
  compile(schema: JsonObject): ValidateFunction {
    const declared = typeof schema.$schema === 'string' ? schema.$schema : '';
    const { $schema: _ignored, ...body } = schema;
    const dialect: Dialect = declared.includes('2020-12')
      ? '2020-12'
      : declared.includes('2019-09')
        ? '2019-09'
        : declared === ''
          ? '2020-12'
          : 'draft-07';
    try {
      return this.compileWith(dialect, body);
    } catch (e) {
      // Schemas without $schema are often written in draft-07 (tuple `items`, …).
      if (declared === '') return this.compileWith('draft-07', body);
      throw e;
    }
  }

  private compileWith(dialect: Dialect, schema: JsonObject): ValidateFunction {
    let ajv = this.shared.get(dialect);
    if (!ajv) {
      ajv = newAjv(dialect);
      this.shared.set(dialect, ajv);
    }
    try {
      return ajv.compile(schema);
    } catch (e) {
      // Two tools may share an `$id`; each then gets an instance of its own.
      if (/already exists/.test(messageOf(e))) return newAjv(dialect).compile(schema);
      throw e;
    }
  }
}

function newAjv(dialect: Dialect): Ajv {
  const options = {
    allErrors: true,
    strict: false,
    validateFormats: false,
    logger: false as const,
  };
  if (dialect === '2020-12') return new Ajv2020(options);
  if (dialect === '2019-09') return new Ajv2019(options);
  return new Ajv(options);
}

function pointerToPath(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** ajv errors as `{ path, message }`, paths dotted, a missing or extra property named. */
export function ajvIssues(errors: readonly ErrorObject[]): FieldIssue[] {
  const seen = new Set<string>();
  const issues: FieldIssue[] = [];
  for (const e of errors) {
    const parts = pointerToPath(e.instancePath);
    let message = e.message ?? 'is invalid';
    const params = e.params as Record<string, unknown>;
    if (e.keyword === 'required' && typeof params.missingProperty === 'string') {
      parts.push(params.missingProperty);
      message = 'is required';
    } else if (
      e.keyword === 'additionalProperties' &&
      typeof params.additionalProperty === 'string'
    ) {
      parts.push(params.additionalProperty);
      message = 'is not an allowed property';
    } else if (
      e.keyword === 'unevaluatedProperties' &&
      typeof params.unevaluatedProperty === 'string'
    ) {
      parts.push(params.unevaluatedProperty);
      message = 'is not an allowed property';
    }
    const issue = { path: parts.join('.'), message };
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  // By field (stable: one field's issues keep ajv's order).
  return issues.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// Connections

interface DownstreamTool {
  readonly name: string;
  readonly description?: string | undefined;
  readonly inputSchema: Record<string, unknown>;
  readonly annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean } | undefined;
  readonly execution?: { taskSupport?: string } | undefined;
}

interface Connection {
  readonly spec: ServerSpec;
  readonly client: Client;
  readonly tools: DownstreamTool[];
  closed: boolean;
  stderrTail(): string;
}

const STDERR_KEEP = 4096;

async function connect(spec: ServerSpec, timeoutMs: number): Promise<Connection> {
  const client = new Client({ name: 'countersign-gateway', version: '0.1.0' });
  let stderr = '';
  let transport: Transport;
  if (spec.kind === 'stdio') {
    const stdio = new StdioClientTransport({
      command: spec.command,
      args: spec.args,
      env: spec.env,
      cwd: spec.cwd,
      stderr: 'pipe',
    });
    // Read stderr always (an unread pipe would stall the child), keeping only the tail.
    stdio.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_KEEP);
    });
    transport = stdio;
  } else {
    transport = new StreamableHTTPClientTransport(new URL(spec.url), {
      requestInit: { headers: spec.headers },
    });
  }
  const conn: Connection = {
    spec,
    client,
    tools: [],
    closed: false,
    stderrTail: () => stderr.trim(),
  };
  client.onclose = () => {
    conn.closed = true;
  };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([
      (async () => {
        await client.connect(transport, { timeout: timeoutMs });
        let cursor: string | undefined;
        do {
          const page = await client.listTools(cursor ? { cursor } : {}, { timeout: timeoutMs });
          conn.tools.push(...(page.tools as DownstreamTool[]));
          cursor = page.nextCursor;
        } while (cursor);
      })(),
      deadline,
    ]);
    return conn;
  } catch (e) {
    await client.close().catch(() => undefined);
    const tail = conn.stderrTail();
    throw new Error(`${messageOf(e)}${tail ? ` (stderr: ${tail.slice(-500)})` : ''}`, {
      cause: e,
    });
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Untrusted text

/** The label on everything a downstream server wrote. */
export function untrustedLabel(server: string): string {
  return `[from downstream MCP server ${server}, untrusted]`;
}

/**
 * `text` cut to at most `max` characters (never inside a surrogate pair), followed by a marker
 * saying how many were cut; unchanged when it fits.
 */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max);
  const last = text.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end -= 1;
  const marker = `[truncated ${text.length - end} chars]`;
  return end === 0 ? marker : `${text.slice(0, end)} ${marker}`;
}

/** An inputSchema with every `description`, `title` and `$comment` string cut. */
function boundedSchema(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(boundedSchema);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, JsonValue> = {};
  for (const [key, v] of Object.entries(value))
    out[key] =
      typeof v === 'string' && (key === 'description' || key === 'title' || key === '$comment')
        ? capText(v, DESCRIPTION_MAX)
        : boundedSchema(v);
  return out;
}

/** A result value with its strings, arrays, objects and depth cut (see the header). */
function boundedValue(value: JsonValue, budget: { left: number }, depth: number): JsonValue {
  if (typeof value === 'string') {
    const max = Math.min(OUTPUT_TEXT_MAX, Math.max(0, budget.left));
    budget.left -= Math.min(value.length, max);
    return capText(value, max);
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= OUTPUT_DEPTH_MAX) return `[truncated: nested deeper than ${OUTPUT_DEPTH_MAX}]`;
  if (Array.isArray(value)) {
    const items = value.slice(0, OUTPUT_ITEMS_MAX).map((v) => boundedValue(v, budget, depth + 1));
    if (value.length > OUTPUT_ITEMS_MAX)
      items.push(`[truncated ${value.length - OUTPUT_ITEMS_MAX} items]`);
    return items;
  }
  const entries = Object.entries(value);
  const kept = entries
    .slice(0, OUTPUT_ITEMS_MAX)
    .map(([k, v]): [string, JsonValue] => [
      capText(k, DESCRIPTION_MAX),
      boundedValue(v, budget, depth + 1),
    ]);
  if (entries.length > OUTPUT_ITEMS_MAX)
    kept.push(['[truncated]', `[truncated ${entries.length - OUTPUT_ITEMS_MAX} keys]`]);
  // fromEntries defines own properties, so a `__proto__` key stays data.
  return Object.fromEntries(kept);
}

/** A successful result as recorded: labelled, content blocks and structured content cut. */
function boundedResult(server: string, r: CallToolResult): JsonObject {
  const budget = { left: OUTPUT_TOTAL_MAX };
  const blocks = toJson(r.content) as JsonValue[];
  const content = blocks.slice(0, OUTPUT_ITEMS_MAX).map((block) => boundedValue(block, budget, 1));
  if (blocks.length > OUTPUT_ITEMS_MAX)
    content.push({
      type: 'text',
      text: `[truncated ${blocks.length - OUTPUT_ITEMS_MAX} content blocks]`,
    });
  const out: JsonObject = { from: untrustedLabel(server), content };
  if (r.structuredContent !== undefined)
    out.structuredContent = boundedValue(toJson(r.structuredContent), budget, 1);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tools

interface ToolBuild {
  readonly conn: Connection;
  readonly tool: DownstreamTool;
  readonly name: string;
  readonly risk: RiskClass;
  readonly validator: ValidateFunction;
  readonly callTimeoutMs: number;
}

function governedTool(b: ToolBuild): ToolDefinition {
  const { conn, tool, name, validator, callTimeoutMs } = b;
  const server = conn.spec.name;
  const inputSchema = boundedSchema(toJson(tool.inputSchema)) as JsonObject;
  return Object.freeze({
    name,
    description: `${untrustedLabel(server)} ${capText(tool.description ?? tool.name, DESCRIPTION_MAX)}`,
    risk: b.risk,
    idempotent: b.risk === 'read',
    inputSchema,
    validate(params: unknown): ValidationResult {
      if (typeof params !== 'object' || params === null || Array.isArray(params))
        return { ok: false, issues: [{ path: '', message: 'must be an object' }] };
      if (validator(params)) return { ok: true, value: params as JsonObject };
      return { ok: false, issues: ajvIssues(validator.errors ?? []) };
    },
    plan(params: JsonObject): Promise<JsonObject> {
      return Promise.resolve({
        would_call: name,
        server,
        arguments: params,
        note: 'downstream MCP tools have no dry run; this is what would be sent',
      });
    },
    async apply(params: JsonObject, ctx: ToolContext): Promise<JsonObject> {
      if (conn.closed) {
        const tail = conn.stderrTail();
        throw new Error(
          `${name}: gateway server "${server}" is not connected${tail ? ` (stderr: ${tail.slice(-500)})` : ''}`,
        );
      }
      let result: Awaited<ReturnType<Client['callTool']>>;
      try {
        result = await conn.client.callTool(
          {
            name: tool.name,
            arguments: params,
            _meta: {
              'countersign/idempotency_key': ctx.idempotency_key,
              'countersign/execution_id': ctx.execution_id,
              // W3C trace context, as MCP carries it in `_meta` (the current span's).
              ...telemetry().traceHeaders(),
            },
          },
          undefined,
          { timeout: callTimeoutMs },
        );
      } catch (e) {
        if (e instanceof McpError && e.code === Number(ErrorCode.RequestTimeout))
          throw new Error(
            `${name}: server "${server}" did not answer within ${callTimeoutMs} ms; the downstream tool may still have run`,
            { cause: e },
          );
        // The message may quote the server's own JSON-RPC error text: cut it.
        throw new Error(
          `${name}: call to server "${server}" failed: ${capText(messageOf(e), ERROR_TEXT_MAX)}`,
          { cause: e },
        );
      }
      // The SDK checked the result against CallToolResult; `toolResult` is the pre-2024 form.
      if (!('content' in result))
        throw new Error(`${name}: server "${server}" returned a result without content`);
      const r = result as CallToolResult;
      if (r.isError) {
        const text = r.content
          .flatMap((c) => (c.type === 'text' ? [c.text] : []))
          .join('\n')
          .trim();
        throw new Error(
          `${name} reported an error ${untrustedLabel(server)}: ${text ? capText(text, ERROR_TEXT_MAX) : '(no text)'}`,
        );
      }
      return boundedResult(server, r);
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Loading

/**
 * Connects to every server in the gateway config and returns one governed tool per downstream
 * tool. A server that fails is skipped and reported (its `error`), unless the config is
 * `strict`, when the load fails. Close the gateway to stop stdio servers.
 *
 * @example
 * const gateway = await loadGatewayTools({ dataDir: config.dataDir });
 * const tools = staticToolRegistry([...demo.tools, ...gateway.tools]);
 */
export async function loadGatewayTools(options: GatewayOptions): Promise<Gateway> {
  const dataDir = path.resolve(options.dataDir);
  const file = options.configFile
    ? path.resolve(options.configFile)
    : path.join(dataDir, GATEWAY_FILE);
  if (!options.configFile && !fs.existsSync(file))
    return { tools: [], servers: [], warnings: [], close: () => Promise.resolve() };
  const config = readConfig(file);
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const specs = serverSpecs(config, dataDir);

  const settled = await Promise.allSettled(specs.map((s) => connect(s, connectTimeoutMs)));
  const connections: Connection[] = [];
  for (const s of settled) if (s.status === 'fulfilled') connections.push(s.value);
  const close = async () => {
    await Promise.allSettled(connections.map((c) => c.client.close()));
  };

  if (config.strict) {
    const failed = settled.flatMap((s, i) =>
      s.status === 'rejected' ? [`"${specs[i]!.name}": ${messageOf(s.reason)}`] : [],
    );
    if (failed.length > 0) {
      await close();
      throw new CountersignError(
        'INTERNAL',
        `Gateway (${file}, strict) could not load ${failed.length} server(s): ${failed.join('; ')}`,
        { file },
      );
    }
  }

  const { exact, globs } = riskRules(config.risk ?? {});
  const usedRules = new Set<string>();
  const compiler = new SchemaCompiler();
  const tools: ToolDefinition[] = [];
  const servers: GatewayServerReport[] = [];

  settled.forEach((s, i) => {
    const spec = specs[i]!;
    const base = { name: spec.name, prefix: spec.prefix, transport: spec.kind };
    if (s.status === 'rejected') {
      servers.push({ ...base, tools: 0, error: messageOf(s.reason) });
      return;
    }
    const conn = s.value;
    const skipped: { tool: string; reason: string }[] = [];
    const names = new Set<string>();
    let count = 0;
    for (const tool of conn.tools) {
      const name = `${spec.prefix}.${tool.name}`;
      if (!TOOL_NAME.test(name)) {
        skipped.push({ tool: tool.name, reason: `"${name}" is not a valid tool name` });
        continue;
      }
      if (names.has(name)) {
        skipped.push({ tool: tool.name, reason: 'listed twice by the server' });
        continue;
      }
      if (tool.execution?.taskSupport === 'required') {
        skipped.push({ tool: tool.name, reason: 'requires task-based execution' });
        continue;
      }
      const schemaChars = JSON.stringify(tool.inputSchema ?? null).length;
      if (schemaChars > SCHEMA_MAX) {
        skipped.push({
          tool: tool.name,
          reason: `inputSchema has ${schemaChars} characters, more than ${SCHEMA_MAX}`,
        });
        continue;
      }
      let validator: ValidateFunction;
      try {
        validator = compiler.compile(toJson(tool.inputSchema) as JsonObject);
      } catch (e) {
        skipped.push({ tool: tool.name, reason: `inputSchema does not compile: ${messageOf(e)}` });
        continue;
      }
      const configured = matchRisk(name, exact, globs);
      if (configured) usedRules.add(configured.rule);
      const risk: RiskClass =
        configured?.risk ?? (tool.annotations?.destructiveHint === true ? 'irreversible' : 'write');
      names.add(name);
      tools.push(governedTool({ conn, tool, name, risk, validator, callTimeoutMs }));
      count += 1;
    }
    servers.push({ ...base, tools: count, ...(skipped.length > 0 ? { skipped } : {}) });
  });

  const warnings = Object.keys(config.risk ?? {})
    .filter((rule) => !usedRules.has(rule))
    .map((rule) => `risk rule "${rule}" in ${file} decides the risk of no loaded tool`);
  for (const s of servers)
    if (s.error) warnings.push(`gateway server "${s.name}" was skipped: ${s.error}`);

  return { tools, servers, warnings, close };
}

// ---------------------------------------------------------------------------------------------

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A plain JSON copy (drops undefined, functions and prototypes). */
function toJson(value: unknown): JsonValue {
  return JSON.parse(JSON.stringify(value ?? null)) as JsonValue;
}
