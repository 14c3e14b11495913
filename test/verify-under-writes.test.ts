/**
 * verify_audit on a chain that grows while it reads: events committed between its page reads
 * and its read of the head are read too, instead of being reported missing.
 */
import { describe, expect, it } from 'vitest';
import type { StoreReader } from '../src/core/ports/store.js';
import { STORES, ctx, kernelOn, seedActors } from './support/kernel-fixture.js';

for (const factory of STORES) {
  describe(`verify_audit under writes (${factory.name})`, () => {
    it('an event appended right after the last page is read is verified, not missing', async () => {
      const { kernel, store, cleanup } = await kernelOn(factory);
      try {
        await seedActors(kernel);
        const read = store.read.bind(store);
        let writes = 0;
        // After each ledger page is read, another request commits an event.
        store.read = async <T>(work: (tx: StoreReader) => Promise<T>): Promise<T> => {
          const result = await read(work);
          if (Array.isArray(result) && writes < 2) {
            writes += 1;
            await kernel.registerActor(ctx, { name: `Late ${writes}`, role: 'Developer' });
          }
          return result;
        };
        const report = await kernel.verifyAudit(ctx);
        expect(writes).toBe(2);
        expect(report).toMatchObject({ ok: true, first_broken_seq: null });
        store.read = read;
        expect((await kernel.verifyAudit(ctx)).events).toBe(report.events);
      } finally {
        await cleanup();
      }
    });
  });
}
