import { z } from 'zod';

/**
 * Seed 001's SafeAIAssistedWorkflow (prompt 11.3): answer a request from the tenant's
 * knowledge, draft a reply through the model gateway, and write it back through a governed
 * (usually downstream MCP) tool, with human approval when policy asks for it.
 */
export const safeAiInput = z.strictObject({
  case_id: z.string().trim().min(1).max(100).optional(),
  /** The question or request to answer, as received. */
  question: z.string().trim().min(3).max(4000),
  /** Knowledge search terms; the question is used when absent. */
  search: z.string().trim().min(1).max(500).optional(),
  /** The governed tool the reply is written back with, and how. */
  reply: z.strictObject({
    tool: z.string().min(1).max(200),
    /** Fixed parameters of the call (e.g. the ticket or file name). */
    params: z.record(z.string(), z.json()).default({}),
    /** The parameter that receives the drafted text. */
    text_param: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/),
  }),
  notify_channel: z.string().min(1).max(100).optional(),
});
export type SafeAiInput = z.infer<typeof safeAiInput>;

/** The response drafter's answer. */
export const draftResponse = z.strictObject({
  answer: z.string().min(1).max(8000),
  /** IDs of the knowledge documents the answer relies on. */
  citations: z.array(z.string()),
  confidence: z.enum(['low', 'medium', 'high']),
  /** True when the draft should not go out without a human reading it. */
  needs_human_review: z.boolean(),
  rationale: z.string(),
});
export type DraftResponse = z.infer<typeof draftResponse>;
