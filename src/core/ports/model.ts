import type { JsonObject, JsonValue } from '../model.js';

/**
 * A language model (or a deterministic stand-in for one) that turns an agent's instructions and
 * context into a JSON value shaped by `output_schema`. Providers never see raw secrets or
 * personal data: the model gateway redacts the request before it reaches `generate`.
 */
export interface ModelRequest {
  readonly tenant_id: string;
  /** The model the tenant asked for, already checked against its allow-list. */
  readonly model: string;
  /** The agent role asking (e.g. `risk_agent`); rule-based providers dispatch on it. */
  readonly role: string;
  /** What the agent is for and how it must answer. */
  readonly instructions: string;
  /** The structured context the agent works from (already redacted). */
  readonly input: JsonObject;
  /** JSON Schema the output must satisfy; providers that support it enforce it. */
  readonly output_schema: JsonObject;
  /** A short name for the schema (`[a-zA-Z0-9_-]`, as Chat Completions requires). */
  readonly schema_name: string;
  /** Set on the retry after an invalid answer: why the first answer was refused. */
  readonly previous_error?: string | undefined;
  /** Tools the model may ask for instead of answering; absent or empty: answer at once. */
  readonly tools?: readonly ModelTool[] | undefined;
  /** The turns so far when the agent uses tools: its tool calls and their results, in order. */
  readonly messages?: readonly ModelMessage[] | undefined;
}

/** A tool offered to the model: what it does and the JSON Schema of its parameters. */
export interface ModelTool {
  readonly name: string;
  readonly description: string;
  readonly parameters: JsonObject;
}

/** One tool call the model asks for; `id` pairs it with its result. */
export interface ModelToolCall {
  readonly id: string;
  readonly name: string;
  /** The parameters as the model wrote them (an object when the model behaved). */
  readonly arguments: JsonValue;
}

/** A turn of a tool-using agent: the calls the model asked for, or one call's result. */
export type ModelMessage =
  | { readonly role: 'assistant'; readonly tool_calls: readonly ModelToolCall[] }
  | {
      readonly role: 'tool';
      readonly tool_call_id: string;
      readonly name: string;
      readonly content: JsonValue;
    };

export interface ModelUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
}

export interface ModelResponse {
  /** The parsed answer; the caller validates it against its own schema (null with tool calls). */
  readonly output: JsonValue;
  /** Set instead of an answer when the model asks for tools first (only if it was offered some). */
  readonly tool_calls?: readonly ModelToolCall[] | undefined;
  readonly usage: ModelUsage;
  /** The model that actually answered, as the provider reports it. */
  readonly model: string;
}

export interface ModelProvider {
  /** `rules`, `openai-compatible`, … */
  readonly name: string;
  generate(request: ModelRequest): Promise<ModelResponse>;
}
