import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../../core/canonical.js';
import { ERROR_CODES } from '../../core/errors.js';
import type { JsonValue } from '../../core/model.js';
import {
  PLAIN_JSON_FORBIDDEN_KEYS,
  PLAIN_JSON_MAX_DEPTH,
  plainJsonSchemas,
} from '../../core/schemas.js';
import type { Operation } from '../operations.js';
import { HTTP_STATUS } from './errors.js';
import {
  BODY_LIMIT,
  IDEMPOTENCY_KEY_PATTERN,
  PURPOSE_MAX,
  PURPOSE_PATTERN,
} from './request-bounds.js';

type Json = Record<string, unknown>;

const PURPOSE_SCHEMA: Json = {
  type: 'string',
  minLength: 1,
  maxLength: PURPOSE_MAX,
  pattern: PURPOSE_PATTERN,
};

/** `{name}` segments of an operation's path, in order. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!);
}

/**
 * The JSON Schema of a zod schema, as an OpenAPI 3.1 schema object (no `$schema`). A plain JSON
 * object (parameters, inputs, packets) refers to `PlainJsonObject` in the document's
 * components, which states what the server refuses in it at any depth.
 */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      if (!plainJsonSchemas.get(zodSchema)) return;
      const { description } = jsonSchema;
      for (const key of Object.keys(jsonSchema)) delete (jsonSchema as Json)[key];
      Object.assign(jsonSchema, {
        $ref: PLAIN_JSON_OBJECT_REF,
        ...(description === undefined ? {} : { description }),
      });
    },
  });
  return rest;
}

const PLAIN_JSON_OBJECT_REF = '#/components/schemas/PlainJsonObject';
const PLAIN_JSON_VALUE_REF = '#/components/schemas/PlainJsonValue';

/** jsonObject (core/schemas.ts) in JSON Schema: every level refuses the same keys. */
const PLAIN_JSON_SCHEMAS: Record<string, Json> = {
  PlainJsonObject: {
    type: 'object',
    description:
      `A JSON object. No object in it, at any depth, has the key ${PLAIN_JSON_FORBIDDEN_KEYS.map((k) => `"${k}"`).join(', ')}, ` +
      `and it nests at most ${PLAIN_JSON_MAX_DEPTH} levels deep.`,
    propertyNames: { not: { enum: [...PLAIN_JSON_FORBIDDEN_KEYS] } },
    additionalProperties: { $ref: PLAIN_JSON_VALUE_REF },
  },
  PlainJsonValue: {
    anyOf: [
      { type: 'string' },
      { type: 'number' },
      { type: 'boolean' },
      { type: 'null' },
      { type: 'array', items: { $ref: PLAIN_JSON_VALUE_REF } },
      { $ref: PLAIN_JSON_OBJECT_REF },
    ],
  },
};

/** Whether the operation's input comes in a JSON body (else in the query string). */
export function takesBody(op: Operation): boolean {
  return op.http.method !== 'GET' && op.http.method !== 'DELETE';
}

/** The body fields a request must send: the input's required fields the path does not carry. */
export function requiredBodyFields(op: Operation): string[] {
  if (!takesBody(op)) return [];
  const inPath = pathParams(op.http.path);
  return requiredOf(jsonSchemaOf(op.input, 'input')).filter((k) => !inPath.includes(k));
}

function propertiesOf(schema: Json): Record<string, Json> {
  const p = schema.properties;
  return p && typeof p === 'object' ? (p as Record<string, Json>) : {};
}

function requiredOf(schema: Json): string[] {
  return Array.isArray(schema.required) ? (schema.required as string[]) : [];
}

/** The input schema without the fields the path carries: the request body or query. */
function withoutFields(schema: Json, fields: readonly string[]): Json {
  const properties = Object.fromEntries(
    Object.entries(propertiesOf(schema)).filter(([k]) => !fields.includes(k)),
  );
  const required = requiredOf(schema).filter((k) => !fields.includes(k));
  const { required: _all, ...rest } = schema;
  return required.length > 0 ? { ...rest, properties, required } : { ...rest, properties };
}

const ERROR_SCHEMA: Json = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'retryable', 'details'],
      properties: {
        code: { type: 'string', enum: Object.keys(ERROR_CODES) },
        message: { type: 'string' },
        retryable: { type: 'boolean' },
        details: {
          type: 'object',
          description: 'Typed details; `issues` lists each invalid field as { path, message }.',
          properties: {
            issues: {
              type: 'array',
              items: {
                type: 'object',
                required: ['path', 'message'],
                properties: { path: { type: 'string' }, message: { type: 'string' } },
              },
            },
          },
        },
      },
    },
  },
};

const ERROR_CONTENT: Json = {
  'application/json': { schema: { $ref: '#/components/schemas/Error' } },
};

