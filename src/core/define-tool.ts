import { z } from 'zod';
import type { JsonObject, RiskClass } from './model.js';
import type { ToolContext, ToolDefinition } from './ports/tools.js';
import { fieldIssues } from './validation.js';

export interface ToolSpec<S extends z.ZodType<JsonObject, JsonObject>> {
  name: string;
  description: string;
  risk: RiskClass;
  idempotent?: boolean;
  input: S;
  plan(params: z.output<S>, ctx: ToolContext): Promise<JsonObject>;
  apply(params: z.output<S>, ctx: ToolContext): Promise<JsonObject>;
  /** One sentence a reviewer reads: what this call will do (at most 300 characters). */
  describe?(params: z.output<S>): string;
}

/**
 * Defines a tool from a zod schema: the schema validates parameters (naming each bad field)
 * and is published as the tool's JSON Schema.
 *
 * @example
 * defineTool({ name: 'noop', description: 'Does nothing', risk: 'read',
 *   input: z.object({}), plan: async () => ({}), apply: async () => ({ ok: true }),
 *   describe: () => 'Do nothing at all.' });
 */
export function defineTool<S extends z.ZodType<JsonObject, JsonObject>>(
  spec: ToolSpec<S>,
): ToolDefinition {
  const inputSchema = z.toJSONSchema(spec.input, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonObject;
  return Object.freeze({
    name: spec.name,
    description: spec.description,
    risk: spec.risk,
    idempotent: spec.idempotent ?? spec.risk === 'read',
    inputSchema,
    validate(params: unknown) {
      const r = spec.input.safeParse(params);
      return r.success
        ? { ok: true as const, value: r.data }
        : { ok: false as const, issues: fieldIssues(r.error) };
    },
    plan: (params: JsonObject, ctx: ToolContext) => spec.plan(params as z.output<S>, ctx),
    apply: (params: JsonObject, ctx: ToolContext) => spec.apply(params as z.output<S>, ctx),
    ...(spec.describe
      ? { describe: (params: JsonObject) => spec.describe!(params as z.output<S>) }
      : {}),
  });
}
