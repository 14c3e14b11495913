import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JsonObject } from '../../src/core/model.js';
import { RulesProvider } from '../../src/adapters/models/rules-provider.js';

/**
 * A small Chat Completions server for tests that spawn real Countersign processes with
 * COUNTERSIGN_OPENAI_BASE_URL pointing here. It answers like an OpenAI-compatible model by
 * running the deterministic RulesProvider: the structured-output schema name
 * (`response_format.json_schema.name`, the agent step's artifact name) picks the role, and the
 * user message (the agent's JSON input, as OpenAiCompatibleProvider sends it) is the input.
 *
 * `hang(name)` makes it hold requests for that schema name open without ever answering, so a
 * test can stop a server process at a known point in the middle of a run.
 *
 *   const model = await startFakeModelServer();
 *   model.hang('audit_report');
 *   // spawn with COUNTERSIGN_OPENAI_BASE_URL=model.baseUrl, COUNTERSIGN_OPENAI_MODEL=fake
 *   await model.waitForHung('audit_report', 60_000);
 */

/** Schema name → the RulesProvider role that answers it. */
export const ROLE_OF_SCHEMA: Readonly<Record<string, string>> = {
  intake: 'intake_agent',
  risk: 'risk_agent',
  plan: 'change_planner',
  audit_report: 'audit_agent',
  draft: 'response_drafter',
};

export interface FakeModelRequest {
  readonly schema_name: string;
  /** What happened to it: answered, held open (hang) or refused (4xx). */
  readonly outcome: 'answered' | 'hung' | 'refused';
}

export interface FakeModelServer {
  /** `http://127.0.0.1:<port>/v1`: the value for COUNTERSIGN_OPENAI_BASE_URL. */
  readonly baseUrl: string;
  /** Every chat completion request received, in order. */
  readonly requests: readonly FakeModelRequest[];
  /** Hold requests for this schema name open without answering. */
  hang(schema_name: string): void;
  /** Answer every schema name again (requests already held stay held). */
  answerAll(): void;
  /** Resolves once a request for `schema_name` is being held open. */
  waitForHung(schema_name: string, timeoutMs: number): Promise<void>;
  /** Closes the server and drops every connection, including held ones. */
  close(): Promise<void>;
}

interface ChatBody {
  model?: unknown;
  messages?: unknown;
  response_format?: { json_schema?: { name?: unknown } };
}

const rules = new RulesProvider();

/** The agent input: the user message, without a retry note the provider may append. */
function inputOf(body: ChatBody): JsonObject {
  const messages = Array.isArray(body.messages) ? (body.messages as unknown[]) : [];
  const user = messages.find(
    (m): m is { role: string; content: string } =>
      typeof m === 'object' &&
      m !== null &&
      (m as { role?: unknown }).role === 'user' &&
      typeof (m as { content?: unknown }).content === 'string',
  );
  if (!user) throw new Error('no user message with string content');
  const text = user.content.split('\n\nYour previous answer was rejected:')[0]!;
  const parsed = JSON.parse(text) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('the user message is not a JSON object');
  return parsed as JsonObject;
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export async function startFakeModelServer(): Promise<FakeModelServer> {
  const hanging = new Set<string>();
  const requests: FakeModelRequest[] = [];
  const held: http.ServerResponse[] = [];
  const waiters: { name: string; resolve: () => void }[] = [];
  let counter = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        send(res, 404, { error: { message: `no route ${req.method} ${req.url}` } });
        return;
      }
      let body: ChatBody;
      let schema_name: string;
      let input: JsonObject;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatBody;
        const name = body.response_format?.json_schema?.name;
        if (typeof name !== 'string') throw new Error('no response_format.json_schema.name');
        schema_name = name;
        input = inputOf(body);
      } catch (e) {
        requests.push({ schema_name: '?', outcome: 'refused' });
        send(res, 400, {
          error: { message: e instanceof Error ? e.message : String(e), type: 'bad_request' },
        });
        return;
      }
      const role = ROLE_OF_SCHEMA[schema_name];
      if (!role) {
        requests.push({ schema_name, outcome: 'refused' });
        send(res, 400, {
          error: { message: `unknown schema ${schema_name}`, type: 'bad_request' },
        });
        return;
      }
      if (hanging.has(schema_name)) {
        requests.push({ schema_name, outcome: 'hung' });
        held.push(res);
        for (const w of waiters.filter((x) => x.name === schema_name)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
        return;
      }
      rules
        .generate({
          tenant_id: 'default',
          model: 'v1',
          role,
          instructions: '',
          input,
          output_schema: {},
          schema_name,
        })
        .then((answer) => {
          requests.push({ schema_name, outcome: 'answered' });
          const content = JSON.stringify(answer.output);
          const prompt_tokens = Math.ceil(Buffer.concat(chunks).length / 4);
          const completion_tokens = Math.ceil(content.length / 4);
          send(res, 200, {
            id: `chatcmpl-fake-${++counter}`,
            object: 'chat.completion',
            created: Math.floor(Date.now() / 1000),
            model: typeof body.model === 'string' ? body.model : 'fake',
            choices: [
              {
                index: 0,
                message: { role: 'assistant', content, refusal: null },
                finish_reason: 'stop',
              },
            ],
            usage: {
              prompt_tokens,
              completion_tokens,
              total_tokens: prompt_tokens + completion_tokens,
            },
          });
        })
        .catch((e: unknown) => {
          requests.push({ schema_name, outcome: 'refused' });
          send(res, 400, {
            error: { message: e instanceof Error ? e.message : String(e), type: 'bad_request' },
          });
        });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    hang(name) {
      hanging.add(name);
    },
    answerAll() {
      hanging.clear();
    },
    waitForHung(name, timeoutMs) {
      if (requests.some((r) => r.schema_name === name && r.outcome === 'hung'))
        return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const waiter = {
          name,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no ${name} request arrived within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    async close() {
      for (const res of held.splice(0)) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
