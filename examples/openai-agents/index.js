// An OpenAI Agents SDK agent whose tool calls Countersign governs, with the SDK's approvals and
// RunState. A scripted model stands in for OpenAI, so it needs no API key and no network beyond
// your Countersign server:
//
//   COUNTERSIGN_URL=http://127.0.0.1:8787 COUNTERSIGN_TOKEN=<agent token> node examples/openai-agents/index.js
//
// While it waits for a reviewer the run's state is saved to COUNTERSIGN_AGENT_STATE (default
// ./agent-state.json). Stop it (Ctrl-C) and run it again with --resume: it restores the state
// and finds the same proposal, so nothing is proposed twice.
//
// In your own project, import from the package instead:
//   import { createClient } from 'countersign/client';
//   import { governTool, resolveInterruptions } from 'countersign/openai-agents';
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Agent, RunState, Usage, run, setTracingDisabled, tool } from '@openai/agents';
import { createClient } from '../../dist/src/client/index.js';
import { governTool, resolveInterruptions } from '../../dist/src/integrations/openai-agents.js';

/** What a function_call_result item's output says, as text. */
function outputText(item) {
  return typeof item.output === 'string' ? item.output : (item.output?.text ?? '');
}

/**
 * A scripted Model (the Agents SDK ships no mock): its first turn calls update_status; its
 * second turn reports the tool result it was given (the result, or the reviewer's refusal).
 * Every request is kept in `requests` so you can see what the model read.
 */
export class ScriptedModel {
  constructor(status = 'in_progress') {
    this.status = status;
    this.requests = [];
  }

  async getResponse(request) {
    this.requests.push(request);
    const input = typeof request.input === 'string' ? [] : request.input;
    const results = input.filter((i) => i.type === 'function_call_result');
    if (results.length === 0)
      return {
        usage: new Usage(),
        output: [
          {
            type: 'function_call',
            callId: `call_${Date.now()}_${Math.random().toString(36).slice(2)}`,
            name: 'update_status',
            arguments: JSON.stringify({ status: this.status, note: 'started by the example' }),
            status: 'completed',
          },
        ],
      };
    const text = outputText(results.at(-1));
    return {
      usage: new Usage(),
      output: [
        {
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: `The tool answered: ${text}` }],
        },
      ],
    };
  }

  // eslint-disable-next-line require-yield
  async *getStreamedResponse() {
    throw new Error('The scripted model does not stream.');
  }
}

/** The agent: update_status is governed, so every call waits for a Countersign reviewer. */
export function buildAgent({ client, workflowId, model = new ScriptedModel(), timeoutMs }) {
  const updateStatus = tool({
    name: 'update_status',
    description: "Records the workflow's status.",
    parameters: {
      type: 'object',
      properties: { status: { type: 'string' }, note: { type: 'string' } },
      required: ['status', 'note'],
      additionalProperties: false,
    },
    strict: true,
    // Never called: a governed tool runs in Countersign once approved.
    execute: async () => 'not run locally',
  });
  const governance = { client, workflowId, agent: 'agents example', timeoutMs };
  const agent = new Agent({
    name: 'ops agent',
    instructions: 'Keep the workflow status up to date.',
    model,
    tools: [governTool(updateStatus, governance)],
  });
  return { agent, governance };
}

/**
 * Runs the agent to the end: each time it stops for approval, Countersign decides.
 * `onWaiting(serializedState)` is called before each wait, to save the state.
 */
export async function runGoverned({ agent, governance, input, state, onWaiting }) {
  let result = await run(agent, state ?? input);
  while (result.interruptions.length > 0) {
    await onWaiting?.(result.state.toString());
    const resolved = await resolveInterruptions(result.state, governance);
    if (resolved.pending) return { result, pending: true };
    result = await run(agent, resolved.state);
  }
  return { result, pending: false };
}

async function main() {
  setTracingDisabled(true);
  const url = process.env.COUNTERSIGN_URL ?? 'http://127.0.0.1:8787';
  const stateFile = process.env.COUNTERSIGN_AGENT_STATE ?? 'agent-state.json';
  const client = createClient({ baseUrl: url, token: process.env.COUNTERSIGN_TOKEN });
  const resume = process.argv.includes('--resume');
  const saved = resume ? JSON.parse(fs.readFileSync(stateFile, 'utf8')) : null;
  const workflowId =
    saved?.workflowId ??
    process.env.COUNTERSIGN_WORKFLOW_ID ??
    (await client.startWorkflow({ title: 'Agents SDK example' }, { purpose: 'Agents example' }))
      .workflow_id;
  const { agent, governance } = buildAgent({ client, workflowId });
  const state = saved ? await RunState.fromString(agent, saved.state) : undefined;
  console.log(`Workflow ${workflowId}: the agent proposes update_status and waits for a reviewer.`);
  console.log('Decide it with: countersign pending, then countersign review <proposal_id> …');
  const { result, pending } = await runGoverned({
    agent,
    governance,
    input: 'Mark the change as started.',
    state,
    onWaiting: (s) => fs.writeFileSync(stateFile, JSON.stringify({ workflowId, state: s })),
  });
  if (pending) console.log(`Still waiting; run again with --resume (state in ${stateFile}).`);
  else {
    fs.rmSync(stateFile, { force: true });
    console.log(result.finalOutput);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
