import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type LanguageModelV3CallOptions } from '@ai-sdk/provider';
import {
  type GenerateTextResult,
  type ToolSet,
  generateText,
  jsonSchema,
  stepCountIs,
  tool,
} from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CountersignClient, createClient } from '../src/client/index.js';
import { governTools } from '../src/integrations/ai-sdk.js';
import {
  type Served,
  pendingProposal,
  runScript,
  serveWithActors,
} from './support/countersign-serve.js';

// The shipped example (examples/ai-sdk), driven by the AI SDK's own mock model against a real
// `countersign serve` (the built CLI: `npx tsc -p tsconfig.build.json` first).
interface Example {
  scriptedModel(status?: string): MockLanguageModelV3;
  toolResultsIn(prompt: LanguageModelV3CallOptions['prompt']): { output: { value: unknown } }[];
  runAgent(o: {
    client: CountersignClient;
    workflowId: string;
    model?: MockLanguageModelV3;
    timeoutMs?: number;
  }): Promise<GenerateTextResult<ToolSet, never>>;
}
const EXAMPLE = pathToFileURL(path.resolve('examples/ai-sdk/index.js')).href;

/** What the model read as the tool's result before its second turn. */
function secondTurnToolResult(
  example: Example,
  model: MockLanguageModelV3,
): Record<string, unknown> {
  expect(model.doGenerateCalls).toHaveLength(2);
  const results = example.toolResultsIn(model.doGenerateCalls[1]!.prompt);
  expect(results).toHaveLength(1);
  return results[0]!.output.value as Record<string, unknown>;
}

