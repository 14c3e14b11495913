/**
 * Countersign as a library: open the store, the kernel and the workflow runtime inside your own
 * process, with tools of your own, and call the same operations the HTTP API, MCP and the CLI
 * serve.
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { createCountersign, defineTool, operatorContext } from 'countersign';
 *
 * const restart = defineTool({
 *   name: 'restart_service',
 *   description: 'Restarts a service.',
 *   risk: 'write',
 *   input: z.strictObject({ service: z.string() }),
 *   plan: async (p) => ({ would_restart: p.service }),
 *   apply: async (p) => ({ restarted: p.service }),
 * });
 * const cs = await createCountersign({ dataDir: './.countersign', tools: [restart] });
 * const admin = operatorContext('set up the team');
 * const { actor_id } = await cs.call(admin, 'register_actor', { name: 'Ops bot', role: 'Developer', kind: 'agent' });
 * const { token } = await cs.call(admin, 'create_token', { actor_id, name: 'ops-bot' });
 * // …hand `token` to the agent, serve the HTTP API with startServer, or call cs.kernel directly.
 * await cs.close();
 * ```
 *
 * The Temporal runtime is optional: with `temporal` set (or COUNTERSIGN_TEMPORAL_ADDRESS in
 * `env`) the `@temporalio/*` packages must be installed beside countersign; without it, nothing
 * of Temporal is loaded.
 */
import type { Operations } from './client/operations.js';
import type { CallContext } from './core/context.js';
import { CountersignError } from './core/errors.js';
import type { Clock } from './core/ports/clock.js';
import type { ToolDefinition } from './core/ports/tools.js';
import type { AnyDefinition } from './engine/catalogue.js';
import { type Runtime, openRuntime } from './main/compose.js';
import { type Config, configFromEnv } from './main/config.js';
import { OPERATIONS, invokeOperation, operation } from './surfaces/operations.js';

export * from './tools.js';
export {
  CountersignError,
  ERROR_CODES,
  type ErrorCode,
  type ErrorDetails,
  type FieldIssue,
  isCountersignError,
} from './core/errors.js';
export { type CallContext, OPERATOR_ID, operatorContext } from './core/context.js';
export type { Clock } from './core/ports/clock.js';
export type { Operations } from './client/operations.js';
export type { Kernel } from './core/kernel.js';
export type { WorkflowDefinition } from './engine/definition.js';
export type { AnyDefinition } from './engine/catalogue.js';
export {
  type ChangeProposalBrief,
  type PlanViolation,
  PLAN_INVARIANTS,
  changeProposalBrief,
  checkPlanInvariants,
} from './engine/plan-brief.js';
export { PLAN_ONLY_RULES, blockedByPlan, savePlanBriefTool } from './engine/plan-only.js';
export {
  DEFINITIONS,
  type Core,
  type OpenOptions,
  type Runtime,
  openConfiguredStore,
  openCore,
  openRuntime,
} from './main/compose.js';
export { type Config, type TemporalConfig, configFromEnv } from './main/config.js';
export { type RunningServer, type ServeOptions, startServer } from './main/serve.js';
export { OPERATIONS, type Operation, invokeOperation, operation } from './surfaces/operations.js';

export interface CountersignOptions {
  /** The data directory (SQLite file, keys, local state); default `./.countersign`. */
  readonly dataDir?: string;
  /** A Postgres URL: the store is Postgres instead of SQLite in the data directory. */
  readonly databaseUrl?: string;
  /** A directory of `.cedar` files replacing the default policies. */
  readonly policyDir?: string;
  /** The tenant `call` defaults nothing for; contexts name their own (default "default"). */
  readonly tenant?: string;
  /** Governed tools of your own, beside the built-in ones. */
  readonly tools?: readonly ToolDefinition[];
  /** Workflow definitions of your own, beside the built-in ones. */
  readonly definitions?: readonly AnyDefinition[];
  /** Start the engine's timers and resume interrupted runs (a long-lived process does). */
  readonly background?: boolean;
  /**
   * The COUNTERSIGN_* variables to read the rest of the configuration from (Temporal, models,
   * checkpoints…). None by default: pass `process.env` to configure as the CLI does.
   */
  readonly env?: NodeJS.ProcessEnv;
  readonly clock?: Clock;
  /** Where start-up warnings go (stderr by default). */
  readonly warn?: (line: string) => void;
}

export interface Countersign extends Runtime {
  /**
   * Runs an operation of the catalogue by name as the HTTP API, MCP and the CLI do: the
   * context's scope and acting actor are checked, the input is parsed by the operation's schema,
   * and failures are CountersignErrors with stable codes.
   */
  call<N extends keyof Operations>(
    ctx: CallContext,
    name: N,
    input: Operations[N]['input'],
  ): Promise<Operations[N]['output']>;
}

/** The configuration createCountersign opens: `env` first, then the explicit options. */
export function countersignConfig(options: CountersignOptions = {}): Config {
  const base = configFromEnv(options.env ?? {});
  return {
    ...base,
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    ...(options.databaseUrl !== undefined ? { databaseUrl: options.databaseUrl } : {}),
    ...(options.policyDir !== undefined ? { policyDir: options.policyDir } : {}),
    ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
  };
}

/**
 * Opens Countersign in this process: the store (SQLite in `dataDir`, or Postgres at
 * `databaseUrl`), the kernel with the built-in and your tools, and the workflow runtime
 * (embedded, or Temporal when configured). Close it when done.
 */
export async function createCountersign(options: CountersignOptions = {}): Promise<Countersign> {
  const runtime = await openRuntime(countersignConfig(options), {
    ...(options.tools ? { extraTools: options.tools } : {}),
    ...(options.definitions ? { definitions: options.definitions } : {}),
    ...(options.background !== undefined ? { background: options.background } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.warn ? { warn: options.warn } : {}),
    env: options.env ?? {},
  });
  return {
    ...runtime,
    call: async (ctx, name, input) => {
      if (!OPERATIONS.some((o) => o.name === name))
        throw new CountersignError('NOT_FOUND', `No operation ${String(name)} in the catalogue.`);
      return (await invokeOperation(runtime.services, operation(name), ctx, input)) as never;
    },
  };
}
