/** The shapes of the API answers the console reads (see /openapi.json). */
import type { TenantOperation } from '../../src/core/console-schemas.js';

export type { TenantOperation };

export interface Me {
  tenant_id: string;
  kind: 'operator' | 'actor';
  /** operator, or the actor's kind: human, agent or service. */
  principal_kind?: 'operator' | 'human' | 'agent' | 'service';
  actor_id: string;
  name: string;
  roles: string[];
  /**
   * The tenant-level operations the server says this caller would be allowed (its token's
   * scope and policy, asked by the server itself): what the console offers. The server still
   * decides each call.
   */
  may: TenantOperation[];
}

export interface PendingItem {
  kind: 'gate' | 'proposal';
  id: string;
  workflow_id: string;
  title: string;
  requested_by: string;
  /** Who wrote what is decided (proposer, editor, requester): none of them may decide it. */
  authors?: string[];
  required_roles: string[];
  approvals: { received: number; required: number };
  /** Approvals still needed by role, e.g. `{ security: 1 }` ("a|b": one of them, "*": anyone). */
  missing?: Record<string, number>;
  waiting_since: string;
  due_at: string | null;
  tool: string | null;
  risk: string | null;
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface ProposalVersion {
  version: number;
  params: JsonObject;
  hash: string;
  origin: string;
  author_id: string;
  created_at: string;
}

export interface ProposalDecision {
  id: string;
  version: number;
  hash: string;
  reviewer_id: string;
  decision: string;
  comment: string | null;
  edits: JsonObject | null;
  created_at: string;
}

export interface ProposalView {
  proposal: {
    id: string;
    workflow_id: string;
    tool: string;
    proposer_id: string;
    reason: string;
    status: string;
    version: number;
    required_approvals: number;
    required_roles: string[];
    created_at: string;
    updated_at: string;
  };
  final_tool_call: {
    tool: string;
    params: JsonObject;
    hash: string;
    version: number;
    /** The tool's own sentence for this version (its describe()); null or absent without one. */
    description?: string | null;
  };
  versions: ProposalVersion[];
  decisions: ProposalDecision[];
  executions: { id: string; status: string; dry_run?: boolean }[];
}

export interface PlanView {
  proposal_id: string;
  version: number;
  tool: string;
  risk: string;
  hash: string;
  plan: JsonObject;
}

export interface Approval {
  id: string;
  workflow_id: string;
  request_key: string;
  title: string;
  packet: JsonObject;
  required_approvals: number;
  required_roles: string[];
  proposals: { proposal_id: string; hash: string }[];
  /** Approvals each role must give (all of them), when the gate has a quorum. */
  role_quorum?: Record<string, number>;
  status: string;
  requested_by: string;
  due_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface GateDecision {
  id: string;
  reviewer_id: string;
  decision: string;
  comment: string | null;
  created_at: string;
}

export interface Run {
  workflow_id: string;
  definition: string;
  status: string;
  stage: string;
  waiting_on: JsonObject | null;
  wake_at: string | null;
  context: JsonObject;
  artifacts: JsonObject;
  trace: JsonObject[];
  error: JsonObject | null;
  created_at: string;
  updated_at: string;
}

export interface LedgerEntry {
  tenant_id: string;
  seq: number;
  time: string;
  type: string;
  actor: string;
  workflow_id: string | null;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export interface VerifyReport {
  ok: boolean;
  events: number;
  first_broken_seq?: number | null;
  [k: string]: unknown;
}
