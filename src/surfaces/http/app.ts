import type { CallContext } from '../../core/context.js';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RouteHandlerMethod,
} from 'fastify';
import { STATUS_CODES } from 'node:http';
import { tokenContext } from '../../core/context.js';
import { CountersignError, type FieldIssue } from '../../core/errors.js';
import type { Kernel } from '../../core/kernel.js';
import type { Services } from '../services.js';
import { type KeyedCalls, keyedCalls } from '../keyed-calls.js';
import { OPERATIONS, type Operation, invokeOperation } from '../operations.js';
import { type HttpError, toHttpError } from './errors.js';
import {
  buildOpenApi,
  jsonSchemaOf,
  pathParams,
  requiredBodyFields,
  takesBody,
} from './openapi.js';
import {
  BODY_LIMIT,
  IDEMPOTENCY_KEY_PATTERN,
  PURPOSE_MAX,
  PURPOSE_PATTERN,
} from './request-bounds.js';
import { RouteTable } from './route-table.js';

export interface HttpAppOptions {
  /** Fastify's own (pino) request logging; off by default. */
  readonly logger?: boolean;
  /** Receives a line for every 5xx answer, with the cause that the client never sees. */
  readonly log?: (line: string) => void;
  /** Registers more routes (the lead wires /mcp here); they share the error handling. */
  readonly extraRoutes?: (app: FastifyInstance) => void;
  /** The largest answer kept whole for idempotent replays (keyed-calls.ts). */
  readonly maxKeptBytes?: number;
}

const IDEMPOTENCY_KEY = new RegExp(IDEMPOTENCY_KEY_PATTERN);
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * The HTTP API: one route per operation of the catalogue, each through `governedRoute`
 * (bearer token → caller, X-Purpose, input from path + query/body validated by the operation's
 * schema, Idempotency-Key replay), one error handler mapping codes to statuses, and
 * `GET /openapi.json` generated from the same schemas. The caller listens.
 */
