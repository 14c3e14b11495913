/**
 * The console's only way to the server: the same HTTP API every client uses, with the
 * reviewer's token and the purpose they typed (sent as X-Purpose and recorded in the ledger).
 */

export interface ApiErrorBody {
  readonly code: string;
  readonly message: string;
  readonly details?: Record<string, unknown>;
}

/** A refusal from the server, with its stable code (SELF_APPROVAL, MISSING_ROLE, …). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface Credentials {
  readonly token: string;
  readonly purpose: string;
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface Api {
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
  post<T>(path: string, body: unknown, purpose?: string): Promise<T>;
  put<T>(path: string, body: unknown, purpose?: string): Promise<T>;
  delete<T>(path: string, purpose?: string): Promise<T>;
  /**
   * Follows a server-sent event stream (`/events`) with the same token, reconnecting after a
   * drop from the last event ID it saw. Returns the function that stops it.
   */
  stream(path: string, query: Record<string, string>, on: StreamHandlers): () => void;
}

export interface StreamEvent {
  readonly id: string | undefined;
  readonly type: string;
  readonly data: string;
}

export interface StreamHandlers {
  /** The stream is open (again): what happened while it was down is worth a reload. */
  onOpen(): void;
  onEvent(e: StreamEvent): void;
  /** The stream dropped or was refused; it reconnects by itself. */
  onDrop(): void;
}

/** The first pause before reconnecting a dropped stream, doubled each time up to the cap. */
const RECONNECT_MS = 1000;
const RECONNECT_MAX_MS = 30_000;

/**
 * A server-sent event reader over fetch: EventSource cannot send the Authorization header the
 * console signs in with, and a token in a URL would end up in logs.
 */
function followStream(
  fetchFn: Fetch,
  url: string,
  headers: Record<string, string>,
  on: StreamHandlers,
): () => void {
  const abort = new AbortController();
  let lastId: string | undefined;
  let delay = RECONNECT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const connect = async () => {
    try {
      const res = await fetchFn(url, {
        headers: {
          ...headers,
          accept: 'text/event-stream',
          ...(lastId === undefined ? {} : { 'last-event-id': lastId }),
        },
        signal: abort.signal,
      });
      const type = res.headers.get('content-type') ?? '';
      if (!res.ok || !res.body || !type.startsWith('text/event-stream')) {
        await res.body?.cancel().catch(() => undefined);
        throw new Error(`stream refused: ${res.status}`);
      }
      delay = RECONNECT_MS;
      on.onOpen();
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let id: string | undefined;
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line === '' || line.startsWith(':')) continue;
            const colon = line.indexOf(':');
            const field = colon === -1 ? line : line.slice(0, colon);
            const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'id') id = value;
            else if (field === 'event') event = value;
            else if (field === 'data') data.push(value);
          }
          if (id !== undefined) lastId = id;
          if (data.length > 0) on.onEvent({ id, type: event, data: data.join('\n') });
        }
      }
    } catch {
      // Refused, dropped or stopped: reconnect below unless stopped.
    }
    if (stopped) return;
    on.onDrop();
    timer = setTimeout(() => void connect(), delay);
    delay = Math.min(delay * 2, RECONNECT_MAX_MS);
  };
  void connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    abort.abort();
  };
}

export function createApi(creds: Credentials, fetchFn: Fetch = (i, o) => fetch(i, o)): Api {
  const authHeaders = (purpose?: string): Record<string, string> => ({
    authorization: `Bearer ${creds.token}`,
    'x-purpose': (purpose ?? creds.purpose).trim() || 'console',
  });
  const send = async <T>(method: string, url: string, body?: unknown, purpose?: string) => {
    const headers = authHeaders(purpose);
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetchFn(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (e) {
      throw new ApiError(
        0,
        'NETWORK',
        `The server could not be reached (${e instanceof Error ? e.message : String(e)}).`,
      );
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      throw new ApiError(
        res.status,
        'BAD_RESPONSE',
        `The server answered ${res.status} without JSON.`,
      );
    }
    if (!res.ok) {
      const err = (parsed as { error?: ApiErrorBody } | null)?.error;
      throw new ApiError(
        res.status,
        err?.code ?? 'HTTP_' + String(res.status),
        err?.message ?? `The server answered ${res.status}.`,
        err?.details ?? {},
      );
    }
    return parsed as T;
  };
  return {
    get: (path, query = {}) => {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
      const qs = q.toString();
      return send('GET', qs ? `${path}?${qs}` : path);
    },
    post: (path, body, purpose) => send('POST', path, body, purpose),
    put: (path, body, purpose) => send('PUT', path, body, purpose),
    delete: (path, purpose) => send('DELETE', path, undefined, purpose),
    stream: (path, query, on) => {
      const qs = new URLSearchParams(query).toString();
      return followStream(fetchFn, qs ? `${path}?${qs}` : path, authHeaders(), on);
    },
  };
}
