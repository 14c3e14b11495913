import { z } from 'zod';
import { assertActsAs, assertInScope } from '../core/authority.js';
import type { CallContext } from '../core/context.js';
import { parseInput } from '../core/validation.js';
import * as S from '../core/schemas.js';
import type { Services } from './services.js';
import { CONSOLE_OPERATIONS } from './console-operations.js';
import { WORKFLOW_OPERATIONS } from './workflow-operations.js';

/**
 * One entry per core operation. The MCP tools, the HTTP routes and the CLI commands are views
 * of this table: same name, same input and output schemas, same kernel call.
 */
export interface Operation {
  /** The connector name (seed 002), used as the MCP tool name. */
  readonly name: string;
  readonly title: string;
  /** Written for an agent deciding whether and how to call it. */
  readonly description: string;
  readonly input: z.ZodType;
  readonly output: z.ZodType;
  /** Changes state. */
  readonly write: boolean;
  /** Over HTTP, needs an `X-Purpose` header (reviews, executions, policy, workflow starts). */
  readonly privileged: boolean;
  /** Parameters naming the acting actor: over HTTP they must be the token's own actor. */
  readonly actorFields: readonly string[];
  /** The HTTP route; `{name}` segments are taken from the input of the same name. */
  readonly http: { readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE'; readonly path: string };
  /** Output fields holding a secret: never kept in an idempotency record (a replay says so). */
  readonly secretFields?: readonly string[];
  run(services: Services, ctx: CallContext, input: unknown): Promise<unknown>;
}

function op(o: Operation): Operation {
  return Object.freeze(o);
}

/**
 * create_token's input with `scope` listing the catalogue's operation names, so that every
 * schema made from it (the OpenAPI document, the MCP tool) names them. Lazy: the catalogue is
 * complete only once this module has loaded.
 */
function createTokenInput() {
  const operationName = z.lazy(() =>
    z.enum(OPERATIONS.map((o) => o.name) as [string, ...string[]], {
      error: 'must be the name of an operation',
    }),
  );
  return S.createTokenInput.extend({
    scope: z
      .array(operationName)
      .min(1)
      .max(64)
      .optional()
      .describe(
        'The operations the token may call (e.g. ["propose_action","get_proposal"]); omit for all',
      ),
  });
}

export const OPERATIONS: readonly Operation[] = [
  op({
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
    run: ({ kernel: k }, c, i) => k.registerActor(c, i as S.RegisterActorInput),
  }),
  op({
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
    run: ({ kernel: k }, c, i) => k.startWorkflow(c, i as S.StartWorkflowInput),
  }),
  op({
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
    run: ({ kernel: k }, c, i) => k.proposeAction(c, i as S.ProposeActionInput),
  }),
  op({
    name: 'review_action',
    title: 'Review a proposed call',
    description:
      'Decide on a pending proposal as a reviewer who did not propose it: "approve", "reject", ' +
      '"request_more_info", or "edit" with edits.params deep-merged into a new version that this decision ' +
      'approves. Returns the status and final_tool_call, the exact call that will run.',
    input: S.reviewActionInput,
    output: S.reviewActionOutput,
    write: true,
    privileged: true,
    actorFields: ['reviewer_id'],
    http: { method: 'POST', path: '/proposals/{proposal_id}/review' },
    run: ({ kernel: k }, c, i) => k.reviewAction(c, i as S.ReviewActionInput),
  }),
  op({
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
    run: ({ kernel: k }, c, i) => k.reviseAction(c, i as S.ReviseActionInput),
  }),
  op({
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
    run: ({ kernel: k }, c, i) => k.executeAction(c, i as S.ExecuteActionInput),
  }),
  op({
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
    run: ({ kernel: k }, c, i) => k.executeParallel(c, i as S.ExecuteParallelInput),
  }),
  op({
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
    run: ({ kernel: k }, c, i) => k.getAuditLog(c, i as S.GetAuditLogInput),
  }),
  op({
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
    run: ({ kernel: k }, c, i) => k.setPolicy(c, i as S.SetPolicyInput),
  }),
  op({
    name: 'create_token',
    title: 'Create an API token',
    description:
      'Create a bearer token that acts as actor_id (or "operator") in this tenant, optionally expiring ' +
      '(expires_in_seconds) and scoped to a list of operations. The secret is returned once and stored only ' +
      'as a hash. Only the operator mints tokens: no actor can, whatever its role.',
    input: createTokenInput(),
    output: S.createTokenOutput,
    write: true,
    privileged: true,
    actorFields: [],
    http: { method: 'POST', path: '/tokens' },
    secretFields: ['token'],
    run: ({ kernel: k }, c, i) => k.createToken(c, i as S.CreateTokenInput),
  }),
  op({
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
    run: ({ kernel: k }, c, i) => k.revokeToken(c, i as S.RevokeTokenInput),
  }),
  op({
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
    run: ({ kernel: k }, c, i) => k.listTokens(c, i as S.ListTokensInput),
  }),
  op({
    name: 'get_workflow',
    title: 'Get a workflow',
    description: 'A workflow and the status of each of its proposals.',
    input: S.getWorkflowInput,
    output: S.getWorkflowOutput,
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/workflows/{workflow_id}' },
    run: ({ kernel: k }, c, i) => k.getWorkflow(c, i as { workflow_id: string }),
  }),
  op({
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
    run: ({ kernel: k }, c, i) => k.getProposal(c, i as { proposal_id: string }),
  }),
  op({
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
    run: ({ kernel: k }, c, i) => k.listPendingReviews(c, i as S.ListPendingReviewsInput),
  }),
  op({
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
  op({
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
  ...WORKFLOW_OPERATIONS,
  ...CONSOLE_OPERATIONS,
];

/**
 * Runs an operation for a caller at any door (HTTP, MCP on either transport): the token's
 * scope, then the acting-actor fields. An actor's token that leaves an acting field out acts
 * as itself; naming anyone else, or naming anyone with an operator token, is refused before
 * the core runs (and the core checks again).
 */
export async function invokeOperation(
  services: Services,
  op: Operation,
  ctx: CallContext,
  input: Record<string, unknown>,
): Promise<unknown> {
  assertInScope(ctx, op.name);
  const args = withCallerDefaults(op, ctx, input);
  for (const field of op.actorFields) {
    const named = args[field];
    if (typeof named === 'string') assertActsAs(ctx, named, field);
  }
  parseInput(op.input, args, `${op.name} input`);
  return op.run(services, ctx, args);
}

/** The input with each actor field an actor's call leaves out set to that actor. */
export function withCallerDefaults(
  op: Operation,
  ctx: CallContext,
  input: Record<string, unknown>,
): Record<string, unknown> {
  const args = { ...input };
  for (const field of op.actorFields)
    if (args[field] === undefined && ctx.caller.kind === 'actor') args[field] = ctx.caller.actor_id;
  return args;
}

export function operation(name: string): Operation {
  const o = OPERATIONS.find((x) => x.name === name);
  if (!o) throw new Error(`no operation ${name}`);
  return o;
}
