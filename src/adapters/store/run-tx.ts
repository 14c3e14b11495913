import type { Kysely, Selectable } from 'kysely';
import type {
  ApprovalDecision,
  ApprovalFilter,
  ApprovalRequest,
  JsonObject,
  JsonValue,
  RunEffect,
  RunFilter,
  WorkflowRun,
} from '../../core/model.js';
import type { RoleQuorum } from '../../core/quorum.js';
import type { RunReader, RunTx } from '../../core/ports/runs.js';
import { FixedQuery } from './fixed-query.js';

/** Table shapes as stored: JSON as text. */
export interface RunTables {
  workflow_runs: {
    tenant_id: string;
    id: string;
    definition: string;
    definition_version: string;
    status: string;
    stage: string;
    input: string;
    context: string;
    artifacts: string;
    trace: string;
    waiting_on: string | null;
    wake_at: string | null;
    error: string | null;
    idempotency_key: string;
    input_hash: string;
    started_by: string;
    purpose: string;
    created_at: string;
    updated_at: string;
  };
  run_effects: {
    tenant_id: string;
    run_id: string;
    seq: number;
    kind: string;
    result: string;
    created_at: string;
  };
  approval_requests: {
    tenant_id: string;
    id: string;
    workflow_id: string;
    request_key: string;
    title: string;
    packet: string;
    required_approvals: number;
    required_roles: string;
    role_quorum: string | null;
    proposals: string;
    status: string;
    requested_by: string;
    authors: string | null;
    due_at: string | null;
    on_timeout: string | null;
    created_at: string;
    updated_at: string;
  };
  approval_decisions: {
    tenant_id: string;
    id: string;
    approval_id: string;
    reviewer_id: string;
    reviewer_role: string | null;
    decision: string;
    comment: string | null;
    token_id: string | null;
    created_at: string;
  };
}

type Db = Kysely<RunTables>;
const json = (v: unknown): string => JSON.stringify(v);
const parse = <T>(s: string): T => JSON.parse(s) as T;
const parseOrNull = <T>(s: string | null): T | null => (s === null ? null : parse<T>(s));

const GET_RUN = new FixedQuery((db: Db, $) =>
  db.selectFrom('workflow_runs').selectAll().where('tenant_id', '=', $(0)).where('id', '=', $(1)),
);

export class KyselyRunReader implements RunReader {
  protected readonly db: Db;

  /** `db` is the store's transaction handle; these tables are typed here, not in schema.ts. */
  constructor(
    db: object,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {
    this.db = db as Db;
  }

  async getRun(tenant_id: string, id: string): Promise<WorkflowRun | undefined> {
    // Every proposal, review and execution asks whether its workflow is a run.
    const [row] = await GET_RUN.run(this.db, this.dialect, [tenant_id, id]);
    return row && toRun(row);
  }

  async listRuns(tenant_id: string, f: RunFilter): Promise<WorkflowRun[]> {
    let q = this.db.selectFrom('workflow_runs').selectAll().where('tenant_id', '=', tenant_id);
    if (f.status) q = q.where('status', '=', f.status);
    if (f.definition) q = q.where('definition', '=', f.definition);
    if (f.stage) q = q.where('stage', '=', f.stage);
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(f.limit)
      .execute();
    return rows.map(toRun);
  }

  async listRunning(limit: number): Promise<{ tenant_id: string; id: string }[]> {
    return this.db
      .selectFrom('workflow_runs')
      .select(['tenant_id', 'id'])
      .where('status', '=', 'running')
      .orderBy('updated_at')
      .limit(limit)
      .execute();
  }

  async listDue(now: string, limit: number): Promise<{ tenant_id: string; id: string }[]> {
    return this.db
      .selectFrom('workflow_runs')
      .select(['tenant_id', 'id'])
      .where('status', '=', 'waiting')
      .where('wake_at', 'is not', null)
      .where('wake_at', '<=', now)
      .orderBy('wake_at')
      .limit(limit)
      .execute();
  }

  async nextWake(): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('workflow_runs')
      .select('wake_at')
      .where('status', '=', 'waiting')
      .where('wake_at', 'is not', null)
      .orderBy('wake_at')
      .limit(1)
      .executeTakeFirst();
    return row?.wake_at ?? undefined;
  }

  async listEffects(tenant_id: string, run_id: string): Promise<RunEffect[]> {
    const rows = await this.db
      .selectFrom('run_effects')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('run_id', '=', run_id)
      .orderBy('seq')
      .execute();
    return rows.map((r) => ({ ...r, seq: Number(r.seq), result: parse<JsonValue>(r.result) }));
  }

  async getEffect(tenant_id: string, run_id: string, seq: number): Promise<RunEffect | undefined> {
    const r = await this.db
      .selectFrom('run_effects')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('run_id', '=', run_id)
      .where('seq', '=', seq)
      .executeTakeFirst();
    return r && { ...r, seq: Number(r.seq), result: parse<JsonValue>(r.result) };
  }

