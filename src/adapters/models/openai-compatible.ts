import { CountersignError, type ErrorCode } from '../../core/errors.js';
import type { JsonValue } from '../../core/model.js';
import type {
  ModelMessage,
  ModelProvider,
  ModelRequest,
  ModelResponse,
  ModelToolCall,
} from '../../core/ports/model.js';
import { redactText } from '../../core/redact.js';

/**
 * A model served over the Chat Completions protocol: OpenAI, or a local server such as Ollama,
 * vLLM, LM Studio or llama.cpp (`http://127.0.0.1:11434/v1`). Plain `fetch`, no SDK.
 */
export interface OpenAiCompatibleConfig {
  /** Up to and including the version segment, e.g. `https://api.openai.com/v1`. */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer …`; local servers usually need none. */
  readonly apiKey?: string | undefined;
  /** Used when a request names no model (the gateway passes the part after `openai-compatible/`). */
  readonly model: string;
  /** Per request, headers to last body byte. Default 120 s: local models can be slow. */
  readonly timeoutMs?: number | undefined;
  readonly fetch?: typeof fetch | undefined;
}

const PROVIDER = 'openai-compatible';
const DEFAULT_TIMEOUT_MS = 120_000;
/** How much of a server's error text or a bad answer goes into an error message. */
const SNIPPET = 300;

function configError(variable: string, message: string): CountersignError {
  return new CountersignError('VALIDATION_FAILED', message, {
    issues: [{ path: variable, message }],
  });
}

/** Checks a base URL and returns it without trailing slashes. */
function checkBaseUrl(raw: string, variable = 'baseUrl'): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    const shown = raw.includes('@') ? '' : ` "${raw}"`;
    throw configError(
      variable,
      `${variable}${shown} is not an absolute http(s) URL, e.g. http://127.0.0.1:11434/v1 or https://api.openai.com/v1.`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw configError(
      variable,
      `${variable} must be an http(s) URL such as http://127.0.0.1:11434/v1, not ${url.protocol}…`,
    );
  }
  if (url.username || url.password) {
    throw configError(
      variable,
      `${variable} must not carry credentials; put the key in COUNTERSIGN_OPENAI_API_KEY.`,
    );
  }
  if (url.search || url.hash) {
    throw configError(variable, `${variable} must not have a query or fragment.`);
  }
  return url.href.replace(/\/+$/, '');
}

function checkTimeout(ms: number | undefined, variable = 'timeoutMs'): number {
  if (ms === undefined) return DEFAULT_TIMEOUT_MS;
  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw configError(variable, `${variable} must be a positive whole number of milliseconds.`);
  }
  return ms;
}

/**
 * Reads the provider's configuration from the environment; undefined when
 * COUNTERSIGN_OPENAI_BASE_URL is unset.
 *
 * @example
 * // COUNTERSIGN_OPENAI_BASE_URL=http://127.0.0.1:11434/v1 COUNTERSIGN_OPENAI_MODEL=llama3.1
 * const config = openAiConfigFromEnv(process.env);
 * if (config) providers.set('openai-compatible', new OpenAiCompatibleProvider(config));
 */
export function openAiConfigFromEnv(env: NodeJS.ProcessEnv): OpenAiCompatibleConfig | undefined {
  const baseUrl = env.COUNTERSIGN_OPENAI_BASE_URL?.trim();
  if (!baseUrl) return undefined;
  const model = env.COUNTERSIGN_OPENAI_MODEL?.trim();
  if (!model) {
    throw configError(
      'COUNTERSIGN_OPENAI_MODEL',
      'COUNTERSIGN_OPENAI_MODEL is required when COUNTERSIGN_OPENAI_BASE_URL is set, e.g. llama3.1 or gpt-4o-mini.',
    );
  }
  const timeout = env.COUNTERSIGN_OPENAI_TIMEOUT_MS?.trim();
  return {
    baseUrl: checkBaseUrl(baseUrl, 'COUNTERSIGN_OPENAI_BASE_URL'),
    apiKey: env.COUNTERSIGN_OPENAI_API_KEY?.trim() || undefined,
    model,
    timeoutMs: timeout ? checkTimeout(Number(timeout), 'COUNTERSIGN_OPENAI_TIMEOUT_MS') : undefined,
  };
}

