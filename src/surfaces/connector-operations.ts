import * as S from '../core/schemas.js';
import { type Operation, defineOperation } from './operation.js';

/**
 * The connector's operations (register actors, workflows, proposals, reviews, executions,
 * audit, policy, tokens) as catalogue entries: each is an MCP tool, an HTTP route and a CLI
 * command.
 */
export const CONNECTOR_OPERATIONS: readonly Operation[] = [
  defineOperation({
    name: 'register_actor',
    title: 'Register an actor',
    description:
      'Register a person, agent or service that can propose or review tool calls. Returns actor_id (actor_<n>). ' +
      'The role is what policies check, e.g. "Developer", "Senior Developer", "DevOps Engineer".',
    input: S.registerActorInput,
    output: S.registerActorOutput,
    write: true,
    privileged: false,
    actorFields: [],
    http: { method: 'POST', path: '/actors' },
    run: ({ kernel: k }, c, i) => k.registerActor(c, i),
  }),
  defineOperation({
    name: 'set_actor_role',
    title: "Change an actor's role",
    description:
      "Change another actor's role (the operator and admins by default). Nobody changes their own role. " +
      'Approvals already given keep the role they were given with. Name and kind never change.',
    input: S.setActorRoleInput,
    output: S.setActorRoleOutput,
    write: true,
    privileged: false,
    actorFields: [],
    http: { method: 'PUT', path: '/actors/{actor_id}/role' },
    run: ({ kernel: k }, c, i) => k.setActorRole(c, i),
  }),
  defineOperation({
    name: 'start_workflow',
    title: 'Start a workflow',
    description:
      'Open a workflow: the context every proposed tool call belongs to. Returns workflow_id. ' +
      'Pass idempotency_key to make retries return the same workflow.',
    input: S.startWorkflowInput,
    output: S.startWorkflowOutput,
    write: true,
    privileged: true,
    actorFields: [],
    http: { method: 'POST', path: '/workflows' },
    run: ({ kernel: k }, c, i) => k.startWorkflow(c, i),
  }),
  defineOperation({
    name: 'propose_action',
    title: 'Propose a tool call',
    description:
      'Ask for a tool call to be made. Nothing runs yet: policy decides whether it is denied (POLICY_DENIED), ' +
      'approved at once (status "approved") or needs human review (status "pending"). Params are validated ' +
      "against the tool's schema (see list_tools). Returns proposal_id, status and the hash approvals bind to.",
    input: S.proposeActionInput,
    output: S.proposeActionOutput,
    write: true,
    privileged: false,
    actorFields: ['actor_id'],
    http: { method: 'POST', path: '/proposals' },
    run: ({ kernel: k }, c, i) => k.proposeAction(c, i),
  }),
  defineOperation({
    name: 'review_action',
    title: 'Review a proposed call',
    description:
      'Decide on a pending proposal as a reviewer who did not propose it: "approve", "reject", ' +
      '"request_more_info", or "edit" with edits.params deep-merged into a new version. An edit is not an ' +
      "approval: the new version needs approvals from reviewers other than its editor, unless policy lets the editor's " +
      'edit stand as its approval (proposal.approve_own_edit). Returns the status and final_tool_call, the exact call that will run.',
    input: S.reviewActionInput,
    output: S.reviewActionOutput,
    write: true,
    privileged: true,
    actorFields: ['reviewer_id'],
    http: { method: 'POST', path: '/proposals/{proposal_id}/review' },
    run: ({ kernel: k }, c, i) => k.reviewAction(c, i),
  }),
  defineOperation({
    name: 'revise_action',
    title: 'Revise a proposal sent back for more information',
    description:
      'As the proposer, answer request_more_info with complete new params; creates a new pending version.',
    input: S.reviseActionInput,
    output: S.reviseActionOutput,
    write: true,
    privileged: false,
    actorFields: ['actor_id'],
    http: { method: 'POST', path: '/proposals/{proposal_id}/revise' },
    run: ({ kernel: k }, c, i) => k.reviseAction(c, i),
  }),
  defineOperation({
    name: 'execute_action',
    title: 'Execute an approved call',
    description:
      'Run an approved proposal, at most once: calling again returns the same execution_id and result. ' +
      'dry_run runs the tool\'s plan() and reports what would happen (status "simulated").',
    input: S.executeActionInput,
    output: S.executeActionOutput,
    write: true,
    privileged: true,
    actorFields: [],
    http: { method: 'POST', path: '/proposals/{proposal_id}/execute' },
    run: ({ kernel: k }, c, i) => k.executeAction(c, i),
  }),
  defineOperation({
    name: 'execute_parallel',
    title: 'Execute several approved calls in parallel',
    description:
      'Run calls concurrently. A call runs if it names an approved proposal_id, if it is exactly the ' +
      'approved call of a proposal (matched by hash), or if policy allows the tool without review ' +
      '(give workflow_id and actor_id). Any other call fails alone with REVIEW_REQUIRED.',
    input: S.executeParallelInput,
    output: S.executeParallelOutput,
    write: true,
    privileged: true,
    actorFields: ['actor_id'],
    http: { method: 'POST', path: '/executions/parallel' },
    run: ({ kernel: k }, c, i) => k.executeParallel(c, i),
  }),
  defineOperation({
    name: 'get_audit_log',
    title: "Read a workflow's audit log",
    description:
      "The workflow's ledger events in order, each with seq, time, type, actor, data, prev_hash and hash.",
    input: S.getAuditLogInput,
    output: S.getAuditLogOutput,
    write: true, // the read itself is recorded
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/workflows/{workflow_id}/audit-log' },
    run: ({ kernel: k }, c, i) => k.getAuditLog(c, i),
  }),
  defineOperation({
    name: 'set_policy',
    title: 'Set system policy',
    description:
      'Change settings: dry_run true simulates every execution. Omit dry_run to read the current settings. ' +
      'Every change is a ledger event with the new policy_version.',
    input: S.setPolicyInput,
    output: S.setPolicyOutput,
    write: true,
    privileged: true,
    actorFields: [],
    http: { method: 'PUT', path: '/policy' },
    run: ({ kernel: k }, c, i) => k.setPolicy(c, i),
  }),
  defineOperation({
    name: 'create_token',
    title: 'Create an API token',
    description:
      'Create a bearer token that acts as actor_id (or "operator") in this tenant, optionally expiring ' +
      '(expires_in_seconds) and scoped to a list of operations. The secret is returned once and stored only ' +
      'as a hash. Only the operator mints tokens: no actor can, whatever its role.',
    input: S.createTokenInput,
    output: S.createTokenOutput,
    write: true,
    privileged: true,
    actorFields: [],
    http: { method: 'POST', path: '/tokens' },
    secretFields: ['token'],
    operationNameFields: ['scope'],
    run: ({ kernel: k }, c, i) => k.createToken(c, i),
  }),
  defineOperation({
    name: 'revoke_token',
    title: 'Revoke an API token',
    description:
      'Revoke a token: the next request made with it is refused. The operator revokes any token, an actor ' +
      'its own. Revoking a revoked token changes nothing (already_revoked is true).',
    input: S.revokeTokenInput,
    output: S.revokeTokenOutput,
    write: true,
    privileged: true,
    actorFields: [],
    http: { method: 'DELETE', path: '/tokens/{token_id}' },
    run: ({ kernel: k }, c, i) => k.revokeToken(c, i),
  }),
  defineOperation({
    name: 'list_tokens',
    title: 'List API tokens',
    description:
      "The tenant's tokens (an actor sees its own) with status (active, expired, revoked), expiry, scope, " +
      'who minted each and when it was last used. Secrets are never shown.',
    input: S.listTokensInput,
    output: S.listTokensOutput,
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/tokens' },
    run: ({ kernel: k }, c, i) => k.listTokens(c, i),
  }),
  defineOperation({
    name: 'get_workflow',
    title: 'Get a workflow',
    description: 'A workflow and the status of each of its proposals.',
    input: S.getWorkflowInput,
    output: S.getWorkflowOutput,
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/workflows/{workflow_id}' },
    run: ({ kernel: k }, c, i) => k.getWorkflow(c, i),
  }),
  defineOperation({
    name: 'get_proposal',
    title: 'Get a proposal',
    description:
      'A proposal with every version, decision and execution, and final_tool_call (the call that will run).',
    input: S.getProposalInput,
    output: S.getProposalOutput,
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/proposals/{proposal_id}' },
    run: ({ kernel: k }, c, i) => k.getProposal(c, i),
  }),
  defineOperation({
    name: 'list_pending_reviews',
    title: 'List calls waiting for review',
    description:
      'One inbox across workflows, newest first; filter by workflow_id, tool and min_age_seconds.',
    input: S.listPendingReviewsInput,
    output: S.listPendingReviewsOutput,
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/reviews/pending' },
    run: ({ kernel: k }, c, i) => k.listPendingReviews(c, i),
  }),
  defineOperation({
    name: 'verify_audit',
    title: "Verify the tenant's ledger",
    description:
      'Check the whole hash chain; ok is false and first_broken_seq names the first altered, missing or reordered event.',
    input: S.verifyAuditInput,
    output: S.verifyAuditOutput,
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/audit/verify' },
    run: ({ kernel: k }, c) => k.verifyAudit(c),
  }),
  defineOperation({
    name: 'list_tools',
    title: 'List the governed tools',
    description:
      'The tools calls can be proposed for, with risk class (read / write / irreversible) and input schema.',
    input: S.listToolsInput,
    output: S.listToolsOutput,
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/tools' },
    run: ({ kernel: k }) =>
      Promise.resolve({
        tools: k.listTools().map((t) => ({
          name: t.name,
          risk: t.risk,
          idempotent: t.idempotent,
          description: t.description,
          input_schema: t.inputSchema,
        })),
      }),
  }),
];
