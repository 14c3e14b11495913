import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** How often a request that got no answer (server unreachable, restarting) is sent again. */
const ATTEMPTS = 6;

/**
 * Calls an operation on a running server through the HTTP API, as the token's actor. A write
 * carries a fresh idempotency key, so when the server cannot be reached or is restarting the
 * request is sent again with the same key: it runs once, and a retry gets the first answer.
 */
export async function callRemote(
  server: string,
  token: string,
  purpose: string,
  op: Operation,
  input: Record<string, unknown>,
): Promise<unknown> {
  const { method, path, body } = httpRequestFor(op, input);
  const url = new URL(path, server.endsWith('/') ? server : `${server}/`);
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    'x-purpose': purpose,
    ...(body ? { 'content-type': 'application/json' } : {}),
    ...(method !== 'GET' ? { 'idempotency-key': `cli-${randomUUID()}` } : {}),
  };
  let res: Response | undefined;
  for (let attempt = 1; res === undefined; attempt++) {
    try {
      const answer = await fetch(url, {
        method,
        headers,
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(60_000),
      });
      // 503: the server is closing or its store is unavailable; the same key is safe to resend.
      if (answer.status !== 503 || attempt >= ATTEMPTS) res = answer;
      else await answer.body?.cancel();
    } catch (e) {
      if (attempt >= ATTEMPTS)
        throw new CountersignError(
          'STORE_UNAVAILABLE',
          `Cannot reach the Countersign server at ${url.origin} (${ATTEMPTS} attempts): ${e instanceof Error ? e.message : String(e)}`,
        );
    }
    if (res === undefined) await sleep(50 * 2 ** attempt);
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
