import { Migrator, sql } from 'kysely';
import { CountersignError } from '../../core/errors.js';
import { GENESIS_HASH } from '../../core/ledger.js';
import type {
  Actor,
  ApiToken,
  Decision,
  Execution,
  IdKind,
  IdempotencyRecord,
  LedgerEvent,
  LedgerHead,
  Proposal,
  ProposalVersion,
  Workflow,
} from '../../core/model.js';
import type { Store, StoreReader, StoreTx } from '../../core/ports/store.js';
import { KyselyKnowledgeTx } from './knowledge-tx.js';
import { KyselyWorkPackageTx } from './work-package-tx.js';
import {
  type Db,
  type Dialect,
  KyselyReader,
  fromExecution,
  fromProposal,
  json,
} from './kysely-reader.js';
import { FixedInserts, FixedQuery, FixedUpdates } from './fixed-query.js';
import { hashColumn, hashHex } from './hash-column.js';
import { packLedgerData } from './ledger-data.js';
import { migrationProvider } from './migrations.js';
import type { Tables } from './schema.js';
import { KyselyRunTx } from './run-tx.js';

/**
 * The store over Kysely, shared by SQLite and Postgres. Only the transaction boundaries and
 * the ledger-head lock differ between the two.
 */
export class KyselyStore implements Store {
  /** Transactions ended in this process: the stamp of a store no other process can reach. */
  private ended = 0;

  /**
   * @param reader On SQLite, a second connection to the same file for `read` (WAL lets it read
   *   while the first one writes); the writer's own handle when there is none (`:memory:`).
   * @param changes On SQLite, SQLite's `data_version` as seen by a connection that never
   *   writes: it moves on every commit by any other connection, in any process. Without it the
   *   stamp is this process's own count of transactions, which is exact only when no other
   *   process shares the database (`:memory:`); Postgres has neither and answers no stamp.
   */
  constructor(
    private readonly db: Db,
    readonly dialect: Dialect,
    private readonly onClose: () => Promise<void> = () => db.destroy(),
    private readonly reader: Db = db,
    private readonly changes?: () => number,
  ) {}

  readStamp(): number | undefined {
    if (this.changes) return this.changes();
    return this.dialect === 'sqlite' && this.reader === this.db ? this.ended : undefined;
  }

  /** Applies pending migrations; safe to call on every start. */
  async migrate(): Promise<void> {
    const migrator = new Migrator({
      db: this.db,
      provider: migrationProvider(this.dialect),
      migrationTableName: 'countersign_migrations',
      migrationLockTableName: 'countersign_migrations_lock',
    });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName;
      throw new CountersignError(
        'STORE_UNAVAILABLE',
        `Database migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`,
      );
    }
  }

  async transaction<T>(work: (tx: StoreTx) => Promise<T>): Promise<T> {
    try {
      if (this.dialect === 'postgres') {
        return await this.db.transaction().execute(async (trx) => {
          const tx = new KyselyTx(trx, this.dialect);
          const result = await work(tx);
          await tx.recordHeads();
          return result;
        });
      }
      // SQLite: BEGIN IMMEDIATE takes the write lock up front, so two processes on one file
      // queue on busy_timeout instead of failing when a reader upgrades to a writer.
      return await this.db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          const tx = new KyselyTx(conn, this.dialect);
          const result = await work(tx);
          await tx.recordHeads();
          await sql`commit`.execute(conn);
          return result;
        } catch (e) {
          await sql`rollback`.execute(conn);
          throw e;
        } finally {
          this.ended++;
        }
      });
    } catch (e) {
      throw mapStoreError(e);
    }
  }

  async read<T>(work: (tx: StoreReader) => Promise<T>): Promise<T> {
    try {
      // Postgres: plain statements on one pooled connection. Each sees what was committed when
      // it started, as each statement of a read-committed transaction does, without the
      // round trips of BEGIN and COMMIT.
      if (this.dialect === 'postgres')
        return await this.db
          .connection()
          .execute((conn) => work(new KyselyReader(conn, this.dialect)));
      // SQLite: a deferred transaction takes no lock until its first read, then holds one
      // snapshot of the WAL to its end; writers go on meanwhile (on the reader's own
      // connection; with none, the writer's connection serializes it with the writes).
      return await this.reader.connection().execute(async (conn) => {
        await sql`begin deferred`.execute(conn);
        try {
          return await work(new KyselyReader(conn, this.dialect));
        } finally {
          await sql`commit`.execute(conn);
        }
      });
    } catch (e) {
      throw mapStoreError(e);
    }
  }

  close(): Promise<void> {
    return this.onClose();
  }

  /** The raw Kysely handle, for tests and tools that tamper on purpose. */
  get kysely(): Db {
    return this.db;
  }
}

