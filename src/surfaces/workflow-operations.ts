import { z } from 'zod';
import * as W from '../core/workflow-schemas.js';
import * as S from '../core/schemas.js';
import { validateTrace } from '../core/trace.js';
import { activatePlan } from '../engine/plan-activation.js';
import type { JsonValue } from '../core/model.js';
import { type Operation, defineOperation } from './operation.js';

/** A run operation's replay: the run's ID is kept, and a retry answers with its status now. */
function runReplay(idOf: (committed: unknown) => string): Operation['replay'] {
  return {
    keep: (committed) => ({ workflow_id: idOf(committed) }),
    answer: ({ engine }, c, kept) =>
      engine.status(c, (kept as { workflow_id: string }).workflow_id),
  };
}

/**
 * The workflow, approval and knowledge operations (seed 001's workflow-service and
 * approval-service), as catalogue entries: each is an MCP tool, an HTTP route and a CLI command.
 */

const json = z.json();
const record = z.record(z.string(), json);

export const runStatusOutput = z.object({
  workflow_id: z.string(),
  definition: z.string(),
  status: z.enum(['running', 'waiting', 'completed', 'failed', 'cancelled']),
  stage: z.string(),
  waiting_on: record.nullable(),
  wake_at: z.string().nullable(),
  context: record,
  artifacts: record,
  trace: z.array(record),
  error: record.nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

const approvalOutput = z.object({
  tenant_id: z.string(),
  id: z.string(),
  workflow_id: z.string(),
  request_key: z.string(),
  title: z.string(),
  packet: record,
  required_approvals: z.number().int(),
  required_roles: z.array(z.string()),
  role_quorum: S.roleQuorumOutput.optional(),
  proposals: z.array(z.object({ proposal_id: z.string(), hash: z.string() })),
  status: z.string(),
  requested_by: z.string(),
  authors: z
    .array(z.string())
    .optional()
    .describe('Others who may not decide it either, e.g. who requested the plan being carried out'),
  due_at: z.string().nullable(),
  on_timeout: record
    .nullable()
    .describe('What a timeout does: { outcome } or { escalate_to: [roles] }; null: nothing'),
  created_at: z.string(),
  updated_at: z.string(),
});
const decisionOutput = z.object({
  tenant_id: z.string(),
  id: z.string(),
  approval_id: z.string(),
  reviewer_id: z.string(),
  reviewer_role: z
    .string()
    .nullable()
    .describe("The reviewer's role when they decided; a role quorum counts this role"),
  decision: z.string(),
  comment: z.string().nullable(),
  token_id: z.string().nullable().describe('The API token the decision was made with'),
  created_at: z.string(),
});

const pendingOutput = z.object({
  approvals: z.array(
    z.object({
      kind: z.enum(['gate', 'proposal']),
      id: z.string(),
      workflow_id: z.string(),
      title: z.string(),
      requested_by: z.string(),
      authors: z
        .array(z.string())
        .describe(
          'Who wrote what is decided (proposer, editor, requester): none of them may decide it',
        ),
      required_roles: z.array(z.string()),
      role_quorum: S.roleQuorumOutput.optional(),
      approvals: z.object({ received: z.number().int(), required: z.number().int() }),
      missing: S.missingOutput,
      waiting_since: z.string(),
      due_at: z.string().nullable(),
      tool: z.string().nullable(),
      risk: z.string().nullable(),
    }),
  ),
});

const traceReportOutput = z.object({
  workflow_id: z.string(),
  valid: z.boolean(),
  events: z.number().int(),
  problems: z.array(
    z.object({ seq: z.number().int().nullable(), rule: z.string(), message: z.string() }),
  ),
  summary: record,
});

export const WORKFLOW_OPERATIONS: readonly Operation[] = [
  defineOperation({
    name: 'list_workflow_definitions',
    title: 'List workflow definitions',
    description:
      'The durable workflows this server runs (e.g. ops_change_control, safe_ai_assisted), with their input schemas. Start one with start_workflow_run.',
    input: z.strictObject({}),
    output: z.object({
      definitions: z.array(
        z.object({
          name: z.string(),
          version: z.string(),
          description: z.string(),
          runtime: z.string(),
        }),
      ),
    }),
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/workflows/definitions' },
    run: ({ engine }) =>
      Promise.resolve({
        definitions: engine.definitions().map((d) => ({ ...d, runtime: engine.runtime })),
      }),
  }),
  defineOperation({
    name: 'start_workflow_run',
    title: 'Start a durable workflow run',
    description:
      'Start a run of a workflow definition with its input. The run ID derives from tenant, definition and idempotency_key: starting again with the same key returns the same run. ' +
      'The answer is the run after its first steps: usually waiting at a human gate (see list_pending_approvals).',
    input: W.startRunInput,
    output: runStatusOutput,
    write: true,
    privileged: true,
    actorFields: [],
    http: { method: 'POST', path: '/workflows/start' },
    run: ({ engine }, c, i) => engine.start(c, i),
    replay: runReplay((committed) => (committed as { run: { id: string } }).run.id),
  }),
  defineOperation({
    name: 'activate_plan',
    title: 'Activate an approved plan',
    description:
      "Run an approved plan (a plan-only run's saved plan, its final gate approved) as a new governed run, phase by phase: each phase's calls are proposed, approved at their own human gate, executed and read again. " +
      "Refused when the plan is not approved, plan_hash is not the saved plan's, or what the plan read has changed since (PLAN_STALE: make a new plan). Activating the same plan again returns the same run.",
    input: W.activatePlanInput,
    output: runStatusOutput,
    write: true,
    privileged: true,
    actorFields: [],
    http: { method: 'POST', path: '/workflows/{workflow_id}/activate' },
    run: ({ engine, workflows }, c, i) => activatePlan({ ops: workflows, engine }, c, i),
    replay: runReplay((committed) => (committed as { run: { id: string } }).run.id),
  }),
  defineOperation({
    name: 'get_workflow_status',
    title: 'Get a workflow run',
    description:
      "A run's status, stage, what it waits on, its artifacts (agent outputs, the audit report) and its trace (decisions and tool write-backs in order).",
    input: W.runStatusInput,
    output: runStatusOutput,
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/workflows/{workflow_id}/status' },
    run: ({ engine }, c, i) => engine.status(c, i.workflow_id),
  }),
  defineOperation({
    name: 'list_workflow_runs',
    title: 'List workflow runs',
    description: 'Runs of this tenant, newest first, filtered by status, definition or stage.',
    input: W.listRunsInput,
    output: z.object({ runs: z.array(runStatusOutput) }),
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/workflows/runs' },
    run: async ({ engine }, c, i) => ({ runs: await engine.list(c, i) }),
  }),
  defineOperation({
    name: 'cancel_workflow_run',
    title: 'Cancel a workflow run',
    description:
      'Stop a running or waiting run; its pending gates are cancelled. Nothing already executed is undone.',
    input: W.cancelRunInput,
    output: runStatusOutput,
    write: true,
    privileged: true,
    actorFields: [],
    http: { method: 'POST', path: '/workflows/{workflow_id}/cancel' },
    run: ({ engine }, c, i) => engine.cancel(c, i),
    replay: runReplay((committed) => (committed as { id: string }).id),
  }),
  defineOperation({
    name: 'request_approval',
    title: 'Request a human approval',
    description:
      'Ask for a human decision inside an open workflow (for processes driven outside Countersign). The same request_key returns the first request.',
    input: W.requestApprovalInput,
    output: approvalOutput,
    write: true,
    privileged: false,
    actorFields: [],
    http: { method: 'POST', path: '/approvals/request' },
    run: ({ workflows }, c, i) => workflows.requestApproval(c, i),
  }),
  defineOperation({
    name: 'decide_approval',
    title: 'Decide an approval request',
    description:
      'Approve, reject or request_more_info on a pending approval request (a workflow gate) as a reviewer who did not ask for it. ' +
      'Approving a gate approves the tool calls it lists, each bound to its hash. The waiting run goes on at once.',
    input: W.decideApprovalInput,
    output: z.object({ approval: approvalOutput, decision: decisionOutput, run: runStatusOutput }),
    write: true,
    privileged: true,
    actorFields: ['reviewer_id'],
    http: { method: 'POST', path: '/approvals/{approval_id}/decision' },
    run: ({ engine }, c, i) => engine.decide(c, i),
    // The decision is kept as committed; a retry reads the run as it is now.
    replay: {
      keep: (committed) => {
        const { approval, decision } = committed as { approval: object; decision: object };
        return JSON.parse(JSON.stringify({ approval, decision })) as JsonValue;
      },
      answer: async ({ engine }, c, kept) => {
        const k = kept as { approval: { workflow_id: string } };
        return { ...k, run: await engine.status(c, k.approval.workflow_id) };
      },
    },
  }),
  defineOperation({
    name: 'list_pending_approvals',
    title: 'List everything waiting on a human',
    description:
      'One inbox: pending workflow gates and proposed calls waiting for review, newest first. kind narrows to "gate" or "proposal".',
    input: W.listApprovalsInput,
    output: pendingOutput,
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/approvals/pending' },
    run: async ({ workflows }, c, i) => ({ approvals: await workflows.listPendingApprovals(c, i) }),
  }),
  defineOperation({
    name: 'get_approval',
    title: 'Get an approval request',
    description: 'An approval request with its review packet and the decisions recorded so far.',
    input: W.getApprovalInput,
    output: z.object({
      approval: approvalOutput,
      decisions: z.array(decisionOutput),
      missing: S.missingOutput.optional(),
    }),
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/approvals/{approval_id}' },
    run: ({ workflows }, c, i) => workflows.getApproval(c, i.approval_id),
  }),
  defineOperation({
    name: 'validate_trace',
    title: "Validate a run's audit trace",
    description:
      "Check a run's ledger events: WORKFLOW_STARTED first, steps in order, every agent and tool invocation inside the workflow, every tool invocation preceded by a decision or policy allowance bound to its hash, and a final WORKFLOW_COMPLETED or FAILED.",
    input: W.runStatusInput,
    output: traceReportOutput,
    // Reading a run's ledger is itself recorded (AUDIT_LOG_READ), as get_audit_log is.
    write: true,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/workflows/{workflow_id}/trace' },
    run: async ({ kernel }, c, i) => {
      const { workflow_id } = i;
      const log = await kernel.getAuditLog(c, { workflow_id });
      return validateTrace(workflow_id, log.entries);
    },
  }),
  defineOperation({
    name: 'add_document',
    title: 'Add a knowledge document',
    description:
      "Add a document to the tenant's knowledge base (runbooks, policies, FAQs). Workflows retrieve from it by full-text search.",
    input: W.addDocumentInput,
    output: z.object({ document_id: z.string() }),
    write: true,
    privileged: false,
    actorFields: [],
    http: { method: 'POST', path: '/knowledge/documents' },
    run: ({ workflows }, c, i) => workflows.addDocument(c, i),
  }),
  defineOperation({
    name: 'search_knowledge',
    title: 'Search the knowledge base',
    description: "Full-text search of the tenant's knowledge base, best first, with snippets.",
    input: W.searchKnowledgeInput,
    output: z.object({
      hits: z.array(
        z.object({
          id: z.string(),
          title: z.string(),
          snippet: z.string(),
          score: z.number(),
          tags: z.array(z.string()),
        }),
      ),
    }),
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/knowledge/search' },
    run: ({ workflows }, c, i) => workflows.searchKnowledge(c, i),
  }),
];
