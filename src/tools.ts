/**
 * What a tools module imports to declare governed tools of its own (COUNTERSIGN_TOOLS):
 * `defineTool` and the `z` it validates parameters with (use this `z`, not another copy of zod,
 * so the schema is published as the tool's JSON Schema).
 *
 * @example
 * import { defineTool, z } from 'countersign/tools'; // or from 'countersign'
 * export default [
 *   defineTool({
 *     name: 'restart_service', description: 'Restarts a service.', risk: 'write',
 *     input: z.object({ service: z.string() }),
 *     describe: (p) => `Restart ${p.service}.`,
 *     plan: async (p) => ({ would_restart: p.service }),
 *     apply: async (p, ctx) => ({ restarted: p.service, at: ctx.now }),
 *   }),
 * ];
 */
export { z } from 'zod';
export { type ToolSpec, defineTool } from './core/define-tool.js';
export type { JsonObject, JsonValue, RiskClass } from './core/model.js';
export type { ToolContext, ToolDefinition } from './core/ports/tools.js';
