/**
 * The codec endpoint Temporal's UI and CLI call to read (and write) the payloads Countersign
 * encrypts: `POST {base}/decode` and `POST {base}/encode`, base `/codec`, each taking and
 * answering `{"payloads": [{"metadata": {"<key>": "<base64>"}, "data": "<base64>"}]}` (protobuf
 * JSON of Temporal payloads), as Temporal's codec server protocol says.
 *
 * Design decisions:
 * - Decoding shows personal data, so only an operator token of the server's tenant may call it
 *   (`Authorization: Bearer <token>`): no token or an unknown one is 401, an actor's token (even
 *   an admin's) or another tenant's operator is 403, in the API's error shape. The key file is
 *   the deployment's, not one tenant's, hence the one tenant.
 * - The check runs before the body is parsed, so nobody unauthenticated gets to make the server
 *   parse megabytes of JSON.
 * - CORS allows exactly one origin, the Temporal UI's (COUNTERSIGN_TEMPORAL_UI_URL), with
 *   credentials and the headers the UI sends (Authorization, Content-Type, X-Namespace); error
 *   answers carry the CORS headers too, so the UI can tell a 401 from a network failure.
 * - Bodies may be larger than the API's 1 MiB: one Temporal payload may be 2 MB, 4/3 of that in
 *   base64.
 */
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { OPERATOR_ID } from '../../core/context.js';
import { CountersignError } from '../../core/errors.js';
import type { Kernel } from '../../core/kernel.js';
import { parseInput } from '../../core/validation.js';
import { authenticate } from './app.js';
import { toHttpError } from './errors.js';

/** A Temporal payload as the codec sees it (structurally Temporal's `Payload`). */
export interface CodecPayload {
  metadata?: Record<string, Uint8Array> | null;
  data?: Uint8Array | null;
}

/** What the endpoint calls: Temporal's `PayloadCodec`, described without its SDK. */
export interface PayloadTransformer {
  encode(payloads: CodecPayload[]): Promise<CodecPayload[]>;
  decode(payloads: CodecPayload[]): Promise<CodecPayload[]>;
}

export interface CodecRouteOptions {
  readonly kernel: Kernel;
  readonly codec: PayloadTransformer;
  /** The tenant whose operator may use the codec (the server's, COUNTERSIGN_TENANT). */
  readonly tenant: string;
  /** The one browser origin allowed (the Temporal UI's); null allows none. */
  readonly allowedOrigin: string | null;
  /** Where the endpoints live; `/codec` by default. */
  readonly base?: string;
}

export const CODEC_BODY_LIMIT = 8 * 1024 * 1024;
const MAX_PAYLOADS = 10_000;
const ALLOWED_HEADERS = 'Authorization, Content-Type, X-Namespace';
const JSON_TYPE = 'application/json; charset=utf-8';

const base64 = z
  .string()
  .regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64')
  .refine((s) => s.replace(/=+$/, '').length % 4 !== 1, 'must be base64');
const RequestBody = z.object({
  payloads: z
    .array(
      z.object({
        metadata: z.record(z.string().min(1).max(256), base64).nullish(),
        data: base64.nullish(),
      }),
    )
    .max(MAX_PAYLOADS)
    // Protobuf JSON leaves an empty list out: the Temporal CLI sends `{}` for no payloads.
    .default([]),
});
type WirePayload = z.output<typeof RequestBody>['payloads'][number];

/**
 * Registers the codec endpoint. Example:
 *
 *     void app.register(codecRoute, { kernel, codec, tenant: 'default', allowedOrigin: 'http://localhost:8233' });
 */
export const codecRoute: FastifyPluginCallback<CodecRouteOptions> = (app, options, done) => {
  const base = (options.base ?? '/codec').replace(/\/+$/, '');
  const urls = [`${base}/decode`, `${base}/encode`];

  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (origin !== undefined && origin === options.allowedOrigin)
      void reply.headers({
        'access-control-allow-origin': origin,
        'access-control-allow-credentials': 'true',
        vary: 'Origin',
      });
    // Preflights carry no credentials; other methods only answer 405.
    if (req.method !== 'POST') return;
    const auth = await authenticate(options.kernel, req.headers.authorization);
    if (auth.actor_id !== OPERATOR_ID || auth.tenant_id !== options.tenant)
      throw new CountersignError(
        'POLICY_DENIED',
        `Denied: only an operator token of tenant "${options.tenant}" may use the Temporal codec endpoint; it decrypts what every run sent to Temporal.`,
        { required: 'operator' },
      );
  });

  for (const url of urls) {
    const direction = url.endsWith('/decode') ? 'decode' : 'encode';
    app.post(url, { bodyLimit: CODEC_BODY_LIMIT }, async (req, reply) => {
      const { payloads } = parseInput(RequestBody, req.body ?? {}, `${direction} request`);
      const input = payloads.map(fromWire);
      const output =
        direction === 'decode'
          ? await options.codec.decode(input)
          : await options.codec.encode(input);
      return reply.type(JSON_TYPE).send(JSON.stringify({ payloads: output.map(toWire) }));
    });
    app.options(url, (req, reply) => preflight(req, reply, options.allowedOrigin));
    app.route({
      method: ['GET', 'PUT', 'PATCH', 'DELETE'],
      url,
      handler: (req, reply) => {
        const e = toHttpError(
          new CountersignError('NOT_FOUND', `${req.method} is not allowed on ${url}; use POST.`, {
            allowed: ['POST'],
          }),
        );
        void reply
          .code(405)
          .headers({ ...e.headers, allow: 'POST, OPTIONS' })
          .type(JSON_TYPE)
          .send(JSON.stringify(e.body));
      },
    });
  }
  done();
};

/** A CORS preflight: allowed only from the configured origin, for POST. */
function preflight(req: FastifyRequest, reply: FastifyReply, allowed: string | null): void {
  const origin = req.headers.origin;
  if (origin === undefined || origin !== allowed)
    throw new CountersignError(
      'POLICY_DENIED',
      allowed === null
        ? 'No browser origin may call the codec endpoint: set COUNTERSIGN_TEMPORAL_UI_URL to the Temporal UI address.'
        : `Origin ${JSON.stringify(origin ?? null)} may not call the codec endpoint; only ${allowed} (COUNTERSIGN_TEMPORAL_UI_URL).`,
      { allowed_origin: allowed },
    );
  void reply
    .code(204)
    .headers({
      'access-control-allow-methods': 'POST, OPTIONS',
      'access-control-allow-headers': ALLOWED_HEADERS,
      'access-control-max-age': '600',
    })
    .send();
}

function fromWire(p: WirePayload): CodecPayload {
  return {
    ...(p.metadata
      ? {
          metadata: Object.fromEntries(
            Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
          ),
        }
      : {}),
    ...(p.data !== undefined && p.data !== null ? { data: Buffer.from(p.data, 'base64') } : {}),
  };
}

function toWire(p: CodecPayload): { metadata?: Record<string, string>; data?: string } {
  const b64 = (bytes: Uint8Array) =>
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return {
    ...(p.metadata
      ? { metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, b64(v)])) }
      : {}),
    ...(p.data ? { data: b64(p.data) } : {}),
  };
}
