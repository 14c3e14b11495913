import type {
  Actor,
  ApiToken,
  IdempotencyRecord,
  Decision,
  Execution,
  IdKind,
  LedgerEvent,
  LedgerHead,
  ProposalFilter,
  Proposal,
  ProposalVersion,
  Workflow,
} from '../model.js';
import type { KnowledgeTx } from './knowledge.js';
import type { RunTx } from './runs.js';

/**
 * What the kernel needs from a database. Implemented by the SQLite and Postgres adapters
 * (one Kysely implementation) and run against one contract suite.
 *
 * Writes happen only inside `transaction`: a state change and its ledger event commit
 * together or not at all.
 */
export interface Store {
  transaction<T>(work: (tx: StoreTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  readonly dialect: 'sqlite' | 'postgres';
}

export interface StoreTx {
  /** The tenant's knowledge base (documents and full-text search). */
  readonly knowledge: KnowledgeTx;
  /** Durable workflow runs, their effects and approval requests. */
  readonly runs: RunTx;

  /** Next `<kind>_<n>` for the tenant; never reused, gapless within committed transactions. */
  nextId(tenant_id: string, kind: IdKind): Promise<string>;

  insertActor(actor: Actor): Promise<void>;
  getActor(tenant_id: string, id: string): Promise<Actor | undefined>;

  insertWorkflow(workflow: Workflow): Promise<void>;
  getWorkflow(tenant_id: string, id: string): Promise<Workflow | undefined>;
  setWorkflowStatus(tenant_id: string, id: string, status: Workflow['status']): Promise<void>;
  findWorkflowByKey(tenant_id: string, idempotency_key: string): Promise<Workflow | undefined>;

  insertProposal(proposal: Proposal): Promise<void>;
  updateProposal(proposal: Proposal): Promise<void>;
  getProposal(tenant_id: string, id: string): Promise<Proposal | undefined>;
  /** Approved proposals whose approved call has this hash (not yet executed), oldest first. */
  findApprovedByHash(tenant_id: string, hash: string): Promise<Proposal[]>;
  /** Newest first. */
  listProposals(tenant_id: string, filter: ProposalFilter): Promise<Proposal[]>;

  insertVersion(version: ProposalVersion): Promise<void>;
  getVersion(
    tenant_id: string,
    proposal_id: string,
    version: number,
  ): Promise<ProposalVersion | undefined>;
  listVersions(tenant_id: string, proposal_id: string): Promise<ProposalVersion[]>;

  insertDecision(decision: Decision): Promise<void>;
  listDecisions(tenant_id: string, proposal_id: string): Promise<Decision[]>;

  /** Inserts; a second live execution of the same proposal version is rejected by the store. */
  insertExecution(execution: Execution): Promise<void>;
  finishExecution(execution: Execution): Promise<void>;
  getExecution(tenant_id: string, id: string): Promise<Execution | undefined>;
  findLiveExecution(
    tenant_id: string,
    proposal_id: string,
    version: number,
  ): Promise<Execution | undefined>;
  listExecutions(tenant_id: string, proposal_id: string): Promise<Execution[]>;

  getSetting(tenant_id: string, key: string): Promise<string | undefined>;
  putSetting(tenant_id: string, key: string, value: string): Promise<void>;

  /** The chain's head, locked until the transaction ends so appends serialize per tenant. */
  lockLedgerHead(tenant_id: string): Promise<LedgerHead>;
  appendLedger(event: LedgerEvent): Promise<void>;
  /** Events in seq order; `workflow_id` narrows to one workflow. */
  listLedger(
    tenant_id: string,
    options: { workflow_id?: string; after_seq?: number; limit?: number },
  ): Promise<LedgerEvent[]>;
  /** The head as recorded, without locking (for verification). */
  readLedgerHead(tenant_id: string): Promise<LedgerHead>;
  /** Every tenant that has a ledger head, sorted (what a checkpointer anchors). */
  listLedgerTenants(): Promise<string[]>;

  insertToken(token: ApiToken): Promise<void>;
  /** Looks a token up by the hash of its secret, across tenants. */
  findTokenByHash(token_hash: string): Promise<ApiToken | undefined>;
  getToken(tenant_id: string, id: string): Promise<ApiToken | undefined>;
  /** Oldest first. */
  listTokens(tenant_id: string): Promise<ApiToken[]>;
  /** Sets revoked_at unless the token is revoked already. */
  revokeToken(tenant_id: string, id: string, at: string): Promise<void>;
  touchToken(tenant_id: string, id: string, at: string): Promise<void>;
  countTokens(tenant_id: string): Promise<number>;

  getIdempotency(
    tenant_id: string,
    principal: string,
    key: string,
  ): Promise<IdempotencyRecord | undefined>;
  /** Inserts; a concurrent insert of the same key is rejected by the store (CONFLICT). */
  putIdempotency(record: IdempotencyRecord): Promise<void>;
  /** Deletes the records created before `before` (their retention has passed); returns how many. */
  purgeIdempotency(before: string): Promise<number>;
}
