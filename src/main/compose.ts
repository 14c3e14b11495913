import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { CedarPolicyEngine, cedarWorkbench } from '../adapters/policy/cedar-policy-engine.js';
import type { KyselyStore } from '../adapters/store/kysely-store.js';
import { openPostgresStore, openSqliteStore } from '../adapters/store/open-store.js';
import { createDemoReadTools } from '../adapters/tools/demo-read-tools.js';
import { createDemoTools } from '../adapters/tools/demo-tools.js';
import { loadGatewayTools } from '../adapters/tools/mcp-gateway.js';
import {
  OpenAiCompatibleProvider,
  openAiConfigFromEnv,
} from '../adapters/models/openai-compatible.js';
import { RulesProvider } from '../adapters/models/rules-provider.js';
import { CountersignError } from '../core/errors.js';
import { Kernel } from '../core/kernel.js';
import { type Clock, systemClock } from '../core/ports/clock.js';
import type { ModelProvider } from '../core/ports/model.js';
import { type ToolDefinition, staticToolRegistry } from '../core/ports/tools.js';
import { WorkflowOps } from '../core/workflow-ops.js';
import { type Activities, createActivities } from '../engine/activities.js';
import { EmbeddedRuntime } from '../engine/embedded-runtime.js';
import { ModelGateway, parseAllowList } from '../engine/model-gateway.js';
import type { WorkflowEngine } from '../engine/port.js';
import type { TemporalRuntime } from '../engine/temporal/temporal-runtime.js';
import type { AnyDefinition } from '../engine/catalogue.js';
import { DEFINITIONS } from '../engine/workflows/index.js';
import type { Services } from '../surfaces/services.js';
import type { Config } from './config.js';
import { loadTemporal } from './optional-packages.js';
import { loadOwnTools } from './tools-config.js';
import {
  observedActivities,
  observedPolicy,
  observedStore,
  observedTool,
  openTelemetry,
} from './telemetry.js';
import { installTelemetry, noopTelemetry, telemetry } from '../core/ports/telemetry.js';

/** What every process builds on: the store, the kernel, workflow operations and activities. */
export interface Core {
  readonly kernel: Kernel;
  readonly store: KyselyStore;
  readonly config: Config;
  readonly workflows: WorkflowOps;
  /** The side effects of workflow steps, for the embedded runtime or a Temporal worker. */
  readonly activities: Activities;
  close(): Promise<void>;
}

export interface Runtime extends Core {
  /** The kernel, the workflow operations and the engine: what the front doors call. */
  readonly services: Services;
  readonly engine: WorkflowEngine;
  /** The embedded runtime, when it is the engine (tests drive its timers). */
  readonly embedded: EmbeddedRuntime | undefined;
}

export { DEFINITIONS };

/** The tenant setting holding a JSON array of allowed model IDs. */
export const MODEL_ALLOW_SETTING = 'models.allow';

export const SQLITE_FILE = 'countersign.sqlite';

const defaultWarn = (line: string) => process.stderr.write(`warning: ${line}\n`);

export interface OpenOptions {
  clock?: Clock;
  extraTools?: readonly ToolDefinition[];
  /** Start the engine's timers and resume interrupted runs (servers do; one-shot CLI calls not). */
  background?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Where start-up warnings go (stderr by default: stdout may carry MCP). */
  warn?: (line: string) => void;
  /**
   * Workflow definitions of your own, beside the built-in ones. On Temporal the worker must
   * run them too: bundle a workflow module exporting `createRunWorkflow([...DEFINITIONS, ...])`
   * (startWorker's `workflowsPath`).
   */
  definitions?: readonly AnyDefinition[];
}

/** The store alone: SQLite in the data directory, or Postgres when `databaseUrl` is set. */
export function openConfiguredStore(config: Config): Promise<KyselyStore> {
  return config.databaseUrl
    ? openPostgresStore(config.databaseUrl)
    : openSqliteStore(path.join(config.dataDir, SQLITE_FILE));
}

/**
 * The composition root: the only place that picks adapters. SQLite in the data directory by
 * default; Postgres when `databaseUrl` is set.
 */
