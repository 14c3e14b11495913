import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  OpenAiCompatibleProvider,
  type OpenAiCompatibleConfig,
  openAiConfigFromEnv,
  strictCompatible,
} from '../src/adapters/models/openai-compatible.js';
import { opsChangeInput } from '../src/engine/workflows/ops-schemas.js';
import { z } from 'zod';
import { CountersignError } from '../src/core/errors.js';
import type { ModelRequest } from '../src/core/ports/model.js';

interface Seen {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: {
    model: string;
    temperature: number;
    messages: { role: string; content: string }[];
    response_format: {
      type: string;
      json_schema: { name: string; schema: unknown; strict: boolean };
    };
  };
}

type Reply = (seen: Seen, res: http.ServerResponse) => void;

const KEY = 'sk-test-' + 'Zq81xYv0aBcD3eFgH4iJkLmN';

/** A real HTTP server speaking just enough Chat Completions; each test sets `reply`. */
let reply: Reply = () => {
  throw new Error('no reply set');
};
const seen: Seen[] = [];
let server: http.Server;
let baseUrl: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = {
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Seen['body'],
      };
      seen.push(s);
      reply(s, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterEach(() => {
  seen.length = 0;
  server.closeAllConnections();
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function completion(content: string | null, extra: Record<string, unknown> = {}): unknown {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1767225600,
    model: 'llama3.1:8b-instruct-q4',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null },
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 57, completion_tokens: 12, total_tokens: 69 },
    ...extra,
  };
}

const schema = {
  type: 'object',
  properties: { risk: { type: 'string', enum: ['low', 'high'] } },
  required: ['risk'],
  additionalProperties: false,
};

const request: ModelRequest = {
  tenant_id: 'acme',
  model: 'llama3.1',
  role: 'risk_agent',
  instructions: 'You assess database change risk.',
  input: { change: 'add an index on orders(created_at)' },
  output_schema: schema,
  schema_name: 'risk_assessment',
};

function provider(config: Partial<OpenAiCompatibleConfig> = {}): OpenAiCompatibleProvider {
  return new OpenAiCompatibleProvider({ baseUrl, apiKey: KEY, model: 'fallback-model', ...config });
}

async function failure(p: Promise<unknown>): Promise<CountersignError> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CountersignError);
  const err = e as CountersignError;
  // Whatever went wrong, the key and the header that carries it never reach the error.
  const wire = JSON.stringify(err.toJSON()) + err.message + String(err.stack);
  expect(wire).not.toContain(KEY);
  expect(wire).not.toContain('Bearer');
  return err;
}

