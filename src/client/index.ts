/**
 * A typed HTTP client for a Countersign server (`countersign serve`): one method per operation of
 * the catalogue, with the same names and the same input and output types as the HTTP API, MCP
 * and the CLI. Failures throw a CountersignError with the server's stable code. Writes carry an
 * Idempotency-Key made once per call and reused by the client's retries (a dropped connection or
 * a 503), so a retried write is answered from the first one instead of running twice.
 *
 * It runs wherever `fetch` does (Node 20+, browsers, Deno, Bun) and loads nothing of the server.
 *
 * @example
 * ```ts
 * import { createClient, isCountersignError } from 'countersign/client';
 *
 * const cs = createClient({ baseUrl: 'http://127.0.0.1:8787', token: process.env.COUNTERSIGN_TOKEN });
 * const { proposal_id, status } = await cs.proposeAction({
 *   workflow_id: 'workflow_1',
 *   tool: 'run_sql_migration',
 *   params: { table: 'users', column: 'last_login', column_type: 'timestamp' },
 *   reason: 'track last login',
 * });
 * try {
 *   await cs.reviewAction({ proposal_id, decision: 'approve' }, { purpose: 'change review' });
 * } catch (e) {
 *   if (isCountersignError(e, 'SELF_APPROVAL')) console.log('someone else must approve');
 *   else throw e;
 * }
 * ```
 */
import { CountersignError } from './errors.js';
import { type Operations, ROUTES } from './operations.js';

export { CountersignError, type ClientErrorCode, isCountersignError } from './errors.js';
export type { Operations } from './operations.js';
export { ROUTES } from './operations.js';

export type OperationName = keyof Operations;
export type OperationInput<N extends OperationName> = Operations[N]['input'];
export type OperationOutput<N extends OperationName> = Operations[N]['output'];

export interface ClientOptions {
  /** The server, e.g. `http://127.0.0.1:8787`. */
  readonly baseUrl: string | URL;
  /** An API token (`countersign token create`); sent as `Authorization: Bearer …`. */
  readonly token?: string | undefined;
  /** The fetch to use (default: the global one). */
  readonly fetch?: typeof fetch;
  /** The X-Purpose of every call that names none (recorded in the ledger). */
  readonly purpose?: string;
  /** Retries after a dropped connection or a 503, with exponential backoff (default 3). */
  readonly retries?: number;
  /** The first retry's delay in milliseconds, doubled each time (default 200). */
  readonly retryDelayMs?: number;
  /** The longest wait between two attempts, a server's Retry-After included (default 5000). */
  readonly maxRetryDelayMs?: number;
  /** More headers for every request. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface CallOptions {
  /** X-Purpose: why the call is made (privileged operations need one). */
  readonly purpose?: string;
  /** The Idempotency-Key of a write; default: a fresh one per call, kept across its retries. */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
}

type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

/** The arguments of a call: the input may be left out when it has no required field. */
type Args<N extends OperationName> =
  Record<string, never> extends OperationInput<N>
    ? [input?: OperationInput<N>, options?: CallOptions]
    : [input: OperationInput<N>, options?: CallOptions];

export type CountersignClient = {
  /** Calls an operation by its catalogue name, e.g. `call('propose_action', {...})`. */
  call<N extends OperationName>(name: N, ...args: Args<N>): Promise<OperationOutput<N>>;
} & {
  readonly [N in OperationName as CamelCase<N>]: (...args: Args<N>) => Promise<OperationOutput<N>>;
};

interface Route {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  readonly write: boolean;
  readonly privileged: boolean;
}

const PATH_PARAM = /\{([A-Za-z_]+)\}/g;

