import { z } from 'zod';
import { actorId, jsonObject, workflowId } from './schemas.js';
import { chars, text } from './text.js';

/**
 * Seed 001's workflow contracts (prompt 11.1) and the inputs of the workflow and approval
 * operations. `npm run schemas` writes the first four as JSON Schema files under schemas/.
 */

export const runId = z
  .string()
  .regex(/^run_[0-9a-f]{20}$/, 'must look like run_<20 hex digits>')
  .describe('ID of the workflow run, e.g. run_3f0c…');
export const approvalId = z
  .string()
  .regex(/^approval_[1-9][0-9]{0,15}$/, 'must look like approval_<n>')
  .describe('ID of the approval request, e.g. approval_1');
const definitionName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'must be a workflow definition name, e.g. ops_change_control')
  .describe('Name of the workflow definition');

export const workflowContext = z
  .strictObject({
    workflow_id: z.string().describe('The run: every agent and tool invocation references it'),
    tenant_id: z.string(),
    actor: z.string().describe('Who started the run'),
    purpose: z.string(),
    case_id: z.string().nullable().optional(),
    current_step: z.string().nullable(),
    allowed_tools: z.array(z.string()),
    approval_required: z.boolean(),
    archetype: z
      .enum(['proposal_only'])
      .optional()
      .describe('proposal_only: a plan-only run, which executes nothing'),
  })
  .meta({ title: 'WorkflowContext' });
export type WorkflowContext = z.infer<typeof workflowContext>;

export const workflowStepResult = z
  .strictObject({
    workflow_id: z.string(),
    step_id: z.string(),
    kind: z.enum(['agent', 'gate', 'execute', 'retrieve', 'notify', 'stage', 'wait', 'condition']),
    status: z.enum(['completed', 'failed', 'skipped', 'waiting']),
    stage: z.string(),
    agent_invocation_id: z.string().nullable(),
    detail: z.record(z.string(), z.json()),
  })
  .meta({ title: 'WorkflowStepResult' });
export type WorkflowStepResult = z.infer<typeof workflowStepResult>;

export const approvalRequestSchema = z
  .strictObject({
    approval_id: z.string(),
    workflow_id: z.string(),
    request_key: z.string(),
    title: z.string(),
    packet: z.record(z.string(), z.json()),
    required_approvals: z.number().int().min(1),
    required_roles: z.array(z.string()),
    role_quorum: z.record(z.string(), z.number().int()).optional(),
    proposals: z.array(z.strictObject({ proposal_id: z.string(), hash: z.string() })),
    status: z.enum(['pending', 'approved', 'rejected', 'needs_info', 'timed_out']),
    requested_by: z.string(),
    due_at: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ title: 'ApprovalRequest' });

export const approvalDecisionSchema = z
  .strictObject({
    decision_id: z.string(),
    approval_id: z.string(),
    reviewer_id: z.string(),
    decision: z.enum(['approve', 'reject', 'request_more_info', 'timeout']),
    comment: z.string().nullable(),
    created_at: z.string(),
  })
  .meta({ title: 'ApprovalDecision' });

// ---- operation inputs --------------------------------------------------------------------

export const startRunInput = z.strictObject({
  definition: definitionName,
  input: jsonObject.describe("The definition's input (see its schema)"),
  idempotency_key: text(200).describe('Starting twice with the same key is the same run'),
});
export type StartRunInput = z.input<typeof startRunInput>;

export const runStatusInput = z.strictObject({ workflow_id: runId });
export const activatePlanInput = z.strictObject({
  workflow_id: runId.describe('The plan-only run whose approved plan is activated'),
  plan_hash: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'must be a sha256 hex digest')
    .optional()
    .describe('The hash of the plan version you approved; refused if the saved plan differs'),
});
export type ActivatePlanInput = z.output<typeof activatePlanInput>;
export const cancelRunInput = z.strictObject({
  workflow_id: runId,
  reason: text(2000).describe('Why the run is cancelled'),
});
export const listRunsInput = z.strictObject({
  status: z.enum(['running', 'waiting', 'completed', 'failed', 'cancelled']).optional(),
  definition: definitionName.optional(),
  stage: chars(64).optional(),
  limit: z.number().int().min(1).max(500).optional(),
});

/** Approvals per role: `{ change_manager: 1, security: 2 }` (core/quorum.ts). */
export const roleQuorum = z
  .record(text(100), z.number().int().min(1).max(10))
  .refine((q) => Object.keys(q).length >= 1 && Object.keys(q).length <= 20, {
    message: 'a quorum names 1 to 20 roles',
  })
  // The bound the refinement enforces, stated in the published schema too.
  .meta({
    minProperties: 1,
    maxProperties: 20,
    description:
      'Approvals each role must give, e.g. {"change_manager": 1, "security": 2}; one approval fills one role only. Without it: required_approvals from any of required_roles',
  });

export const requestApprovalInput = z.strictObject({
  workflow_id: workflowId,
  request_key: text(200).describe(
    'Unique per workflow: asking twice with it returns the first request',
  ),
  title: text(500),
  packet: jsonObject.describe('What the reviewer sees: summary, risk, evidence'),
  required_approvals: z.number().int().min(1).max(10).optional(),
  required_roles: z.array(text(100)).max(20).optional(),
  role_quorum: roleQuorum.optional(),
  due_at: z.iso.datetime({ offset: true }).optional(),
});
export type RequestApprovalInput = z.input<typeof requestApprovalInput>;

export const decideApprovalInput = z.strictObject({
  approval_id: approvalId,
  reviewer_id: actorId.describe('ID of the reviewer'),
  decision: z.enum(['approve', 'reject', 'request_more_info']),
  comment: chars(2000).optional(),
});
export type DecideApprovalInput = z.input<typeof decideApprovalInput>;

export const listApprovalsInput = z.strictObject({
  workflow_id: workflowId.optional(),
  kind: z.enum(['gate', 'proposal']).optional(),
  limit: z.number().int().min(1).max(500).optional(),
});

export const getApprovalInput = z.strictObject({ approval_id: approvalId });

export const addDocumentInput = z.strictObject({
  title: text(500),
  body: text(200_000),
  tags: z.array(text(64)).max(32).optional(),
});
export const searchKnowledgeInput = z.strictObject({
  query: text(500),
  limit: z.number().int().min(1).max(50).optional(),
});