type Json = Record<string, unknown>;

const isRecord = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const snippet = (text: string): string =>
  text.length > SNIPPET ? `${text.slice(0, SNIPPET)}…` : text;

const count = (v: unknown): number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0;

/** Strips one Markdown code fence (```json … ```) around the whole answer. */
function unfence(content: string): string {
  const m = /^\s*```[A-Za-z0-9_-]*[ \t]*\r?\n([\s\S]*?)\r?\n?[ \t]*```\s*$/.exec(content);
  return m?.[1] ?? content;
}

/** Message parts (`[{ type: 'text', text }]`) some servers send instead of a string. */
function contentText(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  const parts = content.map((p) => (isRecord(p) && typeof p.text === 'string' ? p.text : ''));
  return parts.join('');
}

/**
 * A provider for any server speaking OpenAI's Chat Completions protocol with structured outputs
 * (`response_format: json_schema`). Errors carry the HTTP status and the server's message, never
 * the API key.
 *
 * @example
 * const provider = new OpenAiCompatibleProvider({ baseUrl: 'http://127.0.0.1:11434/v1', model: 'llama3.1' });
 */
export class OpenAiCompatibleProvider implements ModelProvider {
  readonly name = PROVIDER;
  private readonly baseUrl: string;
  private readonly apiKey: string | undefined;
  private readonly model: string;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(config: OpenAiCompatibleConfig) {
    this.baseUrl = checkBaseUrl(config.baseUrl);
    this.apiKey = config.apiKey || undefined;
    if (!config.model.trim()) throw configError('model', 'model must not be empty.');
    this.model = config.model.trim();
    this.timeoutMs = checkTimeout(config.timeoutMs);
    this.fetch = config.fetch ?? ((input, init) => fetch(input, init));
  }

  async generate(request: ModelRequest): Promise<ModelResponse> {
    const model = request.model || this.model;
    const url = `${this.baseUrl}/chat/completions`;
    const names = functionNames(request.tools ?? []);
    const body = await this.post(url, this.body(request, model, names));
    return this.answer(body, model, names);
  }

