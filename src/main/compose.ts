import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { CedarPolicyEngine } from '../adapters/policy/cedar-policy-engine.js';
import type { KyselyStore } from '../adapters/store/kysely-store.js';
import { openPostgresStore, openSqliteStore } from '../adapters/store/open-store.js';
import { createDemoTools } from '../adapters/tools/demo-tools.js';
import { loadGatewayTools } from '../adapters/tools/mcp-gateway.js';
import {
  OpenAiCompatibleProvider,
  openAiConfigFromEnv,
} from '../adapters/models/openai-compatible.js';
import { RulesProvider } from '../adapters/models/rules-provider.js';
import { Kernel } from '../core/kernel.js';
import { type Clock, systemClock } from '../core/ports/clock.js';
import type { ModelProvider } from '../core/ports/model.js';
import { type ToolDefinition, staticToolRegistry } from '../core/ports/tools.js';
import { WorkflowOps } from '../core/workflow-ops.js';
import { createActivities } from '../engine/activities.js';
import type { WorkflowDefinition } from '../engine/definition.js';
import { EmbeddedRuntime } from '../engine/embedded-runtime.js';
import { ModelGateway, parseAllowList } from '../engine/model-gateway.js';
import { opsChangeControl } from '../engine/workflows/ops-change-control.js';
import { safeAiAssisted } from '../engine/workflows/safe-ai-assisted.js';
import type { Services } from '../surfaces/services.js';
import type { Config } from './config.js';

export interface Runtime {
  readonly kernel: Kernel;
  readonly store: KyselyStore;
  readonly config: Config;
  /** The kernel, the workflow operations and the engine: what the front doors call. */
  readonly services: Services;
  readonly engine: EmbeddedRuntime;
  close(): Promise<void>;
}

/** The workflow definitions every runtime runs. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const DEFINITIONS: readonly WorkflowDefinition<any>[] = [opsChangeControl, safeAiAssisted];

/** The tenant setting holding a JSON array of allowed model IDs. */
export const MODEL_ALLOW_SETTING = 'models.allow';

export const SQLITE_FILE = 'countersign.sqlite';

const defaultWarn = (line: string) => process.stderr.write(`warning: ${line}\n`);

/**
 * The composition root: the only place that picks adapters. SQLite in the data directory by
 * default; Postgres when `databaseUrl` is set.
 */
export async function openRuntime(
  config: Config,
  options: {
    clock?: Clock;
    extraTools?: readonly ToolDefinition[];
    /** Start the engine's timers and resume interrupted runs (servers do; one-shot CLI calls not). */
    background?: boolean;
    env?: NodeJS.ProcessEnv;
    /** Where start-up warnings go (stderr by default: stdout may carry MCP). */
    warn?: (line: string) => void;
  } = {},
): Promise<Runtime> {
  const policy = config.policyDir
    ? CedarPolicyEngine.fromDirectory(config.policyDir)
    : CedarPolicyEngine.fromDirectory();
  const store = config.databaseUrl
    ? await openPostgresStore(config.databaseUrl)
    : await openSqliteStore(path.join(config.dataDir, SQLITE_FILE));
  const demo = createDemoTools({ dataDir: config.dataDir, webhookUrl: config.webhookUrl });
  // Downstream MCP servers configured in <data dir>/gateway.json become governed tools.
  const gateway = await loadGatewayTools({ dataDir: config.dataDir }).catch(async (e: unknown) => {
    demo.close();
    await store.close();
    throw e;
  });
  for (const warning of gateway.warnings) (options.warn ?? defaultWarn)(warning);
  const kernel = new Kernel({
    store,
    policy,
    tools: staticToolRegistry([...demo.tools, ...gateway.tools, ...(options.extraTools ?? [])]),
    clock: options.clock ?? systemClock,
    newSecret: () => randomBytes(32).toString('base64url'),
  });
  const models = modelGateway(config, store, options.env ?? process.env);
  const workflows = new WorkflowOps(kernel);
  const warn = options.warn ?? defaultWarn;
  const engine = new EmbeddedRuntime({
    ops: workflows,
    activities: createActivities({ ops: workflows, kernel, models }),
    definitions: DEFINITIONS,
    timers: options.background ?? false,
    onError: (run_id, e) =>
      warn(`workflow ${run_id} stopped: ${e instanceof Error ? e.message : String(e)}`),
  });
  // Runs a crash left mid-step resume in the background: a server listens meanwhile.
  if (options.background)
    engine
      .resume()
      .catch((e: unknown) =>
        warn(`resuming workflow runs failed: ${e instanceof Error ? e.message : String(e)}`),
      );
  return {
    kernel,
    store,
    config,
    engine,
    services: { kernel, workflows, engine },
    async close() {
      await engine.close();
      await gateway.close();
      demo.close();
      await store.close();
    },
  };
}

/**
 * The model gateway: `rules/v1` always; an OpenAI-compatible server when
 * COUNTERSIGN_OPENAI_BASE_URL is set. A tenant narrows the list with the `models.allow` setting.
 */
function modelGateway(config: Config, store: KyselyStore, env: NodeJS.ProcessEnv): ModelGateway {
  const providers = new Map<string, ModelProvider>([['rules', new RulesProvider()]]);
  const fallback = ['rules/v1'];
  const openai = openAiConfigFromEnv(env);
  if (openai) {
    providers.set('openai-compatible', new OpenAiCompatibleProvider(openai));
    fallback.push(`openai-compatible/${openai.model}`);
  }
  return new ModelGateway({
    providers,
    defaultModel: config.model ?? 'rules/v1',
    allowedModels: async (tenant_id) =>
      parseAllowList(
        await store.transaction((tx) => tx.getSetting(tenant_id, MODEL_ALLOW_SETTING)),
        fallback,
      ),
  });
}