describe('OpenAiCompatibleProvider over HTTP', () => {
  it('posts a structured-output chat completion and returns the parsed answer', async () => {
    reply = (_s, res) => json(res, 200, completion('{"risk":"low"}'));
    const answer = await provider().generate(request);
    expect(answer).toEqual({
      output: { risk: 'low' },
      usage: { prompt_tokens: 57, completion_tokens: 12 },
      model: 'llama3.1:8b-instruct-q4',
    });
    const [s] = seen;
    expect(s?.method).toBe('POST');
    expect(s?.url).toBe('/v1/chat/completions');
    expect(s?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(s?.headers['content-type']).toBe('application/json');
    expect(s?.body.model).toBe('llama3.1');
    expect(s?.body.temperature).toBe(0);
    expect(s?.body.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'risk_assessment', schema, strict: true },
    });
    expect(s?.body.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(s?.body.messages[0]?.content).toContain('You assess database change risk.');
    expect(s?.body.messages[0]?.content).toContain('Answer only with one JSON value');
    expect(s?.body.messages[1]?.content).toBe(JSON.stringify(request.input));
  });

  it('sends no Authorization header when no key is configured', async () => {
    reply = (_s, res) => json(res, 200, completion('{"risk":"high"}'));
    const answer = await provider({ apiKey: undefined }).generate(request);
    expect(answer.output).toEqual({ risk: 'high' });
    expect(seen[0]?.headers.authorization).toBeUndefined();
  });

  it('tells the model why its previous answer was rejected', async () => {
    reply = (_s, res) => json(res, 200, completion('{"risk":"low"}'));
    await provider().generate({ ...request, previous_error: 'output/risk must be low or high' });
    const user = seen[0]?.body.messages[1]?.content ?? '';
    expect(user.startsWith(JSON.stringify(request.input))).toBe(true);
    expect(user).toContain('Your previous answer was rejected: output/risk must be low or high');
  });

  it('falls back to the configured model, and to it again when the server names none', async () => {
    reply = (_s, res) => json(res, 200, completion('{"risk":"low"}', { model: undefined }));
    const answer = await provider({ baseUrl: `${baseUrl}/` }).generate({ ...request, model: '' });
    expect(seen[0]?.url).toBe('/v1/chat/completions');
    expect(seen[0]?.body.model).toBe('fallback-model');
    expect(answer.model).toBe('fallback-model');
  });

  it('accepts JSON inside a Markdown code fence', async () => {
    reply = (_s, res) => json(res, 200, completion('```json\n{"risk": "high"}\n```\n'));
    expect((await provider().generate(request)).output).toEqual({ risk: 'high' });
  });

  it('counts zero tokens when the server reports no usage', async () => {
    reply = (_s, res) => json(res, 200, completion('{"risk":"low"}', { usage: undefined }));
    expect((await provider().generate(request)).usage).toEqual({
      prompt_tokens: 0,
      completion_tokens: 0,
    });
  });

  it('rejects content that is not JSON as invalid output, quoting its start', async () => {
    reply = (_s, res) => json(res, 200, completion('The risk is low because it is an index.'));
    const e = await failure(provider().generate(request));
    expect(e.code).toBe('MODEL_OUTPUT_INVALID');
    expect(e.message).toContain('not valid JSON');
    expect(e.message).toContain('The risk is low because');
  });

  it('rejects empty content as invalid output', async () => {
    reply = (_s, res) =>
      json(res, 200, {
        choices: [{ message: { role: 'assistant', content: null }, finish_reason: 'length' }],
      });
    const e = await failure(provider().generate(request));
    expect(e.code).toBe('MODEL_OUTPUT_INVALID');
    expect(e.message).toContain('finish_reason: length');
  });

  it('reports a refusal with its own code', async () => {
    reply = (_s, res) =>
      json(res, 200, {
        choices: [
          { message: { role: 'assistant', content: null, refusal: 'I cannot help with that.' } },
        ],
      });
    const e = await failure(provider().generate(request));
    expect(e.code).toBe('MODEL_REFUSED');
    expect(e.message).toContain('I cannot help with that.');
  });

  it('surfaces HTTP 401 with the server message but never the key', async () => {
    reply = (s, res) =>
      json(res, 401, {
        error: {
          message: `Incorrect API key provided: ${String(s.headers.authorization).slice(7)}.`,
          type: 'invalid_request_error',
          code: 'invalid_api_key',
        },
      });
    const e = await failure(provider().generate(request));
    expect(e.code).toBe('MODEL_REQUEST_REJECTED');
    expect(e.retryable).toBe(false);
    expect(e.message).toContain('HTTP 401');
    expect(e.message).toContain('Incorrect API key provided: [REDACTED].');
    expect(e.details).toMatchObject({ status: 401, server_code: 'invalid_api_key' });
  });

  it('surfaces HTTP 500 as a retryable unavailability with the server message', async () => {
    reply = (_s, res) => json(res, 500, { error: { message: 'The server had an error.' } });
    const e = await failure(provider().generate(request));
    expect(e.code).toBe('MODEL_UNAVAILABLE');
    expect(e.retryable).toBe(true);
    expect(e.message).toContain('HTTP 500 Internal Server Error: The server had an error.');
  });

  it('surfaces an Ollama-style string error (unknown model)', async () => {
    reply = (_s, res) =>
      json(res, 404, { error: "model 'llama3.1' not found, try pulling it first" });
    const e = await failure(provider().generate(request));
    expect(e.code).toBe('MODEL_REQUEST_REJECTED');
    expect(e.message).toContain("HTTP 404 Not Found: model 'llama3.1' not found");
  });

  it('reports a 200 answer that is not JSON as a broken endpoint', async () => {
    reply = (_s, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>Welcome to nginx</html>');
    };
    const e = await failure(provider().generate(request));
    expect(e.code).toBe('MODEL_UNAVAILABLE');
    expect(e.message).toContain('is not JSON');
    expect(e.message).toContain('Welcome to nginx');
  });

  it('gives up on a slow server after timeoutMs', async () => {
    reply = (_s, res) => {
      const timer = setTimeout(() => json(res, 200, completion('{"risk":"low"}')), 5_000);
      res.on('close', () => clearTimeout(timer));
    };
    const e = await failure(provider({ timeoutMs: 150 }).generate(request));
    expect(e.code).toBe('MODEL_UNAVAILABLE');
    expect(e.message).toContain('did not answer within 150 ms');
    expect(e.details).toMatchObject({ reason: 'timeout' });
  });

  it('gives up on a server that stalls halfway through the body', async () => {
    reply = (_s, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"choices": [');
      const timer = setTimeout(() => res.end(']}'), 5_000);
      res.on('close', () => clearTimeout(timer));
    };
    const e = await failure(provider({ timeoutMs: 150 }).generate(request));
    expect(e.code).toBe('MODEL_UNAVAILABLE');
    expect(e.message).toContain('did not answer within 150 ms');
  });

  it('reports a refused connection on a closed port', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const e = await failure(provider({ baseUrl: `http://127.0.0.1:${port}/v1` }).generate(request));
    expect(e.code).toBe('MODEL_UNAVAILABLE');
    expect(e.message).toContain(`could not reach http://127.0.0.1:${port}/v1/chat/completions`);
    expect(e.message).toContain('ECONNREFUSED');
  });

  it('uses an injected fetch', async () => {
    const calls: string[] = [];
    const fake: typeof fetch = async (input) => {
      calls.push(input instanceof Request ? input.url : input.toString());
      return new Response(JSON.stringify(completion('{"risk":"low"}')), { status: 200 });
    };
    const answer = await provider({ baseUrl: 'https://models.example/v1', fetch: fake }).generate(
      request,
    );
    expect(calls).toEqual(['https://models.example/v1/chat/completions']);
    expect(answer.output).toEqual({ risk: 'low' });
  });
});

