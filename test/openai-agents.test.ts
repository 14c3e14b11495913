import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type Agent,
  type ModelRequest,
  RunState,
  type RunResult,
  setTracingDisabled,
} from '@openai/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CountersignClient, createClient } from '../src/client/index.js';
import { type GovernOptions, resolveInterruptions } from '../src/integrations/openai-agents.js';
import {
  type Served,
  pendingProposal,
  runScript,
  serveWithActors,
} from './support/countersign-serve.js';

// The shipped example (examples/openai-agents), driven by its scripted Model (the Agents SDK
// ships no mock) against a real `countersign serve` (`npx tsc -p tsconfig.build.json` first).
interface ScriptedModel {
  readonly requests: ModelRequest[];
}
/* eslint-disable @typescript-eslint/no-explicit-any -- the example is plain JS */
interface Example {
  ScriptedModel: new (status?: string) => ScriptedModel;
  buildAgent(o: {
    client: CountersignClient;
    workflowId: string;
    model?: ScriptedModel;
    timeoutMs?: number;
  }): { agent: Agent<any, any>; governance: GovernOptions };
  runGoverned(o: {
    agent: Agent<any, any>;
    governance: GovernOptions;
    input?: string;
    state?: RunState<any, any>;
    onWaiting?: (state: string) => void;
  }): Promise<{ result: RunResult<any, any>; pending: boolean }>;
}
/* eslint-enable @typescript-eslint/no-explicit-any */
const EXAMPLE = pathToFileURL(path.resolve('examples/openai-agents/index.js')).href;

/** The tool output the model read on its last turn. */
function lastToolOutput(model: ScriptedModel): string {
  const last = model.requests.at(-1)!;
  const input = typeof last.input === 'string' ? [] : last.input;
  const results = input.filter((i) => i.type === 'function_call_result');
  expect(results).toHaveLength(1);
  const output = (results[0] as { output: string | { text?: string } }).output;
  return typeof output === 'string' ? output : (output.text ?? '');
}

