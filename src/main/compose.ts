import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { CedarPolicyEngine } from '../adapters/policy/cedar-policy-engine.js';
import type { KyselyStore } from '../adapters/store/kysely-store.js';
import { openPostgresStore, openSqliteStore } from '../adapters/store/open-store.js';
import { createDemoTools } from '../adapters/tools/demo-tools.js';
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

/**
 * The composition root: the only place that picks adapters. SQLite in the data directory by
 * default; Postgres when `databaseUrl` is set.
 */
export async function openRuntime(
  config: Config,
  options: { clock?: Clock; extraTools?: readonly ToolDefinition[] } = {},
): Promise<Runtime> {
  const policy = config.policyDir
    ? CedarPolicyEngine.fromDirectory(config.policyDir)
    : CedarPolicyEngine.fromDirectory();
  const store = config.databaseUrl
    ? await openPostgresStore(config.databaseUrl)
    : await openSqliteStore(path.join(config.dataDir, SQLITE_FILE));
  const demo = createDemoTools({ dataDir: config.dataDir, webhookUrl: config.webhookUrl });
  const kernel = new Kernel({
    store,
    policy,
    tools: staticToolRegistry([...demo.tools, ...(options.extraTools ?? [])]),
    clock: options.clock ?? systemClock,
    newSecret: () => randomBytes(32).toString('base64url'),
  });
  return {
    kernel,
    store,
    config,
    async close() {
      demo.close();
      await store.close();
    },
  };
}
