import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  CallToolResultSchema,
  McpError,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type CallContext, operatorContext } from '../src/core/context.js';
import { type Runtime, openRuntime } from '../src/main/compose.js';
import { configFromEnv } from '../src/main/config.js';
import { createMcpServer } from '../src/surfaces/mcp/server.js';
import { OPERATIONS, type Operation } from '../src/surfaces/operations.js';
import { errorCode, fails, ok } from './support/mcp-client.js';

const ctx = operatorContext('mcp fuzz');
const RUNS_PER_TOOL = 100;

/** Values that make a field valid in the seeded state, or nearly so. */
const plausibleValue = fc.oneof(
  fc.constantFrom(
    'actor_1',
    'actor_2',
    'actor_9',
    'operator',
    'workflow_1',
    'workflow_2',
    'proposal_1',
    'proposal_7',
    'approve',
    'reject',
    'edit',
    'request_more_info',
    'update_status',
    'send_notification',
    'no_such_tool',
    'a title',
    '',
    '   ',
  ),
  fc.boolean(),
  fc.integer({ min: -3, max: 20 }),
  fc.constant({ status: 'in_progress' }),
  fc.constant({ params: { note: 'merged' } }),
  fc.array(
    fc.record({
      tool: fc.constantFrom('update_status', 'send_notification', '1bad'),
      params: fc.oneof(fc.constant({ status: 'done' }), fc.jsonValue({ maxDepth: 2 })),
    }),
    { maxLength: 3 },
  ),
);
const fieldValue = fc.oneof(plausibleValue, fc.jsonValue({ maxDepth: 3 }));

