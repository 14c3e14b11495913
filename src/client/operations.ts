// Generated from the operations catalogue by `npm run client:types` (src/main/client-types.ts).
// Do not edit: a test fails when this file differs from what the catalogue generates.
/* eslint-disable */

export type Shared1 = string | number | boolean | null | Array<Shared1> | {
  [key: string]: Shared1;
};

/** Every operation of the catalogue: its input (as sent) and output (as answered). */
export interface Operations {
  /** Register an actor. Register a person, agent or service that can propose or review tool calls. Returns actor_id (actor_<n>). The role is what policies check, e.g. "Developer", "Senior Developer", "DevOps Engineer". */
  register_actor: {
    input: {
      /** Name of the actor */
      name: string;
      /** Role of the actor in the workflow */
      role: string;
      /** human (default), agent or service. Only humans decide unless a policy names a service for a tool; agents propose and execute. */
      kind?: "human" | "agent" | "service";
    };
    output: {
      actor_id: string;
    };
  };
  /** Change an actor's role. Change another actor's role (the operator and admins by default). Nobody changes their own role. Approvals already given keep the role they were given with. Name and kind never change. */
  set_actor_role: {
    input: {
      /** ID of the actor whose role changes */
      actor_id: string;
      /** The new role, e.g. "security" */
      role: string;
    };
    output: {
      actor_id: string;
      name: string;
      kind: "human" | "agent" | "service";
      role: string;
      previous_role: string;
    };
  };
  /** Start a workflow. Open a workflow: the context every proposed tool call belongs to. Returns workflow_id. Pass idempotency_key to make retries return the same workflow. */
  start_workflow: {
    input: {
      /** Title of the workflow */
      title: string;
      /** Starting twice with the same key returns the same workflow */
      idempotency_key?: string;
    };
    output: {
      workflow_id: string;
    };
  };
  /** Propose a tool call. Ask for a tool call to be made. Nothing runs yet: policy decides whether it is denied (POLICY_DENIED), approved at once (status "approved") or needs human review (status "pending"). Params are validated against the tool's schema (see list_tools). Returns proposal_id, status and the hash approvals bind to. */
  propose_action: {
    input: {
      /** ID of the workflow (or workflow run), e.g. workflow_1 */
      workflow_id: string;
      /** ID of the actor proposing the action */
      actor_id?: string;
      /** Tool to be executed */
      tool: string;
      /** Parameters for the tool */
      params: {
        [key: string]: unknown;
      };
      /** Reason for proposing this action */
      reason: string;
    };
    output: {
      proposal_id: string;
      status: "pending" | "approved";
      hash: string;
      required_approvals: number;
      required_roles: Array<string>;
      /** Approvals each role must give; one approval fills one role only */
      role_quorum?: {
        [key: string]: number;
      };
    };
  };
  /** Review a proposed call. Decide on a pending proposal as a reviewer who did not propose it: "approve", "reject", "request_more_info", or "edit" with edits.params deep-merged into a new version. An edit is not an approval: the new version needs approvals from reviewers other than its editor, unless policy lets the editor's edit stand as its approval (proposal.approve_own_edit). Returns the status and final_tool_call, the exact call that will run. */
  review_action: {
    input: {
      /** ID of the proposal, e.g. proposal_1 */
      proposal_id: string;
      /** ID of the reviewer */
      reviewer_id?: string;
      decision: "approve" | "reject" | "edit" | "request_more_info";
      /** With decision "edit": params deep-merged into a new version of the call */
      edits?: {
        params: {
          [key: string]: unknown;
        };
      };
      comment?: string;
    };
    output: {
      status: string;
      final_tool_call: {
        tool: string;
        params: {
          [key: string]: unknown;
        };
        hash: string;
        version: number;
      };
      approvals: {
        received: number;
        required: number;
      };
      /** Approvals still needed, by role (e.g. {"security": 1}); a key "a|b" means any one of those roles, "*" any reviewer; empty when nothing is missing */
      missing?: {
        [key: string]: number;
      };
    };
  };
  /** Revise a proposal sent back for more information. As the proposer, answer request_more_info with complete new params; creates a new pending version. */
  revise_action: {
    input: {
      /** ID of the proposal, e.g. proposal_1 */
      proposal_id: string;
      /** The proposer; only they may revise */
      actor_id?: string;
      /** The complete new parameters */
      params: {
        [key: string]: unknown;
      };
      reason?: string;
    };
    output: {
      proposal_id: string;
      status: string;
      version: number;
      hash: string;
    };
  };
  /** Execute an approved call. Run an approved proposal, at most once: calling again returns the same execution_id and result. dry_run runs the tool's plan() and reports what would happen (status "simulated"). */
  execute_action: {
    input: {
      /** ID of the proposal, e.g. proposal_1 */
      proposal_id: string;
      /** Run the tool's plan() instead of apply() */
      dry_run?: boolean;
    };
    output: {
      execution_id: string;
      result: {
        status: "succeeded" | "failed" | "simulated" | "started";
        tool: string;
        output: {
          [key: string]: unknown;
        } | null;
        error: {
          [key: string]: unknown;
        } | null;
        dry_run: boolean;
        hash: string;
      };
    };
  };
  /** Execute several approved calls in parallel. Run calls concurrently. A call runs if it names an approved proposal_id, if it is exactly the approved call of a proposal (matched by hash), or if policy allows the tool without review (give workflow_id and actor_id). Any other call fails alone with REVIEW_REQUIRED. */
  execute_parallel: {
    input: {
      calls: Array<{
        tool: string;
        params: {
          [key: string]: unknown;
        };
        /** ID of the proposal, e.g. proposal_1 */
        proposal_id?: string;
      }>;
      /** Workflow context for calls that policy allows without review */
      workflow_id?: string;
      /** Who asks for calls that policy allows without review */
      actor_id?: string;
      dry_run?: boolean;
      max_concurrency?: number;
    };
    output: {
      parallel_id: string;
      results: Array<{
        index: number;
        tool: string;
        status: "succeeded" | "failed" | "simulated" | "started" | "refused";
        proposal_id: string | null;
        execution_id: string | null;
        result: {
          status: "succeeded" | "failed" | "simulated" | "started";
          tool: string;
          output: {
            [key: string]: unknown;
          } | null;
          error: {
            [key: string]: unknown;
          } | null;
          dry_run: boolean;
          hash: string;
        } | null;
        error: {
          code: string;
          message: string;
        } | null;
      }>;
    };
  };
  /** Read a workflow's audit log. The workflow's ledger events in order, each with seq, time, type, actor, data, prev_hash and hash. */
  get_audit_log: {
    input: {
      /** ID of the workflow (or workflow run), e.g. workflow_1 */
      workflow_id: string;
    };
    output: {
      entries: Array<{
        tenant_id: string;
        seq: number;
        time: string;
        type: string;
        actor: string;
        workflow_id: string | null;
        data: {
          [key: string]: unknown;
        };
        prev_hash: string;
        hash: string;
      }>;
    };
  };
  /** Set system policy. Change settings: dry_run true simulates every execution. Omit dry_run to read the current settings. Every change is a ledger event with the new policy_version. */
  set_policy: {
    input: {
      /** Whether to enable dry-run mode */
      dry_run?: boolean;
    };
    output: {
      dry_run: boolean;
      policy_version: string;
    };
  };
  /** Create an API token. Create a bearer token that acts as actor_id (or "operator") in this tenant, optionally expiring (expires_in_seconds) and scoped to a list of operations. The secret is returned once and stored only as a hash. Only the operator mints tokens: no actor can, whatever its role. */
  create_token: {
    input: {
      /** The actor the token acts as, or "operator" for an operator token (administers, never acts as an actor) */
      actor_id: string | "operator";
      /** What the token is for, e.g. "ci" or "claude-desktop" */
      name: string;
      /** Seconds until the token is refused (60 to a year); omit for no expiry */
      expires_in_seconds?: number;
      /** The operations the token may call (e.g. ["propose_action","get_proposal"]); omit for all */
      scope?: Array<"register_actor" | "set_actor_role" | "start_workflow" | "propose_action" | "review_action" | "revise_action" | "execute_action" | "execute_parallel" | "get_audit_log" | "set_policy" | "create_token" | "revoke_token" | "list_tokens" | "get_workflow" | "get_proposal" | "list_pending_reviews" | "verify_audit" | "list_tools" | "list_workflow_definitions" | "start_workflow_run" | "activate_plan" | "get_workflow_status" | "list_workflow_runs" | "cancel_workflow_run" | "request_approval" | "decide_approval" | "list_pending_approvals" | "get_approval" | "validate_trace" | "add_document" | "search_knowledge" | "who_am_i" | "list_actors" | "list_ledger" | "plan_action" | "wait_for_decision" | "test_policy" | "replay_policy" | "book_work_package" | "get_work_package" | "list_work_packages" | "move_work_package">;
    };
    output: {
      token_id: string;
      actor_id: string;
      /** The secret; shown once, stored only as a hash (null when a retry replays the answer) */
      token: string | null;
      expires_at: string | null;
      scope: Array<string> | null;
      note?: string;
    };
  };
  /** Revoke an API token. Revoke a token: the next request made with it is refused. The operator revokes any token, an actor its own. Revoking a revoked token changes nothing (already_revoked is true). */
  revoke_token: {
    input: {
      /** ID of the token, e.g. token_2 */
      token_id: string;
    };
    output: {
      token_id: string;
      actor_id: string;
      revoked_at: string;
      already_revoked: boolean;
    };
  };
  /** List API tokens. The tenant's tokens (an actor sees its own) with status (active, expired, revoked), expiry, scope, who minted each and when it was last used. Secrets are never shown. */
  list_tokens: {
    input: {
      /** Only the tokens of this principal */
      actor_id?: string | "operator";
    };
    output: {
      tokens: Array<{
        token_id: string;
        actor_id: string;
        name: string;
        status: "active" | "expired" | "revoked";
        created_by: string;
        created_at: string;
        expires_at: string | null;
        scope: Array<string> | null;
        revoked_at: string | null;
        last_used_at: string | null;
      }>;
    };
  };
  /** Get a workflow. A workflow and the status of each of its proposals. */
  get_workflow: {
    input: {
      /** ID of the workflow (or workflow run), e.g. workflow_1 */
      workflow_id: string;
    };
    output: {
      workflow: {
        [key: string]: unknown;
      };
      proposals: Array<{
        proposal_id: string;
        tool: string;
        status: string;
        version: number;
      }>;
    };
  };
  /** Get a proposal. A proposal with every version, decision and execution, and final_tool_call (the call that will run). */
  get_proposal: {
    input: {
      /** ID of the proposal, e.g. proposal_1 */
      proposal_id: string;
    };
    output: {
      proposal: {
        [key: string]: unknown;
      };
      final_tool_call: {
        tool: string;
        params: {
          [key: string]: unknown;
        };
        hash: string;
        version: number;
        /** What the call will do in one sentence, written by the tool's describe() when the call was proposed or edited (null: the tool has none). Read it beside params and hash, which are what runs. */
        description: string | null;
      };
      versions: Array<{
        [key: string]: unknown;
      }>;
      decisions: Array<{
        [key: string]: unknown;
      }>;
      executions: Array<{
        [key: string]: unknown;
      }>;
    };
  };
  /** List calls waiting for review. One inbox across workflows, newest first; filter by workflow_id, tool and min_age_seconds. */
  list_pending_reviews: {
    input: {
      /** ID of the workflow (or workflow run), e.g. workflow_1 */
      workflow_id?: string;
      tool?: string;
      /** Only reviews waiting at least this long */
      min_age_seconds?: number;
      limit?: number;
    };
    output: {
      reviews: Array<{
        proposal_id: string;
        workflow_id: string;
        tool: string;
        risk: string;
        proposer_id: string;
        /** The proposer and the author of this version (an editor): neither may review it */
        authors: Array<string>;
        reason: string;
        version: number;
        params: {
          [key: string]: unknown;
        };
        hash: string;
        /** What the call will do in one sentence, written by the tool's describe() when the call was proposed or edited (null: the tool has none). Read it beside params and hash, which are what runs. */
        description: string | null;
        approvals: {
          received: number;
          required: number;
        };
        required_roles: Array<string>;
        /** Approvals each role must give; one approval fills one role only */
        role_quorum?: {
          [key: string]: number;
        };
        /** Approvals still needed, by role (e.g. {"security": 1}); a key "a|b" means any one of those roles, "*" any reviewer; empty when nothing is missing */
        missing: {
          [key: string]: number;
        };
        waiting_since: string;
      }>;
    };
  };
  /** Verify the tenant's ledger. Check the whole hash chain; ok is false and first_broken_seq names the first altered, missing or reordered event. */
  verify_audit: {
    input: Record<string, never>;
    output: {
      ok: boolean;
      events: number;
      head: {
        seq: number;
        hash: string;
      };
      first_broken_seq: number | null;
      problem: {
        seq: number;
        reason: string;
      } | null;
    };
  };
  /** List the governed tools. The tools calls can be proposed for, with risk class (read / write / irreversible) and input schema. */
  list_tools: {
    input: Record<string, never>;
    output: {
      tools: Array<{
        name: string;
        risk: string;
        idempotent: boolean;
        description: string;
        input_schema: {
          [key: string]: unknown;
        };
      }>;
    };
  };
  /** List workflow definitions. The durable workflows this server runs (e.g. ops_change_control, safe_ai_assisted), with their input schemas. Start one with start_workflow_run. */
  list_workflow_definitions: {
    input: Record<string, never>;
    output: {
      definitions: Array<{
        name: string;
        version: string;
        description: string;
        runtime: string;
      }>;
    };
  };
  /** Start a durable workflow run. Start a run of a workflow definition with its input. The run ID derives from tenant, definition and idempotency_key: starting again with the same key returns the same run. The answer is the run after its first steps: usually waiting at a human gate (see list_pending_approvals). */
  start_workflow_run: {
    input: {
      /** Name of the workflow definition */
      definition: string;
      /** The definition's input (see its schema) */
      input: {
        [key: string]: unknown;
      };
      /** Starting twice with the same key is the same run */
      idempotency_key: string;
    };
    output: {
      workflow_id: string;
      definition: string;
      status: "running" | "waiting" | "completed" | "failed" | "cancelled";
      stage: string;
      waiting_on: {
        [key: string]: Shared1;
      } | null;
      wake_at: string | null;
      context: {
        [key: string]: Shared1;
      };
      artifacts: {
        [key: string]: Shared1;
      };
      trace: Array<{
        [key: string]: Shared1;
      }>;
      error: {
        [key: string]: Shared1;
      } | null;
      created_at: string;
      updated_at: string;
    };
  };
  /** Activate an approved plan. Run an approved plan (a plan-only run's saved plan, its final gate approved) as a new governed run, phase by phase: each phase's calls are proposed, approved at their own human gate, executed and read again. Refused when the plan is not approved, plan_hash is not the saved plan's, or what the plan read has changed since (PLAN_STALE: make a new plan). Activating the same plan again returns the same run. */
  activate_plan: {
    input: {
      /** The plan-only run whose approved plan is activated */
      workflow_id: string;
      /** The hash of the plan version you approved; refused if the saved plan differs */
      plan_hash?: string;
    };
    output: {
      workflow_id: string;
      definition: string;
      status: "running" | "waiting" | "completed" | "failed" | "cancelled";
      stage: string;
      waiting_on: {
        [key: string]: Shared1;
      } | null;
      wake_at: string | null;
      context: {
        [key: string]: Shared1;
      };
      artifacts: {
        [key: string]: Shared1;
      };
      trace: Array<{
        [key: string]: Shared1;
      }>;
      error: {
        [key: string]: Shared1;
      } | null;
      created_at: string;
      updated_at: string;
    };
  };
  /** Get a workflow run. A run's status, stage, what it waits on, its artifacts (agent outputs, the audit report) and its trace (decisions and tool write-backs in order). */
  get_workflow_status: {
    input: {
      /** ID of the workflow run, e.g. run_3f0c… */
      workflow_id: string;
    };
    output: {
      workflow_id: string;
      definition: string;
      status: "running" | "waiting" | "completed" | "failed" | "cancelled";
      stage: string;
      waiting_on: {
        [key: string]: Shared1;
      } | null;
      wake_at: string | null;
      context: {
        [key: string]: Shared1;
      };
      artifacts: {
        [key: string]: Shared1;
      };
      trace: Array<{
        [key: string]: Shared1;
      }>;
      error: {
        [key: string]: Shared1;
      } | null;
      created_at: string;
      updated_at: string;
    };
  };
  /** List workflow runs. Runs of this tenant, newest first, filtered by status, definition or stage. */
  list_workflow_runs: {
    input: {
      status?: "running" | "waiting" | "completed" | "failed" | "cancelled";
      /** Name of the workflow definition */
      definition?: string;
      stage?: string;
      limit?: number;
    };
    output: {
      runs: Array<{
        workflow_id: string;
        definition: string;
        status: "running" | "waiting" | "completed" | "failed" | "cancelled";
        stage: string;
        waiting_on: {
          [key: string]: Shared1;
        } | null;
        wake_at: string | null;
        context: {
          [key: string]: Shared1;
        };
        artifacts: {
          [key: string]: Shared1;
        };
        trace: Array<{
          [key: string]: Shared1;
        }>;
        error: {
          [key: string]: Shared1;
        } | null;
        created_at: string;
        updated_at: string;
      }>;
    };
  };
  /** Cancel a workflow run. Stop a running or waiting run; its pending gates are cancelled. Nothing already executed is undone. */
  cancel_workflow_run: {
    input: {
      /** ID of the workflow run, e.g. run_3f0c… */
      workflow_id: string;
      /** Why the run is cancelled */
      reason: string;
    };
    output: {
      workflow_id: string;
      definition: string;
      status: "running" | "waiting" | "completed" | "failed" | "cancelled";
      stage: string;
      waiting_on: {
        [key: string]: Shared1;
      } | null;
      wake_at: string | null;
      context: {
        [key: string]: Shared1;
      };
      artifacts: {
        [key: string]: Shared1;
      };
      trace: Array<{
        [key: string]: Shared1;
      }>;
      error: {
        [key: string]: Shared1;
      } | null;
      created_at: string;
      updated_at: string;
    };
  };
  /** Request a human approval. Ask for a human decision inside an open workflow (for processes driven outside Countersign). The same request_key returns the first request. */
  request_approval: {
    input: {
      /** ID of the workflow (or workflow run), e.g. workflow_1 */
      workflow_id: string;
      /** Unique per workflow: asking twice with it returns the first request */
      request_key: string;
      title: string;
      /** What the reviewer sees: summary, risk, evidence */
      packet: {
        [key: string]: unknown;
      };
      required_approvals?: number;
      required_roles?: Array<string>;
      /** Approvals each role must give, e.g. {"change_manager": 1, "security": 2}; one approval fills one role only. Without it: required_approvals from any of required_roles */
      role_quorum?: {
        [key: string]: number;
      };
      due_at?: string;
    };
    output: {
      tenant_id: string;
      id: string;
      workflow_id: string;
      request_key: string;
      title: string;
      packet: {
        [key: string]: Shared1;
      };
      required_approvals: number;
      required_roles: Array<string>;
      /** Approvals each role must give; one approval fills one role only */
      role_quorum?: {
        [key: string]: number;
      };
      proposals: Array<{
        proposal_id: string;
        hash: string;
      }>;
      status: string;
      requested_by: string;
      /** Others who may not decide it either, e.g. who requested the plan being carried out */
      authors?: Array<string>;
      due_at: string | null;
      /** What a timeout does: { outcome } or { escalate_to: [roles] }; null: nothing */
      on_timeout: {
        [key: string]: Shared1;
      } | null;
      created_at: string;
      updated_at: string;
    };
  };
  /** Decide an approval request. Approve, reject or request_more_info on a pending approval request (a workflow gate) as a reviewer who did not ask for it. Approving a gate approves the tool calls it lists, each bound to its hash. The waiting run goes on at once. */
  decide_approval: {
    input: {
      /** ID of the approval request, e.g. approval_1 */
      approval_id: string;
      /** ID of the reviewer */
      reviewer_id?: string;
      decision: "approve" | "reject" | "request_more_info";
      comment?: string;
    };
    output: {
      approval: {
        tenant_id: string;
        id: string;
        workflow_id: string;
        request_key: string;
        title: string;
        packet: {
          [key: string]: Shared1;
        };
        required_approvals: number;
        required_roles: Array<string>;
        /** Approvals each role must give; one approval fills one role only */
        role_quorum?: {
          [key: string]: number;
        };
        proposals: Array<{
          proposal_id: string;
          hash: string;
        }>;
        status: string;
        requested_by: string;
        /** Others who may not decide it either, e.g. who requested the plan being carried out */
        authors?: Array<string>;
        due_at: string | null;
        /** What a timeout does: { outcome } or { escalate_to: [roles] }; null: nothing */
        on_timeout: {
          [key: string]: Shared1;
        } | null;
        created_at: string;
        updated_at: string;
      };
      decision: {
        tenant_id: string;
        id: string;
        approval_id: string;
        reviewer_id: string;
        /** The reviewer's role when they decided; a role quorum counts this role */
        reviewer_role: string | null;
        decision: string;
        comment: string | null;
        /** The API token the decision was made with */
        token_id: string | null;
        created_at: string;
      };
      run: {
        workflow_id: string;
        definition: string;
        status: "running" | "waiting" | "completed" | "failed" | "cancelled";
        stage: string;
        waiting_on: {
          [key: string]: Shared1;
        } | null;
        wake_at: string | null;
        context: {
          [key: string]: Shared1;
        };
        artifacts: {
          [key: string]: Shared1;
        };
        trace: Array<{
          [key: string]: Shared1;
        }>;
        error: {
          [key: string]: Shared1;
        } | null;
        created_at: string;
        updated_at: string;
      };
    };
  };
  /** List everything waiting on a human. One inbox: pending workflow gates and proposed calls waiting for review, newest first. kind narrows to "gate" or "proposal". */
  list_pending_approvals: {
    input: {
      /** ID of the workflow (or workflow run), e.g. workflow_1 */
      workflow_id?: string;
      kind?: "gate" | "proposal";
      limit?: number;
    };
    output: {
      approvals: Array<{
        kind: "gate" | "proposal";
        id: string;
        workflow_id: string;
        title: string;
        requested_by: string;
        /** Who wrote what is decided (proposer, editor, requester): none of them may decide it */
        authors: Array<string>;
        required_roles: Array<string>;
        /** Approvals each role must give; one approval fills one role only */
        role_quorum?: {
          [key: string]: number;
        };
        approvals: {
          received: number;
          required: number;
        };
        /** Approvals still needed, by role (e.g. {"security": 1}); a key "a|b" means any one of those roles, "*" any reviewer; empty when nothing is missing */
        missing: {
          [key: string]: number;
        };
        waiting_since: string;
        due_at: string | null;
        tool: string | null;
        risk: string | null;
      }>;
    };
  };
  /** Get an approval request. An approval request with its review packet and the decisions recorded so far. */
  get_approval: {
    input: {
      /** ID of the approval request, e.g. approval_1 */
      approval_id: string;
    };
    output: {
      approval: {
        tenant_id: string;
        id: string;
        workflow_id: string;
        request_key: string;
        title: string;
        packet: {
          [key: string]: Shared1;
        };
        required_approvals: number;
        required_roles: Array<string>;
        /** Approvals each role must give; one approval fills one role only */
        role_quorum?: {
          [key: string]: number;
        };
        proposals: Array<{
          proposal_id: string;
          hash: string;
        }>;
        status: string;
        requested_by: string;
        /** Others who may not decide it either, e.g. who requested the plan being carried out */
        authors?: Array<string>;
        due_at: string | null;
        /** What a timeout does: { outcome } or { escalate_to: [roles] }; null: nothing */
        on_timeout: {
          [key: string]: Shared1;
        } | null;
        created_at: string;
        updated_at: string;
      };
      decisions: Array<{
        tenant_id: string;
        id: string;
        approval_id: string;
        reviewer_id: string;
        /** The reviewer's role when they decided; a role quorum counts this role */
        reviewer_role: string | null;
        decision: string;
        comment: string | null;
        /** The API token the decision was made with */
        token_id: string | null;
        created_at: string;
      }>;
      /** Approvals still needed, by role (e.g. {"security": 1}); a key "a|b" means any one of those roles, "*" any reviewer; empty when nothing is missing */
      missing?: {
        [key: string]: number;
      };
    };
  };
  /** Validate a run's audit trace. Check a run's ledger events: WORKFLOW_STARTED first, steps in order, every agent and tool invocation inside the workflow, every tool invocation preceded by a decision or policy allowance bound to its hash, and a final WORKFLOW_COMPLETED or FAILED. */
  validate_trace: {
    input: {
      /** ID of the workflow run, e.g. run_3f0c… */
      workflow_id: string;
    };
    output: {
      workflow_id: string;
      valid: boolean;
      events: number;
      problems: Array<{
        seq: number | null;
        rule: string;
        message: string;
      }>;
      summary: {
        [key: string]: Shared1;
      };
    };
  };
  /** Add a knowledge document. Add a document to the tenant's knowledge base (runbooks, policies, FAQs). Workflows retrieve from it by full-text search. */
  add_document: {
    input: {
      title: string;
      body: string;
      tags?: Array<string>;
    };
    output: {
      document_id: string;
    };
  };
  /** Search the knowledge base. Full-text search of the tenant's knowledge base, best first, with snippets. */
  search_knowledge: {
    input: {
      query: string;
      limit?: number;
    };
    output: {
      hits: Array<{
        id: string;
        title: string;
        snippet: string;
        score: number;
        tags: Array<string>;
      }>;
    };
  };
  /** Who am I. The caller this token stands for: tenant, actor ID, name and roles (what approval requests check), and may: which of the tenant-level operations start_workflow_run, activate_plan, register_actor, set_actor_role, set_policy, create_token this caller would be allowed, by the server's own checks (the token's scope, policy for this caller on the tenant). A listed operation may still be refused for its object; the server decides each call. */
  who_am_i: {
    input: Record<string, never>;
    output: {
      tenant_id: string;
      kind: "operator" | "actor";
      principal_kind: "operator" | "human" | "agent" | "service";
      token_id: string | null;
      actor_id: string;
      name: string;
      roles: Array<string>;
      /** Of the tenant-level operations start_workflow_run, activate_plan, register_actor, set_actor_role, set_policy, create_token: those this caller would be allowed, by the checks the operations themselves make before looking at any object (the token's scope, then policy for this caller on the tenant, with this call’s purpose; only the operator mints tokens). A call may still be refused for its object (a plan not approved, one’s own role): the server decides each call. */
      may: Array<"start_workflow_run" | "activate_plan" | "register_actor" | "set_actor_role" | "set_policy" | "create_token">;
    };
  };
  /** List the tenant's actors. Who the actor IDs stand for: every actor of the tenant with its name, role and kind, in registration order. Filter with kind. Any caller that may read the tenant’s workflows may list them; no secret is included. */
  list_actors: {
    input: {
      /** Only actors of this kind (default: all) */
      kind?: "human" | "agent" | "service";
    };
    output: {
      actors: Array<{
        actor_id: string;
        name: string;
        role: string;
        kind: "human" | "agent" | "service";
        created_at: string;
      }>;
    };
  };
  /** Read the tenant's ledger. One page of the tenant's whole hash-chained ledger in seq order (every workflow and tenant-level event). Page with after_seq = next_after_seq until it is null. The read itself is recorded. */
  list_ledger: {
    input: {
      /** Only events after this seq (the last seq of the previous page) */
      after_seq?: number;
      /** Page size, default 200 */
      limit?: number;
    };
    output: {
      entries: Array<{
        tenant_id: string;
        seq: number;
        time: string;
        type: string;
        actor: string;
        workflow_id: string | null;
        data: {
          [key: string]: unknown;
        };
        prev_hash: string;
        hash: string;
      }>;
      /** Pass as after_seq for the next page; null on the last page */
      next_after_seq: number | null;
    };
  };
  /** Dry-run plan of a proposed call. What the proposal's current version would change, from the tool's plan(): nothing runs and nothing is recorded. Returns the hash an approval of this version binds to. */
  plan_action: {
    input: {
      /** ID of the proposal, e.g. proposal_1 */
      proposal_id: string;
    };
    output: {
      proposal_id: string;
      version: number;
      tool: string;
      risk: string;
      hash: string;
      plan: {
        [key: string]: Shared1;
      };
    };
  };
  /** Wait for a human decision. Block until a reviewer decides a proposal (proposal_id) or a workflow gate (approval_id), or timeout_seconds (1 to 300, default 30) pass. Returns the status (approved, rejected, needs_info…) with the latest decision, the reviewer and their comment; on timeout status is "pending" and timed_out true: call again. Reads only: it decides nothing. An agent may wait on its own proposals and gates. */
  wait_for_decision: {
    input: {
      /** The proposal to wait on (or give approval_id) */
      proposal_id?: string;
      /** The approval request (workflow gate) to wait on */
      approval_id?: string;
      /** How long to wait for a decision, 1 to 300 seconds (default 30) */
      timeout_seconds?: number;
    };
    output: {
      proposal_id: string | null;
      approval_id: string | null;
      /** ID of the workflow (or workflow run), e.g. workflow_1 */
      workflow_id: string;
      /** The status now: pending while undecided; approved, rejected, needs_info (more information requested), executed, failed for a proposal; approved, rejected, needs_info, timed_out, cancelled for a gate */
      status: string;
      /** True when the wait ended without a decision */
      timed_out: boolean;
      /** The proposal's current version (null for a gate) */
      version: number | null;
      /** The latest decision, with the reviewer and their comment (null: none yet) */
      decision: {
        decision_id: string;
        /** approve, reject, edit, request_more_info, policy_allow, timeout */
        decision: string;
        reviewer_id: string;
        comment: string | null;
        /** The proposal version decided (null for a gate) */
        version: number | null;
        created_at: string;
      } | null;
      /** Every decision recorded so far, oldest first */
      decisions: Array<{
        decision_id: string;
        /** approve, reject, edit, request_more_info, policy_allow, timeout */
        decision: string;
        reviewer_id: string;
        comment: string | null;
        /** The proposal version decided (null for a gate) */
        version: number | null;
        created_at: string;
      }>;
    };
  };
  /** Test a call against the policy. What policy decides for a call (tool, params, proposer, workflow) without proposing it: effect (allow, review, deny), required approvals and roles, and why (the IDs and annotations of the matching policies). With `candidate` (the text of Cedar policy files), also what that candidate would decide. Nothing is created or recorded and the active policy is unchanged. Invalid candidate text is POLICY_INVALID naming the file. For the operator and admins. */
  test_policy: {
    input: {
      /** The tool of the call */
      tool: string;
      /** The call parameters (checked against the tool, default {}) */
      params?: {
        [key: string]: unknown;
      };
      /** The actor who would propose the call */
      proposer_id: string;
      /** The workflow it would be proposed in (the default policies deny a call without one) */
      workflow_id?: string;
      /** The purpose the proposer's call would carry (default: this call's purpose) */
      call_purpose?: string;
      /** A candidate policy set: the Cedar text of each file (at most 20 files, 65536 characters each, 262144 in all) */
      candidate?: Array<{
        /** The file name, e.g. policies.cedar (named in errors) */
        name: string;
        /** The Cedar policies of the file */
        text: string;
      }>;
    };
    output: {
      call: {
        tool: string;
        risk: string;
        proposer_id: string;
        proposer_kind: string;
        proposer_roles: Array<string>;
        workflow_id: string | null;
        purpose: string;
      };
      current: {
        effect: "allow" | "review" | "deny";
        approvals: number;
        roles: Array<string>;
        policy_version: string;
        matched: Array<{
          id: string;
          annotations: {
            [key: string]: string;
          };
        }>;
        errors: Array<string>;
        why: string;
      };
      candidate: {
        effect: "allow" | "review" | "deny";
        approvals: number;
        roles: Array<string>;
        policy_version: string;
        matched: Array<{
          id: string;
          annotations: {
            [key: string]: string;
          };
        }>;
        errors: Array<string>;
        why: string;
      } | null;
      changed: boolean | null;
      notes: Array<string>;
    };
  };
  /** Replay recent proposals under a candidate policy. A shadow replay: the `last` N most recently active proposals of the tenant (their tool, proposer and workflow) asked of the active policy and of a candidate (the text of Cedar policy files). Lists every decision that would change (before and after, with the matching policies) and counts by effect. Nothing is created or recorded. For the operator and admins. */
  replay_policy: {
    input: {
      /** A candidate policy set: the Cedar text of each file (at most 20 files, 65536 characters each, 262144 in all) */
      candidate: Array<{
        /** The file name, e.g. policies.cedar (named in errors) */
        name: string;
        /** The Cedar policies of the file */
        text: string;
      }>;
      /** How many of the most recently active proposals to replay (1 to 1000) */
      last: number;
    };
    output: {
      current_version: string;
      candidate_version: string;
      replayed: number;
      changed: number;
      unchanged: number;
      skipped: Array<{
        proposal_id: string;
        reason: string;
      }>;
      counts: {
        current: {
          allow: number;
          review: number;
          deny: number;
        };
        candidate: {
          allow: number;
          review: number;
          deny: number;
        };
      };
      changes: Array<{
        proposal_id: string;
        workflow_id: string;
        tool: string;
        proposer_id: string;
        before: {
          effect: "allow" | "review" | "deny";
          approvals: number;
          roles: Array<string>;
          matched: Array<{
            id: string;
            annotations: {
              [key: string]: string;
            };
          }>;
          why: string;
        };
        after: {
          effect: "allow" | "review" | "deny";
          approvals: number;
          roles: Array<string>;
          matched: Array<{
            id: string;
            annotations: {
              [key: string]: string;
            };
          }>;
          why: string;
        };
      }>;
    };
  };
  /** Book a work package. Book a bounded unit of agent work, addressed to an agent role: title, objective, owned and forbidden surfaces (path globs), the tools it allows, the evidence tier its return must reach, validation commands, a stop gate and a repository. People (and the operator) book packages; an agent cannot. The package starts booked, for an agent of its role to claim with move_work_package. */
  book_work_package: {
    input: {
      spec: {
        title: string;
        objective: string;
        role: string;
        owned_surfaces: Array<string>;
        forbidden_surfaces?: Array<string>;
        tools?: Array<string>;
        evidence_tier: "not_proven" | "source_trace" | "static_proof" | "local_command_proof" | "runtime_proof" | "stress_abuse_proof" | "merge_proof";
        validation_commands?: Array<string>;
        stop_gate?: boolean;
        repository?: string | null;
      };
    };
    output: {
      tenant_id: string;
      id: string;
      version: number;
      state: "booked" | "claimed" | "scope_returned" | "scope_revision" | "go" | "executing" | "returned" | "in_review" | "revision_required" | "accepted" | "rejected" | "held" | "stopped" | "merged";
      /** While held: the state a release returns to */
      held_from: "booked" | "claimed" | "scope_returned" | "scope_revision" | "go" | "executing" | "returned" | "in_review" | "revision_required" | "accepted" | "rejected" | "held" | "stopped" | "merged" | null;
      role: string;
      title: string;
      booked_by: string;
      /** The agent that claimed it; null until claimed */
      claimed_by: string | null;
      created_at: string;
      updated_at: string;
      spec: {
        title: string;
        objective: string;
        /** The agent role the package is addressed to */
        role: string;
        /** Path globs the agent may change */
        owned_surfaces: Array<string>;
        /** Path globs the agent must never change */
        forbidden_surfaces: Array<string>;
        /** The only tools the package allows */
        tools: Array<string>;
        /** The evidence class the return must reach */
        evidence_tier: "not_proven" | "source_trace" | "static_proof" | "local_command_proof" | "runtime_proof" | "stress_abuse_proof" | "merge_proof";
        validation_commands: Array<string>;
        /** With a stop gate, the agent returns its scope and waits for a go before working */
        stop_gate: boolean;
        repository: string | null;
      };
      /** SHA-256 of the spec's canonical JSON */
      spec_hash: string;
      /** The package in its eight sections, as Markdown */
      markdown: string;
      /** The agent's scope confirmations and returns, newest last */
      returns: Array<{
        /** 1, 2, … per package, in the order they were handed back */
        n: number;
        /** A scope confirmation or a return of the work */
        kind: "scope" | "return";
        /** The package version it answers */
        wp_version: number;
        /** The scope confirmation (kind scope); null otherwise */
        scope: string | null;
        /** The return (kind return); null otherwise */
        artifact: {
          summary: string;
          changed: Array<{
            path: string;
            what: string;
          }>;
          validated: Array<{
            how: string;
            command: string | null;
            result: string;
          }>;
          not_touched: Array<string>;
          evidence: Array<{
            claim: string;
            class: "not_proven" | "source_trace" | "static_proof" | "local_command_proof" | "runtime_proof" | "stress_abuse_proof" | "merge_proof";
            pointer: {
              kind: "file" | "command" | "execution" | "run" | "commit" | "none";
              ref: string;
            };
          }>;
          non_claims: Array<string>;
          risks: Array<string>;
          next_gate: string;
        } | null;
        /** SHA-256 of the body's canonical JSON, as in the WP_MOVED event */
        hash: string;
        returned_by: string;
        returned_at: string;
        /** The scope or the return, as Markdown */
        markdown: string;
      }>;
    };
  };
  /** Get a work package. A work package: its state, who booked and who claimed it, its spec (the current version, or the one asked for) and that spec as Markdown, and the scope confirmations and returns its agent handed back (newest last, each with its hash and as Markdown). Any caller of the package's tenant may read it. */
  get_work_package: {
    input: {
      wp_id: string;
      version?: number;
    };
    output: {
      tenant_id: string;
      id: string;
      version: number;
      state: "booked" | "claimed" | "scope_returned" | "scope_revision" | "go" | "executing" | "returned" | "in_review" | "revision_required" | "accepted" | "rejected" | "held" | "stopped" | "merged";
      /** While held: the state a release returns to */
      held_from: "booked" | "claimed" | "scope_returned" | "scope_revision" | "go" | "executing" | "returned" | "in_review" | "revision_required" | "accepted" | "rejected" | "held" | "stopped" | "merged" | null;
      role: string;
      title: string;
      booked_by: string;
      /** The agent that claimed it; null until claimed */
      claimed_by: string | null;
      created_at: string;
      updated_at: string;
      spec: {
        title: string;
        objective: string;
        /** The agent role the package is addressed to */
        role: string;
        /** Path globs the agent may change */
        owned_surfaces: Array<string>;
        /** Path globs the agent must never change */
        forbidden_surfaces: Array<string>;
        /** The only tools the package allows */
        tools: Array<string>;
        /** The evidence class the return must reach */
        evidence_tier: "not_proven" | "source_trace" | "static_proof" | "local_command_proof" | "runtime_proof" | "stress_abuse_proof" | "merge_proof";
        validation_commands: Array<string>;
        /** With a stop gate, the agent returns its scope and waits for a go before working */
        stop_gate: boolean;
        repository: string | null;
      };
      /** SHA-256 of the spec's canonical JSON */
      spec_hash: string;
      /** The package in its eight sections, as Markdown */
      markdown: string;
      /** The agent's scope confirmations and returns, newest last */
      returns: Array<{
        /** 1, 2, … per package, in the order they were handed back */
        n: number;
        /** A scope confirmation or a return of the work */
        kind: "scope" | "return";
        /** The package version it answers */
        wp_version: number;
        /** The scope confirmation (kind scope); null otherwise */
        scope: string | null;
        /** The return (kind return); null otherwise */
        artifact: {
          summary: string;
          changed: Array<{
            path: string;
            what: string;
          }>;
          validated: Array<{
            how: string;
            command: string | null;
            result: string;
          }>;
          not_touched: Array<string>;
          evidence: Array<{
            claim: string;
            class: "not_proven" | "source_trace" | "static_proof" | "local_command_proof" | "runtime_proof" | "stress_abuse_proof" | "merge_proof";
            pointer: {
              kind: "file" | "command" | "execution" | "run" | "commit" | "none";
              ref: string;
            };
          }>;
          non_claims: Array<string>;
          risks: Array<string>;
          next_gate: string;
        } | null;
        /** SHA-256 of the body's canonical JSON, as in the WP_MOVED event */
        hash: string;
        returned_by: string;
        returned_at: string;
        /** The scope or the return, as Markdown */
        markdown: string;
      }>;
    };
  };
  /** List work packages. The tenant's work packages in booking order, without their specs, filtered by state or role (an agent looking for work: state booked, its own role). Page with after = next_after until it is null. */
  list_work_packages: {
    input: {
      state?: "booked" | "claimed" | "scope_returned" | "scope_revision" | "go" | "executing" | "returned" | "in_review" | "revision_required" | "accepted" | "rejected" | "held" | "stopped" | "merged";
      role?: string;
      after?: string;
      limit?: number;
    };
    output: {
      work_packages: Array<{
        tenant_id: string;
        id: string;
        version: number;
        state: "booked" | "claimed" | "scope_returned" | "scope_revision" | "go" | "executing" | "returned" | "in_review" | "revision_required" | "accepted" | "rejected" | "held" | "stopped" | "merged";
        /** While held: the state a release returns to */
        held_from: "booked" | "claimed" | "scope_returned" | "scope_revision" | "go" | "executing" | "returned" | "in_review" | "revision_required" | "accepted" | "rejected" | "held" | "stopped" | "merged" | null;
        role: string;
        title: string;
        booked_by: string;
        /** The agent that claimed it; null until claimed */
        claimed_by: string | null;
        created_at: string;
        updated_at: string;
      }>;
      /** Pass as after for the next page; null on the last page */
      next_after: string | null;
    };
  };
  /** Move a work package. Move a package one step of its lifecycle. An agent of the package’s role claims it (claim), returns its scope (return_scope), starts (start, or start_without_scope without a stop gate) and returns its work (return); after the claim only the claiming agent makes these moves. People decide: go or revise_scope (with findings) on a returned scope, open_review, then accept, require_revision (with findings) or reject (with a reason); they also hold (with a reason), release, stop (with a reason) and merge (with merge_proof, the merge commit). A verdict is never made by the agent that claimed the package, by any agent, or by the operator: those are refused with POLICY_DENIED or SELF_APPROVAL. return_scope carries scope (the scope as the agent understands it); return carries artifact, the return: summary, changed, validated, not_touched, the evidence register (each claim with its class and a pointer to its record), non_claims, risks and next_gate; both are stored append-only and their hash is in the ledger. accept checks the latest return against the package’s evidence tier: a runtime_proof counts when it points at a succeeded execution or a completed run of the tenant; classes the runner records are not verifiable yet. Below the tier accept is refused with EVIDENCE_BELOW_TIER (details: required, reached, unverified) unless the reviewer gives override_reason, recorded as the override in the ledger. A move not legal from where the package stands is refused with INVALID_STATE, whose details list legal_moves. */
  move_work_package: {
    input: {
      wp_id: string;
      move: "claim" | "return_scope" | "go" | "revise_scope" | "start" | "start_without_scope" | "return" | "open_review" | "accept" | "require_revision" | "reject" | "hold" | "release" | "stop" | "merge";
      reason?: string;
      findings?: Array<string>;
      merge_proof?: string;
      scope?: string;
      artifact?: {
        summary: string;
        changed: Array<{
          path: string;
          what: string;
        }>;
        validated: Array<{
          how: string;
          command: string | null;
          result: string;
        }>;
        not_touched: Array<string>;
        evidence: Array<{
          claim: string;
          class: "not_proven" | "source_trace" | "static_proof" | "local_command_proof" | "runtime_proof" | "stress_abuse_proof" | "merge_proof";
          pointer: {
            kind: "file" | "command" | "execution" | "run" | "commit" | "none";
            ref: string;
          };
        }>;
        non_claims: Array<string>;
        risks: Array<string>;
        next_gate: string;
      };
      override_reason?: string;
    };
    output: {
      tenant_id: string;
      id: string;
      version: number;
      state: "booked" | "claimed" | "scope_returned" | "scope_revision" | "go" | "executing" | "returned" | "in_review" | "revision_required" | "accepted" | "rejected" | "held" | "stopped" | "merged";
      /** While held: the state a release returns to */
      held_from: "booked" | "claimed" | "scope_returned" | "scope_revision" | "go" | "executing" | "returned" | "in_review" | "revision_required" | "accepted" | "rejected" | "held" | "stopped" | "merged" | null;
      role: string;
      title: string;
      booked_by: string;
      /** The agent that claimed it; null until claimed */
      claimed_by: string | null;
      created_at: string;
      updated_at: string;
      spec: {
        title: string;
        objective: string;
        /** The agent role the package is addressed to */
        role: string;
        /** Path globs the agent may change */
        owned_surfaces: Array<string>;
        /** Path globs the agent must never change */
        forbidden_surfaces: Array<string>;
        /** The only tools the package allows */
        tools: Array<string>;
        /** The evidence class the return must reach */
        evidence_tier: "not_proven" | "source_trace" | "static_proof" | "local_command_proof" | "runtime_proof" | "stress_abuse_proof" | "merge_proof";
        validation_commands: Array<string>;
        /** With a stop gate, the agent returns its scope and waits for a go before working */
        stop_gate: boolean;
        repository: string | null;
      };
      /** SHA-256 of the spec's canonical JSON */
      spec_hash: string;
      /** The package in its eight sections, as Markdown */
      markdown: string;
      /** The agent's scope confirmations and returns, newest last */
      returns: Array<{
        /** 1, 2, … per package, in the order they were handed back */
        n: number;
        /** A scope confirmation or a return of the work */
        kind: "scope" | "return";
        /** The package version it answers */
        wp_version: number;
        /** The scope confirmation (kind scope); null otherwise */
        scope: string | null;
        /** The return (kind return); null otherwise */
        artifact: {
          summary: string;
          changed: Array<{
            path: string;
            what: string;
          }>;
          validated: Array<{
            how: string;
            command: string | null;
            result: string;
          }>;
          not_touched: Array<string>;
          evidence: Array<{
            claim: string;
            class: "not_proven" | "source_trace" | "static_proof" | "local_command_proof" | "runtime_proof" | "stress_abuse_proof" | "merge_proof";
            pointer: {
              kind: "file" | "command" | "execution" | "run" | "commit" | "none";
              ref: string;
            };
          }>;
          non_claims: Array<string>;
          risks: Array<string>;
          next_gate: string;
        } | null;
        /** SHA-256 of the body's canonical JSON, as in the WP_MOVED event */
        hash: string;
        returned_by: string;
        returned_at: string;
        /** The scope or the return, as Markdown */
        markdown: string;
      }>;
    };
  };
}

