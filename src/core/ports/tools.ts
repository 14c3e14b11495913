import type { FieldIssue } from '../errors.js';
import type { JsonObject, RiskClass } from '../model.js';

export interface ToolContext {
  readonly tenant_id: string;
  readonly workflow_id: string;
  readonly proposal_id: string;
  readonly execution_id: string;
  /** Stable per approved version: a tool that writes can use it to make its write idempotent. */
  readonly idempotency_key: string;
  /** The kernel's clock at the start of the execution: tools stamp times with it, never their own. */
  readonly now: string;
}

export type ValidationResult =
  | { readonly ok: true; readonly value: JsonObject }
  | { readonly ok: false; readonly issues: readonly FieldIssue[] };

/**
 * A governed tool. `plan()` says what `apply()` would do without doing it (dry-run);
 * `apply()` does it. Both return a JSON object that is recorded in the ledger.
 */
export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
  readonly risk: RiskClass;
  /** True when running twice has the same effect as once (reads are, by default). */
  readonly idempotent: boolean;
  /** JSON Schema of the parameters, shown to agents and clients. */
  readonly inputSchema: JsonObject;
  validate(params: unknown): ValidationResult;
  plan(params: JsonObject, ctx: ToolContext): Promise<JsonObject>;
  apply(params: JsonObject, ctx: ToolContext): Promise<JsonObject>;
  /**
   * What a call will do, in one sentence a reviewer reads (e.g. "Restart checkout-api in
   * eu-west-1"). Called with validated parameters when the call is proposed or edited; the
   * sentence is stored with that version, so it stays bound to the call's hash.
   */
  describe?(params: JsonObject): string;
}

/** The names a tool may have (the same rule the operations' `tool` field checks). */
export const TOOL_NAME = /^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/;

export interface ToolRegistry {
  get(name: string): ToolDefinition | undefined;
  list(): readonly ToolDefinition[];
}

/** A registry over a fixed list of tools; names must be unique. */
export function staticToolRegistry(tools: readonly ToolDefinition[]): ToolRegistry {
  const byName = new Map<string, ToolDefinition>();
  for (const tool of tools) {
    if (byName.has(tool.name)) throw new Error(`tool registered twice: ${tool.name}`);
    byName.set(tool.name, tool);
  }
  const list = [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  return { get: (name) => byName.get(name), list: () => list };
}