  private body(request: ModelRequest, model: string, names: FunctionNames): Json {
    const system =
      `${request.instructions}\n\n` +
      `Answer only with one JSON value that matches this JSON Schema (${request.schema_name}); ` +
      `no prose, no Markdown:\n${JSON.stringify(request.output_schema)}`;
    let user = JSON.stringify(request.input);
    if (request.previous_error !== undefined) {
      user +=
        `\n\nYour previous answer was rejected: ${request.previous_error}\n` +
        'Answer again with JSON that matches the schema.';
    }
    const tools = request.tools ?? [];
    return {
      model,
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: user },
        ...(request.messages ?? []).map((m) => chatMessage(m, names)),
      ],
      ...(tools.length > 0
        ? {
            tools: tools.map((t) => ({
              type: 'function',
              function: {
                name: names.toFunction.get(t.name) ?? t.name,
                description: t.description,
                parameters: t.parameters,
              },
            })),
            tool_choice: 'auto',
          }
        : {}),
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: request.schema_name,
          schema: request.output_schema,
          strict: strictCompatible(request.output_schema),
        },
      },
      temperature: 0,
    };
  }

  /** Never lets the key reach a message, even when a server echoes it back. */
  private scrub(text: string): string {
    const keyless = this.apiKey ? text.split(this.apiKey).join('[REDACTED]') : text;
    return redactText(keyless).text;
  }

  private fail(code: ErrorCode, message: string, details: Json = {}): CountersignError {
    return new CountersignError(code, `${PROVIDER}: ${this.scrub(message)}`, {
      provider: PROVIDER,
      ...details,
    });
  }

  private async post(url: string, payload: Json): Promise<unknown> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
    };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let status = 0;
    let text: string;
    try {
      const res = await this.fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = res.status;
      text = await res.text();
      if (!res.ok) throw this.httpError(res.status, res.statusText, text, url);
    } catch (e) {
      if (e instanceof CountersignError) throw e;
      throw this.transportError(e, url, status);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw this.fail(
        'MODEL_UNAVAILABLE',
        `POST ${url} answered HTTP ${status} with a body that is not JSON; is this a Chat Completions endpoint? Body: ${snippet(text)}`,
        { status },
      );
    }
  }

  private httpError(
    status: number,
    statusText: string,
    text: string,
    url: string,
  ): CountersignError {
    let serverMessage = text.trim();
    let serverCode: string | undefined;
    try {
      const parsed = JSON.parse(text) as unknown;
      // OpenAI: { error: { message, code } }; Ollama: { error: "…" }; others: { message }.
      const error = isRecord(parsed) ? parsed.error : undefined;
      if (isRecord(error) && typeof error.message === 'string') {
        serverMessage = error.message;
        if (typeof error.code === 'string') serverCode = error.code;
        else if (typeof error.type === 'string') serverCode = error.type;
      } else if (typeof error === 'string') serverMessage = error;
      else if (isRecord(parsed) && typeof parsed.message === 'string')
        serverMessage = parsed.message;
    } catch {
      // Not JSON: the text itself is the message.
    }
    // Overload and server faults may pass; anything else needs a person (key, model name, request).
    const code: ErrorCode =
      status === 408 || status === 429 || status >= 500
        ? 'MODEL_UNAVAILABLE'
        : 'MODEL_REQUEST_REJECTED';
    const reason = statusText ? ` ${statusText}` : '';
    return this.fail(
      code,
      `POST ${url} answered HTTP ${status}${reason}: ${snippet(serverMessage) || '(empty body)'}`,
      serverCode ? { status, server_code: this.scrub(serverCode) } : { status },
    );
  }

  private transportError(e: unknown, url: string, status: number): CountersignError {
    const name = e instanceof Error ? e.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') {
      return this.fail(
        'MODEL_UNAVAILABLE',
        `POST ${url} did not answer within ${this.timeoutMs} ms.`,
        { reason: 'timeout', timeout_ms: this.timeoutMs },
      );
    }
    // fetch reports network failures as `TypeError: fetch failed` with the socket error as cause.
    const cause = e instanceof Error ? e.cause : undefined;
    const sysCode = isRecord(cause) && typeof cause.code === 'string' ? cause.code : undefined;
    const detail =
      sysCode ??
      (cause instanceof Error ? cause.message : e instanceof Error ? e.message : String(e));
    const during = status ? ` while reading the HTTP ${status} answer` : '';
    return this.fail('MODEL_UNAVAILABLE', `could not reach ${url}${during}: ${detail}`, {
      reason: sysCode ?? 'network',
    });
  }

  private answer(body: unknown, model: string, names: FunctionNames): ModelResponse {
    const choice =
      isRecord(body) && Array.isArray(body.choices) ? (body.choices[0] as unknown) : undefined;
    const message = isRecord(choice) ? choice.message : undefined;
    if (!isRecord(body) || !isRecord(message)) {
      throw this.fail(
        'MODEL_UNAVAILABLE',
        `the server's answer has no choices[0].message; is this a Chat Completions endpoint? Got: ${snippet(JSON.stringify(body))}`,
      );
    }
    if (typeof message.refusal === 'string' && message.refusal.trim() !== '') {
      throw this.fail('MODEL_REFUSED', `the model refused to answer: ${snippet(message.refusal)}`);
    }
    const usage = isRecord(body.usage) ? body.usage : {};
    const answered = {
      usage: {
        prompt_tokens: count(usage.prompt_tokens),
        completion_tokens: count(usage.completion_tokens),
      },
      model: typeof body.model === 'string' && body.model !== '' ? body.model : model,
    };
    if (names.toTool.size > 0 && Array.isArray(message.tool_calls) && message.tool_calls.length) {
      return { ...answered, output: null, tool_calls: this.toolCalls(message.tool_calls, names) };
    }
    const content = contentText(message.content);
    const finish =
      isRecord(choice) && typeof choice.finish_reason === 'string' ? choice.finish_reason : '';
    if (content === null || content.trim() === '') {
      throw this.fail(
        'MODEL_OUTPUT_INVALID',
        `the model's answer is empty${finish ? ` (finish_reason: ${finish})` : ''}; answer with JSON that matches the schema.`,
      );
    }
    let output: JsonValue;
    try {
      output = JSON.parse(unfence(content)) as JsonValue;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      const cut = finish === 'length' ? ' It was cut off at the token limit.' : '';
      throw this.fail(
        'MODEL_OUTPUT_INVALID',
        `the model's answer is not valid JSON (${why}).${cut} It began: ${snippet(content)}`,
      );
    }
    return { ...answered, output };
  }

  /** The calls of `message.tool_calls`, named by the tools' own names again. */
  private toolCalls(raw: unknown[], names: FunctionNames): ModelToolCall[] {
    return raw.map((c, i) => {
      const fn = isRecord(c) && isRecord(c.function) ? c.function : undefined;
      if (!isRecord(c) || !fn || typeof fn.name !== 'string') {
        throw this.fail(
          'MODEL_OUTPUT_INVALID',
          `tool call ${i} has no function name: ${snippet(JSON.stringify(c))}`,
        );
      }
      let args: JsonValue = {};
      if (typeof fn.arguments === 'string' && fn.arguments.trim() !== '') {
        try {
          args = JSON.parse(fn.arguments) as JsonValue;
        } catch {
          // Kept as the text: the call is refused as invalid and the model told why.
          args = fn.arguments;
        }
      } else if (isRecord(fn.arguments)) args = fn.arguments as JsonValue;
      return {
        id: typeof c.id === 'string' && c.id !== '' ? c.id : `call_${i + 1}`,
        // A name the request did not offer stays as the model wrote it: it is refused later.
        name: names.toTool.get(fn.name) ?? fn.name,
        arguments: args,
      };
    });
  }
}

