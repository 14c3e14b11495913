import { telemetry } from '../../core/ports/telemetry.js';
import { createHmac } from 'node:crypto';

/**
 * POSTing JSON to a webhook, shared by the checkpoint and the decision webhooks, and signing
 * it: HMAC-SHA256 over `${timestamp}.${body}` with a shared secret, hex, sent as
 * `X-Countersign-Signature: v1=<hex>` beside `X-Countersign-Timestamp` (Unix seconds). The
 * receiver recomputes it over the raw body it got and refuses a timestamp outside its window
 * (five minutes is usual), so a captured request cannot be replayed later.
 */

export const SIGNATURE_HEADER = 'x-countersign-signature';
export const TIMESTAMP_HEADER = 'x-countersign-timestamp';
export const DELIVERY_HEADER = 'x-countersign-delivery';

/** `v1=<hex>`: the HMAC-SHA256 of `${timestamp}.${body}` under `secret`. */
export function signBody(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Where a URL points, without its query (which may carry a secret), for messages. */
export function shownUrl(url: string, fallback: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return fallback;
  }
}

/** POSTs `body` (JSON text); a non-2xx answer or a timeout throws. */
export async function postJson(
  url: string,
  body: string,
  headers: Readonly<Record<string, string>> = {},
  timeoutMs = 10_000,
): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...telemetry().traceHeaders(), ...headers },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}
