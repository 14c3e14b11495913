import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  NativeConnection,
  Runtime as TemporalSdkRuntime,
  Worker,
  bundleWorkflowCode,
} from '@temporalio/worker';
import { CountersignError } from '../core/errors.js';
import {
  type TemporalActivities,
  createTemporalActivities,
} from '../engine/temporal/activities.js';
import type { PayloadCodec } from '@temporalio/common';
import type { Config, TemporalConfig } from './config.js';
import { type Core, openCore } from './compose.js';
import {
  FAILURE_CONVERTER_PATH,
  connectTemporal,
  ensureSearchAttributes,
  openTemporalCodec,
  temporalDataConverter,
} from './temporal.js';

/**
 * The compiled workflow module the worker bundles (src/engine/temporal/workflows.ts, built to
 * dist/): beside this file when it runs from dist/, else from the build of the checkout.
 */
export const WORKFLOWS_PATH = ((): string => {
  const beside = fileURLToPath(new URL('../engine/temporal/workflows.js', import.meta.url));
  if (fs.existsSync(beside)) return beside;
  return fileURLToPath(new URL('../../dist/src/engine/temporal/workflows.js', import.meta.url));
})();

export interface WorkerOptions {
  readonly log?: (line: string) => void;
  /** A workflow module of your own (exporting `countersignRun`), e.g. with more definitions. */
  readonly workflowsPath?: string;
  /** Workflows kept in the worker's cache (default: the SDK's, sized from the heap). */
  readonly maxCachedWorkflows?: number;
  /** Encrypts what the worker sends to Temporal (default: openTemporalCodec on the core's config). */
  readonly codec?: PayloadCodec;
}

export interface RunningWorker {
  /** Resolves when the worker stopped (after `stop()` or SIGINT/SIGTERM). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

let sdkRuntimeInstalled = false;

/**
 * `countersign worker`: polls the task queue and runs Countersign workflows and their
 * activities against the configured store. Stops cleanly on SIGINT or SIGTERM.
 */
export async function startWorker(
  config: Config,
  options: WorkerOptions = {},
): Promise<RunningWorker> {
  const t = config.temporal;
  if (!t)
    throw new CountersignError(
      'VALIDATION_FAILED',
      'countersign worker needs COUNTERSIGN_TEMPORAL_ADDRESS (host:port of a Temporal frontend, e.g. 127.0.0.1:7233).',
      { issues: [{ path: 'COUNTERSIGN_TEMPORAL_ADDRESS', message: 'is required' }] },
    );
  const log = options.log ?? (() => undefined);
  // A bad key file stops the worker before it connects anywhere.
  const codec = options.codec ?? openTemporalCodec(config.dataDir, t);
  if (!sdkRuntimeInstalled) {
    // The SDK logs to the console by default; the worker's own lines are enough.
    TemporalSdkRuntime.install({ logger: new QuietLogger(log) });
    sdkRuntimeInstalled = true;
  }
  const client = await connectTemporal(t);
  try {
    await ensureSearchAttributes(client, t.namespace);
  } finally {
    await client.close();
  }
  const core = await openCore(config);
  let connection: NativeConnection | undefined;
  try {
    connection = await NativeConnection.connect({ address: t.address });
    const worker = await buildWorker(core, connection, t, { ...options, log, codec });
    const conn = connection;
    const done = worker.run().finally(async () => {
      await conn.close();
      await core.close();
    });
    log(`worker polling task queue "${t.taskQueue}" on ${t.address} (namespace ${t.namespace})`);
    return {
      done,
      async stop() {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await done;
      },
    };
  } catch (e) {
    await connection?.close().catch(() => undefined);
    await core.close();
    throw e;
  }
}

/**
 * A Temporal worker for Countersign runs on an open core: the workflow bundle (built now from
 * `workflowsPath`), the activities over the core's store and kernel, payloads encrypted by the
 * codec, `reuseV8Context` on.
 */
export async function buildWorker(
  core: Core,
  connection: NativeConnection,
  t: TemporalConfig,
  options: WorkerOptions & { activities?: TemporalActivities } = {},
): Promise<Worker> {
  const bundled = Date.now();
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: options.workflowsPath ?? WORKFLOWS_PATH,
    // Failures raised inside workflows are encoded like the worker's own.
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: new QuietLogger(() => undefined),
  });
  options.log?.(`workflow bundle ready in ${Date.now() - bundled} ms`);
  return Worker.create({
    connection,
    namespace: t.namespace,
    taskQueue: t.taskQueue,
    workflowBundle,
    dataConverter: temporalDataConverter(
      options.codec ?? openTemporalCodec(core.config.dataDir, t),
    ),
    activities:
      options.activities ??
      createTemporalActivities({ ops: core.workflows, activities: core.activities }),
    reuseV8Context: true,
    ...(options.maxCachedWorkflows !== undefined
      ? { maxCachedWorkflows: options.maxCachedWorkflows }
      : {}),
  });
}

/** The SDK's logger, reduced to warnings and errors on the worker's own output. */
class QuietLogger {
  constructor(private readonly out: (line: string) => void) {}
  log(level: string, message: string) {
    if (level === 'WARN' || level === 'ERROR')
      this.out(`temporal ${level.toLowerCase()}: ${message}`);
  }
  trace() {}
  debug() {}
  info() {}
  warn(message: string) {
    this.log('WARN', message);
  }
  error(message: string) {
    this.log('ERROR', message);
  }
}

/** `countersign worker` until SIGINT or SIGTERM. */
export async function workerCommandMain(config: Config): Promise<void> {
  const worker = await startWorker(config, {
    log: (line) => process.stderr.write(`${line}\n`),
  });
  await worker.done;
  process.stderr.write('worker stopped\n');
}
