import { z } from 'zod';
import type { JsonObject } from './model.js';
import { chars, text } from './text.js';
import { TOOL_NAME } from './ports/tools.js';

/**
 * The schemas of the core operations: seed 002's eight connector tools with their exact
 * parameter and return names, plus the reads. Every surface (MCP, HTTP, CLI) validates with
 * these before the core sees the input.
 */

/** Keys a plain JSON object never has, at any depth: they pollute prototypes when merged. */
export const PLAIN_JSON_FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'] as const;
/** How deep a plain JSON object may nest. */
export const PLAIN_JSON_MAX_DEPTH = 32;
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(PLAIN_JSON_FORBIDDEN_KEYS);

function jsonProblem(value: unknown, depth: number): string | undefined {
  if (depth > PLAIN_JSON_MAX_DEPTH) return `nested deeper than ${PLAIN_JSON_MAX_DEPTH} levels`;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'non-finite number';
  if (Array.isArray(value)) {
    for (const item of value) {
      const p = jsonProblem(item, depth + 1);
      if (p) return p;
    }
    return undefined;
  }
  if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (FORBIDDEN_KEYS.has(k)) return `forbidden key "${k}"`;
      const p = jsonProblem(v, depth + 1);
      if (p) return p;
    }
    return undefined;
  }
  return `not a JSON value (${typeof value})`;
}

/**
 * A plain JSON object: no functions, no non-finite numbers, no prototype-polluting keys.
 * The raw input is checked and passed through as is: rebuilding it (as `z.record` does) would
 * turn an own `__proto__` key into a prototype assignment and hide it from the check.
 */
export const jsonObject = z
  .unknown()
  .superRefine((value, ctx) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
      return;
    }
    const problem = jsonProblem(value, 0);
    if (problem) ctx.addIssue({ code: 'custom', message: `must be plain JSON: ${problem}` });
  })
  .transform((v) => v as JsonObject)
  .meta({ type: 'object' });

/**
 * The schemas that are `jsonObject` (its `.describe()` copies included). JSON Schema generated
 * from zod sees only `type: object` in them; a document (the OpenAPI one) can look them up
 * here to state the whole rule: no forbidden key at any depth, at most PLAIN_JSON_MAX_DEPTH
 * levels.
 */
export const plainJsonSchemas = z.registry<{ plainJson: true }>();
jsonObject.register(plainJsonSchemas, { plainJson: true });

const id = (kind: string) =>
  z
    .string()
    .regex(new RegExp(`^${kind}_[1-9][0-9]{0,15}$`), `must look like ${kind}_<n>`)
    .describe(`ID of the ${kind}, e.g. ${kind}_1`);

export const actorId = id('actor');
export const workflowId = z
  .string()
  .regex(
    /^(workflow_[1-9][0-9]{0,15}|run_[0-9a-f]{20})$/,
    'must look like workflow_<n> or run_<20 hex digits>',
  )
  .describe('ID of the workflow (or workflow run), e.g. workflow_1');
export const proposalId = id('proposal');
export const executionId = id('execution');
const toolName = z.string().regex(TOOL_NAME, 'must be a tool name (letters, digits, _ . : -)');

export const registerActorInput = z.strictObject({
  name: text(200).describe('Name of the actor'),
  role: text(100).describe('Role of the actor in the workflow'),
  kind: z
    .enum(['human', 'agent', 'service'])
    .optional()
    .describe(
      'human (default), agent or service. Only humans decide unless a policy names a service for a tool; agents propose and execute.',
    ),
});
export const registerActorOutput = z.object({ actor_id: z.string() });

export const setActorRoleInput = z.strictObject({
  actor_id: actorId.describe('ID of the actor whose role changes'),
  role: text(100).describe('The new role, e.g. "security"'),
});
export const setActorRoleOutput = z.object({
  actor_id: z.string(),
  name: z.string(),
  kind: z.enum(['human', 'agent', 'service']),
  role: z.string(),
  previous_role: z.string(),
});
export type SetActorRoleInput = z.input<typeof setActorRoleInput>;
export type SetActorRoleOutput = z.infer<typeof setActorRoleOutput>;

export const startWorkflowInput = z.strictObject({
  title: text(500).describe('Title of the workflow'),
  idempotency_key: chars(200)
    .min(1)
    .optional()
    .describe('Starting twice with the same key returns the same workflow'),
});
export const startWorkflowOutput = z.object({ workflow_id: z.string() });

