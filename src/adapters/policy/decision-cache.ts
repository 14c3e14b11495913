import type { PolicyDecision } from '../../core/ports/policy.js';

/**
 * Policy decisions by request, least recently used first out, under the policy version that
 * made them: a decision made under another version is never returned. The key is the part of
 * the request the policies can observe (observed.ts). A decision is frozen, since every caller
 * gets the same object.
 *
 * @example
 * const cache = new DecisionCache(1000);
 * const d = cache.get(engine.version, JSON.stringify(request), () => evaluate(request));
 */
export class DecisionCache {
  private readonly entries = new Map<string, PolicyDecision>();
  private version: string | undefined;

  constructor(private readonly limit: number) {}

  get(version: string, key: string, decide: () => PolicyDecision): PolicyDecision {
    // Another version is another policy set: nothing decided under the old one holds.
    if (version !== this.version) {
      this.entries.clear();
      this.version = version;
    }
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const d = decide();
    const frozen: PolicyDecision = Object.freeze({
      ...d,
      roles: Object.freeze([...d.roles]),
      ...(d.quorum ? { quorum: Object.freeze({ ...d.quorum }) } : {}),
      reasons: Object.freeze([...d.reasons]),
      errors: Object.freeze([...d.errors]),
    });
    this.entries.set(key, frozen);
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value!);
    return frozen;
  }

  get size(): number {
    return this.entries.size;
  }
}
