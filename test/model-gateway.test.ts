import { describe, expect, it } from 'vitest';
import { CountersignError } from '../src/core/errors.js';
import type { ModelProvider, ModelRequest, ModelResponse } from '../src/core/ports/model.js';
import {
  type GatewayRequest,
  ModelGateway,
  parseAllowList,
  parseModelId,
} from '../src/engine/model-gateway.js';

/** Records every request it receives and answers with a fixed output and usage. */
class RecordingProvider implements ModelProvider {
  readonly requests: ModelRequest[] = [];
  constructor(
    readonly name: string,
    private readonly answer: Partial<ModelResponse> = {},
  ) {}
  async generate(request: ModelRequest): Promise<ModelResponse> {
    this.requests.push(structuredClone(request));
    return {
      output: { ok: true },
      usage: { prompt_tokens: 120, completion_tokens: 30 },
      model: request.model,
      ...this.answer,
    };
  }
}

const base: GatewayRequest = {
  tenant_id: 'acme',
  role: 'risk_agent',
  instructions: 'Assess the change.',
  input: { change: 'add an index' },
  output_schema: { type: 'object' },
  schema_name: 'risk',
};

function gateway(
  providers: ModelProvider[],
  allowed: Record<string, readonly string[]> = { acme: ['rules/v1', 'openai-compatible/llama3.1'] },
  defaultModel = 'rules/v1',
): ModelGateway {
  return new ModelGateway({
    providers: new Map(providers.map((p) => [p.name, p])),
    allowedModels: async (tenant_id) => allowed[tenant_id] ?? [],
    defaultModel,
  });
}

async function refusal(p: Promise<unknown>): Promise<CountersignError> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CountersignError);
  return e as CountersignError;
}

describe('ModelGateway', () => {
  it('uses the default model and passes the provider its model name', async () => {
    const rules = new RecordingProvider('rules');
    const answer = await gateway([rules]).generate(base);
    expect(answer.model_id).toBe('rules/v1');
    expect(rules.requests).toHaveLength(1);
    expect(rules.requests[0]?.model).toBe('v1');
    expect(rules.requests[0]?.role).toBe('risk_agent');
    expect(rules.requests[0]?.schema_name).toBe('risk');
    expect(answer.redactions).toEqual({});
  });

  it('routes a requested model to its provider and returns its usage', async () => {
    const rules = new RecordingProvider('rules');
    const openai = new RecordingProvider('openai-compatible', {
      usage: { prompt_tokens: 812, completion_tokens: 96 },
      model: 'llama3.1:8b',
    });
    const answer = await gateway([rules, openai]).generate({
      ...base,
      model: 'openai-compatible/llama3.1',
    });
    expect(rules.requests).toHaveLength(0);
    expect(openai.requests[0]?.model).toBe('llama3.1');
    expect(answer).toEqual({
      response: {
        output: { ok: true },
        usage: { prompt_tokens: 812, completion_tokens: 96 },
        model: 'llama3.1:8b',
      },
      model_id: 'openai-compatible/llama3.1',
      redactions: {},
    });
  });

  it('refuses a model outside the tenant allow-list, naming the allowed ones', async () => {
    const openai = new RecordingProvider('openai-compatible');
    const e = await refusal(
      gateway([openai]).generate({ ...base, model: 'openai-compatible/gpt-4o' }),
    );
    expect(e.code).toBe('MODEL_NOT_ALLOWED');
    expect(e.retryable).toBe(false);
    expect(e.message).toContain('openai-compatible/gpt-4o');
    expect(e.message).toContain('rules/v1, openai-compatible/llama3.1');
    expect(openai.requests).toHaveLength(0);
  });

  it('refuses every model for a tenant with an empty allow-list', async () => {
    const rules = new RecordingProvider('rules');
    const e = await refusal(gateway([rules]).generate({ ...base, tenant_id: 'other' }));
    expect(e.code).toBe('MODEL_NOT_ALLOWED');
    expect(e.message).toContain('allowed: none');
    expect(rules.requests).toHaveLength(0);
  });

  it('reports an allowed model whose provider is not configured as unavailable', async () => {
    const rules = new RecordingProvider('rules');
    const e = await refusal(
      gateway([rules]).generate({ ...base, model: 'openai-compatible/llama3.1' }),
    );
    expect(e.code).toBe('MODEL_UNAVAILABLE');
    expect(e.message).toContain('openai-compatible provider, which is not configured');
    expect(e.message).toContain('configured: rules');
    expect(rules.requests).toHaveLength(0);
  });

  it('redacts instructions, input and the previous error before the provider sees them', async () => {
    const rules = new RecordingProvider('rules');
    const secret = 'hunter2-very-secret';
    const email = 'jane.doe@example.com';
    const card = '4111 1111 1111 1111';
    const answer = await gateway([rules]).generate({
      ...base,
      instructions: `Reply to ${email}; the admin password=${secret}.`,
      input: {
        ticket: { body: `Card ${card} was charged twice; call +44 20 7946 0958.` },
        db: { host: '10.0.0.5', password: secret },
        tags: ['billing', email],
      },
      previous_error: `output/contact must not be ${email}`,
    });
    const seen = JSON.stringify(rules.requests[0]);
    for (const raw of [secret, email, card, '+44 20 7946 0958']) expect(seen).not.toContain(raw);
    expect(rules.requests[0]?.instructions).toBe(
      'Reply to [REDACTED:email]; the admin password=[REDACTED:secret].',
    );
    expect(rules.requests[0]?.input).toEqual({
      ticket: { body: 'Card [REDACTED:card] was charged twice; call [REDACTED:phone].' },
      db: { host: '10.0.0.5', password: '[REDACTED:secret]' },
      tags: ['billing', '[REDACTED:email]'],
    });
    expect(rules.requests[0]?.previous_error).toBe('output/contact must not be [REDACTED:email]');
    expect(rules.requests[0]?.output_schema).toEqual({ type: 'object' });
    expect(answer.redactions).toEqual({ email: 3, secret: 2, card: 1, phone: 1 });
  });

  it('a declared exception reveals only contact details at its paths; secrets stay hidden', async () => {
    const rules = new RecordingProvider('rules');
    const answer = await gateway([rules]).generate({
      ...base,
      input: {
        intake: {
          requested_by: 'dana@example.com',
          owner: 'lee@example.com',
          contact: 'dana@example.com password=hunter2-secret',
          api_token: 'dana@example.com',
        },
        tags: ['dana@example.com'],
      },
      reveal: [
        'intake.requested_by',
        'intake.contact',
        'intake.api_token',
        'intake.missing',
        'tags',
      ],
    });
    expect(rules.requests[0]?.input).toEqual({
      intake: {
        requested_by: 'dana@example.com',
        owner: '[REDACTED:email]',
        contact: '[REDACTED:email] password=[REDACTED:secret]',
        api_token: '[REDACTED:secret]',
      },
      tags: ['[REDACTED:email]'],
    });
    expect(answer.revealed).toEqual(['intake.requested_by']);
    expect(answer.redactions).toEqual({ email: 3, secret: 2 });
  });

  it('propagates a provider error unchanged', async () => {
    const failing: ModelProvider = {
      name: 'rules',
      generate: async () => {
        throw new CountersignError('MODEL_OUTPUT_INVALID', 'not JSON');
      },
    };
    const e = await refusal(gateway([failing]).generate(base));
    expect(e.code).toBe('MODEL_OUTPUT_INVALID');
  });
});