  async getApproval(tenant_id: string, id: string): Promise<ApprovalRequest | undefined> {
    const row = await this.db
      .selectFrom('approval_requests')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toApproval(row);
  }

  async findApprovalByKey(
    tenant_id: string,
    workflow_id: string,
    request_key: string,
  ): Promise<ApprovalRequest | undefined> {
    const row = await this.db
      .selectFrom('approval_requests')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('workflow_id', '=', workflow_id)
      .where('request_key', '=', request_key)
      .executeTakeFirst();
    return row && toApproval(row);
  }

  async listApprovals(tenant_id: string, f: ApprovalFilter): Promise<ApprovalRequest[]> {
    let q = this.db.selectFrom('approval_requests').selectAll().where('tenant_id', '=', tenant_id);
    if (f.status) q = q.where('status', '=', f.status);
    if (f.workflow_id) q = q.where('workflow_id', '=', f.workflow_id);
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(f.limit)
      .execute();
    return rows.map(toApproval);
  }

  async listApprovalDecisions(tenant_id: string, approval_id: string): Promise<ApprovalDecision[]> {
    const rows = await this.db
      .selectFrom('approval_decisions')
      .selectAll()
      .where('tenant_id', '=', tenant_id)
      .where('approval_id', '=', approval_id)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ ...r, decision: r.decision as ApprovalDecision['decision'] }));
  }
}

/** The same, with the writes (the view a write transaction hands out). */
export class KyselyRunTx extends KyselyRunReader implements RunTx {
  async insertRun(run: WorkflowRun): Promise<void> {
    await this.db.insertInto('workflow_runs').values(fromRun(run)).execute();
  }

  async updateRunIf(run: WorkflowRun, read_at: string): Promise<boolean> {
    const { tenant_id, id, ...rest } = fromRun(run);
    const result = await this.db
      .updateTable('workflow_runs')
      .set(rest)
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .where('updated_at', '=', read_at)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async updateRun(run: WorkflowRun): Promise<void> {
    const { tenant_id, id, ...rest } = fromRun(run);
    await this.db
      .updateTable('workflow_runs')
      .set(rest)
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .execute();
  }

  async insertEffect(e: RunEffect): Promise<void> {
    await this.db
      .insertInto('run_effects')
      .values({ ...e, result: json(e.result) })
      .execute();
  }

  async insertApproval(a: ApprovalRequest): Promise<void> {
    await this.db.insertInto('approval_requests').values(fromApproval(a)).execute();
  }

  async updateApproval(a: ApprovalRequest): Promise<void> {
    const { tenant_id, id, ...rest } = fromApproval(a);
    await this.db
      .updateTable('approval_requests')
      .set(rest)
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .execute();
  }

  async insertApprovalDecision(d: ApprovalDecision): Promise<void> {
    await this.db.insertInto('approval_decisions').values(d).execute();
  }
}

function fromRun(r: WorkflowRun): RunTables['workflow_runs'] {
  return {
    ...r,
    input: json(r.input),
    context: json(r.context),
    artifacts: json(r.artifacts),
    trace: json(r.trace),
    waiting_on: r.waiting_on === null ? null : json(r.waiting_on),
    error: r.error === null ? null : json(r.error),
  };
}

function toRun(r: Selectable<RunTables['workflow_runs']>): WorkflowRun {
  return {
    ...r,
    status: r.status as WorkflowRun['status'],
    input: parse<JsonObject>(r.input),
    context: parse<JsonObject>(r.context),
    artifacts: parse<JsonObject>(r.artifacts),
    trace: parse<JsonObject[]>(r.trace),
    waiting_on: parseOrNull<JsonObject>(r.waiting_on),
    error: parseOrNull<JsonObject>(r.error),
  };
}

function fromApproval(a: ApprovalRequest): RunTables['approval_requests'] {
  return {
    ...a,
    packet: json(a.packet),
    required_roles: json(a.required_roles),
    role_quorum: a.role_quorum ? json(a.role_quorum) : null,
    authors: a.authors?.length ? json(a.authors) : null,
    proposals: json(a.proposals),
    on_timeout: a.on_timeout === null ? null : json(a.on_timeout),
  };
}

function toApproval(r: Selectable<RunTables['approval_requests']>): ApprovalRequest {
  const { role_quorum, authors, ...rest } = r;
  return {
    ...rest,
    ...(role_quorum ? { role_quorum: parse<RoleQuorum>(role_quorum) } : {}),
    ...(authors ? { authors: parse<string[]>(authors) } : {}),
    required_approvals: Number(r.required_approvals),
    status: r.status as ApprovalRequest['status'],
    packet: parse<JsonObject>(r.packet),
    required_roles: parse<string[]>(r.required_roles),
    proposals: parse<{ proposal_id: string; hash: string }[]>(r.proposals),
    on_timeout: parseOrNull<JsonObject>(r.on_timeout),
  };
}