/** Tool names ↔ function names (Chat Completions allows only `[a-zA-Z0-9_-]{1,64}`). */
interface FunctionNames {
  readonly toFunction: ReadonlyMap<string, string>;
  readonly toTool: ReadonlyMap<string, string>;
}

function functionNames(tools: readonly { name: string }[]): FunctionNames {
  const toFunction = new Map<string, string>();
  const toTool = new Map<string, string>();
  for (const t of tools) {
    const base = t.name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 60);
    let name = base;
    for (let n = 2; toTool.has(name); n++) name = `${base}_${n}`;
    toFunction.set(t.name, name);
    toTool.set(name, t.name);
  }
  return { toFunction, toTool };
}

/** One earlier turn of a tool-using agent as a Chat Completions message. */
function chatMessage(m: ModelMessage, names: FunctionNames): Json {
  if (m.role === 'tool')
    return { role: 'tool', tool_call_id: m.tool_call_id, content: JSON.stringify(m.content) };
  return {
    role: 'assistant',
    content: null,
    tool_calls: m.tool_calls.map((c) => ({
      id: c.id,
      type: 'function',
      function: {
        name: names.toFunction.get(c.name) ?? c.name,
        arguments: JSON.stringify(c.arguments),
      },
    })),
  };
}

/**
 * OpenAI's strict structured output accepts only schemas whose every object lists all its
 * properties as required and forbids others; such schemas are sent strict, any other
 * best-effort (the answer is validated against the step's schema either way).
 */
export function strictCompatible(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.every(strictCompatible);
  if (typeof schema !== 'object' || schema === null) return true;
  const s = schema as Record<string, unknown>;
  if (s.type === 'object' || s.properties !== undefined) {
    const props = Object.keys((s.properties as Record<string, unknown> | undefined) ?? {});
    const required = Array.isArray(s.required) ? (s.required as unknown[]) : [];
    if (s.additionalProperties !== false) return false;
    if (!props.every((p) => required.includes(p))) return false;
  }
  return Object.values(s).every(strictCompatible);
}