export function buildHttpApp(services: Services, options: HttpAppOptions = {}): FastifyInstance {
  const log = options.log ?? (() => undefined);
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    frameworkErrors: (error, _req, reply) => {
      sendError(reply, toHttpError(error));
    },
    clientErrorHandler: (error, socket) => {
      if ((error as { code?: string }).code === 'ECONNRESET' || socket.destroyed) return;
      if (socket.writable) {
        const status = (error as { code?: string }).code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
        const body = JSON.stringify(
          toHttpError({ statusCode: status, code: 'FST_ERR_BAD_REQUEST' }).body,
        );
        socket.write(
          `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}\r\nContent-Type: ${JSON_TYPE}\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      }
      socket.destroy();
    },
  });

  // Bodies are JSON objects or nothing: no text/plain, and an empty JSON body means {}.
  app.removeContentTypeParser('text/plain');
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') done(null, undefined);
    else
      void parseJson(req, text, (error, value) =>
        done(error && parses(text) ? prototypeKey() : error, value),
      );
  });

  app.setErrorHandler((error, req, reply) => {
    const answer = toHttpError(error);
    if (answer.status >= 500) logInternal(log, req, error);
    sendError(reply, answer);
  });

  // Every route, as registered (HEAD routes included), answers which methods a path allows.
  const table = new RouteTable();
  app.addHook('onRoute', (route) => table.add(route.method, route.url));
  app.setNotFoundHandler((req, reply) => unrouted(table, req, reply));

  app.get('/healthz', (_req, reply) => {
    void reply.send({ ok: true });
  });
  const openapi = JSON.stringify(buildOpenApi(OPERATIONS));
  app.get('/openapi.json', (_req, reply) => {
    void reply.type(JSON_TYPE).send(openapi);
  });

  const keyed = keyedCalls(services, { log, maxKeptBytes: options.maxKeptBytes });
  for (const op of OPERATIONS) {
    app.route({
      method: op.http.method,
      url: op.http.path.replace(/\{([A-Za-z_]+)\}/g, ':$1'),
      // A recorded read (the audit log) answers GET only: HEAD would record a read too.
      exposeHeadRoute: !(op.write && op.http.method === 'GET'),
      handler: governedRoute(services, op, keyed),
    });
  }
  options.extraRoutes?.(app);
  // Added last so that the hooks before it (nosniff) still run for these answers. Runs before
  // the body is read, so a method the path does not serve is a 405 whatever its body.
  app.addHook('onRequest', (req, reply, done) => {
    const url = req.is404 ? undefined : req.routeOptions.url;
    if (url !== undefined && !table.isPattern(url)) return done();
    const owner = table.owner(pathOf(req.url));
    // Routed by Fastify to the pattern that owns the path: the route answers.
    if (url !== undefined && (!owner || owner.key === table.keyOf(url))) return done();
    unrouted(table, req, reply);
  });
  return app;
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** 405 with `Allow` when the path is served with other methods, else 404. */
function unrouted(table: RouteTable, req: FastifyRequest, reply: FastifyReply): void {
  const path = pathOf(req.url);
  const allowed = table.owner(path)?.methods ?? [];
  if (allowed.length > 0 && !allowed.includes(req.method)) {
    sendError(reply, {
      ...toHttpError(
        new CountersignError(
          'NOT_FOUND',
          `${req.method} is not allowed on ${path}; use ${allowed.join(' or ')}.`,
          { allowed },
        ),
      ),
      status: 405,
      headers: { allow: allowed.join(', ') },
    });
    return;
  }
  sendError(
    reply,
    toHttpError(
      new CountersignError('NOT_FOUND', `No route ${req.method} ${path}; see GET /openapi.json.`),
    ),
  );
}

/** Fastify's parser refuses valid JSON only for a prototype key: say so, not "invalid JSON". */
function prototypeKey(): CountersignError {
  return new CountersignError(
    'VALIDATION_FAILED',
    'The request body has a "__proto__" key, or a "constructor" object with a "prototype" key; such keys are refused at any depth.',
    { issues: [{ path: '', message: 'must not have a __proto__ or constructor.prototype key' }] },
  );
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function sendError(reply: FastifyReply, e: HttpError): void {
  void reply.code(e.status).headers(e.headers).type(JSON_TYPE).send(JSON.stringify(e.body));
}

function logInternal(log: (line: string) => void, req: FastifyRequest, error: unknown): void {
  const what =
    error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : JSON.stringify(error);
  log(`error ${req.method} ${req.url.split('?')[0]}: ${what}`);
}

// ---- one wrapper for every operation ----------------------------------------------------

function governedRoute(services: Services, op: Operation, keyed: KeyedCalls): RouteHandlerMethod {
  const inPath = pathParams(op.http.path);
  const fieldTypes = queryFieldTypes(op);
  const bodyFields = requiredBodyFields(op);
  // Recorded reads (GET) are not kept: a retried read is another recorded read.
  const keyable = op.write && op.http.method !== 'GET';

  return async (req, reply) => {
    const auth = await authenticate(services.kernel, req.headers.authorization);
    const ctx = withTraceparent(
      tokenContext(auth, purposeOf(op, req.headers['x-purpose'])),
      req.headers.traceparent,
    );
    const key = keyable ? idempotencyKey(req.headers['idempotency-key']) : undefined;
    const input = inputOf(op, req, inPath, fieldTypes, bodyFields);
    if (key === undefined)
      return sendJson(reply, 200, await invokeOperation(services, op, ctx, input));
    const answer = await keyed.call(op, ctx, input, key);
    return sendJson(reply, answer.status, answer.body, answer.headers);
  };
}

/** The caller's W3C trace context, kept for the operation's span (telemetry checks its form). */
function withTraceparent(ctx: CallContext, header: string | string[] | undefined): CallContext {
  return typeof header === 'string' ? { ...ctx, traceparent: header } : ctx;
}

function sendJson(
  reply: FastifyReply,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): FastifyReply {
  return reply
    .code(status)
    .headers(headers)
    .type(JSON_TYPE)
    .send(JSON.stringify(body ?? null));
}

// ---- request parts ----------------------------------------------------------------------

/** Resolves an `Authorization: Bearer <token>` header, or throws UNAUTHENTICATED. */
export async function authenticate(kernel: Kernel, header: string | undefined) {
  if (!header)
    throw new CountersignError(
      'UNAUTHENTICATED',
      'Missing Authorization header: send "Authorization: Bearer <token>".',
    );
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!m)
    throw new CountersignError(
      'UNAUTHENTICATED',
      'The Authorization header must be "Bearer <token>".',
    );
  return kernel.authenticate(m[1]!);
}

const SAYS_SOMETHING = new RegExp(PURPOSE_PATTERN);

/**
 * The purpose recorded for a call: the X-Purpose header, or `api:<operation>` when it is absent
 * (privileged operations need one). A header sent empty, or with only whitespace, is a mistake
 * worth naming rather than a purpose or a silent default.
 */
function purposeOf(op: Operation, header: string | string[] | undefined): string {
  if (header === undefined) {
    if (op.privileged)
      throw new CountersignError(
        'POLICY_DENIED',
        `The X-Purpose header is required for ${op.name}: say why the call is made (it is recorded in the ledger).`,
        { header: 'X-Purpose', operation: op.name },
      );
    return `api:${op.name}`;
  }
  const raw = Array.isArray(header) ? header.join(', ') : header;
  if (raw.length > PURPOSE_MAX)
    throw invalid(
      'X-Purpose',
      `at most ${PURPOSE_MAX} characters`,
      `The X-Purpose header is longer than ${PURPOSE_MAX} characters.`,
    );
  if (!SAYS_SOMETHING.test(raw))
    throw invalid(
      'X-Purpose',
      'must not be empty',
      `The X-Purpose header is empty: say why the call is made (it is recorded in the ledger)${op.privileged ? '' : ', or leave the header out'}.`,
    );
  return raw.trim();
}

function idempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header !== 'string' || !IDEMPOTENCY_KEY.test(header))
    throw invalid(
      'Idempotency-Key',
      'must be 1 to 200 printable ASCII characters without spaces',
      'The Idempotency-Key header must be 1 to 200 printable ASCII characters without spaces.',
    );
  return header;
}

function invalid(path: string, message: string, summary: string): CountersignError {
  const issues: FieldIssue[] = [{ path, message }];
  return new CountersignError('VALIDATION_FAILED', summary, { issues });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The operation's input: path parameters plus the query string (GET, DELETE) or the JSON body.
 * No body at all stands for {} where the input needs no field beyond the path (the OpenAPI
 * document says the body is optional there); elsewhere it is refused like any missing field.
 */
function inputOf(
  op: Operation,
  req: FastifyRequest,
  inPath: readonly string[],
  fieldTypes: ReadonlyMap<string, ReadonlySet<string>>,
  bodyFields: readonly string[],
): Record<string, unknown> {
  const params = (req.params ?? {}) as Record<string, string>;
  const query = (req.query ?? {}) as Record<string, unknown>;
  let source: Record<string, unknown>;
  if (!takesBody(op)) {
    source = Object.fromEntries(
      Object.entries(query).map(([k, v]) => [k, coerce(v, fieldTypes.get(k))]),
    );
  } else {
    if (Object.keys(query).length > 0)
      throw invalid(
        Object.keys(query)[0]!,
        'send parameters in the JSON body',
        `${op.http.method} ${op.http.path} takes its parameters in the JSON body, not the query string.`,
      );
    if (req.body === undefined && bodyFields.length > 0)
      throw new CountersignError(
        'VALIDATION_FAILED',
        `${op.http.method} ${op.http.path} needs a JSON object body with ${bodyFields.join(', ')}.`,
        { issues: bodyFields.map((path) => ({ path, message: 'required' })) },
      );
    // A JSON null is not an object.
    const body: unknown = req.body === undefined ? {} : req.body;
    if (!isPlainObject(body))
      throw invalid('', 'must be a JSON object', 'The request body must be a JSON object.');
    source = body;
  }
  for (const name of inPath) {
    if (Object.hasOwn(source, name) && source[name] !== params[name])
      throw invalid(
        name,
        `the path says ${JSON.stringify(params[name])}`,
        `${name} differs between the path and the request: the path says ${JSON.stringify(params[name])}.`,
      );
  }
  return { ...source, ...Object.fromEntries(inPath.map((n) => [n, params[n]])) };
}

/** The JSON types each input field accepts, to read query-string values as numbers or booleans. */
function queryFieldTypes(op: Operation): Map<string, Set<string>> {
  const types = new Map<string, Set<string>>();
  if (takesBody(op)) return types;
  const schema = jsonSchemaOf(op.input, 'input');
  const props = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const collect = (s: Record<string, unknown>, into: Set<string>) => {
    if (typeof s.type === 'string') into.add(s.type);
    if (Array.isArray(s.type)) for (const t of s.type) if (typeof t === 'string') into.add(t);
    for (const k of ['anyOf', 'oneOf'] as const) {
      const alts = s[k];
      if (Array.isArray(alts)) for (const a of alts) if (isPlainObject(a)) collect(a, into);
    }
  };
  for (const [name, s] of Object.entries(props)) {
    const set = new Set<string>();
    collect(s, set);
    types.set(name, set);
  }
  return types;
}

const NUMERIC = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

/** A query-string value as the schema wants it; anything unconvertible is left for zod to refuse. */
function coerce(value: unknown, types: ReadonlySet<string> | undefined): unknown {
  if (typeof value !== 'string' || !types || types.has('string')) return value;
  if ((types.has('integer') || types.has('number')) && NUMERIC.test(value)) return Number(value);
  if (types.has('boolean') && (value === 'true' || value === 'false')) return value === 'true';
  if (types.has('null') && value === 'null') return null;
  if ((types.has('object') || types.has('array')) && /^[[{]/.test(value)) {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }
  return value;
}
