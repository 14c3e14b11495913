import type { CallContext } from '../context.js';
import type { IdempotencyRecord, JsonValue } from '../model.js';
import { type Rules, principalIdOf } from './rules.js';

/**
 * Idempotent requests (used by the HTTP surface): the first response to a principal's key is
 * stored, and a retry with the same key gets it back instead of running again.
 */
export class IdempotencyOps {
  constructor(private readonly r: Rules) {}

  async recall(ctx: CallContext, key: string): Promise<IdempotencyRecord | undefined> {
    return this.r.store.transaction((tx) =>
      tx.getIdempotency(ctx.tenant_id, principalIdOf(ctx), key),
    );
  }

  /** Stores the first response for `key`; a concurrent first write loses with CONFLICT. */
  async remember(
    ctx: CallContext,
    r: { key: string; fingerprint: string; status: number; body: JsonValue },
  ): Promise<void> {
    await this.r.store.transaction((tx) =>
      tx.putIdempotency({
        tenant_id: ctx.tenant_id,
        principal: principalIdOf(ctx),
        ...r,
        created_at: this.r.clock.now(),
      }),
    );
  }
}
