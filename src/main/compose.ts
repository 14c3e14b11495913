import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { CedarPolicyEngine } from '../adapters/policy/cedar-policy-engine.js';
import type { KyselyStore } from '../adapters/store/kysely-store.js';
import { openPostgresStore, openSqliteStore } from '../adapters/store/open-store.js';
import { createDemoTools } from '../adapters/tools/demo-tools.js';
import { loadGatewayTools } from '../adapters/tools/mcp-gateway.js';
import { Kernel } from '../core/kernel.js';
import { type Clock, systemClock } from '../core/ports/clock.js';
import { type ToolDefinition, staticToolRegistry } from '../core/ports/tools.js';
import type { Config } from './config.js';

export interface Runtime {
  readonly kernel: Kernel;
  readonly store: KyselyStore;
  readonly config: Config;
  close(): Promise<void>;
}

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
  return {
    kernel,
    store,
    config,
    async close() {
      await gateway.close();
      demo.close();
      await store.close();
    },
  };
}