describe('openAiConfigFromEnv', () => {
  it('is undefined when no base URL is set', () => {
    expect(openAiConfigFromEnv({})).toBeUndefined();
    expect(openAiConfigFromEnv({ COUNTERSIGN_OPENAI_BASE_URL: ' ' })).toBeUndefined();
  });

  it('reads URL, model, optional key and timeout', () => {
    expect(
      openAiConfigFromEnv({
        COUNTERSIGN_OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1/',
        COUNTERSIGN_OPENAI_MODEL: 'llama3.1',
      }),
    ).toEqual({
      baseUrl: 'http://127.0.0.1:11434/v1',
      apiKey: undefined,
      model: 'llama3.1',
      timeoutMs: undefined,
    });
    expect(
      openAiConfigFromEnv({
        COUNTERSIGN_OPENAI_BASE_URL: 'https://api.openai.com/v1',
        COUNTERSIGN_OPENAI_API_KEY: KEY,
        COUNTERSIGN_OPENAI_MODEL: 'gpt-4o-mini',
        COUNTERSIGN_OPENAI_TIMEOUT_MS: '30000',
      }),
    ).toEqual({
      baseUrl: 'https://api.openai.com/v1',
      apiKey: KEY,
      model: 'gpt-4o-mini',
      timeoutMs: 30_000,
    });
  });

  function configFailure(env: NodeJS.ProcessEnv): CountersignError {
    let thrown: unknown;
    try {
      openAiConfigFromEnv(env);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(CountersignError);
    expect((thrown as CountersignError).code).toBe('VALIDATION_FAILED');
    return thrown as CountersignError;
  }

  it('rejects a malformed base URL, naming the variable', () => {
    for (const url of ['localhost:11434/v1', '127.0.0.1:11434', 'ftp://models.example/v1']) {
      const e = configFailure({
        COUNTERSIGN_OPENAI_BASE_URL: url,
        COUNTERSIGN_OPENAI_MODEL: 'llama3.1',
      });
      expect(e.message).toContain('COUNTERSIGN_OPENAI_BASE_URL');
    }
  });

  it('rejects credentials in the base URL without repeating them', () => {
    const e = configFailure({
      COUNTERSIGN_OPENAI_BASE_URL: 'https://user:hunter2@models.example/v1',
      COUNTERSIGN_OPENAI_MODEL: 'llama3.1',
    });
    expect(e.message).toContain('COUNTERSIGN_OPENAI_API_KEY');
    expect(JSON.stringify(e.toJSON())).not.toContain('hunter2');
  });

  it('requires a model when a base URL is set', () => {
    const e = configFailure({ COUNTERSIGN_OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1' });
    expect(e.message).toContain('COUNTERSIGN_OPENAI_MODEL is required');
  });

  it('rejects a timeout that is not a positive whole number', () => {
    const e = configFailure({
      COUNTERSIGN_OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1',
      COUNTERSIGN_OPENAI_MODEL: 'llama3.1',
      COUNTERSIGN_OPENAI_TIMEOUT_MS: '10s',
    });
    expect(e.message).toContain('COUNTERSIGN_OPENAI_TIMEOUT_MS');
  });
});

describe('strict structured output', () => {
  it('is asked for only when every object requires all its properties and forbids others', () => {
    const strict = {
      type: 'object',
      properties: {
        a: { type: 'string' },
        b: {
          type: 'array',
          items: {
            type: 'object',
            properties: { c: { type: 'number' } },
            required: ['c'],
            additionalProperties: false,
          },
        },
      },
      required: ['a', 'b'],
      additionalProperties: false,
    };
    expect(strictCompatible(strict)).toBe(true);
    expect(strictCompatible({ ...strict, required: ['a'] })).toBe(false);
    expect(strictCompatible({ ...strict, additionalProperties: true })).toBe(false);
    const nested = structuredClone(strict);
    delete (nested.properties.b.items as { additionalProperties?: boolean }).additionalProperties;
    expect(strictCompatible(nested)).toBe(false);
    // The ops planner's schema has optional parts: it goes best-effort, and is validated after.
    expect(strictCompatible(z.toJSONSchema(opsChangeInput, { io: 'input' }))).toBe(false);
  });
});
