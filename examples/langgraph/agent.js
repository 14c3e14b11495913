// A LangGraph.js agent whose tool calls wait on a human decision in Countersign.
//
//   node examples/langgraph/agent.js start <thread_id> "<request>"   run until Countersign is asked
//   node examples/langgraph/agent.js resume <thread_id>              wait for the decision, go on
//
// The two commands may run in different processes, hours apart: the graph's checkpoints live in
// a SQLite file (LANGGRAPH_CHECKPOINTS), so `resume` picks the thread up from its id alone.
// The model is LangChain's scripted test model: it asks for one update_status call, then answers
// with what it was told. No network apart from the Countersign server.
//
// In your own project, import from the package instead:
//   import { createClient } from 'countersign/client';
//   import { governedToolNode, waitAndResume } from 'countersign/langgraph';
import fs from 'node:fs';
import path from 'node:path';
import { AIMessage, AIMessageChunk, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { FakeChatModel, FakeStreamingChatModel } from '@langchain/core/utils/testing';
import { END, MessagesAnnotation, START, StateGraph } from '@langchain/langgraph';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { z } from 'zod';
import { createClient } from '../../dist/src/client/index.js';
import { governedToolNode, waitAndResume } from '../../dist/src/integrations/langgraph.js';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') {
    console.error(`Set ${name} (see examples/langgraph/README.md).`);
    process.exit(2);
  }
  return value;
};

const client = createClient({
  baseUrl: env('COUNTERSIGN_SERVER', 'http://127.0.0.1:8787'),
  token: env('COUNTERSIGN_TOKEN'),
});
const workflowId = env('COUNTERSIGN_WORKFLOW_ID');
const checkpoints = path.resolve(
  env('LANGGRAPH_CHECKPOINTS', '.countersign/langgraph-checkpoints.sqlite'),
);
fs.mkdirSync(path.dirname(checkpoints), { recursive: true });

// What the model sees of the tool. Countersign runs the approved call (its own update_status),
// so this function is never called: the governed node executes through Countersign.
const updateStatus = tool(
  () => {
    throw new Error('update_status runs in Countersign once a human approves it.');
  },
  {
    name: 'update_status',
    description: "Records the workflow's status.",
    schema: z.object({ status: z.string(), note: z.string().optional() }),
  },
);

// The model: on a request it calls update_status; once the tool answered it replies with
// everything it was told (LangChain's echo model), so the output shows what came back to it.
async function agent(state) {
  const last = state.messages.at(-1);
  if (ToolMessage.isInstance(last)) {
    return { messages: [await new FakeChatModel({}).invoke(state.messages)] };
  }
  const request = String(last.content);
  const caller = new FakeStreamingChatModel({
    responses: [new AIMessage('I will record the status in Countersign.')],
    chunks: [
      new AIMessageChunk({
        content: '',
        tool_calls: [
          {
            id: `call_${state.messages.length}`,
            name: 'update_status',
            args: { status: 'in_progress', note: request },
            type: 'tool_call',
          },
        ],
      }),
    ],
  }).bindTools([updateStatus]);
  return { messages: [await caller.invoke(state.messages)] };
}

const graph = new StateGraph(MessagesAnnotation)
  .addNode('agent', agent)
  .addNode('tools', governedToolNode([updateStatus], { client, workflowId }))
  .addEdge(START, 'agent')
  .addConditionalEdges('agent', (state) =>
    (state.messages.at(-1)?.tool_calls?.length ?? 0) > 0 ? 'tools' : END,
  )
  .addEdge('tools', 'agent')
  .compile({ checkpointer: SqliteSaver.fromConnString(checkpoints) });

const [command, threadId, request] = process.argv.slice(2);
if ((command !== 'start' && command !== 'resume') || !threadId) {
  console.error('usage: agent.js start <thread_id> "<request>" | agent.js resume <thread_id>');
  process.exit(2);
}
const config = { configurable: { thread_id: threadId } };

if (command === 'start') {
  const out = await graph.invoke(
    { messages: [{ role: 'user', content: request ?? 'Mark the change as started.' }] },
    config,
  );
  const waiting = (out.__interrupt__ ?? []).map((i) => i.value);
  console.log(JSON.stringify({ thread_id: threadId, waiting_on: waiting }));
} else {
  const out = await waitAndResume(graph, config, client);
  const messages = out.messages.map((m) => ({ type: m.getType(), content: m.content }));
  console.log(JSON.stringify({ thread_id: threadId, messages }));
}
