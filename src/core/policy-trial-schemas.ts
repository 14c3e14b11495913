import { z } from 'zod';
import { TOOL_NAME } from './ports/tools.js';
import { actorId, jsonObject, workflowId } from './schemas.js';
import { chars, text } from './text.js';

/**
 * Inputs and outputs of test_policy and replay_policy: a policy tried before it is trusted.
 * A candidate is sent as the text of its files, never as a path on the server, and is bounded
 * so that one request stays well under the API's 1 MiB body limit.
 */

export const CANDIDATE_MAX_FILES = 20;
export const CANDIDATE_MAX_FILE_CHARS = 64 * 1024;
export const CANDIDATE_MAX_TOTAL_CHARS = 256 * 1024;
export const REPLAY_MAX = 1000;

const policyFile = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be a file name (letters, digits, _ . -, at most 128)')
    .describe('The file name, e.g. policies.cedar (named in errors)'),
  text: chars(CANDIDATE_MAX_FILE_CHARS).describe('The Cedar policies of the file'),
});

export const candidatePolicy = z
  .array(policyFile)
  .min(1)
  .max(CANDIDATE_MAX_FILES)
  .superRefine((files, ctx) => {
    const names = new Set<string>();
    for (const f of files) {
      if (names.has(f.name))
        ctx.addIssue({ code: 'custom', message: `two files are named ${f.name}` });
      names.add(f.name);
    }
    const total = files.reduce((n, f) => n + f.text.length, 0);
    if (total > CANDIDATE_MAX_TOTAL_CHARS)
      ctx.addIssue({
        code: 'custom',
        message: `the files hold ${total} characters; at most ${CANDIDATE_MAX_TOTAL_CHARS} in all`,
      });
  })
  .describe(
    `A candidate policy set: the Cedar text of each file (at most ${CANDIDATE_MAX_FILES} files, ${CANDIDATE_MAX_FILE_CHARS} characters each, ${CANDIDATE_MAX_TOTAL_CHARS} in all)`,
  );

export const testPolicyInput = z.strictObject({
  tool: z
    .string()
    .regex(TOOL_NAME, 'must be a tool name (letters, digits, _ . : -)')
    .describe('The tool of the call'),
  params: jsonObject
    .optional()
    .describe('The call parameters (checked against the tool, default {})'),
  proposer_id: actorId.describe('The actor who would propose the call'),
  workflow_id: workflowId
    .optional()
    .describe(
      'The workflow it would be proposed in (the default policies deny a call without one)',
    ),
  call_purpose: text(500)
    .optional()
    .describe("The purpose the proposer's call would carry (default: this call's purpose)"),
  candidate: candidatePolicy.optional(),
});
export type TestPolicyInput = z.input<typeof testPolicyInput>;

const matchedPolicy = z.object({
  id: z.string(),
  annotations: z.record(z.string(), z.string()),
});

export const policyVerdict = z.object({
  effect: z.enum(['allow', 'review', 'deny']),
  approvals: z.number().int(),
  roles: z.array(z.string()),
  policy_version: z.string(),
  /** The policies that determined the outcome (permits for allow/review, forbids for a deny). */
  matched: z.array(matchedPolicy),
  errors: z.array(z.string()),
  /** One sentence: why. */
  why: z.string(),
});
export type PolicyVerdict = z.infer<typeof policyVerdict>;

export const testPolicyOutput = z.object({
  call: z.object({
    tool: z.string(),
    risk: z.string(),
    proposer_id: z.string(),
    proposer_kind: z.string(),
    proposer_roles: z.array(z.string()),
    workflow_id: z.string().nullable(),
    purpose: z.string(),
  }),
  current: policyVerdict,
  candidate: policyVerdict.nullable(),
  /** Whether the candidate decides differently (effect, approvals or roles); null without one. */
  changed: z.boolean().nullable(),
  /** What would stop propose_action before policy (a closed workflow, a workflow run). */
  notes: z.array(z.string()),
});
export type TestPolicyOutput = z.infer<typeof testPolicyOutput>;

export const replayPolicyInput = z.strictObject({
  candidate: candidatePolicy,
  last: z
    .number()
    .int()
    .min(1)
    .max(REPLAY_MAX)
    .describe(`How many of the most recently active proposals to replay (1 to ${REPLAY_MAX})`),
});
export type ReplayPolicyInput = z.input<typeof replayPolicyInput>;

const briefVerdict = policyVerdict.pick({
  effect: true,
  approvals: true,
  roles: true,
  matched: true,
  why: true,
});

export const replayPolicyOutput = z.object({
  current_version: z.string(),
  candidate_version: z.string(),
  /** Proposals re-evaluated (at most `last`). */
  replayed: z.number().int(),
  changed: z.number().int(),
  unchanged: z.number().int(),
  /** Proposals whose tool is no longer registered or whose proposer is gone: not evaluated. */
  skipped: z.array(z.object({ proposal_id: z.string(), reason: z.string() })),
  counts: z.object({
    current: z.object({
      allow: z.number().int(),
      review: z.number().int(),
      deny: z.number().int(),
    }),
    candidate: z.object({
      allow: z.number().int(),
      review: z.number().int(),
      deny: z.number().int(),
    }),
  }),
  changes: z.array(
    z.object({
      proposal_id: z.string(),
      workflow_id: z.string(),
      tool: z.string(),
      proposer_id: z.string(),
      before: briefVerdict,
      after: briefVerdict,
    }),
  ),
});
export type ReplayPolicyOutput = z.infer<typeof replayPolicyOutput>;