export const proposeActionInput = z.strictObject({
  workflow_id: workflowId,
  actor_id: actorId.describe('ID of the actor proposing the action'),
  tool: toolName.describe('Tool to be executed'),
  params: jsonObject.describe('Parameters for the tool'),
  reason: text(2000).describe('Reason for proposing this action'),
});
/** Approvals per role a policy's `@quorum` or a gate asks for (core/quorum.ts). */
export const roleQuorumOutput = z
  .record(z.string(), z.number().int())
  .describe('Approvals each role must give; one approval fills one role only');
/** What an approval still needs: role → approvals; `a|b`: any of them; `*`: anyone. */
export const missingOutput = z
  .record(z.string(), z.number().int())
  .describe(
    'Approvals still needed, by role (e.g. {"security": 1}); a key "a|b" means any one of those roles, "*" any reviewer; empty when nothing is missing',
  );

export const proposeActionOutput = z.object({
  proposal_id: z.string(),
  status: z.enum(['pending', 'approved']),
  hash: z.string(),
  required_approvals: z.number().int(),
  required_roles: z.array(z.string()),
  role_quorum: roleQuorumOutput.optional(),
});

export const reviewDecision = z.enum(['approve', 'reject', 'edit', 'request_more_info']);
export const reviewActionInput = z
  .strictObject({
    proposal_id: proposalId,
    reviewer_id: actorId.describe('ID of the reviewer'),
    decision: reviewDecision,
    edits: z
      .strictObject({ params: jsonObject })
      .optional()
      .describe('With decision "edit": params deep-merged into a new version of the call'),
    comment: chars(2000).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.decision === 'edit' && !v.edits)
      ctx.addIssue({
        code: 'custom',
        path: ['edits'],
        message: 'required when decision is "edit"',
      });
    if (v.decision !== 'edit' && v.edits)
      ctx.addIssue({
        code: 'custom',
        path: ['edits'],
        message: 'only allowed when decision is "edit"',
      });
  })
  // The same rule for JSON Schema readers (the OpenAPI document, MCP clients).
  .meta({
    anyOf: [
      { properties: { decision: { const: 'edit' } }, required: ['edits'] },
      { properties: { decision: { not: { const: 'edit' } } }, not: { required: ['edits'] } },
    ],
  });

const toolCall = z.object({
  tool: z.string(),
  params: z.record(z.string(), z.unknown()),
  hash: z.string(),
  version: z.number().int(),
});
export const reviewActionOutput = z.object({
  status: z.string(),
  final_tool_call: toolCall,
  approvals: z.object({ received: z.number().int(), required: z.number().int() }),
  missing: missingOutput.optional(),
});

export const reviseActionInput = z.strictObject({
  proposal_id: proposalId,
  actor_id: actorId.describe('The proposer; only they may revise'),
  params: jsonObject.describe('The complete new parameters'),
  reason: text(2000).optional(),
});
export const reviseActionOutput = z.object({
  proposal_id: z.string(),
  status: z.string(),
  version: z.number().int(),
  hash: z.string(),
});

export const executionResult = z.object({
  status: z.enum(['succeeded', 'failed', 'simulated', 'started']),
  tool: z.string(),
  output: z.record(z.string(), z.unknown()).nullable(),
  error: z.record(z.string(), z.unknown()).nullable(),
  dry_run: z.boolean(),
  hash: z.string(),
});

export const executeActionInput = z.strictObject({
  proposal_id: proposalId,
  dry_run: z.boolean().optional().describe("Run the tool's plan() instead of apply()"),
});
export const executeActionOutput = z.object({
  execution_id: z.string(),
  result: executionResult,
});