/**
 * Every error status an operation can answer, with the codes behind it: those of the one
 * mapping (errors.ts), plus what the framework answers before the operation runs when it
 * reads a body (413 over BODY_LIMIT, 415 for a type other than JSON).
 */
function errorResponses(op: Operation): Json {
  const byStatus = new Map<number, string>();
  for (const [code, status] of Object.entries(HTTP_STATUS))
    byStatus.set(status, [byStatus.get(status), code].filter(Boolean).join(', '));
  byStatus.set(
    400,
    `${byStatus.get(400)}: the input does not match this document (each field in details.issues), ` +
      'or the body is not JSON',
  );
  byStatus.set(
    401,
    `${byStatus.get(401)}: no bearer token, or one that is unknown, expired or revoked`,
  );
  // Fastify reads a body for these methods, whether the operation takes one or not.
  if (op.http.method !== 'GET') {
    byStatus.set(413, `VALIDATION_FAILED: the body is larger than ${BODY_LIMIT} bytes`);
    byStatus.set(415, 'VALIDATION_FAILED: the body is not application/json');
  }
  return Object.fromEntries(
    [...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, description]) => {
        const headers = {
          ...(status === 401 ? WWW_AUTHENTICATE : {}),
          ...(isKeyed(op) ? REPLAYED : {}),
        };
        return [
          String(status),
          {
            description,
            ...(Object.keys(headers).length > 0 ? { headers } : {}),
            content: ERROR_CONTENT,
          },
        ];
      }),
  );
}

const WWW_AUTHENTICATE: Json = {
  'WWW-Authenticate': {
    required: true,
    description: 'Always "Bearer"',
    schema: { type: 'string', const: 'Bearer' },
  },
};

/** On write operations, answers given again for a repeated Idempotency-Key say so. */
const REPLAYED: Json = {
  'Idempotent-Replayed': {
    required: false,
    description:
      '"true" when this answer is the replay of an earlier request with the same Idempotency-Key',
    schema: { type: 'string', const: 'true' },
  },
};

/**
 * Named schemas shared by the document: a zod schema's own `$defs` (a recursive JSON value, for
 * one) move to `components.schemas` under a name from their content, and the references to
 * them follow, so every `$ref` resolves from the document's root.
 */
type SharedSchemas = Map<string, Json>;

function documented(schema: z.ZodType, io: 'input' | 'output', shared: SharedSchemas): Json {
  const { $defs, ...rest } = jsonSchemaOf(schema, io) as Json & { $defs?: Record<string, Json> };
  if (!$defs) return rest;
  const names = new Map(
    Object.entries($defs).map(([key, def]) => [
      key,
      `Shared_${sha256Hex(canonicalJson(def as JsonValue)).slice(0, 12)}`,
    ]),
  );
  const moved = (value: unknown): Json =>
    JSON.parse(
      JSON.stringify(value).replace(/"#\/\$defs\/([^"]+)"/g, (_, key: string) =>
        JSON.stringify(`#/components/schemas/${names.get(key) ?? key}`),
      ),
    ) as Json;
  for (const [key, def] of Object.entries($defs)) shared.set(names.get(key)!, moved(def));
  return moved(rest);
}

function operationObject(op: Operation, shared: SharedSchemas): Json {
  const input = documented(op.input, 'input', shared);
  const inPath = pathParams(op.http.path);
  const props = propertiesOf(input);
  const required = requiredOf(input);
  const parameters: Json[] = inPath.map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: props[name] ?? { type: 'string' },
  }));
  if (!takesBody(op)) {
    for (const [name, schema] of Object.entries(props)) {
      if (inPath.includes(name)) continue;
      parameters.push({ name, in: 'query', required: required.includes(name), schema });
    }
  }
  parameters.push({
    $ref: op.privileged
      ? '#/components/parameters/PurposeRequired'
      : '#/components/parameters/Purpose',
  });
  if (isKeyed(op)) parameters.push({ $ref: '#/components/parameters/IdempotencyKey' });
  const bodySchema = withoutFields(input, inPath);
  const body = takesBody(op)
    ? {
        requestBody: {
          // Without a body the input is {}: a body is required when that cannot be valid.
          required: requiredOf(bodySchema).length > 0,
          content: { 'application/json': { schema: bodySchema } },
        },
      }
    : {};
  return {
    operationId: op.name,
    summary: op.title,
    description:
      op.write && op.http.method === 'GET'
        ? `${op.description} HEAD is not served here (405): this read is recorded, and a HEAD request must change nothing.`
        : op.description,
    tags: [op.write ? 'writes' : 'reads'],
    security: [{ bearerAuth: [] }],
    parameters,
    ...body,
    responses: {
      '200': {
        description: 'Success',
        ...(isKeyed(op) ? { headers: REPLAYED } : {}),
        content: { 'application/json': { schema: documented(op.output, 'output', shared) } },
      },
      ...errorResponses(op),
    },
  };
}

