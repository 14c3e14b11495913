import { type Kysely, type Selectable, sql } from 'kysely';
import { GENESIS_HASH } from '../../core/ledger.js';
import type {
  Actor,
  ApiToken,
  Decision,
  Execution,
  IdempotencyRecord,
  JsonObject,
  JsonValue,
  LedgerEvent,
  LedgerHead,
  Proposal,
  ProposalFilter,
  ProposalVersion,
  Workflow,
} from '../../core/model.js';
import type { RoleQuorum } from '../../core/quorum.js';
import type { StoreReader } from '../../core/ports/store.js';
import { OUTSIDE_RUNS } from './engine-migration.js';
import { KyselyKnowledgeReader } from './knowledge-tx.js';
import { KyselyRunReader } from './run-tx.js';
import { KyselyWorkPackageReader } from './work-package-tx.js';
import { FixedQuery } from './fixed-query.js';
import { unpackLedgerData } from './ledger-data.js';
import { hashColumn, hashColumnOrNull, hashHex, hashHexOrNull } from './hash-column.js';
import type { Tables } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';
export type Db = Kysely<Tables>;

export const json = (v: unknown): string => JSON.stringify(v);
const parse = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

/** The reads on every operation's path, compiled once (fixed-query.ts). */
const Q = {
  tokenGeneration: new FixedQuery((db: Db) =>
    db.selectFrom('token_generation').select('value').where('id', '=', 1),
  ),
  actor: new FixedQuery((db: Db, $) =>
    db.selectFrom('actors').selectAll().where('tenant_id', '=', $(0)).where('id', '=', $(1)),
  ),
  actors: new FixedQuery((db: Db, $) =>
    db
      .selectFrom('actors')
      .selectAll()
      .where('tenant_id', '=', $(0))
      .orderBy('created_at')
      .orderBy('id'),
  ),
  workflow: new FixedQuery((db: Db, $) =>
    db.selectFrom('workflows').selectAll().where('tenant_id', '=', $(0)).where('id', '=', $(1)),
  ),
  proposal: new FixedQuery((db: Db, $) =>
    db.selectFrom('proposals').selectAll().where('tenant_id', '=', $(0)).where('id', '=', $(1)),
  ),
  version: new FixedQuery((db: Db, $) =>
    db
      .selectFrom('proposal_versions')
      .selectAll()
      .where('tenant_id', '=', $(0))
      .where('proposal_id', '=', $(1))
      .where('version', '=', $(2)),
  ),
  decisions: new FixedQuery((db: Db, $) =>
    db
      .selectFrom('decisions')
      .selectAll()
      .where('tenant_id', '=', $(0))
      .where('proposal_id', '=', $(1))
      .orderBy('created_at')
      .orderBy('id'),
  ),
  liveExecution: new FixedQuery((db: Db, $) =>
    db
      .selectFrom('executions')
      .selectAll()
      .where('tenant_id', '=', $(0))
      .where('live_key', '=', $(1)),
  ),
  setting: new FixedQuery((db: Db, $) =>
    db.selectFrom('settings').select('value').where('tenant_id', '=', $(0)).where('key', '=', $(1)),
  ),
  tokenByHash: new FixedQuery((db: Db, $) =>
    db.selectFrom('api_tokens').selectAll().where('token_hash', '=', $(0)),
  ),
};

/**
 * The reads of the store over Kysely, shared by SQLite and Postgres. `Store.read` hands this out
 * as it is (it has no write method); a write transaction extends it (kysely-store.ts).
 */
export class KyselyReader implements StoreReader {
  readonly knowledge: KyselyKnowledgeReader;
  readonly runs: KyselyRunReader;
  readonly workPackages: KyselyWorkPackageReader;

  constructor(
    protected readonly db: Db,
    protected readonly dialect: Dialect,
    parts: {
      knowledge: KyselyKnowledgeReader;
      runs: KyselyRunReader;
      workPackages: KyselyWorkPackageReader;
    } = {
      knowledge: new KyselyKnowledgeReader(db, dialect),
      runs: new KyselyRunReader(db, dialect),
      workPackages: new KyselyWorkPackageReader(db, dialect),
    },
  ) {
    this.knowledge = parts.knowledge;
    this.runs = parts.runs;
    this.workPackages = parts.workPackages;
  }

  async tokenGeneration(): Promise<number> {
    const [row] = await Q.tokenGeneration.run(this.db, this.dialect, []);
    return Number(row?.value ?? 0);
  }

  async getActor(tenant_id: string, id: string): Promise<Actor | undefined> {
    const [row] = await Q.actor.run(this.db, this.dialect, [tenant_id, id]);
    return row && { ...row, kind: row.kind as Actor['kind'] };
  }

  async listActors(tenant_id: string): Promise<Actor[]> {
    const rows = await Q.actors.run(this.db, this.dialect, [tenant_id]);
    return rows.map((row) => ({ ...row, kind: row.kind as Actor['kind'] }));
  }

