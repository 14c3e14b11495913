import { CountersignError } from '../core/errors.js';
import type { JsonObject } from '../core/model.js';
import type {
  ModelMessage,
  ModelProvider,
  ModelRequest,
  ModelResponse,
} from '../core/ports/model.js';
import { type Redactions, redactJson, redactJsonExcept, redactText } from '../core/redact.js';

export interface ModelGatewayOptions {
  /** Configured providers, keyed by provider name (`rules`, `openai-compatible`). */
  readonly providers: ReadonlyMap<string, ModelProvider>;
  /** The model IDs a tenant may use, e.g. from its settings through `parseAllowList`. */
  readonly allowedModels: (tenant_id: string) => Promise<readonly string[]>;
  /** Used when a request names no model, e.g. `rules/v1`. */
  readonly defaultModel: string;
}

export type GatewayRequest = Omit<ModelRequest, 'model'> & {
  readonly model?: string | undefined;
  /** Input paths left unredacted when they hold only contact details (redactJsonExcept). */
  readonly reveal?: readonly string[] | undefined;
};

export interface GatewayAnswer {
  readonly response: ModelResponse;
  /** The `<provider>/<model>` ID that answered. */
  readonly model_id: string;
  /** What was redacted from the request before the provider saw it, per kind. */
  readonly redactions: Redactions;
  /** Set when the request declared `reveal`: the paths the provider saw as they are. */
  readonly revealed?: readonly string[];
}

/** `<provider>/<model>`: the provider name, a slash, then the provider's model name. */
const MODEL_ID = /^([a-z0-9][a-z0-9_.-]*)\/(\S+)$/;

/**
 * Splits a model ID at its first slash; the model part may hold more slashes
 * (`openai-compatible/meta-llama/Llama-3.1-8B`).
 */
export function parseModelId(id: string): { provider: string; model: string } {
  const m = MODEL_ID.exec(id);
  if (!m?.[1] || !m[2]) {
    throw new CountersignError(
      'VALIDATION_FAILED',
      `Model ID "${id}" is not of the form <provider>/<model>, e.g. rules/v1 or openai-compatible/llama3.1.`,
      { issues: [{ path: 'model', message: 'expected <provider>/<model>' }] },
    );
  }
  return { provider: m[1], model: m[2] };
}

/**
 * Reads a tenant's model allow-list setting: a JSON array of model IDs. An unset or blank
 * setting means `fallback`; anything else that is not such an array is an error, so a typo
 * never silently widens or narrows what a tenant may use.
 *
 * @example
 * parseAllowList('["rules/v1", "openai-compatible/llama3.1"]', ['rules/v1'])
 */
export function parseAllowList(setting: string | undefined, fallback: readonly string[]): string[] {
  if (setting === undefined || setting.trim() === '') return [...fallback];
  const invalid = (why: string): CountersignError =>
    new CountersignError(
      'VALIDATION_FAILED',
      `The model allow-list setting ${why}; expected a JSON array of model IDs such as ` +
        `["rules/v1", "openai-compatible/llama3.1"].`,
      { issues: [{ path: 'allowed_models', message: why }] },
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(setting);
  } catch {
    throw invalid('is not valid JSON');
  }
  if (!Array.isArray(parsed)) throw invalid('is not a JSON array');
  const ids: string[] = [];
  for (const entry of parsed) {
    if (typeof entry !== 'string' || !MODEL_ID.test(entry)) {
      throw invalid(`has an entry that is not a <provider>/<model> ID: ${JSON.stringify(entry)}`);
    }
    if (!ids.includes(entry)) ids.push(entry);
  }
  return ids;
}

function addCounts(into: Redactions, from: Redactions): void {
  for (const [kind, n] of Object.entries(from)) into[kind] = (into[kind] ?? 0) + n;
}

/**
 * The one way the engine reaches a model: checks the tenant's allow-list, picks the provider
 * from the model ID, and redacts secrets and personal data from the request so the provider
 * never sees them.
 *
 * @example
 * const gateway = new ModelGateway({
 *   providers: new Map([['rules', rulesProvider]]),
 *   allowedModels: async () => ['rules/v1'],
 *   defaultModel: 'rules/v1',
 * });
 * const { response, model_id, redactions } = await gateway.generate(request);
 */
export class ModelGateway {
  constructor(private readonly options: ModelGatewayOptions) {}

  async generate(request: GatewayRequest): Promise<GatewayAnswer> {
    const model_id = request.model ?? this.options.defaultModel;
    const allowed = await this.options.allowedModels(request.tenant_id);
    if (!allowed.includes(model_id)) {
      throw new CountersignError(
        'MODEL_NOT_ALLOWED',
        `Model ${model_id} is not allowed for tenant ${request.tenant_id}; allowed: ` +
          (allowed.length > 0 ? allowed.join(', ') : 'none') +
          '.',
        { model: model_id, allowed: [...allowed] },
      );
    }
    const { provider: providerName, model } = parseModelId(model_id);
    const provider = this.options.providers.get(providerName);
    if (!provider) {
      const configured = [...this.options.providers.keys()];
      throw new CountersignError(
        'MODEL_UNAVAILABLE',
        `Model ${model_id} needs the ${providerName} provider, which is not configured here; ` +
          `configured: ${configured.length > 0 ? configured.join(', ') : 'none'}.`,
        { model: model_id, provider: providerName },
      );
    }
    const redactions: Redactions = {};
    const instructions = redactText(request.instructions);
    const input: { value: JsonObject; redactions: Redactions; revealed?: string[] } = request.reveal
      ?.length
      ? redactJsonExcept(request.input, request.reveal)
      : redactJson(request.input);
    addCounts(redactions, instructions.redactions);
    addCounts(redactions, input.redactions);
    let previous_error: string | undefined;
    if (request.previous_error !== undefined) {
      const redacted = redactText(request.previous_error);
      addCounts(redactions, redacted.redactions);
      previous_error = redacted.text;
    }
    // Tool results are context like the input: what a tool returned is redacted the same way.
    let messages: ModelMessage[] | undefined;
    if (request.messages !== undefined) {
      messages = request.messages.map((m): ModelMessage => {
        if (m.role === 'tool') {
          const content = redactJson(m.content);
          addCounts(redactions, content.redactions);
          return { ...m, content: content.value };
        }
        return {
          role: 'assistant',
          tool_calls: m.tool_calls.map((c) => {
            const args = redactJson(c.arguments);
            addCounts(redactions, args.redactions);
            return { ...c, arguments: args.value };
          }),
        };
      });
    }
    const response = await provider.generate({
      tenant_id: request.tenant_id,
      model,
      role: request.role,
      instructions: instructions.text,
      input: input.value,
      output_schema: request.output_schema,
      schema_name: request.schema_name,
      previous_error,
      ...(request.tools?.length ? { tools: request.tools } : {}),
      ...(messages ? { messages } : {}),
    });
    return {
      response,
      model_id,
      redactions,
      ...(input.revealed ? { revealed: input.revealed } : {}),
    };
  }
}
