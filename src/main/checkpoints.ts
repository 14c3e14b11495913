import path from 'node:path';
import { JsonlCheckpointLog } from '../adapters/audit/checkpoint-file-log.js';
import { WebhookCheckpointPublisher } from '../adapters/audit/checkpoint-webhook.js';
import { openSigningKeyFile } from '../adapters/audit/signing-key-file.js';
import type { Ed25519Signer } from '../core/audit/ed25519.js';
import { type CheckpointOutcome, Checkpointer } from '../core/audit/checkpointer.js';
import { type Clock, systemClock } from '../core/ports/clock.js';
import type { Store } from '../core/ports/store.js';
import type { Config } from './config.js';

/**
 * Where checkpoints live and how they are wired: the signing key and the log are files in the
 * data directory (or wherever COUNTERSIGN_SIGNING_KEY_FILE points), never rows of the store.
 */

export const SIGNING_KEY_FILE = 'signing-key.pem';
export const CHECKPOINT_LOG_FILE = 'checkpoints.jsonl';

export function signingKeyPath(config: Config): string {
  return config.signingKeyFile ?? path.join(config.dataDir, SIGNING_KEY_FILE);
}

export function checkpointLogPath(config: Config): string {
  return path.join(config.dataDir, CHECKPOINT_LOG_FILE);
}

/** The signing key, created (mode 0600) when `create` and it does not exist yet. */
export function openSigner(
  config: Config,
  options: { create: boolean },
): { signer: Ed25519Signer; file: string; created: boolean } {
  const file = signingKeyPath(config);
  return { ...openSigningKeyFile(file, options), file };
}

export function openCheckpointer(
  config: Config,
  store: Store,
  options: { clock?: Clock; warn?: (line: string) => void } = {},
): { checkpointer: Checkpointer; log: JsonlCheckpointLog; signer: Ed25519Signer } {
  const { signer } = openSigner(config, { create: true });
  const log = new JsonlCheckpointLog(checkpointLogPath(config));
  const checkpointer = new Checkpointer({
    store,
    signer,
    log,
    publishers: config.checkpointWebhookUrl
      ? [new WebhookCheckpointPublisher(config.checkpointWebhookUrl)]
      : [],
    clock: options.clock ?? systemClock,
    ...(options.warn ? { warn: options.warn } : {}),
  });
  return { checkpointer, log, signer };
}

export interface CheckpointSchedule {
  /** Stops the timer, lets a running pass finish, then checkpoints once more if the head moved. */
  stop(): Promise<void>;
}

/**
 * `serve`'s checkpoints: one pass at start (anchoring whatever happened while it was down),
 * then every `checkpointIntervalSeconds`, then a last one on stop; each writes only for
 * tenants whose head moved. A refusal (a ledger contradicting its checkpoints) is logged on
 * every pass: it is an alarm, not a state to get used to.
 */
export function startCheckpointSchedule(
  config: Config,
  store: Store,
  log: (line: string) => void,
): CheckpointSchedule {
  const seconds = config.checkpointIntervalSeconds;
  const off: CheckpointSchedule = { stop: () => Promise.resolve() };
  if (seconds <= 0) return off;
  let opened: ReturnType<typeof openCheckpointer>;
  try {
    opened = openCheckpointer(config, store, { warn: (l) => log(`warning: ${l}`) });
  } catch (e) {
    log(`warning: signed checkpoints are off: ${e instanceof Error ? e.message : String(e)}`);
    return off;
  }
  const { checkpointer } = opened;
  const pass = async () => {
    try {
      for (const { tenant_id, outcome } of await checkpointer.checkpointAll({ onlyIfMoved: true }))
        report(log, tenant_id, outcome);
    } catch (e) {
      log(`warning: checkpoint pass failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  let running: Promise<void> = pass();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(() => {
      running = pass().then(() => {
        if (!stopped) schedule();
      });
    }, seconds * 1000);
    timer.unref();
  };
  void running.then(() => {
    if (!stopped) schedule();
  });
  return {
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      await running;
      await pass();
    },
  };
}

/** Only what needs a human reaches the log: a written checkpoint is routine and stays quiet. */
function report(log: (line: string) => void, tenant_id: string, outcome: CheckpointOutcome): void {
  if (outcome.status === 'refused')
    log(`warning: checkpoint of tenant ${tenant_id} refused: ${outcome.reason}`);
}
