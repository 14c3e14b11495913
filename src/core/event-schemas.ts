import { z } from 'zod';
import { proposalId, workflowId } from './schemas.js';
import { approvalId } from './workflow-schemas.js';

/** The schemas of the event feed's operation, `wait_for_decision`. */

export const WAIT_MAX_SECONDS = 300;
export const WAIT_DEFAULT_SECONDS = 30;

export const waitForDecisionInput = z
  .strictObject({
    proposal_id: proposalId.optional().describe('The proposal to wait on (or give approval_id)'),
    approval_id: approvalId.optional().describe('The approval request (workflow gate) to wait on'),
    timeout_seconds: z
      .number()
      .int()
      .min(1)
      .max(WAIT_MAX_SECONDS)
      .optional()
      .describe(
        `How long to wait for a decision, 1 to ${WAIT_MAX_SECONDS} seconds (default ${WAIT_DEFAULT_SECONDS})`,
      ),
  })
  .superRefine((v, ctx) => {
    if ((v.proposal_id === undefined) === (v.approval_id === undefined))
      ctx.addIssue({
        code: 'custom',
        path: v.proposal_id === undefined ? ['proposal_id'] : ['approval_id'],
        message: 'give exactly one of proposal_id and approval_id',
      });
  })
  // The same rule for JSON Schema readers (the OpenAPI document, MCP clients).
  .meta({
    oneOf: [
      { required: ['proposal_id'], not: { required: ['approval_id'] } },
      { required: ['approval_id'], not: { required: ['proposal_id'] } },
    ],
  });
export type WaitForDecisionInput = z.input<typeof waitForDecisionInput>;

const waitedDecision = z.object({
  decision_id: z.string(),
  decision: z.string().describe('approve, reject, edit, request_more_info, policy_allow, timeout'),
  reviewer_id: z.string(),
  comment: z.string().nullable(),
  version: z.number().int().nullable().describe('The proposal version decided (null for a gate)'),
  created_at: z.string(),
});

export const waitForDecisionOutput = z.object({
  proposal_id: z.string().nullable(),
  approval_id: z.string().nullable(),
  workflow_id: workflowId,
  status: z
    .string()
    .describe(
      'The status now: pending while undecided; approved, rejected, needs_info (more information ' +
        'requested), executed, failed for a proposal; approved, rejected, needs_info, timed_out, cancelled for a gate',
    ),
  timed_out: z.boolean().describe('True when the wait ended without a decision'),
  version: z.number().int().nullable().describe("The proposal's current version (null for a gate)"),
  decision: waitedDecision
    .nullable()
    .describe('The latest decision, with the reviewer and their comment (null: none yet)'),
  decisions: z.array(waitedDecision).describe('Every decision recorded so far, oldest first'),
});
export type WaitForDecisionOutput = z.infer<typeof waitForDecisionOutput>;
