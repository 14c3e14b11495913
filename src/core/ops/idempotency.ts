import type { CallContext } from '../context.js';
import type { IdempotencyRecord, JsonValue } from '../model.js';
import { type Rules, principalIdOf } from './rules.js';

/** How long an idempotency record is replayed before it expires, by default: a day. */
export const DEFAULT_IDEMPOTENCY_RETENTION_SECONDS = 24 * 60 * 60;

/**
 * Idempotent requests: the first answer to a principal's key is stored (by the operation's own
 * last transaction when it can, see reply.ts; here otherwise), and a retry with the same key
 * gets it back instead of running again. Records expire after the retention period: an expired
 * record is never replayed, and `purge` deletes them.
 */
export class IdempotencyOps {
  constructor(
    private readonly r: Rules,
    private readonly retentionSeconds = DEFAULT_IDEMPOTENCY_RETENTION_SECONDS,
  ) {}

  async recall(ctx: CallContext, key: string): Promise<IdempotencyRecord | undefined> {
    const record = await this.r.store.transaction((tx) =>
      tx.getIdempotency(ctx.tenant_id, principalIdOf(ctx), key),
    );
    if (!record || record.created_at >= this.cutoff()) return record;
    // Expired: it goes now, so the key can be used afresh (the store's unique key would refuse it).
    await this.purge();
    return undefined;
  }

  /** Stores the first answer for `key`; a concurrent first write loses with CONFLICT. */
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

  /** Deletes every record past its retention; returns how many went. */
  purge(): Promise<number> {
    const before = this.cutoff();
    return this.r.store.transaction((tx) => tx.purgeIdempotency(before));
  }

  private cutoff(): string {
    const now = Date.parse(this.r.clock.now());
    return new Date(now - this.retentionSeconds * 1000).toISOString();
  }
}