/** A copy of `args` with `key` set (as an own property, even `__proto__`) or removed. */
function withField(args: Record<string, unknown>, key: string, value: unknown) {
  const copy: Record<string, unknown> = { ...args };
  if (value === undefined) delete copy[key];
  else
    Object.defineProperty(copy, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return copy;
}

/** A valid call of each tool in the seeded state, for the mutations to start from. */
const EXAMPLES: Record<string, Record<string, unknown>> = {
  register_actor: { name: 'Dan', role: 'Developer' },
  start_workflow: { title: 'Fuzzed workflow' },
  propose_action: {
    workflow_id: 'workflow_1',
    actor_id: 'actor_1',
    tool: 'update_status',
    params: { status: 'proposed' },
    reason: 'fuzz',
  },
  review_action: { proposal_id: 'proposal_1', reviewer_id: 'actor_2', decision: 'approve' },
  revise_action: { proposal_id: 'proposal_1', actor_id: 'actor_1', params: { status: 'revised' } },
  execute_action: { proposal_id: 'proposal_1', dry_run: true },
  execute_parallel: { calls: [{ tool: 'update_status', params: { status: 'parallel' } }] },
  get_audit_log: { workflow_id: 'workflow_1' },
  create_token: { actor_id: 'actor_1', name: 'fuzz' },
  get_workflow: { workflow_id: 'workflow_1' },
  get_proposal: { proposal_id: 'proposal_1' },
};

/**
 * Arbitrary JSON; objects built from the tool's own parameter names plus strangers; and a
 * valid call with fields dropped or replaced, which gets past validation to the kernel.
 */
function argumentsFor(op: Operation): fc.Arbitrary<unknown> {
  const schema = z.toJSONSchema(op.input, { io: 'input' }) as { properties?: object };
  const names = Object.keys(schema.properties ?? {});
  const keys = fc.constantFrom(...names, 'extra', '__proto__', 'constructor');
  const example = EXAMPLES[op.name] ?? {};
  const exampleKeys = Object.keys(example);
  const mutated = fc.oneof(
    fc.constant(example),
    ...(exampleKeys.length > 0
      ? [fc.constantFrom(...exampleKeys).map((k) => withField(example, k, undefined))]
      : []),
    fc.tuple(keys, plausibleValue).map(([k, v]) => withField(example, k, v)),
  );
  return fc.oneof(
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
    { weight: 1, arbitrary: fc.dictionary(keys, fieldValue, { maxKeys: names.length + 2 }) },
    { weight: 3, arbitrary: mutated },
  );
}

const isPlainObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

describe('MCP tools under arbitrary arguments', () => {
  let dir: string;
  let runtime: Runtime;
  let client: Client;
  const outcomes = new Map<string, number>();

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-mcp-fuzz-'));
    runtime = await openRuntime({ ...configFromEnv({}), dataDir: dir });
    const k = runtime.kernel;
    for (const a of [
      { name: 'Alice', role: 'Developer' },
      { name: 'Bob', role: 'Senior Developer' },
    ])
      await k.registerActor(ctx, a);
    await k.startWorkflow(ctx, { title: 'Fuzzing' });
    await k.proposeAction(ctx, {
      workflow_id: 'workflow_1',
      actor_id: 'actor_1',
      tool: 'update_status',
      params: { status: 'in_progress' },
      reason: 'fuzz target',
    });
    const server = createMcpServer(runtime.services, () => ctx);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    client = new Client({ name: 'fuzz', version: '1.0.0' });
    await client.connect(clientSide);
    // Caches the output schemas, so the client checks every structured result too.
    await client.listTools();
  });

  afterAll(async () => {
    await client?.close();
    await runtime?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // Every state change commits with a ledger event, so an unmoved head means nothing changed.
  const events = async () =>
    (await runtime.store.transaction((tx) => tx.readLedgerHead(ctx.tenant_id))).seq;

  for (const op of OPERATIONS) {
    it(`${op.name}: answers every input with a result or a coded error, and invalid input changes nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(argumentsFor(op), async (args) => {
          const before = await events();
          let result: CallToolResult;
          try {
            result = await client.request(
              { method: 'tools/call', params: { name: op.name, arguments: args as never } },
              CallToolResultSchema,
              { timeout: 5_000 },
            );
          } catch (e) {
            // Only the SDK's own check that arguments are an object may refuse the request.
            expect(e).toBeInstanceOf(McpError);
            expect(isPlainObject(args)).toBe(false);
            expect((e as McpError).message).toContain('expected record');
            expect(await events()).toBe(before);
            count('protocol error');
            return;
          }
          if (!result.isError) {
            expect(result.structuredContent).toBeDefined();
            count('ok');
            return;
          }
          const code = errorCode(result);
          expect(code, JSON.stringify(result.content)).toBeDefined();
          expect(code).not.toBe('INTERNAL');
          count(code!);
          if (code === 'VALIDATION_FAILED') expect(await events()).toBe(before);
        }),
        { numRuns: RUNS_PER_TOOL },
      );
    });
  }

  it('is still answering, with an intact ledger, after all of it', async () => {
    const report = ok<{ ok: boolean; events: number }>(
      (await client.callTool({ name: 'verify_audit', arguments: {} })) as CallToolResult,
    );
    expect(report.ok).toBe(true);
    // The generators are not vacuous: some calls pass, most fail validation, some are refused.
    expect(outcomes.get('ok')).toBeGreaterThan(0);
    expect(outcomes.get('VALIDATION_FAILED')).toBeGreaterThan(RUNS_PER_TOOL);
    expect(outcomes.get('protocol error')).toBeGreaterThan(0);
    console.log('outcomes:', Object.fromEntries(outcomes));
  });

  function count(outcome: string) {
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
});

describe('MCP error mapping', () => {
  async function connectWith(contextFor: () => CallContext) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-mcp-errors-'));
    const runtime = await openRuntime({ ...configFromEnv({}), dataDir: dir });
    const logged: [unknown, string][] = [];
    const server = createMcpServer(runtime.services, contextFor, {
      onInternalError: (e, tool) => logged.push([e, tool]),
    });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'errors', version: '1.0.0' });
    await client.connect(clientSide);
    await client.listTools();
    const close = async () => {
      await client.close();
      await runtime.close();
      fs.rmSync(dir, { recursive: true, force: true });
    };
    return { client, logged, close };
  }

  it('reports an unexpected error as INTERNAL without its details, and tells the log', async () => {
    const m = await connectWith(() => {
      throw new Error('connection string postgres://admin:hunter2@db');
    });
    try {
      const result = (await m.client.callTool({
        name: 'register_actor',
        arguments: { name: 'Dan', role: 'Developer' },
      })) as CallToolResult;
      const text = fails(result, 'INTERNAL');
      expect(text).toBe('INTERNAL: Unexpected internal error; see the server log.');
      expect(JSON.stringify(result)).not.toContain('hunter2');
      expect(m.logged.map(([e, tool]) => [(e as Error).message, tool])).toEqual([
        ['connection string postgres://admin:hunter2@db', 'register_actor'],
      ]);
    } finally {
      await m.close();
    }
  });

  it('passes a CountersignError from the context through with its code', async () => {
    const m = await connectWith(() => ({ ...ctx, caller: { kind: 'actor', actor_id: '' } }));
    try {
      const text = fails(
        (await m.client.callTool({
          name: 'register_actor',
          arguments: { name: 'Dan', role: 'Developer' },
        })) as CallToolResult,
        'POLICY_DENIED',
      );
      expect(text).toContain('no identity');
      expect(m.logged).toEqual([]);
    } finally {
      await m.close();
    }
  });
});
