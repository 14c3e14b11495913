import { CountersignError, ERROR_CODES, type ErrorCode } from '../core/errors.js';
import type { Operation } from '../surfaces/operations.js';

/** Splits an operation's input into the HTTP path, query string and body of its route. */
export function httpRequestFor(
  op: Operation,
  input: Record<string, unknown>,
): { method: string; path: string; body: Record<string, unknown> | undefined } {
  const rest: Record<string, unknown> = { ...input };
  const path = op.http.path.replace(/\{([a-z_]+)\}/g, (_, name: string) => {
    const value = rest[name];
    delete rest[name];
    if (typeof value !== 'string' || value === '')
      throw new CountersignError('VALIDATION_FAILED', `${name} is required`, {
        issues: [{ path: name, message: 'required' }],
      });
    return encodeURIComponent(value);
  });
  if (op.http.method === 'GET' || op.http.method === 'DELETE') {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(rest)) {
      if (v === undefined) continue;
      query.set(
        k,
        typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
          ? String(v)
          : JSON.stringify(v),
      );
    }
    const qs = query.toString();
    return { method: op.http.method, path: qs ? `${path}?${qs}` : path, body: undefined };
  }
  return { method: op.http.method, path, body: rest };
}

/** Calls an operation on a running server through the HTTP API, as the token's actor. */
export async function callRemote(
  server: string,
  token: string,
  purpose: string,
  op: Operation,
  input: Record<string, unknown>,
): Promise<unknown> {
  const { method, path, body } = httpRequestFor(op, input);
  const url = new URL(path, server.endsWith('/') ? server : `${server}/`);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'x-purpose': purpose,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (e) {
    throw new CountersignError(
      'STORE_UNAVAILABLE',
      `Cannot reach the Countersign server at ${url.origin}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const text = await res.text();
  let payload: unknown;
  try {
    payload = text ? JSON.parse(text) : undefined;
  } catch {
    throw new CountersignError(
      'INTERNAL',
      `The server at ${url.origin} answered ${res.status} with something other than JSON.`,
    );
  }
  if (res.ok) return payload;
  const err = (payload as { error?: { code?: string; message?: string; details?: object } })?.error;
  const code = err?.code && err.code in ERROR_CODES ? (err.code as ErrorCode) : 'INTERNAL';
  throw new CountersignError(code, err?.message ?? `The server answered ${res.status}.`, {
    ...(err?.details ?? {}),
    http_status: res.status,
  });
}
