import type { JsonObject } from '../../core/model.js';
import type { RunState, WorkflowDefinition } from '../definition.js';
import {
  type DraftResponse,
  type SafeAiInput,
  draftResponse,
  safeAiInput,
} from './safe-ai-schemas.js';

/**
 * Seed 001, prompt 11.3: SafeAIAssistedWorkflow. Intake → retrieve knowledge → draft a
 * response through the model gateway → check policy obligations (propose the write-back) →
 * when approval is required, ask and wait → when approved, invoke the tool (typically a
 * downstream MCP tool through the governed gateway) → notify and complete.
 */

type Run = RunState<SafeAiInput>;
const draft = (run: Run) => run.artifacts.draft as unknown as DraftResponse;

export const safeAiAssisted: WorkflowDefinition<SafeAiInput> = {
  name: 'safe_ai_assisted',
  version: '1',
  title: (i) => `Reply: ${i.question.length > 60 ? `${i.question.slice(0, 57)}...` : i.question}`,
  description:
    'Retrieve knowledge, draft a reply through the model gateway, write it back through a governed tool with human approval when policy or the draft asks for it.',
  input: safeAiInput,
  initial_stage: 'intake',
  final_stage: 'completed',
  case_id: (i) => i.case_id ?? null,
  allowed_tools: (i) => [i.reply.tool],
  steps: [
    // 1. Intake: the input was validated against safeAiInput before the run started.
    { kind: 'stage', id: 'intake', stage: 'intake' },
    // 2. Retrieve knowledge from the tenant's knowledge base (full-text search).
    {
      kind: 'retrieve',
      id: 'retrieve',
      artifact: 'knowledge',
      query: (run) => run.input.search ?? run.input.question,
      limit: 5,
    },
    // 3. Draft the response through the model gateway (allow-list, redaction, token use).
    { kind: 'stage', id: 'drafting', stage: 'drafting' },
    {
      kind: 'agent',
      id: 'draft',
      role: 'response_drafter',
      artifact: 'draft',
      output: draftResponse,
      instructions:
        'Answer the question from the knowledge excerpts only, cite the documents used, and say when a human must review the answer.',
      input: (run) => ({
        question: run.input.question,
        knowledge: run.artifacts.knowledge ?? [],
      }),
    },
    // 4. Check policy obligations: proposing the write-back asks policy whether it needs review.
    {
      kind: 'propose',
      id: 'reply_call',
      as: 'response_drafter',
      invocation_of: 'draft',
      calls: (run) => [
        {
          tool: run.input.reply.tool,
          params: {
            ...(run.input.reply.params as JsonObject),
            [run.input.reply.text_param]: draft(run).answer,
          },
          reason: `Reply for ${run.input.case_id ?? run.id}`,
          label: 'reply',
        },
      ],
    },
    // 5. If approval is required (by policy, or because the draft asks for it): ask, wait.
    { kind: 'stage', id: 'review', stage: 'approval' },
    {
      kind: 'gate',
      id: 'reply_approval',
      when: (run) => run.approval_required || draft(run).needs_human_review,
      title: (run) => `Approve reply${run.input.case_id ? ` for ${run.input.case_id}` : ''}`,
      packet: (run) => ({
        question: run.input.question,
        answer: draft(run).answer,
        citations: draft(run).citations,
        confidence: draft(run).confidence,
        rationale: draft(run).rationale,
        risk_tier: draft(run).needs_human_review ? 'medium' : 'low',
      }),
      binds: 'reply_call',
      timeout: { after_ms: 24 * 3_600_000, outcome: 'reject' },
      on_reject: { stage: 'rejected' },
    },
    // 6. If approved: invoke the tool (governed: at most once, bound to the approved hash).
    { kind: 'stage', id: 'sending', stage: 'execution' },
    {
      kind: 'execute',
      id: 'send_reply',
      from: 'reply_call',
      as: 'response_drafter',
      on_failure: { stage: 'failed' },
    },
    // 7. Notify and complete.
    {
      kind: 'notify',
      id: 'notify',
      channel: (run) => run.input.notify_channel ?? 'ops',
      message: (run) =>
        `Reply sent${run.input.case_id ? ` for ${run.input.case_id}` : ''} (${draft(run).citations.length} source(s), ${draft(run).confidence} confidence).`,
    },
  ],
};
