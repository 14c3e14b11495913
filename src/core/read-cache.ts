import { type CallContext, isLocalOperator } from './context.js';
import type { PolicyEngine } from './ports/policy.js';
import type { Store } from './ports/store.js';

interface Entry {
  readonly stamp: number;
  readonly policy: string;
  readonly value: unknown;
}

/**
 * Answers of governed reads, kept while nothing has committed since they were read. A read's
 * answer is a function of the stored data, the policy set and who asks why; the store's stamp
 * (`Store.readStamp`, SQLite's `data_version`) moves on every commit by anyone, so an entry
 * read under the current stamp and policy version is the answer a fresh read would give. The
 * stamp is taken before the read: a commit that lands while it runs makes the entry stale at
 * once, never the reverse. Only successful answers are kept (a refusal is decided afresh), and
 * only of reads that depend on nothing else: no clock, no side effect. A store without a stamp
 * (Postgres) reads every time.
 *
 * @example
 * return reads.get(ctx, 'get_workflow', id, () => store.read((tx) => ...));
 */
export class ReadCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly store: Store,
    private readonly policy: PolicyEngine,
    private readonly limit = 1000,
  ) {}

  async get<T>(ctx: CallContext, operation: string, input: string, read: () => Promise<T>) {
    const stamp = this.store.readStamp?.();
    if (stamp === undefined) return read();
    const key = keyOf(ctx, operation, input);
    const hit = this.entries.get(key);
    if (hit && hit.stamp === stamp && hit.policy === this.policy.version) return hit.value as T;
    const value = deepFreeze(await read());
    this.entries.delete(key);
    this.entries.set(key, { stamp, policy: this.policy.version, value });
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }
}

/** Everything of the call that policy or the read can see: tenant, caller, token, purpose. */
function keyOf(ctx: CallContext, operation: string, input: string): string {
  return JSON.stringify([
    operation,
    ctx.tenant_id,
    ctx.caller.kind === 'actor' ? ctx.caller.actor_id : null,
    isLocalOperator(ctx),
    ctx.token?.id ?? null,
    ctx.purpose,
    ctx.agent_invocation_id ?? null,
    input,
  ]);
}

/** Every caller gets the same object: nobody may change it under the others. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
