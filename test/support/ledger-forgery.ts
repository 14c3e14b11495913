import { sql } from 'kysely';
import { hashColumn } from '../../src/adapters/store/hash-column.js';
import type { KyselyStore } from '../../src/adapters/store/kysely-store.js';
import type { Checkpoint } from '../../src/core/audit/checkpoint.js';
import { GENESIS_HASH, eventHash } from '../../src/core/ledger.js';
import type { JsonObject, LedgerEvent } from '../../src/core/model.js';
import type { CheckpointLog, CheckpointLogLine } from '../../src/core/ports/checkpoints.js';

/**
 * What an attacker with write access to the database does: the forgeries hash-chain
 * verification alone cannot see, because they leave a chain that is valid end to end.
 */

const APPEND_ONLY_TRIGGERS = {
  sqlite: ['ledger_events_no_update', 'ledger_events_no_delete'],
  postgres: ['ledger_events_append_only ON ledger_events'],
};

export async function dropLedgerTriggers(store: KyselyStore): Promise<void> {
  for (const t of APPEND_ONLY_TRIGGERS[store.dialect])
    await sql.raw(`DROP TRIGGER IF EXISTS ${t}`).execute(store.kysely);
}

async function allEvents(store: KyselyStore, tenant: string): Promise<LedgerEvent[]> {
  return store.transaction((tx) => tx.listLedger(tenant, {}));
}

/**
 * Replaces event `seq`'s data, re-chains every later event (new prev_hash, new hash) and
 * moves `ledger_heads` to the new last hash: a history that verifies.
 */
export async function rewriteHistory(
  store: KyselyStore,
  tenant: string,
  seq: number,
  data: JsonObject,
): Promise<void> {
  await dropLedgerTriggers(store);
  const events = await allEvents(store, tenant);
  let prev = events.find((e) => e.seq === seq - 1)?.hash ?? GENESIS_HASH;
  const forged = events
    .filter((e) => e.seq >= seq)
    .map((e) => {
      const unsigned = { ...e, data: e.seq === seq ? data : e.data, prev_hash: prev };
      prev = eventHash(unsigned);
      return { ...unsigned, hash: prev };
    });
  const db = store.kysely;
  await db
    .deleteFrom('ledger_events')
    .where('tenant_id', '=', tenant)
    .where('seq', '>=', seq)
    .execute();
  await db
    .insertInto('ledger_events')
    .values(
      forged.map((e) => ({
        ...e,
        data: JSON.stringify(e.data),
        prev_hash: hashColumn(e.prev_hash),
        hash: hashColumn(e.hash),
      })),
    )
    .execute();
  const last = forged.at(-1)!;
  await db
    .updateTable('ledger_heads')
    .set({ seq: last.seq, hash: hashColumn(last.hash) })
    .where('tenant_id', '=', tenant)
    .execute();
}

/** Deletes the events after `keep` and moves `ledger_heads` back to event `keep`. */
export async function cutTail(store: KyselyStore, tenant: string, keep: number): Promise<void> {
  await dropLedgerTriggers(store);
  const kept = (await allEvents(store, tenant)).find((e) => e.seq === keep)!;
  await store.kysely
    .deleteFrom('ledger_events')
    .where('tenant_id', '=', tenant)
    .where('seq', '>', keep)
    .execute();
  await store.kysely
    .updateTable('ledger_heads')
    .set({ seq: kept.seq, hash: hashColumn(kept.hash) })
    .where('tenant_id', '=', tenant)
    .execute();
}

/** A checkpoint log in memory, for tests of the core without files. */
export class MemoryCheckpointLog implements CheckpointLog {
  readonly location = 'memory';
  readonly lines: string[] = [];

  async append(checkpoint: Checkpoint): Promise<void> {
    this.lines.push(JSON.stringify(checkpoint));
  }

  async read(): Promise<CheckpointLogLine[]> {
    return this.lines.map((text, i) => ({ line: i + 1, text }));
  }
}
