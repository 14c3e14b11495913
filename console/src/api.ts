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
}

export function createApi(creds: Credentials, fetchFn: Fetch = (i, o) => fetch(i, o)): Api {
  const send = async <T>(method: string, url: string, body?: unknown, purpose?: string) => {
    const headers: Record<string, string> = {
      authorization: `Bearer ${creds.token}`,
      'x-purpose': (purpose ?? creds.purpose).trim() || 'console',
    };
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
  };
}
