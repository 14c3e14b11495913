import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../../core/canonical.js';
import { ERROR_CODES } from '../../core/errors.js';
import type { JsonValue } from '../../core/model.js';
import type { Operation } from '../operations.js';
import { HTTP_STATUS } from './errors.js';
import { IDEMPOTENCY_KEY_PATTERN, PURPOSE_MAX, PURPOSE_PATTERN } from './request-headers.js';

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

/** The JSON Schema of a zod schema, as an OpenAPI 3.1 schema object (no `$schema`). */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
}

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

function errorResponses(): Json {
  const byStatus = new Map<number, string[]>();
  for (const [code, status] of Object.entries(HTTP_STATUS))
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  return Object.fromEntries(
    [...byStatus.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, codes]) => [
        String(status),
        {
          description: codes.join(', '),
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      ]),
  );
}

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
  if (op.write) parameters.push({ $ref: '#/components/parameters/IdempotencyKey' });
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
    description: op.description,
    tags: [op.write ? 'writes' : 'reads'],
    security: [{ bearerAuth: [] }],
    parameters,
    ...body,
    responses: {
      '200': {
        description: 'Success',
        content: { 'application/json': { schema: documented(op.output, 'output', shared) } },
      },
      ...errorResponses(),
    },
  };
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
    item[op.http.method.toLowerCase()] = operationObject(op, shared);
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
        'the same schema as the MCP tool and the CLI command of the same name (operationId).',
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
            'Repeating a request with the same key replays the first response (header Idempotent-Replayed: true); ' +
            'the same key with a different request answers 422 IDEMPOTENCY_KEY_REUSED.',
          schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN },
        },
      },
      schemas: { Error: ERROR_SCHEMA, ...Object.fromEntries(shared) },
    },
  };
}