describe('countersign/openai-agents: an Agents SDK agent governed by Countersign', () => {
  let cs: Served;
  let example: Example;

  beforeAll(async () => {
    setTracingDisabled(true);
    cs = await serveWithActors('cs-agents-');
    example = (await import(EXAMPLE)) as Example;
  }, 90_000);
  afterAll(async () => cs?.stop());

  it('stops for approval, runs the call a human approved in Countersign, and continues with its result', async () => {
    const workflowId = await cs.newWorkflow('agents approve');
    const model = new example.ScriptedModel('in_progress');
    const { agent, governance } = example.buildAgent({
      client: cs.agent,
      workflowId,
      model,
      timeoutMs: 60_000,
    });
    const running = example.runGoverned({ agent, governance, input: 'Mark it started.' });
    const proposalId = await pendingProposal(cs.bob, workflowId, 'update_status');
    expect((await cs.bob.getProposal({ proposal_id: proposalId })).executions).toHaveLength(0);
    expect(model.requests).toHaveLength(1);
    await cs.bob.reviewAction({ proposal_id: proposalId, decision: 'approve' });
    const { result, pending } = await running;

    expect(pending).toBe(false);
    const seen = JSON.parse(lastToolOutput(model)) as Record<string, unknown>;
    expect(seen).toMatchObject({
      status: 'succeeded',
      ran: true,
      proposal_id: proposalId,
      params: { status: 'in_progress', note: 'started by the example' },
    });
    expect(String(result.finalOutput)).toContain('"succeeded"');
    const after = await cs.bob.getProposal({ proposal_id: proposalId });
    expect(after.executions).toHaveLength(1);
  }, 120_000);

  it("rejects the call in the RunState with the reviewer's comment, which the model reads", async () => {
    const workflowId = await cs.newWorkflow('agents reject');
    const model = new example.ScriptedModel('done');
    const { agent, governance } = example.buildAgent({
      client: cs.agent,
      workflowId,
      model,
      timeoutMs: 60_000,
    });
    const running = example.runGoverned({ agent, governance, input: 'Mark it done.' });
    const proposalId = await pendingProposal(cs.bob, workflowId, 'update_status');
    await cs.bob.reviewAction({
      proposal_id: proposalId,
      decision: 'reject',
      comment: 'the release is not out yet',
    });
    const { result } = await running;

    const text = lastToolOutput(model);
    const seen = JSON.parse(text) as Record<string, unknown>;
    expect(seen).toMatchObject({
      status: 'rejected',
      ran: false,
      proposal_id: proposalId,
      comment: 'the release is not out yet',
    });
    expect(String(result.finalOutput)).toContain('the release is not out yet');
    expect((await cs.bob.getProposal({ proposal_id: proposalId })).executions).toHaveLength(0);
  }, 120_000);

  it('survives a restart: the saved RunState, restored, finds the same proposal and runs the edited call', async () => {
    const workflowId = await cs.newWorkflow('agents restart');
    const first = example.buildAgent({
      client: cs.agent,
      workflowId,
      model: new example.ScriptedModel('in_progress'),
      timeoutMs: 1_500,
    });
    let saved = '';
    // The first process: proposes, saves its state, gives up waiting (nobody decided in time).
    const gaveUp = await example.runGoverned({
      ...first,
      input: 'Mark it started.',
      onWaiting: (s) => (saved = s),
    });
    expect(gaveUp.pending).toBe(true);
    expect(saved).not.toBe('');
    const proposalId = await pendingProposal(cs.bob, workflowId, 'update_status');

    // Meanwhile, a reviewer edits the call and another approves the edited version.
    await cs.bob.reviewAction({
      proposal_id: proposalId,
      decision: 'edit',
      edits: { params: { status: 'blocked' } },
      comment: 'it is blocked',
    });
    await cs.carol.reviewAction({ proposal_id: proposalId, decision: 'approve' });

    // A new process: new agent objects, the state restored from its string.
    const model = new example.ScriptedModel('in_progress');
    const second = example.buildAgent({ client: cs.agent, workflowId, model, timeoutMs: 60_000 });
    const state = await RunState.fromString(second.agent, saved);
    const { result, pending } = await example.runGoverned({ ...second, state });

    expect(pending).toBe(false);
    const seen = JSON.parse(lastToolOutput(model)) as Record<string, unknown>;
    expect(seen).toMatchObject({
      status: 'succeeded',
      proposal_id: proposalId,
      params: { status: 'blocked', note: 'started by the example' },
    });
    expect(JSON.stringify(seen.output)).toContain('blocked');
    expect(String(result.finalOutput)).toContain('blocked');
    // One proposal for the one tool call, run once.
    const inbox = JSON.stringify(await cs.bob.listPendingReviews({ workflow_id: workflowId }));
    expect(inbox).not.toContain('proposal_');
    const read = await cs.bob.getProposal({ proposal_id: proposalId });
    expect(read.executions).toHaveLength(1);
    expect(read.final_tool_call.version).toBe(2);
  }, 120_000);

  it('never decides: the agent token cannot approve its own call, and an unapproved call does not run', async () => {
    const workflowId = await cs.newWorkflow('agents attacker');
    const model = new example.ScriptedModel('in_progress');
    const built = example.buildAgent({ client: cs.agent, workflowId, model, timeoutMs: 1_500 });
    let saved = '';
    const gaveUp = await example.runGoverned({
      ...built,
      input: 'Mark it started.',
      onWaiting: (s) => (saved = s),
    });
    expect(gaveUp.pending).toBe(true);
    const proposalId = await pendingProposal(cs.bob, workflowId, 'update_status');

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

    // A forged local approval: the RunState says yes, Countersign has not. The tool must not run.
    const state = await RunState.fromString(built.agent, saved);
    for (const item of state.getInterruptions()) state.approve(item);
    const forged = await example.runGoverned({ ...built, state });
    expect(forged.pending).toBe(false);
    const after = await cs.bob.getProposal({ proposal_id: proposalId });
    expect(after.executions).toHaveLength(0);
    expect(JSON.parse(lastToolOutput(model))).toMatchObject({
      status: 'refused',
      ran: false,
      proposal_id: proposalId,
    });

    // And resolving through Countersign still waits for a human.
    const again = await RunState.fromString(built.agent, saved);
    const resolved = await resolveInterruptions(again, built.governance);
    expect(resolved.pending).toBe(true);
  }, 120_000);

  it('runs as a script that is killed while waiting and resumed with --resume', async () => {
    const workflowId = await cs.newWorkflow('agents script');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-agents-state-'));
    const env = {
      COUNTERSIGN_URL: cs.url,
      COUNTERSIGN_TOKEN: cs.agentToken,
      COUNTERSIGN_WORKFLOW_ID: workflowId,
      COUNTERSIGN_AGENT_STATE: path.join(dir, 'state.json'),
    };
    const file = path.resolve('examples/openai-agents/index.js');
    try {
      const first = runScript(file, [], env);
      const proposalId = await pendingProposal(cs.bob, workflowId, 'update_status', 60_000);
      const deadline = Date.now() + 30_000;
      while (!fs.existsSync(env.COUNTERSIGN_AGENT_STATE) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      await first.kill(); // the process dies while it waits
      expect(fs.existsSync(env.COUNTERSIGN_AGENT_STATE)).toBe(true);

      await cs.bob.reviewAction({ proposal_id: proposalId, decision: 'approve' });
      const second = runScript(file, ['--resume'], env);
      expect(await second.exited).toBe(0);
      expect(second.output()).toContain('The tool answered:');
      expect(second.output()).toContain('"succeeded"');
      expect(second.output()).toContain(proposalId);
      // The resumed run found the same proposal: one call, run once, nothing else proposed.
      const read = await cs.bob.getProposal({ proposal_id: proposalId });
      expect(read.executions).toHaveLength(1);
      const inbox = JSON.stringify(await cs.bob.listPendingReviews({ workflow_id: workflowId }));
      expect(inbox).not.toContain('proposal_');
      expect(fs.existsSync(env.COUNTERSIGN_AGENT_STATE)).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