/** The client for one server and token. */
export function createClient(options: ClientOptions): CountersignClient {
  const base = String(options.baseUrl).replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const retries = Math.max(0, options.retries ?? 3);
  const firstDelay = options.retryDelayMs ?? 200;
  const maxDelay = options.maxRetryDelayMs ?? 5000;

  async function call(name: string, input: unknown = {}, callOptions: CallOptions = {}) {
    const route = (ROUTES as Readonly<Record<string, Route>>)[name];
    if (!route || !Object.hasOwn(ROUTES, name))
      throw new CountersignError('NOT_FOUND', `No operation ${name} in the catalogue.`, 0, false);
    if (typeof input !== 'object' || input === null || Array.isArray(input))
      throw new CountersignError('VALIDATION_FAILED', 'The input must be an object.', 0, false, {
        issues: [{ path: '', message: 'must be an object' }],
      });
    const fields = { ...(input as Record<string, unknown>) };
    const path = route.path.replace(PATH_PARAM, (_m, key: string) => {
      const value = fields[key];
      delete fields[key];
      if (typeof value !== 'string' || value === '')
        throw new CountersignError('VALIDATION_FAILED', `${name} needs ${key}.`, 0, false, {
          issues: [{ path: key, message: 'required' }],
        });
      return encodeURIComponent(value);
    });
    const takesBody = route.method !== 'GET' && route.method !== 'DELETE';
    const url = new URL(base + path);
    if (!takesBody)
      for (const [key, value] of Object.entries(fields))
        if (value !== undefined)
          url.searchParams.set(key, typeof value === 'string' ? value : JSON.stringify(value));
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const purpose = callOptions.purpose ?? options.purpose;
    if (purpose !== undefined) headers['x-purpose'] = purpose;
    if (takesBody) headers['content-type'] = 'application/json';
    // One key per logical call, the same on every retry: the server answers a retry from the first.
    if (route.write && route.method !== 'GET')
      headers['idempotency-key'] = callOptions.idempotencyKey ?? globalThis.crypto.randomUUID();
    const init: RequestInit = {
      method: route.method,
      headers,
      ...(takesBody ? { body: JSON.stringify(fields) } : {}),
      ...(callOptions.signal ? { signal: callOptions.signal } : {}),
    };

    for (let attempt = 0; ; attempt++) {
      const wait = (ms?: number) =>
        sleep(Math.min(maxDelay, ms ?? firstDelay * 2 ** attempt), callOptions.signal);
      let res: Response;
      try {
        res = await doFetch(url, init);
      } catch (e) {
        if (callOptions.signal?.aborted) throw e;
        if (attempt < retries) {
          await wait();
          continue;
        }
        throw new CountersignError(
          'UNREACHABLE',
          `No answer from ${base} for ${name} after ${attempt + 1} attempt(s): ${e instanceof Error ? e.message : String(e)}`,
          0,
          true,
          { cause: e instanceof Error ? e.message : String(e) },
        );
      }
      if (res.status === 503 && attempt < retries) {
        await res.body?.cancel();
        await wait(retryAfterMs(res.headers.get('retry-after')));
        continue;
      }
      return answer(name, res);
    }
  }

  const client: Record<string, unknown> = { call };
  for (const name of Object.keys(ROUTES))
    client[name.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())] = (
      input?: unknown,
      callOptions?: CallOptions,
    ) => call(name, input, callOptions);
  return Object.freeze(client) as unknown as CountersignClient;
}

/** The answer's JSON, or the CountersignError its error body describes. */
async function answer(name: string, res: Response): Promise<never> {
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (res.ok && body !== undefined) return body as never;
  const wire = (body as { error?: Record<string, unknown> } | null | undefined)?.error;
  if (wire && typeof wire.code === 'string')
    throw new CountersignError(
      wire.code as CountersignError['code'],
      typeof wire.message === 'string' ? wire.message : `${name} failed (${res.status}).`,
      res.status,
      wire.retryable === true,
      (wire.details ?? {}) as CountersignError['details'],
    );
  throw new CountersignError(
    'INTERNAL',
    `${name}: the server answered ${res.status} without a Countersign error body.`,
    res.status,
    res.status >= 500,
  );
}

/** Retry-After in milliseconds (seconds or an HTTP date), when the server sent one. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