/**
 * Where an ID one operation returns is a path parameter of others: the document's links, for
 * clients and for a stateful fuzzer. Written out rather than inferred from names: a
 * `workflow_id` from start_workflow (workflow_<n>) is no run for get_workflow_status.
 */
const LINKS: Readonly<Record<string, { readonly field: string; readonly to: readonly string[] }>> =
  {
    start_workflow: { field: 'workflow_id', to: ['get_workflow', 'get_audit_log'] },
    propose_action: {
      field: 'proposal_id',
      to: ['get_proposal', 'plan_action', 'review_action', 'revise_action', 'execute_action'],
    },
    start_workflow_run: {
      field: 'workflow_id',
      to: [
        'get_workflow',
        'get_audit_log',
        'get_workflow_status',
        'validate_trace',
        'cancel_workflow_run',
      ],
    },
    request_approval: { field: 'id', to: ['get_approval', 'decide_approval'] },
    create_token: { field: 'token_id', to: ['revoke_token'] },
    book_work_package: { field: 'id', to: ['get_work_package', 'move_work_package'] },
    move_work_package: { field: 'id', to: ['get_work_package', 'move_work_package'] },
  };

function linksOf(op: Operation, operations: readonly Operation[]): Json | undefined {
  const link = LINKS[op.name];
  if (!link) return undefined;
  return Object.fromEntries(
    link.to.map((name) => {
      const target = operations.find((o) => o.name === name);
      const [param] = target ? pathParams(target.http.path) : [];
      if (!param) throw new Error(`link from ${op.name}: ${name} has no path parameter`);
      return [
        name,
        { operationId: name, parameters: { [param]: `$response.body#/${link.field}` } },
      ];
    }),
  );
}

/** The OpenAPI 3.1 document of the HTTP API, generated from the operations' zod schemas. */
export function buildOpenApi(
  operations: readonly Operation[],
  info: { title?: string; version?: string } = {},
): Json {
  const paths: Record<string, Json> = {};
  const shared: SharedSchemas = new Map();
  for (const op of operations) {
    const item = (paths[op.http.path] ??= {});
    const o = operationObject(op, shared);
    const links = linksOf(op, operations);
    if (links) (o.responses as Record<string, Json>)['200']!.links = links;
    item[op.http.method.toLowerCase()] = o;
  }
  paths['/healthz'] = {
    get: {
      operationId: 'healthz',
      summary: 'Liveness check',
      security: [],
      responses: {
        '200': {
          description: 'The server is up',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['ok'],
                properties: { ok: { type: 'boolean', const: true } },
              },
            },
          },
        },
      },
    },
  };
  paths['/openapi.json'] = {
    get: {
      operationId: 'openapi',
      summary: 'This document',
      security: [],
      responses: {
        '200': { description: 'OpenAPI 3.1 document', content: { 'application/json': {} } },
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: info.title ?? 'Countersign',
      version: info.version ?? '0.1.0',
      description:
        'Governed execution of AI-agent actions. Every route is one Countersign operation, validated by ' +
        'the same schema as the MCP tool and the CLI command of the same name (operationId). ' +
        'A method a path does not list answers 405 with an Allow header naming the ones it does ' +
        '(HEAD with GET, except on recorded reads); a path not listed answers 404. Errors have one ' +
        'shape (components.schemas.Error) with a stable code.',
    },
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API token (cs_…) bound to one actor, or the operator, in one tenant.',
        },
      },
      parameters: {
        Purpose: {
          name: 'X-Purpose',
          in: 'header',
          required: false,
          description:
            'Why the call is made; recorded in the ledger. Absent: "api:<operation>" is recorded. ' +
            'Sent empty or blank: 400 VALIDATION_FAILED.',
          schema: PURPOSE_SCHEMA,
        },
        PurposeRequired: {
          name: 'X-Purpose',
          in: 'header',
          required: true,
          description:
            'Why the call is made; required on privileged operations (absent: 403 POLICY_DENIED) and ' +
            'recorded in the ledger. Sent empty or blank: 400 VALIDATION_FAILED.',
          schema: PURPOSE_SCHEMA,
        },
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'Repeating a request with the same key replays the first response (header Idempotent-Replayed: true) ' +
            'instead of running it again: the answer commits in the same transaction as the write. ' +
            'The same key with a different request answers 422 IDEMPOTENCY_KEY_REUSED. Answers are kept for the ' +
            "server's retention period (default a day) and whole up to its size cap (default 256 KiB).",
          schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN },
        },
      },
      schemas: { Error: ERROR_SCHEMA, ...PLAIN_JSON_SCHEMAS, ...Object.fromEntries(shared) },
    },
  };
}

/** Whether a route takes an Idempotency-Key: writes, but not the reads that are recorded. */
function isKeyed(op: Operation): boolean {
  return op.write && op.http.method !== 'GET';
}
