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
import type { KnowledgeReader, KnowledgeTx } from './knowledge.js';
import type { WorkPackageReader, WorkPackageTx } from './work-packages.js';
import type { RunReader, RunTx } from './runs.js';

/**
 * What the kernel needs from a database. Implemented by the SQLite and Postgres adapters
 * (one Kysely implementation) and run against one contract suite.
 *
 * Writes happen only inside `transaction`: a state change and its ledger event commit
 * together or not at all. Reads that change nothing use `read`, which never takes the write
 * lock, so they do not queue behind writers (nor writers behind them).
 */
export interface Store {
  transaction<T>(work: (tx: StoreTx) => Promise<T>): Promise<T>;
  /**
   * Runs `work` on a read-only view: on SQLite a deferred transaction on a connection of its
   * own (one snapshot, no write lock), on Postgres plain statements (read committed, as a
   * transaction there reads). The view has no write methods.
   *
   * @example
   * const actor = await store.read((tx) => tx.getActor('default', 'actor_1'));
   */
  read<T>(work: (tx: StoreReader) => Promise<T>): Promise<T>;
  /**
   * A number that changes whenever anything commits to the store (this process or another),
   * read without a round trip; `undefined` when the store cannot tell cheaply. Two equal
   * stamps taken at t0 and t1 mean nothing committed in between, so what was read after t0
   * still holds at t1 (read-cache.ts).
   */
  readStamp?(): number | undefined;
  close(): Promise<void>;
  readonly dialect: 'sqlite' | 'postgres';
}

/** The read half of a transaction: what `Store.read` hands out, and what `StoreTx` extends. */
export interface StoreReader {
  /** The tenant's knowledge base (documents and full-text search). */
  readonly knowledge: KnowledgeReader;
  /** Durable workflow runs, their effects and approval requests. */
  readonly runs: RunReader;
  /** Work packages and their versions. */
  readonly workPackages: WorkPackageReader;

  getActor(tenant_id: string, id: string): Promise<Actor | undefined>;
  /** The tenant's actors in the order they were registered. */
  listActors(tenant_id: string): Promise<Actor[]>;

  getWorkflow(tenant_id: string, id: string): Promise<Workflow | undefined>;
  findWorkflowByKey(tenant_id: string, idempotency_key: string): Promise<Workflow | undefined>;

  getProposal(tenant_id: string, id: string): Promise<Proposal | undefined>;
  /** Approved proposals whose approved call has this hash (not yet executed), oldest first. */
  findApprovedByHash(tenant_id: string, hash: string): Promise<Proposal[]>;
  /** Newest first. */
  listProposals(tenant_id: string, filter: ProposalFilter): Promise<Proposal[]>;

  getVersion(
    tenant_id: string,
    proposal_id: string,
    version: number,
  ): Promise<ProposalVersion | undefined>;
  listVersions(tenant_id: string, proposal_id: string): Promise<ProposalVersion[]>;

  listDecisions(tenant_id: string, proposal_id: string): Promise<Decision[]>;

  getExecution(tenant_id: string, id: string): Promise<Execution | undefined>;
  findLiveExecution(
    tenant_id: string,
    proposal_id: string,
    version: number,
  ): Promise<Execution | undefined>;
  listExecutions(tenant_id: string, proposal_id: string): Promise<Execution[]>;

  getSetting(tenant_id: string, key: string): Promise<string | undefined>;

  /** Events in seq order; `workflow_id` narrows to one workflow. */
  listLedger(
    tenant_id: string,
    options: { workflow_id?: string; after_seq?: number; limit?: number },
  ): Promise<LedgerEvent[]>;
  /** The head as recorded, without locking (for verification). */
  readLedgerHead(tenant_id: string): Promise<LedgerHead>;
  /** Every tenant that has a ledger head, sorted (what a checkpointer anchors). */
  listLedgerTenants(): Promise<string[]>;

  /** Looks a token up by the hash of its secret, across tenants. */
  findTokenByHash(token_hash: string): Promise<ApiToken | undefined>;
  /**
   * A counter the database advances whenever a token's validity changes (revoked, expiry,
   * scope, owner, deleted), whoever changes it: a cache of tokens is current while it holds.
   */
  tokenGeneration(): Promise<number>;
  getToken(tenant_id: string, id: string): Promise<ApiToken | undefined>;
  /** Oldest first. */
  listTokens(tenant_id: string): Promise<ApiToken[]>;
  countTokens(tenant_id: string): Promise<number>;

  getIdempotency(
    tenant_id: string,
    principal: string,
    key: string,
  ): Promise<IdempotencyRecord | undefined>;
}

export interface StoreTx extends StoreReader {
  readonly knowledge: KnowledgeTx;
  readonly runs: RunTx;
  readonly workPackages: WorkPackageTx;

  /** Next `<kind>_<n>` for the tenant; never reused, gapless within committed transactions. */
  nextId(tenant_id: string, kind: IdKind): Promise<string>;

  insertActor(actor: Actor): Promise<void>;
  /** Changes an actor's role (the only field of an actor that ever changes). */
  setActorRole(tenant_id: string, id: string, role: string): Promise<void>;

  insertWorkflow(workflow: Workflow): Promise<void>;
  setWorkflowStatus(tenant_id: string, id: string, status: Workflow['status']): Promise<void>;

  insertProposal(proposal: Proposal): Promise<void>;
  updateProposal(proposal: Proposal): Promise<void>;

  insertVersion(version: ProposalVersion): Promise<void>;

  insertDecision(decision: Decision): Promise<void>;

  /** Inserts; a second live execution of the same proposal version is rejected by the store. */
  insertExecution(execution: Execution): Promise<void>;
  finishExecution(execution: Execution): Promise<void>;

  putSetting(tenant_id: string, key: string, value: string): Promise<void>;

  /**
   * The chain's head, locked until the transaction ends so appends serialize per tenant. Inside
   * the transaction it follows the appends; the store records the final head once, at commit.
   */
  lockLedgerHead(tenant_id: string): Promise<LedgerHead>;
  appendLedger(event: LedgerEvent): Promise<void>;

  insertToken(token: ApiToken): Promise<void>;
  /** Sets revoked_at unless the token is revoked already. */
  revokeToken(tenant_id: string, id: string, at: string): Promise<void>;
  /** Sets last_used_at to `at` unless it already records a later use. */
  touchToken(tenant_id: string, id: string, at: string): Promise<void>;

  /** Inserts; a concurrent insert of the same key is rejected by the store (CONFLICT). */
  putIdempotency(record: IdempotencyRecord): Promise<void>;
  /** Deletes the records created before `before` (their retention has passed); returns how many. */
  purgeIdempotency(before: string): Promise<number>;
}
