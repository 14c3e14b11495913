import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JsonObject } from '../../src/core/model.js';

/**
 * A Chat Completions server on 127.0.0.1 whose answers a test writes: `script` sees each
 * request's body and its number (1-based, since the last `use`) and returns either tool calls
 * or content. It stands in for an OpenAI-compatible model behind OpenAiCompatibleProvider, in
 * process (a ModelGateway on `baseUrl`) or for a worker (COUNTERSIGN_OPENAI_BASE_URL).
 *
 *   const model = await startScriptedModel((body, n) =>
 *     n === 1 ? { tool_calls: [{ id: 'c1', name: 'noop', arguments: '{}' }] } : { content: '{}' },
 *   );
 *   // … runs …
 *   model.use(otherScript); // the next test's answers, on the same server
 */

export interface ChatBody {
  model?: string;
  messages: { role: string; content: string | null; tool_calls?: unknown; tool_call_id?: string }[];
  tools?: {
    type: string;
    function: { name: string; description: string; parameters: JsonObject };
  }[];
  response_format?: { json_schema?: { name?: string } };
}

export type Reply =
  { tool_calls: { id: string; name: string; arguments: string }[] } | { content: string };

export type Script = (body: ChatBody, n: number) => Reply;

export interface ScriptedModel {
  /** `http://127.0.0.1:<port>/v1` */
  readonly baseUrl: string;
  /** The request bodies received since the last `use`, in order. */
  readonly bodies: ChatBody[];
  /** Answers the next requests with `script`, counting them from 1 again. */
  use(script: Script): void;
  close(): Promise<void>;
}

export async function startScriptedModel(first: Script): Promise<ScriptedModel> {
  let script = first;
  const bodies: ChatBody[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        send(404, { error: { message: 'no such route' } });
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatBody;
      bodies.push(body);
      const reply = script(body, bodies.length);
      const message =
        'content' in reply
          ? { role: 'assistant', content: reply.content }
          : {
              role: 'assistant',
              content: null,
              tool_calls: reply.tool_calls.map((c) => ({
                id: c.id,
                type: 'function',
                function: { name: c.name, arguments: c.arguments },
              })),
            };
      send(200, {
        id: `chatcmpl-${bodies.length}`,
        object: 'chat.completion',
        created: 0,
        model: 'fake',
        choices: [{ index: 0, message, finish_reason: 'content' in reply ? 'stop' : 'tool_calls' }],
        usage: { prompt_tokens: 10, completion_tokens: 5 },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    bodies,
    use(next) {
      script = next;
      bodies.length = 0;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
