import type { JsonValue } from './model.js';

/** How an operation ended: its result, or the error it was refused with. */
export type Outcome =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/**
 * The answer kept for a retried request: status 200 and the result, a refusal's status and
 * error body, or status 0 and what the last transaction committed, for an operation whose door
 * composes its answer afterwards (a run's current status) and composes it again on a retry.
 */
export interface KeptAnswer {
  readonly status: number;
  readonly body: JsonValue;
}

/**
 * A request sent with an idempotency key, carried in its call context. The operation's last
 * transaction stores the answer beside the writes it answers (`Rules.final`), or a refusal's
 * transaction beside the refusal it records, so no crash can leave a committed write without
 * the answer a retry replays. `stored` turns true once one has committed.
 */
export interface ReplySlot {
  readonly key: string;
  /** What the request asked for (operation and canonical input): a key reused for another request is refused. */
  readonly fingerprint: string;
  /** The door's answer for an outcome, as it will be replayed. */
  answer(outcome: Outcome): KeptAnswer;
  stored: boolean;
}