  async getWorkflow(tenant_id: string, id: string): Promise<Workflow | undefined> {
    const [row] = await Q.workflow.run(this.db, this.dialect, [tenant_id, id]);
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

  async getProposal(tenant_id: string, id: string): Promise<Proposal | undefined> {
    const [row] = await Q.proposal.run(this.db, this.dialect, [tenant_id, id]);
    return row && toProposal(row);
  }

  async findApprovedByHash(tenant_id: string, hash: string): Promise<Proposal[]> {
    const rows = await this.db
      .selectFrom('proposals')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('approved_hash', '=', hashColumn(hash))
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

  async getVersion(
    tenant_id: string,
    proposal_id: string,
    version: number,
  ): Promise<ProposalVersion | undefined> {
    const [row] = await Q.version.run(this.db, this.dialect, [tenant_id, proposal_id, version]);
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

  async listDecisions(tenant_id: string, proposal_id: string): Promise<Decision[]> {
    const rows = await Q.decisions.run(this.db, this.dialect, [tenant_id, proposal_id]);
    return rows.map((r) => ({
      ...r,
      version: Number(r.version),
      hash: hashHex(r.hash),
      decision: r.decision as Decision['decision'],
      edits: parse<JsonObject>(r.edits),
    }));
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
    const [row] = await Q.liveExecution.run(this.db, this.dialect, [
      tenant_id,
      liveKey(proposal_id, version),
    ]);
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
    const [row] = await Q.setting.run(this.db, this.dialect, [tenant_id, key]);
    return row?.value;
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
    return rows.map((r) => ({
      ...r,
      seq: Number(r.seq),
      data: unpackLedgerData(r.data),
      prev_hash: hashHex(r.prev_hash),
      hash: hashHex(r.hash),
    }));
  }

  async findTokenByHash(token_hash: string): Promise<ApiToken | undefined> {
    const [row] = await Q.tokenByHash.run(this.db, this.dialect, [token_hash]);
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

  async readLedgerHead(tenant_id: string): Promise<LedgerHead> {
    const row = await this.db
      .selectFrom('ledger_heads')
      .select(['seq', 'hash'])
      .where('tenant_id', '=', tenant_id)
      .executeTakeFirst();
    return row ? { seq: Number(row.seq), hash: hashHex(row.hash) } : { seq: 0, hash: GENESIS_HASH };
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

export const liveKey = (proposal_id: string, version: number) => `${proposal_id}#${version}`;

export function toWorkflow(r: Selectable<Tables['workflows']>): Workflow {
  return { ...r, status: r.status as Workflow['status'] };
}

export function fromProposal(p: Proposal): Tables['proposals'] {
  return {
    ...p,
    required_roles: json(p.required_roles),
    role_quorum: p.role_quorum ? json(p.role_quorum) : null,
    approved_hash: hashColumnOrNull(p.approved_hash),
  };
}

export function toProposal(r: Selectable<Tables['proposals']>): Proposal {
  const { role_quorum, ...rest } = r;
  return {
    ...rest,
    ...(role_quorum ? { role_quorum: JSON.parse(role_quorum) as RoleQuorum } : {}),
    status: r.status as Proposal['status'],
    version: Number(r.version),
    required_approvals: Number(r.required_approvals),
    required_roles: JSON.parse(r.required_roles) as string[],
    approved_version: r.approved_version === null ? null : Number(r.approved_version),
    approved_hash: hashHexOrNull(r.approved_hash),
  };
}

export function toVersion(r: Selectable<Tables['proposal_versions']>): ProposalVersion {
  const { description, ...rest } = r;
  return {
    ...rest,
    version: Number(r.version),
    hash: hashHex(r.hash),
    origin: r.origin as ProposalVersion['origin'],
    params: JSON.parse(r.params) as JsonObject,
    ...(description === null ? {} : { description }),
  };
}

export function fromExecution(e: Execution): Tables['executions'] {
  return {
    ...e,
    params: json(e.params),
    hash: hashColumn(e.hash),
    dry_run: e.dry_run ? 1 : 0,
    output: e.output === null ? null : json(e.output),
    error: e.error === null ? null : json(e.error),
    live_key: e.dry_run ? null : liveKey(e.proposal_id, e.version),
  };
}

export function toExecution(r: Selectable<Tables['executions']>): Execution {
  const { live_key: _live, ...rest } = r;
  return {
    ...rest,
    version: Number(r.version),
    hash: hashHex(r.hash),
    dry_run: Number(r.dry_run) === 1,
    status: r.status as Execution['status'],
    params: JSON.parse(r.params) as JsonObject,
    output: parse<JsonObject>(r.output),
    error: parse<JsonObject>(r.error),
  };
}

export function toToken(r: Selectable<Tables['api_tokens']>): ApiToken {
  return { ...r, scope: parse<string[]>(r.scope) };
}