describe('parseModelId', () => {
  it('splits at the first slash', () => {
    expect(parseModelId('openai-compatible/meta-llama/Llama-3.1-8B')).toEqual({
      provider: 'openai-compatible',
      model: 'meta-llama/Llama-3.1-8B',
    });
  });

  it('rejects IDs without a provider', () => {
    for (const id of ['gpt-4o', '/v1', 'rules/', 'Rules/v1', 'rules/v 1']) {
      expect(() => parseModelId(id), id).toThrow(/<provider>\/<model>/);
    }
  });
});

describe('parseAllowList', () => {
  const fallback = ['rules/v1'] as const;

  it('uses the fallback only when the setting is unset or blank', () => {
    expect(parseAllowList(undefined, fallback)).toEqual(['rules/v1']);
    expect(parseAllowList('  ', fallback)).toEqual(['rules/v1']);
  });

  it('reads a JSON array of model IDs, dropping duplicates', () => {
    expect(
      parseAllowList('["openai-compatible/llama3.1", "rules/v1", "rules/v1"]', fallback),
    ).toEqual(['openai-compatible/llama3.1', 'rules/v1']);
    expect(parseAllowList('[]', fallback)).toEqual([]);
  });

  it('throws on invalid JSON instead of falling back', () => {
    let thrown: unknown;
    try {
      parseAllowList('["rules/v1",', fallback);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(CountersignError);
    expect((thrown as CountersignError).code).toBe('VALIDATION_FAILED');
    expect((thrown as CountersignError).message).toContain('is not valid JSON');
  });

  it('throws on anything but an array of model IDs', () => {
    expect(() => parseAllowList('"rules/v1"', fallback)).toThrow(/not a JSON array/);
    expect(() => parseAllowList('{"models": ["rules/v1"]}', fallback)).toThrow(/not a JSON array/);
    expect(() => parseAllowList('["rules/v1", 7]', fallback)).toThrow(/7/);
    expect(() => parseAllowList('["gpt-4o"]', fallback)).toThrow(/"gpt-4o"/);
  });
});
