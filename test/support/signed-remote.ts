import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fake service does when a path is called. */
export type Behaviour = 'ok' | 'status500' | 'not-json' | 'array' | 'slow';

export interface SignedRequest {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
  /** Whether the signature verified under the service's own secret. */
  readonly verified: boolean;
}

export interface SignedRemote {
  readonly url: string;
  /** Every request that reached the service, signed or not. */
  readonly requests: SignedRequest[];
  /** Requests it acted on (signature valid): the service's effects. */
  readonly effects: SignedRequest[];
  behave(path: string, behaviour: Behaviour): void;
  close(): Promise<void>;
}

/**
 * A stand-in for a team's service behind HTTP tools, on 127.0.0.1. It verifies each request
 * the way the README tells a receiver to, with Node's crypto and its own copy of the secret:
 * HMAC-SHA256 over `<X-Countersign-Timestamp>.<raw body>`, compared in constant time, and a
 * timestamp within five minutes. A request that fails is answered 401 and has no effect.
 */
export async function startSignedRemote(secret: string): Promise<SignedRemote> {
  const requests: SignedRequest[] = [];
  const effects: SignedRequest[] = [];
  const behaviours = new Map<string, Behaviour>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const timestamp = String(req.headers['x-countersign-timestamp'] ?? '');
      const given = String(req.headers['x-countersign-signature'] ?? '');
      const expected = `v1=${createHmac('sha256', secret).update(`${timestamp}.${raw}`).digest('hex')}`;
      const fresh = Math.abs(Date.now() / 1000 - Number(timestamp)) <= 300;
      const verified =
        fresh &&
        given.length === expected.length &&
        timingSafeEqual(Buffer.from(given), Buffer.from(expected));
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        // recorded as an empty body
      }
      const request = { path: req.url ?? '', headers: req.headers, body, verified };
      requests.push(request);
      if (!verified) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'bad signature' }));
        return;
      }
      const behaviour = behaviours.get(req.url ?? '') ?? 'ok';
      if (behaviour === 'slow') {
        const t = setTimeout(() => res.end('{}'), 5_000);
        res.on('close', () => clearTimeout(t));
        return;
      }
      if (behaviour === 'status500') {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('database unavailable');
        return;
      }
      if (behaviour === 'not-json') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>maintenance</html>');
        return;
      }
      if (behaviour === 'array') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('[1,2,3]');
        return;
      }
      effects.push(request);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          mode: body.mode,
          done: body.mode === 'apply',
          params: body.params,
          seen_key: body.idempotency_key,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    effects,
    behave: (path, behaviour) => behaviours.set(path, behaviour),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