/** The HTTP route of each operation; `{name}` path segments come from the input. */
export const ROUTES = {
  register_actor: { method: 'POST', path: '/actors', write: true, privileged: false },
  set_actor_role: { method: 'PUT', path: '/actors/{actor_id}/role', write: true, privileged: false },
  start_workflow: { method: 'POST', path: '/workflows', write: true, privileged: true },
  propose_action: { method: 'POST', path: '/proposals', write: true, privileged: false },
  review_action: { method: 'POST', path: '/proposals/{proposal_id}/review', write: true, privileged: true },
  revise_action: { method: 'POST', path: '/proposals/{proposal_id}/revise', write: true, privileged: false },
  execute_action: { method: 'POST', path: '/proposals/{proposal_id}/execute', write: true, privileged: true },
  execute_parallel: { method: 'POST', path: '/executions/parallel', write: true, privileged: true },
  get_audit_log: { method: 'GET', path: '/workflows/{workflow_id}/audit-log', write: true, privileged: false },
  set_policy: { method: 'PUT', path: '/policy', write: true, privileged: true },
  create_token: { method: 'POST', path: '/tokens', write: true, privileged: true },
  revoke_token: { method: 'DELETE', path: '/tokens/{token_id}', write: true, privileged: true },
  list_tokens: { method: 'GET', path: '/tokens', write: false, privileged: false },
  get_workflow: { method: 'GET', path: '/workflows/{workflow_id}', write: false, privileged: false },
  get_proposal: { method: 'GET', path: '/proposals/{proposal_id}', write: false, privileged: false },
  list_pending_reviews: { method: 'GET', path: '/reviews/pending', write: false, privileged: false },
  verify_audit: { method: 'GET', path: '/audit/verify', write: false, privileged: false },
  list_tools: { method: 'GET', path: '/tools', write: false, privileged: false },
  list_workflow_definitions: { method: 'GET', path: '/workflows/definitions', write: false, privileged: false },
  start_workflow_run: { method: 'POST', path: '/workflows/start', write: true, privileged: true },
  activate_plan: { method: 'POST', path: '/workflows/{workflow_id}/activate', write: true, privileged: true },
  get_workflow_status: { method: 'GET', path: '/workflows/{workflow_id}/status', write: false, privileged: false },
  list_workflow_runs: { method: 'GET', path: '/workflows/runs', write: false, privileged: false },
  cancel_workflow_run: { method: 'POST', path: '/workflows/{workflow_id}/cancel', write: true, privileged: true },
  request_approval: { method: 'POST', path: '/approvals/request', write: true, privileged: false },
  decide_approval: { method: 'POST', path: '/approvals/{approval_id}/decision', write: true, privileged: true },
  list_pending_approvals: { method: 'GET', path: '/approvals/pending', write: false, privileged: false },
  get_approval: { method: 'GET', path: '/approvals/{approval_id}', write: false, privileged: false },
  validate_trace: { method: 'GET', path: '/workflows/{workflow_id}/trace', write: true, privileged: false },
  add_document: { method: 'POST', path: '/knowledge/documents', write: true, privileged: false },
  search_knowledge: { method: 'GET', path: '/knowledge/search', write: false, privileged: false },
  who_am_i: { method: 'GET', path: '/me', write: false, privileged: false },
  list_actors: { method: 'GET', path: '/actors', write: false, privileged: false },
  list_ledger: { method: 'GET', path: '/audit/ledger', write: true, privileged: false },
  plan_action: { method: 'GET', path: '/proposals/{proposal_id}/plan', write: false, privileged: false },
  wait_for_decision: { method: 'GET', path: '/decisions/wait', write: false, privileged: false },
  test_policy: { method: 'POST', path: '/policy/test', write: false, privileged: false },
  replay_policy: { method: 'POST', path: '/policy/replay', write: false, privileged: false },
  book_work_package: { method: 'POST', path: '/work-packages', write: true, privileged: true },
  get_work_package: { method: 'GET', path: '/work-packages/{wp_id}', write: false, privileged: false },
  list_work_packages: { method: 'GET', path: '/work-packages', write: false, privileged: false },
  move_work_package: { method: 'POST', path: '/work-packages/{wp_id}/moves', write: true, privileged: true },
} as const;
