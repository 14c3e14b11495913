import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { findTemporalCli } from '../setup/temporal-server.js';
import type { JsonObject } from '../../src/core/model.js';
import type { Config } from '../../src/main/config.js';
import { configFromEnv } from '../../src/main/config.js';
import { openTemporalCodec, temporalDataConverter } from '../../src/main/temporal.js';
import { SCENARIOS } from './sample-runs.js';

const run = promisify(execFile);

export const HISTORIES_DIR = path.resolve('test/fixtures/temporal-histories');
/**
 * The key the Temporal tests encrypt with (a test-only key, committed), so histories recorded
 * with UPDATE_TEMPORAL_HISTORIES=1 stay readable by the replay test.
 */
export const TEST_KEY_FILE = path.resolve('test/fixtures/temporal-test-keys.json');

/** Encrypts and decrypts like the processes of a `temporalConfig()`. */
export function testDataConverter(): DataConverter {
  return temporalDataConverter(
    openTemporalCodec(os.tmpdir(), {
      address: '',
      namespace: 'default',
      taskQueue: '',
      uiUrl: undefined,
      heartbeatTimeoutMs: undefined,
      keyFile: TEST_KEY_FILE,
    }),
  );
}

/**
 * A config for the Temporal runtime on a fresh data directory and its own task queue, its
 * payloads encrypted with the test key.
 */
export function temporalConfig(address: string, databaseUrl: string, label: string): Config {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `cs-temporal-${label}-`));
  return {
    ...configFromEnv({}),
    dataDir,
    databaseUrl,
    temporal: {
      address,
      namespace: 'default',
      taskQueue: `cs-${label}-${randomBytes(4).toString('hex')}`,
      uiUrl: 'http://127.0.0.1:8233/namespaces/default/workflows/{id}',
      heartbeatTimeoutMs: undefined,
      keyFile: TEST_KEY_FILE,
    },
  };
}

const WINDOW = {
  start: new Date(Date.now() - 60_000).toISOString(),
  end: new Date(Date.now() + 3_600_000).toISOString(),
};

/** The low-risk config change of the sample runs, with its window open (since this file loaded). */
export function openWindowChange(ticket: string): JsonObject {
  const base = SCENARIOS[0]!.input as Record<string, unknown>;
  return {
    ...base,
    change_request: { ...(base.change_request as JsonObject), ticket },
    change_window: WINDOW,
  };
}

/**
 * A client that reads what Countersign processes on `config` wrote (their key file's codec);
 * without a config, a bare client that sees what Temporal stores.
 */
export async function temporalClient(address: string, config?: Config): Promise<Client> {
  const connection = await Connection.connect({ address });
  if (!config?.temporal) return new Client({ connection });
  return new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: temporalDataConverter(openTemporalCodec(config.dataDir, config.temporal)),
  });
}

/** Polls until `check` returns a value (visibility in Temporal is eventually consistent). */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * With UPDATE_TEMPORAL_HISTORIES=1, keeps a finished run's history as a replay fixture
 * (test/temporal-replay.test.ts replays each one with the SDK's replayer), exported by the
 * Temporal CLI in the JSON form the Temporal UI downloads.
 */
export async function keepHistory(
  address: string,
  handle: WorkflowHandle,
  name: string,
): Promise<void> {
  if (process.env.UPDATE_TEMPORAL_HISTORIES !== '1') return;
  const cli = findTemporalCli();
  if (!cli) throw new Error('UPDATE_TEMPORAL_HISTORIES needs the Temporal CLI');
  await handle.result().catch(() => undefined);
  const { stdout } = await run(cli, [
    'workflow',
    'show',
    '--address',
    address,
    '--workflow-id',
    handle.workflowId,
    '--output',
    'json',
  ]);
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
  fs.writeFileSync(path.join(HISTORIES_DIR, `${name}.json`), stdout);
}