export async function openCore(config: Config, options: OpenOptions = {}): Promise<Core> {
  const policy = config.policyDir
    ? CedarPolicyEngine.fromDirectory(config.policyDir)
    : CedarPolicyEngine.fromDirectory();
  const env = options.env ?? process.env;
  // OpenTelemetry, when the OTEL_* variables ask for it: loaded before anything opens, so a
  // missing package stops the start cleanly. The gauge reads the store only once it is open.
  let store!: KyselyStore;
  const otel = await openTelemetry(env, () => store);
  const demo = createDemoTools({ dataDir: config.dataDir, webhookUrl: config.webhookUrl });
  const builtIn = [
    ...demo.tools,
    ...createDemoReadTools({ dataDir: config.dataDir }),
    ...(options.extraTools ?? []),
  ];
  // Your own tools (COUNTERSIGN_TOOLS or countersign.config.json), checked before anything opens:
  // serve, mcp, worker and the CLI all come through here, so they all see the same tools.
  let own: ToolDefinition[];
  try {
    own = await loadOwnTools({
      spec: config.tools,
      cwd: process.cwd(),
      env,
      reserved: new Set(builtIn.map((t) => t.name)),
    });
    store = await openConfiguredStore(config);
  } catch (e) {
    demo.close();
    await otel?.shutdown();
    throw e;
  }
  // Downstream MCP servers configured in <data dir>/gateway.json become governed tools.
  const gateway = await loadGatewayTools({ dataDir: config.dataDir }).catch(async (e: unknown) => {
    demo.close();
    await store.close();
    await otel?.shutdown();
    throw e;
  });
  for (const warning of gateway.warnings) (options.warn ?? defaultWarn)(warning);
  const clash = own.find((t) => gateway.tools.some((g) => g.name === t.name));
  if (clash) {
    await gateway.close();
    demo.close();
    await store.close();
    await otel?.shutdown();
    throw new CountersignError(
      'VALIDATION_FAILED',
      `The tool name "${clash.name}" is taken by a downstream MCP server's tool (gateway.json); a tool of your own cannot replace it, choose another name.`,
      { issues: [{ path: 'COUNTERSIGN_TOOLS', message: `"${clash.name}" is taken` }] },
    );
  }
  // With telemetry on, the ports are observed; off, the kernel gets them as they are.
  if (otel) installTelemetry(otel);
  const t = telemetry();
  const tools = [...builtIn, ...gateway.tools, ...own];
  const kernel = new Kernel({
    store: otel ? observedStore(store, t) : store,
    policy: otel ? observedPolicy(policy, t) : policy,
    policyWorkbench: cedarWorkbench(policy),
    tools: staticToolRegistry(otel ? tools.map((tool) => observedTool(tool, t)) : tools),
    clock: options.clock ?? systemClock,
    newSecret: () => randomBytes(32).toString('base64url'),
    idempotencyRetentionSeconds: config.idempotencyRetentionSeconds,
  });
  const models = modelGateway(config, store, env);
  const workflows = new WorkflowOps(kernel);
  const activities = createActivities({ ops: workflows, kernel, models });
  return {
    kernel,
    store,
    config,
    workflows,
    activities: otel ? observedActivities(activities, otel) : activities,
    async close() {
      await gateway.close();
      demo.close();
      await store.close();
      if (otel) {
        // Sends what is buffered (serve's stop on SIGTERM comes through here).
        await otel.shutdown();
        if (telemetry() === otel) installTelemetry(noopTelemetry);
      }
    },
  };
}

/**
 * The core plus the workflow engine: the embedded runtime by default, Temporal when
 * `config.temporal` is set (COUNTERSIGN_TEMPORAL_ADDRESS).
 */
export async function openRuntime(config: Config, options: OpenOptions = {}): Promise<Runtime> {
  const core = await openCore(config, options);
  const warn = options.warn ?? defaultWarn;
  const onError = (run_id: string, e: unknown) =>
    warn(`workflow ${run_id} stopped: ${e instanceof Error ? e.message : String(e)}`);
  let engine: WorkflowEngine;
  let embedded: EmbeddedRuntime | undefined;
  let resume: (() => Promise<void>) | undefined;
  if (config.temporal) {
    if (!config.databaseUrl && options.background)
      warn(
        'Temporal with the SQLite store works only while every worker runs on this machine; set COUNTERSIGN_DATABASE_URL to a Postgres database for workers elsewhere.',
      );
    // The Temporal SDK loads only when it is used.
    const { openTemporalCodec, openTemporalRuntime } = await loadTemporal();
    let temporal: TemporalRuntime;
    try {
      temporal = await openTemporalRuntime(config.temporal, {
        codec: openTemporalCodec(config.dataDir, config.temporal),
        ops: core.workflows,
        definitions: [...DEFINITIONS, ...(options.definitions ?? [])],
        onError,
      });
    } catch (e) {
      await core.close();
      throw e;
    }
    engine = temporal;
    resume = () => temporal.resume();
  } else {
    embedded = new EmbeddedRuntime({
      ops: core.workflows,
      activities: core.activities,
      definitions: [...DEFINITIONS, ...(options.definitions ?? [])],
      timers: options.background ?? false,
      onError,
    });
    engine = embedded;
    const e = embedded;
    resume = () => e.resume();
  }
  // Runs a crash left mid-step resume in the background: a server listens meanwhile.
  if (options.background)
    resume().catch((e: unknown) =>
      warn(`resuming workflow runs failed: ${e instanceof Error ? e.message : String(e)}`),
    );
  return {
    ...core,
    engine,
    embedded,
    services: { kernel: core.kernel, workflows: core.workflows, engine },
    async close() {
      await engine.close();
      await core.close();
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
        await store.read((tx) => tx.getSetting(tenant_id, MODEL_ALLOW_SETTING)),
        fallback,
      ),
  });
}