describe('countersign/ai-sdk: an AI SDK agent governed by Countersign', () => {
  let cs: Served;
  let example: Example;

  beforeAll(async () => {
    cs = await serveWithActors('cs-ai-sdk-');
    example = (await import(EXAMPLE)) as Example;
  }, 90_000);
  afterAll(async () => cs?.stop());

  it('runs the call a human approved and gives the model its result', async () => {
    const workflowId = await cs.newWorkflow('ai-sdk approve');
    const model = example.scriptedModel('in_progress');
    const running = example.runAgent({ client: cs.agent, workflowId, model, timeoutMs: 60_000 });
    const proposalId = await pendingProposal(cs.bob, workflowId, 'update_status');
    // Nothing ran while the decision was pending.
    const before = await cs.bob.getProposal({ proposal_id: proposalId });
    expect(before.executions).toHaveLength(0);
    expect(before.final_tool_call.params).toEqual({
      status: 'in_progress',
      note: 'started by the AI SDK example',
    });
    await cs.bob.reviewAction({ proposal_id: proposalId, decision: 'approve', comment: 'go' });
    const result = await running;

    const seen = secondTurnToolResult(example, model);
    expect(seen).toMatchObject({
      status: 'succeeded',
      ran: true,
      proposal_id: proposalId,
      params: { status: 'in_progress' },
      comment: 'go',
    });
    expect(result.text).toContain('Done:');
    const after = await cs.bob.getProposal({ proposal_id: proposalId });
    expect(after.executions).toHaveLength(1);
    expect(JSON.stringify(after.executions)).toContain('succeeded');
  }, 120_000);

  it("gives the model the reviewer's refusal and comment when a human rejects, and runs nothing", async () => {
    const workflowId = await cs.newWorkflow('ai-sdk reject');
    const model = example.scriptedModel('done');
    const running = example.runAgent({ client: cs.agent, workflowId, model, timeoutMs: 60_000 });
    const proposalId = await pendingProposal(cs.bob, workflowId, 'update_status');
    await cs.bob.reviewAction({
      proposal_id: proposalId,
      decision: 'reject',
      comment: 'not before the freeze ends on Friday',
    });
    const result = await running;

    const seen = secondTurnToolResult(example, model);
    expect(seen).toMatchObject({
      status: 'rejected',
      ran: false,
      proposal_id: proposalId,
      comment: 'not before the freeze ends on Friday',
    });
    expect(String(seen.message)).toContain('not before the freeze ends on Friday');
    expect(result.text).toContain('I did not change the status');
    expect(result.text).toContain('not before the freeze ends on Friday');
    const after = await cs.bob.getProposal({ proposal_id: proposalId });
    expect(after.executions).toHaveLength(0);
  }, 120_000);

  it('runs the edited call once a reviewer edits it and another approves, and the model sees the edit', async () => {
    const workflowId = await cs.newWorkflow('ai-sdk edit');
    const model = example.scriptedModel('in_progress');
    const running = example.runAgent({ client: cs.agent, workflowId, model, timeoutMs: 60_000 });
    const proposalId = await pendingProposal(cs.bob, workflowId, 'update_status');
    await cs.bob.reviewAction({
      proposal_id: proposalId,
      decision: 'edit',
      edits: { params: { status: 'blocked', note: 'waiting on the DBA' } },
      comment: 'blocked, not started',
    });
    // The edited version is Bob's; another reviewer approves it (separation of duties).
    await cs.carol.reviewAction({ proposal_id: proposalId, decision: 'approve' });
    await running;

    const seen = secondTurnToolResult(example, model);
    expect(seen).toMatchObject({
      status: 'succeeded',
      params: { status: 'blocked', note: 'waiting on the DBA' },
    });
    expect(JSON.stringify(seen.output)).toContain('blocked');
    expect(JSON.stringify(seen.output)).not.toContain('in_progress');
  }, 120_000);

  it('runs a local execute with the approved (edited) arguments when asked to run locally', async () => {
    const workflowId = await cs.newWorkflow('ai-sdk local');
    const ran: unknown[] = [];
    const tools = governTools(
      {
        update_status: tool({
          inputSchema: jsonSchema<{ status: string }>({
            type: 'object',
            properties: { status: { type: 'string' } },
            required: ['status'],
          }),
          execute: async (input) => {
            ran.push(input);
            return { local: true, status: input.status };
          },
        }),
      },
      { client: cs.agent, workflowId, execution: 'local', timeoutMs: 60_000 },
    );
    const model = new MockLanguageModelV3({
      doGenerate: [
        {
          content: [
            {
              type: 'tool-call',
              toolCallId: 'local-1',
              toolName: 'update_status',
              input: JSON.stringify({ status: 'in_progress' }),
            },
          ],
          finishReason: { unified: 'tool-calls', raw: undefined },
          usage: {
            inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
            outputTokens: { total: 1, text: 1, reasoning: 0 },
          },
          warnings: [],
        },
        {
          content: [{ type: 'text', text: 'ok' }],
          finishReason: { unified: 'stop', raw: undefined },
          usage: {
            inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
            outputTokens: { total: 1, text: 1, reasoning: 0 },
          },
          warnings: [],
        },
      ],
    });
    const running = generateText({ model, tools, prompt: 'go', stopWhen: stepCountIs(3) });
    const proposalId = await pendingProposal(cs.bob, workflowId, 'update_status');
    expect(ran).toHaveLength(0);
    await cs.bob.reviewAction({
      proposal_id: proposalId,
      decision: 'edit',
      edits: { params: { status: 'blocked' } },
    });
    expect(ran).toHaveLength(0);
    await cs.carol.reviewAction({ proposal_id: proposalId, decision: 'approve' });
    await running;
    expect(ran).toEqual([{ status: 'blocked' }]);
    expect(secondTurnToolResult(example, model)).toEqual({ local: true, status: 'blocked' });
  }, 120_000);

  it('never decides: the agent token cannot approve or run its own pending call', async () => {
    const workflowId = await cs.newWorkflow('ai-sdk attacker');
    const model = example.scriptedModel('in_progress');
    const running = example.runAgent({ client: cs.agent, workflowId, model, timeoutMs: 60_000 });
    const proposalId = await pendingProposal(cs.bob, workflowId, 'update_status');

    // The adapter's own credentials, used by an attacker who holds them.
    const self = createClient({ baseUrl: cs.url, token: cs.agentToken, retries: 0 });
    const approve = await self
      .reviewAction({ proposal_id: proposalId, decision: 'approve' }, { purpose: 'sneak' })
      .then(
        () => null,
        (e: unknown) => e as { code: string; status: number },
      );
    expect(approve).not.toBeNull();
    expect(['SELF_APPROVAL', 'FORBIDDEN', 'POLICY_DENIED']).toContain(approve!.code);
    expect(approve!.status).toBe(403);
    const execute = await self
      .executeAction({ proposal_id: proposalId }, { purpose: 'sneak' })
      .then(
        () => null,
        (e: unknown) => e as { code: string; status: number },
      );
    expect(execute).not.toBeNull();
    expect(execute!.status).toBeGreaterThanOrEqual(400);
    expect(execute!.status).toBeLessThan(500);

    // Still pending: only a human reviewer's decision moves it.
    const waiting = await cs.bob.getProposal({ proposal_id: proposalId });
    expect(waiting.executions).toHaveLength(0);
    expect(model.doGenerateCalls).toHaveLength(1);
    await cs.bob.reviewAction({ proposal_id: proposalId, decision: 'reject', comment: 'no' });
    await running;
    expect(secondTurnToolResult(example, model)).toMatchObject({ status: 'rejected', ran: false });
  }, 120_000);

  it('tells the model when no reviewer decided in time, and nothing runs', async () => {
    const workflowId = await cs.newWorkflow('ai-sdk timeout');
    const model = example.scriptedModel('in_progress');
    await example.runAgent({ client: cs.agent, workflowId, model, timeoutMs: 1_500 });
    const seen = secondTurnToolResult(example, model);
    expect(seen).toMatchObject({ status: 'pending', ran: false });
    const proposalId = String(seen.proposal_id);
    expect((await cs.bob.getProposal({ proposal_id: proposalId })).executions).toHaveLength(0);
  }, 120_000);

  it('runs as a script: node examples/ai-sdk/index.js proposes, waits, and prints the outcome', async () => {
    const workflowId = await cs.newWorkflow('ai-sdk script');
    const script = runScript(path.resolve('examples/ai-sdk/index.js'), [], {
      COUNTERSIGN_URL: cs.url,
      COUNTERSIGN_TOKEN: cs.agentToken,
      COUNTERSIGN_WORKFLOW_ID: workflowId,
    });
    try {
      const proposalId = await pendingProposal(cs.bob, workflowId, 'update_status', 60_000);
      await cs.bob.reviewAction({
        proposal_id: proposalId,
        decision: 'reject',
        comment: 'wait for the change window',
      });
      expect(await script.exited).toBe(0);
      expect(script.output()).toContain(`Workflow ${workflowId}`);
      expect(script.output()).toContain('I did not change the status');
      expect(script.output()).toContain('wait for the change window');
    } finally {
      await script.kill();
    }
  }, 120_000);
});
