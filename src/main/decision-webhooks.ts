import { DecisionWebhookPoster } from '../adapters/notify/decision-webhook.js';
import { DecisionDeliveries } from '../core/decision-deliveries.js';
import type { Store } from '../core/ports/store.js';
import type { Config } from './config.js';

export interface DecisionWebhookSchedule {
  stop(): Promise<void>;
}

/**
 * `serve`'s decision webhooks: when COUNTERSIGN_DECISION_WEBHOOK_URL is set, every decision the
 * ledger records is POSTed there, signed, at least once (core/decision-deliveries.ts).
 */
export function startDecisionWebhooks(
  config: Config,
  store: Store,
  log: (line: string) => void,
): DecisionWebhookSchedule {
  const hook = config.decisionWebhook;
  if (!hook) return { stop: () => Promise.resolve() };
  const deliveries = new DecisionDeliveries({
    store,
    poster: new DecisionWebhookPoster(hook.url, hook.secret),
    warn: (line) => log(`warning: ${line}`),
    ...(hook.retryBaseMs !== undefined ? { baseMs: hook.retryBaseMs } : {}),
    ...(hook.retryMaxMs !== undefined ? { maxMs: hook.retryMaxMs } : {}),
    ...(hook.maxAttempts !== undefined ? { maxAttempts: hook.maxAttempts } : {}),
  });
  deliveries.start();
  return deliveries;
}
