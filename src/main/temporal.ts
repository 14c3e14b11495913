import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { EncryptionCodec } from '../adapters/temporal/encryption-codec.js';
import { ensureKeyFile, readKeyFile } from '../adapters/temporal/key-file.js';
import { CountersignError } from '../core/errors.js';
import type { WorkflowOps } from '../core/workflow-ops.js';
import type { AnyDefinition } from '../engine/catalogue.js';
import { DEFAULT_ACTIVITY_TIMEOUTS, SEARCH_ATTRIBUTES } from '../engine/temporal/contract.js';
import { TemporalRuntime } from '../engine/temporal/temporal-runtime.js';
import { type TemporalConfig, temporalKeyFile } from './config.js';

const CONNECT_TIMEOUT_MS = 10_000;
const { IndexedValueType } = proto.temporal.api.enums.v1;
const INDEXED_TYPE = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  BOOL: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
} as const;

/**
 * The codec encrypting everything this process sends to Temporal. The data directory's key
 * file is created (0600, one random key) on first use; a file named by
 * COUNTERSIGN_TEMPORAL_KEY_FILE must exist, since a key made up here would differ from the one
 * the other processes share.
 */
export function openTemporalCodec(dataDir: string, t: TemporalConfig): EncryptionCodec {
  const file = temporalKeyFile(dataDir, t);
  if (t.keyFile !== undefined && !fs.existsSync(file))
    throw new CountersignError(
      'ENCRYPTION_KEYS_INVALID',
      `The Temporal key file ${file} (COUNTERSIGN_TEMPORAL_KEY_FILE) does not exist: create it as the README's "Encrypting what Temporal stores" shows, or unset the variable to keep the keys in the data directory.`,
      { file },
    );
  const keyring = t.keyFile !== undefined ? readKeyFile(file) : ensureKeyFile(file);
  return new EncryptionCodec(keyring, { reload: () => readKeyFile(file) });
}

/**
 * The compiled failure converter (src/engine/temporal/failure-converter.cts): beside this file's
 * build in dist/, else in the build of the checkout.
 */
export const FAILURE_CONVERTER_PATH = ((): string => {
  const beside = fileURLToPath(
    new URL('../engine/temporal/failure-converter.cjs', import.meta.url),
  );
  if (fs.existsSync(beside)) return beside;
  return fileURLToPath(
    new URL('../../dist/src/engine/temporal/failure-converter.cjs', import.meta.url),
  );
})();

/**
 * What the client and the worker convert payloads with: encrypted by `codec`, failure messages
 * and stack traces included (moved into an encoded payload). Workflow bundles take the same
 * `failureConverterPath`.
 */
export function temporalDataConverter(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath: FAILURE_CONVERTER_PATH };
}

/** Connects to the Temporal frontend; an unreachable one is a clear ENGINE_UNAVAILABLE. */
export async function connectTemporal(t: TemporalConfig): Promise<Connection> {
  try {
    return await Connection.connect({ address: t.address, connectTimeout: CONNECT_TIMEOUT_MS });
  } catch (e) {
    throw new CountersignError(
      'ENGINE_UNAVAILABLE',
      `Cannot reach Temporal at ${t.address} (COUNTERSIGN_TEMPORAL_ADDRESS): ${e instanceof Error ? e.message : String(e)}. Start one with \`temporal server start-dev\`, or unset the variable to use the embedded runtime.`,
      { address: t.address },
    );
  }
}

/**
 * Registers the search attributes runs are listed by (tenant, definition, stage, waiting on a
 * human) in the namespace when they are missing, so the Temporal UI can filter by them.
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
): Promise<void> {
  const wanted = Object.values(SEARCH_ATTRIBUTES);
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = wanted.filter((k) => !(k.name in (customAttributes ?? {})));
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, INDEXED_TYPE[k.type]])),
  });
}

/** The engine for `COUNTERSIGN_TEMPORAL_ADDRESS`: runs start and move on through Temporal. */
export async function openTemporalRuntime(
  t: TemporalConfig,
  deps: {
    /** Encrypts what the client sends (openTemporalCodec). */
    codec: PayloadCodec;
    ops: WorkflowOps;
    definitions: readonly AnyDefinition[];
    onError: (run_id: string, e: unknown) => void;
  },
): Promise<TemporalRuntime> {
  const connection = await connectTemporal(t);
  try {
    await ensureSearchAttributes(connection, t.namespace);
  } catch (e) {
    await connection.close();
    throw new CountersignError(
      'ENGINE_UNAVAILABLE',
      `Temporal at ${t.address} refused the search attributes of namespace "${t.namespace}": ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  return new TemporalRuntime({
    ops: deps.ops,
    client: new Client({
      connection,
      namespace: t.namespace,
      dataConverter: temporalDataConverter(deps.codec),
    }),
    definitions: deps.definitions,
    taskQueue: t.taskQueue,
    uiUrl: t.uiUrl,
    ...(t.heartbeatTimeoutMs !== undefined
      ? { timeouts: { ...DEFAULT_ACTIVITY_TIMEOUTS, heartbeat_ms: t.heartbeatTimeoutMs } }
      : {}),
    onError: deps.onError,
    closeConnection: () => connection.close(),
  });
}
