import { type Kysely, Migrator, type Selectable, sql } from 'kysely';
import { CountersignError } from '../../core/errors.js';
import { GENESIS_HASH } from '../../core/ledger.js';
import type {
  Actor,
  ApiToken,
  IdempotencyRecord,
  JsonValue,
  Decision,
  Execution,
  IdKind,
  JsonObject,
  LedgerEvent,
  LedgerHead,
  Proposal,
  ProposalFilter,
  ProposalVersion,
  Workflow,
} from '../../core/model.js';
import type { Store, StoreTx } from '../../core/ports/store.js';
import { OUTSIDE_RUNS } from './engine-migration.js';
import { KyselyRunTx } from './run-tx.js';
import { KyselyKnowledgeTx } from './knowledge-tx.js';
import { migrationProvider } from './migrations.js';
import type { Tables } from './schema.js';

type Dialect = 'sqlite' | 'postgres';
type Db = Kysely<Tables>;

const json = (v: unknown): string => JSON.stringify(v);
const parse = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

/**
 * The store over Kysely, shared by SQLite and Postgres. Only the transaction boundary and
 * the ledger-head lock differ between the two.
 */
export class KyselyStore implements Store {
  constructor(
    private readonly db: Db,
    readonly dialect: Dialect,
    private readonly onClose: () => Promise<void> = () => db.destroy(),
  ) {}

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
        return await this.db.transaction().execute((trx) => work(new KyselyTx(trx, this.dialect)));
      }
      // SQLite: BEGIN IMMEDIATE takes the write lock up front, so two processes on one file
      // queue on busy_timeout instead of failing when a reader upgrades to a writer.
      return await this.db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          const result = await work(new KyselyTx(conn, this.dialect));
          await sql`commit`.execute(conn);
          return result;
        } catch (e) {
          await sql`rollback`.execute(conn);
          throw e;
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

class KyselyTx implements StoreTx {
  /** Heads this transaction holds the lock on: later appends need not read them again. */
  private readonly heads = new Map<string, LedgerHead>();
  readonly knowledge: KyselyKnowledgeTx;
  readonly runs: KyselyRunTx;

  constructor(
    private readonly db: Db,
    private readonly dialect: Dialect,
  ) {
    this.knowledge = new KyselyKnowledgeTx(db, dialect);
    this.runs = new KyselyRunTx(db);
  }

  async nextId(tenant_id: string, kind: IdKind): Promise<string> {
    const row = await this.db
      .insertInto('id_counters')
      .values({ tenant_id, kind, value: 1 })
      .onConflict((oc) =>
        oc
          .columns(['tenant_id', 'kind'])
          .doUpdateSet({ value: sql<number>`id_counters.value + 1` }),
      )
      .returning('value')
      .executeTakeFirstOrThrow();
    return `${kind}_${Number(row.value)}`;
  }

  async insertActor(a: Actor): Promise<void> {
    await this.db.insertInto('actors').values(a).execute();
  }

  async getActor(tenant_id: string, id: string): Promise<Actor | undefined> {
    const row = await this.db
      .selectFrom('actors')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && { ...row, kind: row.kind as Actor['kind'] };
  }

  async insertWorkflow(w: Workflow): Promise<void> {
    await this.db.insertInto('workflows').values(w).execute();
  }

  async setWorkflowStatus(tenant_id: string, id: string, status: Workflow['status']) {
    await this.db
      .updateTable('workflows')
      .set({ status })
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .execute();
  }

  async getWorkflow(tenant_id: string, id: string): Promise<Workflow | undefined> {
    const row = await this.db
      .selectFrom('workflows')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toWorkflow(row);
  }

  async findWorkflowByKey(tenant_id: string, key: string): Promise<Workflow | undefined> {
    const row = await this.db
      .selectFrom('workflows')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
    return row && toWorkflow(row);
  }

  async insertProposal(p: Proposal): Promise<void> {
    await this.db.insertInto('proposals').values(fromProposal(p)).execute();
  }

  async updateProposal(p: Proposal): Promise<void> {
    const { tenant_id, id, ...rest } = fromProposal(p);
    await this.db
      .updateTable('proposals')
      .set(rest)
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .execute();
  }

  async getProposal(tenant_id: string, id: string): Promise<Proposal | undefined> {
    const row = await this.db
      .selectFrom('proposals')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toProposal(row);
  }

  async findApprovedByHash(tenant_id: string, hash: string): Promise<Proposal[]> {
    const rows = await this.db
      .selectFrom('proposals')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('approved_hash', '=', hash)
      .where('status', '=', 'approved')
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toProposal);
  }

  async listProposals(tenant_id: string, f: ProposalFilter): Promise<Proposal[]> {
    let q = this.db.selectFrom('proposals').selectAll().where('tenant_id', '=', tenant_id);
    if (f.status) q = q.where('status', '=', f.status);
    if (f.workflow_id) q = q.where('workflow_id', '=', f.workflow_id);
    if (f.tool) q = q.where('tool', '=', f.tool);
    if (f.updated_before) q = q.where('updated_at', '<=', f.updated_before);
    if (f.outside_runs) q = q.where(sql.raw<boolean>(OUTSIDE_RUNS));
    const rows = await q
      .orderBy('updated_at', 'desc')
      .orderBy('id', 'desc')
      .limit(f.limit)
      .execute();
    return rows.map(toProposal);
  }

  async insertVersion(v: ProposalVersion): Promise<void> {
    await this.db
      .insertInto('proposal_versions')
      .values({ ...v, params: json(v.params) })
      .execute();
  }

  async getVersion(
    tenant_id: string,
    proposal_id: string,
    version: number,
  ): Promise<ProposalVersion | undefined> {
    const row = await this.db
      .selectFrom('proposal_versions')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('proposal_id', '=', proposal_id)
      .where('version', '=', version)
      .executeTakeFirst();
    return row && toVersion(row);
  }

  async listVersions(tenant_id: string, proposal_id: string): Promise<ProposalVersion[]> {
    const rows = await this.db
      .selectFrom('proposal_versions')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('proposal_id', '=', proposal_id)
      .orderBy('version')
      .execute();
    return rows.map(toVersion);
  }

  async insertDecision(d: Decision): Promise<void> {
    await this.db
      .insertInto('decisions')
      .values({ ...d, edits: d.edits === null ? null : json(d.edits) })
      .execute();
  }

  async listDecisions(tenant_id: string, proposal_id: string): Promise<Decision[]> {
    const rows = await this.db
      .selectFrom('decisions')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('proposal_id', '=', proposal_id)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      ...r,
      version: Number(r.version),
      decision: r.decision as Decision['decision'],
      edits: parse<JsonObject>(r.edits),
    }));
  }

  async insertExecution(e: Execution): Promise<void> {
    await this.db.insertInto('executions').values(fromExecution(e)).execute();
  }

  async finishExecution(e: Execution): Promise<void> {
    const { tenant_id, id, ...rest } = fromExecution(e);
    await this.db
      .updateTable('executions')
      .set({
        status: rest.status,
        output: rest.output,
        error: rest.error,
        finished_at: rest.finished_at,
      })
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .execute();
  }

  async getExecution(tenant_id: string, id: string): Promise<Execution | undefined> {
    const row = await this.db
      .selectFrom('executions')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toExecution(row);
  }

  async findLiveExecution(
    tenant_id: string,
    proposal_id: string,
    version: number,
  ): Promise<Execution | undefined> {
    const row = await this.db
      .selectFrom('executions')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('live_key', '=', liveKey(proposal_id, version))
      .executeTakeFirst();
    return row && toExecution(row);
  }

  async listExecutions(tenant_id: string, proposal_id: string): Promise<Execution[]> {
    const rows = await this.db
      .selectFrom('executions')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('proposal_id', '=', proposal_id)
      .orderBy('started_at')
      .orderBy('id')
      .execute();
    return rows.map(toExecution);
  }

  async getSetting(tenant_id: string, key: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('settings')
      .select('value')
      .where('tenant_id', '=', tenant_id)
      .where('key', '=', key)
      .executeTakeFirst();
    return row?.value;
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
    await this.db
      .insertInto('ledger_heads')
      .values({ tenant_id, seq: 0, hash: GENESIS_HASH })
      .onConflict((oc) => oc.column('tenant_id').doNothing())
      .execute();
    let q = this.db
      .selectFrom('ledger_heads')
      .select(['seq', 'hash'])
      .where('tenant_id', '=', tenant_id);
    if (this.dialect === 'postgres') q = q.forUpdate();
    const row = await q.executeTakeFirstOrThrow();
    const head = { seq: Number(row.seq), hash: row.hash };
    this.heads.set(tenant_id, head);
    return head;
  }

  async appendLedger(e: LedgerEvent): Promise<void> {
    const held = this.heads.get(e.tenant_id);
    if (!held || held.seq + 1 !== e.seq || held.hash !== e.prev_hash)
      throw new Error(`ledger append of seq ${e.seq} does not follow the locked head`);
    await this.db
      .insertInto('ledger_events')
      .values({ ...e, data: json(e.data) })
      .execute();
    await this.db
      .updateTable('ledger_heads')
      .set({ seq: e.seq, hash: e.hash })
      .where('tenant_id', '=', e.tenant_id)
      .execute();
    this.heads.set(e.tenant_id, { seq: e.seq, hash: e.hash });
  }

  async listLedger(
    tenant_id: string,
    o: { workflow_id?: string; after_seq?: number; limit?: number },
  ): Promise<LedgerEvent[]> {
    let q = this.db.selectFrom('ledger_events').selectAll().where('tenant_id', '=', tenant_id);
    if (o.workflow_id !== undefined) q = q.where('workflow_id', '=', o.workflow_id);
    if (o.after_seq !== undefined) q = q.where('seq', '>', o.after_seq);
    q = q.orderBy('seq');
    if (o.limit !== undefined) q = q.limit(o.limit);
    const rows = await q.execute();
    return rows.map((r) => ({ ...r, seq: Number(r.seq), data: JSON.parse(r.data) as JsonObject }));
  }

  async insertToken(t: ApiToken): Promise<void> {
    await this.db
      .insertInto('api_tokens')
      .values({ ...t, scope: t.scope === null ? null : json(t.scope) })
      .execute();
  }

  async findTokenByHash(token_hash: string): Promise<ApiToken | undefined> {
    const row = await this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('token_hash', '=', token_hash)
      .executeTakeFirst();
    return row && toToken(row);
  }

  async getToken(tenant_id: string, id: string): Promise<ApiToken | undefined> {
    const row = await this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toToken(row);
  }

  async listTokens(tenant_id: string): Promise<ApiToken[]> {
    const rows = await this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toToken);
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
      .execute();
  }

  async countTokens(tenant_id: string): Promise<number> {
    const row = await this.db
      .selectFrom('api_tokens')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('tenant_id', '=', tenant_id)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async getIdempotency(
    tenant_id: string,
    principal: string,
    key: string,
  ): Promise<IdempotencyRecord | undefined> {
    const row = await this.db
      .selectFrom('idempotency_records')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('principal', '=', principal)
      .where('key', '=', key)
      .executeTakeFirst();
    return row && { ...row, status: Number(row.status), body: JSON.parse(row.body) as JsonValue };
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

  async readLedgerHead(tenant_id: string): Promise<LedgerHead> {
    const row = await this.db
      .selectFrom('ledger_heads')
      .select(['seq', 'hash'])
      .where('tenant_id', '=', tenant_id)
      .executeTakeFirst();
    return row ? { seq: Number(row.seq), hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
  }

  async listLedgerTenants(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('ledger_heads')
      .select('tenant_id')
      .orderBy('tenant_id')
      .execute();
    return rows.map((r) => r.tenant_id);
  }
}

const liveKey = (proposal_id: string, version: number) => `${proposal_id}#${version}`;

function toWorkflow(r: Selectable<Tables['workflows']>): Workflow {
  return { ...r, status: r.status as Workflow['status'] };
}

function fromProposal(p: Proposal): Tables['proposals'] {
  return { ...p, required_roles: json(p.required_roles) };
}

function toProposal(r: Selectable<Tables['proposals']>): Proposal {
  return {
    ...r,
    status: r.status as Proposal['status'],
    version: Number(r.version),
    required_approvals: Number(r.required_approvals),
    required_roles: JSON.parse(r.required_roles) as string[],
    approved_version: r.approved_version === null ? null : Number(r.approved_version),
  };
}

function toVersion(r: Selectable<Tables['proposal_versions']>): ProposalVersion {
  return {
    ...r,
    version: Number(r.version),
    origin: r.origin as ProposalVersion['origin'],
    params: JSON.parse(r.params) as JsonObject,
  };
}

function fromExecution(e: Execution): Tables['executions'] {
  return {
    ...e,
    params: json(e.params),
    dry_run: e.dry_run ? 1 : 0,
    output: e.output === null ? null : json(e.output),
    error: e.error === null ? null : json(e.error),
    live_key: e.dry_run ? null : liveKey(e.proposal_id, e.version),
  };
}

function toExecution(r: Selectable<Tables['executions']>): Execution {
  const { live_key: _live, ...rest } = r;
  return {
    ...rest,
    version: Number(r.version),
    dry_run: Number(r.dry_run) === 1,
    status: r.status as Execution['status'],
    params: JSON.parse(r.params) as JsonObject,
    output: parse<JsonObject>(r.output),
    error: parse<JsonObject>(r.error),
  };
}

function toToken(r: Selectable<Tables['api_tokens']>): ApiToken {
  return { ...r, scope: parse<string[]>(r.scope) };
}
