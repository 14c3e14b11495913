import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { JsonObject } from '../../src/core/model.js';
import type { ToolDefinition } from '../../src/core/ports/tools.js';
import type { WorkflowDefinition } from '../../src/engine/definition.js';
import type { ChangeProposalBrief, PlanPhase } from '../../src/engine/plan-brief.js';
import {
  type PlanRead,
  type PlanReadResult,
  type SavedPlan,
  readDigest,
  savedPlanSchema,
} from '../../src/engine/plan-reads.js';

/**
 * A test-only plan-only definition and the model server that writes its plan: the run's agent
 * answers with a SavedPlan `{ plan, reads }` (what the test puts up next), then the run waits at
 * its final human gate. The reads are the demo target's read tools, so that drift is real.
 */

export const TEST_PLAN = 'test_schema_plan';
const READ_TOOLS = ['list_tables', 'get_table_schema', 'read_row_counts', 'list_backups'];

export function testPlanDefinition(): WorkflowDefinition<{ topic: string }> {
  return {
    name: TEST_PLAN,
    version: '1',
    archetype: 'proposal_only',
    title: (i) => `Schema plan: ${i.topic}`,
    description: 'Plans a schema change on the demo target; PLAN ONLY (test).',
    input: z.strictObject({ topic: z.string() }),
    initial_stage: 'planning',
    final_stage: 'planned',
    allowed_tools: () => READ_TOOLS,
    steps: [
      { kind: 'stage', id: 'open', stage: 'planning' },
      {
        kind: 'agent',
        id: 'draft',
        role: 'planner',
        artifact: 'plan_brief',
        instructions: 'Write the plan and the reads it rests on.',
        output: savedPlanSchema,
        input: (run) => ({ topic: run.input.topic }),
      },
      {
        kind: 'gate',
        id: 'plan_review',
        title: (run) => `Review the plan: ${run.input.topic}`,
        packet: (run) => ({ topic: run.input.topic }),
        on_reject: { stage: 'rejected' },
      },
    ],
  };
}

/**
 * The reads a planner made, answered by the tools' apply() (as a governed read would be):
 * independent of the dry runs activation reads with.
 */
export async function readsNow(
  tools: readonly ToolDefinition[],
  reads: readonly PlanRead[],
): Promise<PlanReadResult[]> {
  const out: PlanReadResult[] = [];
  for (const r of reads) {
    const tool = tools.find((t) => t.name === r.tool)!;
    const result = await tool.apply(r.params, {
      tenant_id: 'default',
      workflow_id: 'planning',
      proposal_id: 'p',
      execution_id: 'e',
      idempotency_key: 'k',
      now: new Date().toISOString(),
    });
    out.push({ ...r, result: result });
  }
  return out;
}

export function proposedPhase(
  phase_id: string,
  title: string,
  calls: { tool: string; params: JsonObject }[],
  acceptance_criteria: string[],
  checks: PlanPhase['checks'] = [],
): PlanPhase {
  return {
    phase_id,
    phase_type: 'migration',
    title,
    status: 'proposed',
    blocked_reason: null,
    deferred_to: null,
    risk_level: 'medium',
    rollback_note: 'restore the backup',
    calls: calls.map((c) => ({ tool: c.tool, params: JSON.stringify(c.params) })),
    acceptance_criteria,
    checks,
  };
}

export function blockedPhase(phase_id: string, reason: string, deferred_to: string): PlanPhase {
  return {
    phase_id,
    phase_type: 'cleanup',
    title: `Blocked: ${phase_id}`,
    status: 'blocked',
    blocked_reason: reason,
    deferred_to,
    risk_level: 'high',
    rollback_note: 'none',
    calls: [{ tool: 'drop_column', params: '{"table":"users","column":"legacy"}' }],
    acceptance_criteria: [],
    checks: [],
  };
}

export function brief(
  proposal_id: string,
  phases: PlanPhase[],
  read_digest: string,
): ChangeProposalBrief {
  return {
    proposal_id,
    artifact_type: 'ChangeProposalBrief',
    human_review_required: true,
    status: 'proposed',
    title: `Plan ${proposal_id}`,
    summary: 'Back up, then add a column.',
    phases,
    risks: ['a lock on users while the column is added'],
    assumptions: ['nobody writes to users meanwhile'],
    next_step: { requires_human_approval: true, instructions: 'Approve, then activate.' },
    read_digest,
  };
}

/** An OpenAI-compatible model server answering every request with the plan put up next. */
export async function startPlannerServer() {
  let next: SavedPlan | null = null;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const content = JSON.stringify(next);
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: 'chatcmpl-plan',
          object: 'chat.completion',
          created: 0,
          model: 'planner',
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content, refusal: null },
              finish_reason: 'stop',
            },
          ],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    /** The plan the next planner request is answered with. */
    put(plan: SavedPlan) {
      next = plan;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A saved plan whose read_digest is what `reads` answer now. */
export async function savedPlan(
  tools: readonly ToolDefinition[],
  proposal_id: string,
  phases: PlanPhase[],
  reads: PlanRead[],
): Promise<SavedPlan> {
  const digest = readDigest(await readsNow(tools, reads));
  return { plan: brief(proposal_id, phases, digest), reads };
}
