// A Vercel AI SDK agent whose tool calls Countersign governs. It runs with the AI SDK's own mock
// model, so it needs no model provider and no network beyond your Countersign server:
//
//   COUNTERSIGN_URL=http://127.0.0.1:8787 COUNTERSIGN_TOKEN=<agent token> node examples/ai-sdk/index.js
//
// In your own project, import from the package instead:
//   import { createClient } from 'countersign/client';
//   import { governTools } from 'countersign/ai-sdk';
import { pathToFileURL } from 'node:url';
import { generateText, jsonSchema, stepCountIs, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { createClient } from '../../dist/src/client/index.js';
import { governTools } from '../../dist/src/integrations/ai-sdk.js';

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 10, text: 10, reasoning: 0 },
};

/** The tool results the model was given in a prompt (what it "read" before its next turn). */
export function toolResultsIn(prompt) {
  return prompt
    .filter((m) => m.role === 'tool')
    .flatMap((m) => m.content)
    .filter((p) => p.type === 'tool-result');
}

/**
 * A scripted model: its first turn calls update_status; its second turn reports what came back
 * (the tool's result, or the reviewer's refusal and comment).
 */
export function scriptedModel(status = 'in_progress') {
  return new MockLanguageModelV3({
    doGenerate: async (options) => {
      const results = toolResultsIn(options.prompt);
      if (results.length === 0)
        return {
          content: [
            {
              type: 'tool-call',
              toolCallId: `call-${Date.now()}-${Math.random().toString(36).slice(2)}`,
              toolName: 'update_status',
              input: JSON.stringify({ status, note: 'started by the AI SDK example' }),
            },
          ],
          finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
          usage,
          warnings: [],
        };
      const value = results.at(-1).output.value;
      const text =
        value && value.ran === false
          ? `I did not change the status: ${value.message}`
          : `Done: ${JSON.stringify(value)}`;
      return {
        content: [{ type: 'text', text }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage,
        warnings: [],
      };
    },
  });
}

/** The agent's tools, as the model sees them: Countersign runs update_status once approved. */
export const tools = {
  update_status: tool({
    description: "Records the workflow's status.",
    inputSchema: jsonSchema({
      type: 'object',
      properties: { status: { type: 'string' }, note: { type: 'string' } },
      required: ['status'],
      additionalProperties: false,
    }),
  }),
};

/** One agent turn: the model proposes, Countersign decides, the model continues with the outcome. */
export async function runAgent({ client, workflowId, model = scriptedModel(), timeoutMs }) {
  return generateText({
    model,
    tools: governTools(tools, { client, workflowId, agent: 'ai-sdk example', timeoutMs }),
    prompt: 'Mark the change as started.',
    stopWhen: stepCountIs(3),
  });
}

async function main() {
  const url = process.env.COUNTERSIGN_URL ?? 'http://127.0.0.1:8787';
  const client = createClient({ baseUrl: url, token: process.env.COUNTERSIGN_TOKEN });
  const workflowId =
    process.env.COUNTERSIGN_WORKFLOW_ID ??
    (await client.startWorkflow({ title: 'AI SDK example' }, { purpose: 'AI SDK example' }))
      .workflow_id;
  console.log(`Workflow ${workflowId}: the agent proposes update_status and waits for a reviewer.`);
  console.log('Decide it with: countersign review list, then countersign review approve|reject …');
  const result = await runAgent({ client, workflowId });
  console.log(result.text);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