function mapStoreError(e: unknown): unknown {
  if (e instanceof CountersignError) return e;
  const code = (e as { code?: unknown })?.code;
  if (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE'
  )
    return new CountersignError('CONFLICT', 'A concurrent change won; try again.', {
      cause: (e as Error).message,
    });
  if (
    code === 'SQLITE_BUSY' ||
    code === 'ECONNREFUSED' ||
    code === '57P01' ||
    code === '40001' ||
    code === '40P01'
  )
    return new CountersignError(
      'STORE_UNAVAILABLE',
      `The store is busy or unreachable: ${(e as Error).message}`,
    );
  return e;
}

/** The writes on every operation's path, compiled once (fixed-query.ts). */
const W = {
  nextId: new FixedQuery((db: Db, $) =>
    db
      .insertInto('id_counters')
      .values({ tenant_id: $(0), kind: $(1), value: 1 })
      .onConflict((oc) =>
        oc
          .columns(['tenant_id', 'kind'])
          .doUpdateSet({ value: sql<number>`id_counters.value + 1` }),
      )
      .returning('value'),
  ),
  head: new FixedQuery((db: Db, $) =>
    db.selectFrom('ledger_heads').select(['seq', 'hash']).where('tenant_id', '=', $(0)),
  ),
  headForUpdate: new FixedQuery((db: Db, $) =>
    db.selectFrom('ledger_heads').select(['seq', 'hash']).where('tenant_id', '=', $(0)).forUpdate(),
  ),
  updateHead: new FixedUpdates<Tables>('ledger_heads', ['tenant_id']),
  events: new FixedInserts<Tables>('ledger_events'),
  workflows: new FixedInserts<Tables>('workflows'),
  proposals: new FixedInserts<Tables>('proposals'),
  updateProposal: new FixedUpdates<Tables>('proposals', ['tenant_id', 'id']),
  versions: new FixedInserts<Tables>('proposal_versions'),
  decisions: new FixedInserts<Tables>('decisions'),
  executions: new FixedInserts<Tables>('executions'),
  finishExecution: new FixedUpdates<Tables>('executions', ['tenant_id', 'id']),
};

/** A write transaction: the reads, and the writes. */
class KyselyTx extends KyselyReader implements StoreTx {
  declare readonly knowledge: KyselyKnowledgeTx;
  declare readonly runs: KyselyRunTx;
  declare readonly workPackages: KyselyWorkPackageTx;
  /** Heads this transaction holds the lock on, as its appends moved them. */
  private readonly heads = new Map<string, LedgerHead>();
  /** Tenants whose head moved: recorded once, when the work is done (`recordHeads`). */
  private readonly moved = new Set<string>();

  constructor(db: Db, dialect: Dialect) {
    super(db, dialect, {
      knowledge: new KyselyKnowledgeTx(db, dialect),
      runs: new KyselyRunTx(db, dialect),
      workPackages: new KyselyWorkPackageTx(db, dialect),
    });
  }

  async nextId(tenant_id: string, kind: IdKind): Promise<string> {
    const [row] = await W.nextId.run(this.db, this.dialect, [tenant_id, kind]);
    return `${kind}_${Number(row!.value)}`;
  }

  async insertActor(a: Actor): Promise<void> {
    await this.db.insertInto('actors').values(a).execute();
  }

  async setActorRole(tenant_id: string, id: string, role: string): Promise<void> {
    await this.db
      .updateTable('actors')
      .set({ role })
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .execute();
  }

  async insertWorkflow(w: Workflow): Promise<void> {
    await W.workflows.run(this.db, this.dialect, { ...w });
  }

  async setWorkflowStatus(tenant_id: string, id: string, status: Workflow['status']) {
    await this.db
      .updateTable('workflows')
      .set({ status })
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .execute();
  }

  async insertProposal(p: Proposal): Promise<void> {
    await W.proposals.run(this.db, this.dialect, fromProposal(p));
  }

  async updateProposal(p: Proposal): Promise<void> {
    const { tenant_id, id, ...rest } = fromProposal(p);
    await W.updateProposal.run(this.db, this.dialect, rest, [tenant_id, id]);
  }

  async insertVersion(v: ProposalVersion): Promise<void> {
    await W.versions.run(this.db, this.dialect, {
      ...v,
      params: json(v.params),
      hash: hashColumn(v.hash),
    });
  }

