/**
 * Table shapes as stored: JSON as text, booleans as 0/1, times as ISO text (portable), SHA-256
 * hashes as bytes (hash-column.ts; a row from before hashes were bytes holds hex text).
 */
type StoredHash = Uint8Array | string;

export interface Tables {
  actors: {
    tenant_id: string;
    id: string;
    name: string;
    role: string;
    kind: string;
    created_at: string;
  };
  workflows: {
    tenant_id: string;
    id: string;
    title: string;
    status: string;
    idempotency_key: string | null;
    created_by: string;
    created_at: string;
  };
  proposals: {
    tenant_id: string;
    id: string;
    workflow_id: string;
    proposer_id: string;
    tool: string;
    reason: string;
    status: string;
    version: number;
    required_approvals: number;
    required_roles: string;
    role_quorum: string | null;
    approved_version: number | null;
    approved_hash: StoredHash | null;
    policy_version: string;
    created_at: string;
    updated_at: string;
  };
  proposal_versions: {
    tenant_id: string;
    proposal_id: string;
    version: number;
    params: string;
    hash: StoredHash;
    origin: string;
    author_id: string;
    created_at: string;
    description: string | null;
  };
  decisions: {
    tenant_id: string;
    id: string;
    proposal_id: string;
    version: number;
    hash: StoredHash;
    reviewer_id: string;
    reviewer_role: string | null;
    decision: string;
    comment: string | null;
    edits: string | null;
    policy_version: string;
    token_id: string | null;
    created_at: string;
  };
  executions: {
    tenant_id: string;
    id: string;
    workflow_id: string;
    proposal_id: string;
    version: number;
    tool: string;
    params: string;
    hash: StoredHash;
    dry_run: number;
    status: string;
    output: string | null;
    error: string | null;
    started_at: string;
    finished_at: string | null;
    /** `<proposal>#<version>` for live executions, null for dry runs: unique per tenant. */
    live_key: string | null;
  };
  settings: { tenant_id: string; key: string; value: string };
  id_counters: { tenant_id: string; kind: string; value: number };
  ledger_events: {
    tenant_id: string;
    seq: number;
    time: string;
    type: string;
    actor: string;
    workflow_id: string | null;
    /** JSON, or on SQLite its packed form (ledger-data.ts). */
    data: string | Uint8Array;
    prev_hash: StoredHash;
    hash: StoredHash;
  };
  ledger_heads: { tenant_id: string; seq: number; hash: StoredHash };
  api_tokens: {
    tenant_id: string;
    id: string;
    actor_id: string;
    name: string;
    token_hash: string;
    created_by: string;
    created_at: string;
    expires_at: string | null;
    scope: string | null;
    revoked_at: string | null;
    last_used_at: string | null;
  };
  /** One row (id 1): advanced by the database whenever a token's validity changes. */
  token_generation: { id: number; value: number };
  idempotency_records: {
    tenant_id: string;
    principal: string;
    key: string;
    fingerprint: string;
    status: number;
    body: string;
    created_at: string;
  };
}