export const executeParallelInput = z.strictObject({
  calls: z
    .array(
      z.strictObject({
        tool: toolName,
        params: jsonObject,
        proposal_id: proposalId.optional(),
      }),
    )
    .min(1, 'needs at least one call')
    .max(100, 'at most 100 calls at once'),
  workflow_id: workflowId
    .optional()
    .describe('Workflow context for calls that policy allows without review'),
  actor_id: actorId.optional().describe('Who asks for calls that policy allows without review'),
  dry_run: z.boolean().optional(),
  max_concurrency: z.number().int().min(1).max(16).optional(),
});
export const parallelCallResult = z.object({
  index: z.number().int(),
  tool: z.string(),
  status: z.enum(['succeeded', 'failed', 'simulated', 'started', 'refused']),
  proposal_id: z.string().nullable(),
  execution_id: z.string().nullable(),
  result: executionResult.nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export const executeParallelOutput = z.object({
  parallel_id: z.string(),
  results: z.array(parallelCallResult),
});

export const getAuditLogInput = z.strictObject({ workflow_id: workflowId });
export const ledgerEntry = z.object({
  tenant_id: z.string(),
  seq: z.number().int(),
  time: z.string(),
  type: z.string(),
  actor: z.string(),
  workflow_id: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  prev_hash: z.string(),
  hash: z.string(),
});
export const getAuditLogOutput = z.object({ entries: z.array(ledgerEntry) });

export const setPolicyInput = z.strictObject({
  dry_run: z.boolean().optional().describe('Whether to enable dry-run mode'),
});
export const setPolicyOutput = z.object({ dry_run: z.boolean(), policy_version: z.string() });

export const getWorkflowInput = z.strictObject({ workflow_id: workflowId });
export const getProposalInput = z.strictObject({ proposal_id: proposalId });

export const listPendingReviewsInput = z.strictObject({
  workflow_id: workflowId.optional(),
  tool: toolName.optional(),
  min_age_seconds: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Only reviews waiting at least this long'),
  limit: z.number().int().min(1).max(500).optional(),
});

export const verifyAuditInput = z.strictObject({});

export type RegisterActorInput = z.input<typeof registerActorInput>;
export type StartWorkflowInput = z.input<typeof startWorkflowInput>;
export type ProposeActionInput = z.input<typeof proposeActionInput>;
export type ReviewActionInput = z.input<typeof reviewActionInput>;
export type ReviseActionInput = z.input<typeof reviseActionInput>;
export type ExecuteActionInput = z.input<typeof executeActionInput>;
export type ExecuteParallelInput = z.input<typeof executeParallelInput>;
export type GetAuditLogInput = z.input<typeof getAuditLogInput>;
export type SetPolicyInput = z.input<typeof setPolicyInput>;
export type ListPendingReviewsInput = z.input<typeof listPendingReviewsInput>;
export type ExecutionResult = z.output<typeof executionResult>;
export type ParallelCallResult = z.output<typeof parallelCallResult>;

export * from './token-schemas.js';

// ---- outputs of the reads -----------------------------------------------------------------

const record = z.record(z.string(), z.unknown());
export const getWorkflowOutput = z.object({
  workflow: record,
  proposals: z.array(
    z.object({
      proposal_id: z.string(),
      tool: z.string(),
      status: z.string(),
      version: z.number(),
    }),
  ),
});
const callDescription = z
  .string()
  .nullable()
  .describe(
    "What the call will do in one sentence, written by the tool's describe() when the call was proposed or edited (null: the tool has none). Read it beside params and hash, which are what runs.",
  );
export const getProposalOutput = z.object({
  proposal: record,
  final_tool_call: toolCall.extend({ description: callDescription }),
  versions: z.array(record),
  decisions: z.array(record),
  executions: z.array(record),
});
export const listPendingReviewsOutput = z.object({
  reviews: z.array(
    z.object({
      proposal_id: z.string(),
      workflow_id: z.string(),
      tool: z.string(),
      risk: z.string(),
      proposer_id: z.string(),
      authors: z
        .array(z.string())
        .describe('The proposer and the author of this version (an editor): neither may review it'),
      reason: z.string(),
      version: z.number(),
      params: record,
      hash: z.string(),
      description: callDescription,
      approvals: z.object({ received: z.number(), required: z.number() }),
      required_roles: z.array(z.string()),
      role_quorum: roleQuorumOutput.optional(),
      missing: missingOutput,
      waiting_since: z.string(),
    }),
  ),
});
export const verifyAuditOutput = z.object({
  ok: z.boolean(),
  events: z.number(),
  head: z.object({ seq: z.number(), hash: z.string() }),
  first_broken_seq: z.number().nullable(),
  problem: z.object({ seq: z.number(), reason: z.string() }).nullable(),
});
export const listToolsInput = z.strictObject({});
export const listToolsOutput = z.object({
  tools: z.array(
    z.object({
      name: z.string(),
      risk: z.string(),
      idempotent: z.boolean(),
      description: z.string(),
      input_schema: record,
    }),
  ),
});