  async insertDecision(d: Decision): Promise<void> {
    await W.decisions.run(this.db, this.dialect, {
      ...d,
      hash: hashColumn(d.hash),
      edits: d.edits === null ? null : json(d.edits),
    });
  }

  async insertExecution(e: Execution): Promise<void> {
    await W.executions.run(this.db, this.dialect, fromExecution(e));
  }

  async finishExecution(e: Execution): Promise<void> {
    const { tenant_id, id, ...rest } = fromExecution(e);
    await W.finishExecution.run(
      this.db,
      this.dialect,
      {
        status: rest.status,
        output: rest.output,
        error: rest.error,
        finished_at: rest.finished_at,
      },
      [tenant_id, id],
    );
  }

  async putSetting(tenant_id: string, key: string, value: string): Promise<void> {
    await this.db
      .insertInto('settings')
      .values({ tenant_id, key, value })
      .onConflict((oc) => oc.columns(['tenant_id', 'key']).doUpdateSet({ value }))
      .execute();
  }

  async lockLedgerHead(tenant_id: string): Promise<LedgerHead> {
    const held = this.heads.get(tenant_id);
    if (held) return held;
    // The head row exists after a tenant's first event: read it (locking it on Postgres; on
    // SQLite the transaction holds the write lock already), and create it only when missing.
    let row = await this.selectHead(tenant_id);
    if (!row) {
      await this.db
        .insertInto('ledger_heads')
        .values({ tenant_id, seq: 0, hash: hashColumn(GENESIS_HASH) })
        .onConflict((oc) => oc.column('tenant_id').doNothing())
        .execute();
      row = await this.selectHead(tenant_id);
      if (!row) throw new Error(`the ledger head of ${tenant_id} could not be created`);
    }
    const head = { seq: Number(row.seq), hash: hashHex(row.hash) };
    this.heads.set(tenant_id, head);
    return head;
  }

  private async selectHead(tenant_id: string) {
    const q = this.dialect === 'postgres' ? W.headForUpdate : W.head;
    const [row] = await q.run(this.db, this.dialect, [tenant_id]);
    return row;
  }

  async appendLedger(e: LedgerEvent): Promise<void> {
    const held = this.heads.get(e.tenant_id);
    if (!held || held.seq + 1 !== e.seq || held.hash !== e.prev_hash)
      throw new Error(`ledger append of seq ${e.seq} does not follow the locked head`);
    await W.events.run(this.db, this.dialect, {
      ...e,
      data: packLedgerData(e.data, this.dialect),
      prev_hash: hashColumn(e.prev_hash),
      hash: hashColumn(e.hash),
    });
    this.heads.set(e.tenant_id, { seq: e.seq, hash: e.hash });
    this.moved.add(e.tenant_id);
  }

  /** Within the transaction, the head as its appends left it. */
  override async readLedgerHead(tenant_id: string): Promise<LedgerHead> {
    return (
      (this.moved.has(tenant_id) && this.heads.get(tenant_id)) || super.readLedgerHead(tenant_id)
    );
  }

  /**
   * Records each moved head once, however many events the transaction appended: the store
   * calls it after the work and before the commit, so the head and the events commit together.
   */
  async recordHeads(): Promise<void> {
    for (const tenant_id of this.moved) {
      const head = this.heads.get(tenant_id)!;
      await W.updateHead.run(
        this.db,
        this.dialect,
        { seq: head.seq, hash: hashColumn(head.hash) },
        [tenant_id],
      );
    }
    this.moved.clear();
  }

  async insertToken(t: ApiToken): Promise<void> {
    await this.db
      .insertInto('api_tokens')
      .values({ ...t, scope: t.scope === null ? null : json(t.scope) })
      .execute();
  }

  async revokeToken(tenant_id: string, id: string, at: string): Promise<void> {
    await this.db
      .updateTable('api_tokens')
      .set({ revoked_at: at })
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  }

  async touchToken(tenant_id: string, id: string, at: string): Promise<void> {
    await this.db
      .updateTable('api_tokens')
      .set({ last_used_at: at })
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
      .execute();
  }

  async putIdempotency(r: IdempotencyRecord): Promise<void> {
    await this.db
      .insertInto('idempotency_records')
      .values({ ...r, body: json(r.body) })
      .execute();
  }
  async purgeIdempotency(before: string): Promise<number> {
    const result = await this.db
      .deleteFrom('idempotency_records')
      .where('created_at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
