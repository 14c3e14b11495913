import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OpenAiCompatibleProvider } from '../src/adapters/models/openai-compatible.js';
import { RulesProvider } from '../src/adapters/models/rules-provider.js';
import { CedarPolicyEngine } from '../src/adapters/policy/cedar-policy-engine.js';
import type { JsonObject, LedgerEvent } from '../src/core/model.js';
import type { ModelProvider } from '../src/core/ports/model.js';
import { validateTrace } from '../src/core/trace.js';
import { runIdFor } from '../src/core/workflow-ops.js';
import { validateDefinition, type WorkflowDefinition } from '../src/engine/definition.js';
import { ModelGateway } from '../src/engine/model-gateway.js';
import { ctx, engineOn } from './support/engine-fixture.js';
import { STORES, expectCode } from './support/kernel-fixture.js';
import {
  type ChatBody,
  type Reply,
  type ScriptedModel,
  startScriptedModel,
} from './support/scripted-model-server.js';

/**
 * Agent steps that use tools: a real Chat Completions server on 127.0.0.1 stands in for the
 * model (it asks for tool calls, then answers), the tools are the kernel's test tools, and the
 * run goes through the embedded runtime on a real SQLite file.
 */

type Env = Awaited<ReturnType<typeof engineOn>>;

function gateway(baseUrl: string, defaultModel = 'openai-compatible/fake') {
  return new ModelGateway({
    providers: new Map<string, ModelProvider>([
      ['openai-compatible', new OpenAiCompatibleProvider({ baseUrl, model: 'fake' })],
      ['rules', new RulesProvider()],
    ]),
    allowedModels: () => Promise.resolve(['openai-compatible/fake', 'rules/v1']),
    defaultModel,
  });
}

const findings = z.strictObject({ summary: z.string(), checked: z.number().int() });
const answer = (summary: string, checked = 1): Reply => ({
  content: JSON.stringify({ summary, checked }),
});
const ask = (...calls: [string, string, string][]): Reply => ({
  tool_calls: calls.map(([id, name, args]) => ({ id, name, arguments: args })),
});

/** An agent that may look things up with `noop` (a read) and `write_record` (a write). */
function researchDefinition(max_turns?: number): WorkflowDefinition<{ topic: string }> {
  return {
    name: 'agent_tools_flow',
    version: '1',
    title: (i) => `Research ${i.topic}`,
    description: 'An agent looks the topic up with tools, then answers.',
    input: z.strictObject({ topic: z.string() }),
    initial_stage: 'research',
    final_stage: 'done',
    allowed_tools: () => ['noop', 'write_record'],
    steps: [
      { kind: 'stage', id: 'open', stage: 'research' },
      {
        kind: 'agent',
        id: 'research',
        role: 'researcher',
        artifact: 'findings',
        instructions: 'Look the topic up with the tools, then answer.',
        output: findings,
        input: (run) => ({ topic: run.input.topic }),
        tools: ['noop', 'write_record'],
        ...(max_turns === undefined ? {} : { max_turns }),
      },
    ],
  };
}

const lookupOutput = z.strictObject({
  results: z.array(
    z.strictObject({
      tool: z.string(),
      ok: z.boolean(),
      output: z.json(),
      code: z.string().nullable(),
    }),
  ),
});

/** The rules provider's tool-using agent: its lookups come from the run's input. */
function lookupDefinition(): WorkflowDefinition<{
  lookups: { tool: string; params: JsonObject }[];
}> {
  return {
    name: 'lookup_flow',
    version: '1',
    title: () => 'Lookups',
    description: 'The rules lookup agent asks for its lookups, then reports them.',
    input: z.strictObject({
      lookups: z.array(
        z.strictObject({ tool: z.string(), params: z.record(z.string(), z.json()) }),
      ),
    }),
    initial_stage: 'lookup',
    final_stage: 'done',
    allowed_tools: () => ['noop', 'write_record'],
    steps: [
      { kind: 'stage', id: 'open', stage: 'lookup' },
      {
        kind: 'agent',
        id: 'lookup',
        role: 'lookup_agent',
        artifact: 'lookups',
        instructions: 'Look these up.',
        output: lookupOutput,
        input: (run) => ({ lookups: run.input.lookups }),
        tools: ['noop', 'write_record'],
      },
    ],
  };
}

async function ledger(env: Env, workflow_id: string): Promise<LedgerEvent[]> {
  return env.store.transaction((tx) => tx.listLedger('default', { workflow_id }));
}

const ofType = (events: LedgerEvent[], type: string) => events.filter((e) => e.type === type);

/** The tool messages the model was sent in its request, parsed. */
function toolResults(body: ChatBody): { id: string | undefined; content: JsonObject }[] {
  return body.messages
    .filter((m) => m.role === 'tool')
    .map((m) => ({ id: m.tool_call_id, content: JSON.parse(m.content ?? 'null') as JsonObject }));
}

const start = (env: Env, definition: string, input: JsonObject, key = 'k1') =>
  env.runtime.start(ctx, { definition, input, idempotency_key: key });

describe('agent steps with tools', () => {
  let env: Env | undefined;
  let model: ScriptedModel | undefined;
  afterEach(async () => {
    await env?.runtime.close();
    await env?.cleanup();
    await model?.close();
    env = undefined;
    model = undefined;
  });

  it('runs a read tool the model asks for once, as a governed call of the run, and answers with its result', async () => {
    model = await startScriptedModel((_b, n) =>
      n === 1 ? ask(['call_a', 'noop', '{"n":2}']) : answer('looked up'),
    );
    env = await engineOn(STORES[0]!, {
      models: gateway(model.baseUrl),
      definitions: [researchDefinition()],
    });
    const run = await start(env, 'agent_tools_flow', { topic: 'users' });
    expect(run).toMatchObject({ status: 'completed', stage: 'done' });
    expect(run.artifacts.findings).toEqual({ summary: 'looked up', checked: 1 });
    expect(env.tools.calls.map((c) => [c.tool, c.params])).toEqual([['noop', { n: 2 }]]);

    const events = await ledger(env, run.workflow_id);
    const agents = ofType(events, 'AGENT_INVOKE');
    expect(agents.map((e) => [e.data.turn, e.data.tool_calls, e.data.ok])).toEqual([
      [1, ['noop'], true],
      [2, [], true],
    ]);
    const invocation = agents[0]!.data.agent_invocation_id;
    expect(agents[1]!.data.agent_invocation_id).toBe(invocation);
    const proposed = ofType(events, 'ACTION_PROPOSED');
    expect(proposed.map((e) => e.data.tool)).toEqual(['noop']);
    const invoked = ofType(events, 'TOOL_INVOKE');
    expect(invoked).toHaveLength(1);
    expect(invoked[0]!.data).toMatchObject({
      tool: 'noop',
      proposal_id: proposed[0]!.data.proposal_id,
      workflow_id: run.workflow_id,
      agent_invocation_id: invocation,
      purpose: ctx.purpose,
    });
    // The tool call comes after the turn that asked for it, and before the next one.
    expect(events.indexOf(invoked[0]!)).toBeGreaterThan(events.indexOf(agents[0]!));
    expect(events.indexOf(invoked[0]!)).toBeLessThan(events.indexOf(agents[1]!));
    expect(validateTrace(run.workflow_id, events).problems).toEqual([]);

    // The model was offered the tools with their schemas, then shown the call and its result.
    expect(model.bodies).toHaveLength(2);
    const offered = model.bodies[0]!.tools!;
    expect(offered.map((t) => [t.type, t.function.name])).toEqual([
      ['function', 'noop'],
      ['function', 'write_record'],
    ]);
    expect(offered[0]!.function.parameters).toMatchObject({ properties: { n: {} } });
    expect(model.bodies[1]!.messages.slice(2, 3)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'noop', arguments: '{"n":2}' } },
        ],
      },
    ]);
    expect(toolResults(model.bodies[1]!)).toEqual([
      { id: 'call_a', content: { ok: true, output: { done: 'noop', params: { n: 2 } } } },
    ]);
    // The step's record lists the calls of the invocation.
    const step = ofType(events, 'WORKFLOW_STEP').find(
      (e) => e.data.step_id === 'research' && e.data.status === 'completed',
    )!;
    expect(step.data.detail).toMatchObject({
      turns: 2,
      tool_calls: [{ turn: 1, call_id: 'call_a', tool: 'noop', ok: true, code: null }],
    });
  });

  it('refuses a write tool, records the refusal, tells the model, and the run goes on', async () => {
    model = await startScriptedModel((_b, n) =>
      n === 1 ? ask(['w1', 'write_record', '{"table":"users"}']) : answer('could not write'),
    );
    env = await engineOn(STORES[0]!, {
      models: gateway(model.baseUrl),
      definitions: [researchDefinition()],
    });
    const run = await start(env, 'agent_tools_flow', { topic: 'users' });
    expect(run.status).toBe('completed');
    expect(env.tools.calls).toEqual([]);
    const events = await ledger(env, run.workflow_id);
    expect(ofType(events, 'ACTION_PROPOSED')).toEqual([]);
    expect(ofType(events, 'TOOL_INVOKE')).toEqual([]);
    const refused = ofType(events, 'OPERATION_REFUSED');
    expect(refused).toHaveLength(1);
    const invocation = ofType(events, 'AGENT_INVOKE')[0]!.data.agent_invocation_id;
    expect(refused[0]!.data).toMatchObject({
      operation: 'agent_tool_call',
      code: 'REVIEW_REQUIRED',
      tool: 'write_record',
      workflow_id: run.workflow_id,
      agent_invocation_id: invocation,
      call_id: 'w1',
    });
    const [result] = toolResults(model.bodies[1]!);
    expect(result).toMatchObject({ id: 'w1', content: { ok: false, code: 'REVIEW_REQUIRED' } });
    expect(result!.content.error).toMatch(/write tool/);
    expect((await env.kernel.listPendingReviews(ctx, {})).reviews).toEqual([]);
  });

  it('refuses a write even when policy would let it run without review', async () => {
    const defaults = fs.readFileSync(path.resolve('policies/default/policies.cedar'), 'utf8');
    const permissive = defaults.replace(
      '@id("calls-need-review")\n@approvals("1")',
      '@id("calls-need-review")\n@approvals("0")',
    );
    expect(permissive).not.toBe(defaults);
    model = await startScriptedModel((_b, n) =>
      n === 1 ? ask(['w1', 'write_record', '{"table":"users"}']) : answer('no write'),
    );
    env = await engineOn(STORES[0]!, {
      models: gateway(model.baseUrl),
      definitions: [researchDefinition()],
      policy: CedarPolicyEngine.fromText([{ name: 'policies.cedar', text: permissive }]),
    });
    const run = await start(env, 'agent_tools_flow', { topic: 'users' });
    expect(run.status).toBe('completed');
    expect(env.tools.calls).toEqual([]);
    const events = await ledger(env, run.workflow_id);
    expect(ofType(events, 'ACTION_PROPOSED')).toEqual([]);
    expect(ofType(events, 'OPERATION_REFUSED').map((e) => [e.data.tool, e.data.code])).toEqual([
      ['write_record', 'REVIEW_REQUIRED'],
    ]);
  });

  it('refuses a read that policy sends to review, without leaving a proposal waiting', async () => {
    const defaults = fs.readFileSync(path.resolve('policies/default/policies.cedar'), 'utf8');
    model = await startScriptedModel((_b, n) =>
      n === 1 ? ask(['r1', 'noop', '{}']) : answer('needs a reviewer'),
    );
    env = await engineOn(STORES[0]!, {
      models: gateway(model.baseUrl),
      definitions: [researchDefinition()],
      policy: CedarPolicyEngine.fromText([{ name: 'policies.cedar', text: defaults }]),
    });
    const run = await start(env, 'agent_tools_flow', { topic: 'users' });
    expect(run.status).toBe('completed');
    expect(env.tools.calls).toEqual([]);
    const events = await ledger(env, run.workflow_id);
    expect(ofType(events, 'ACTION_PROPOSED')).toEqual([]);
    expect(ofType(events, 'APPROVAL_REQUESTED')).toEqual([]);
    expect(ofType(events, 'OPERATION_REFUSED').map((e) => [e.data.tool, e.data.code])).toEqual([
      ['noop', 'REVIEW_REQUIRED'],
    ]);
    expect(toolResults(model.bodies[1]!)[0]!.content).toMatchObject({
      ok: false,
      code: 'REVIEW_REQUIRED',
    });
    expect((await env.kernel.listPendingReviews(ctx, {})).reviews).toEqual([]);
  });

  it('fails the step with a clear error when the model still asks for tools at max_turns', async () => {
    model = await startScriptedModel((_b, n) => ask([`c${n}`, 'noop', `{"n":${n}}`]));
    env = await engineOn(STORES[0]!, {
      models: gateway(model.baseUrl),
      definitions: [researchDefinition(3)],
    });
    const run = await start(env, 'agent_tools_flow', { topic: 'loops' });
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ step_id: 'research' });
    expect(run.error?.reason).toMatch(
      /researcher agent asked for tools again in turn 3 and gave no answer within max_turns \(3\)/,
    );
    expect(model.bodies).toHaveLength(3);
    // Turns 1 and 2 had their calls made; the calls of the last turn were not.
    expect(env.tools.calls.map((c) => c.params.n)).toEqual([1, 2]);
    const events = await ledger(env, run.workflow_id);
    expect(ofType(events, 'TOOL_INVOKE')).toHaveLength(2);
    expect(events.at(-1)?.type).toBe('WORKFLOW_FAILED');
  });

  it('retries an invalid final answer once, as an agent without tools does', async () => {
    model = await startScriptedModel((_b, n) =>
      n === 1
        ? ask(['c1', 'noop', '{}'])
        : n === 2
          ? { content: JSON.stringify({ summary: 3 }) }
          : answer('fixed'),
    );
    env = await engineOn(STORES[0]!, {
      models: gateway(model.baseUrl),
      definitions: [researchDefinition()],
    });
    const run = await start(env, 'agent_tools_flow', { topic: 'retry' });
    expect(run.status).toBe('completed');
    expect(run.artifacts.findings).toEqual({ summary: 'fixed', checked: 1 });
    expect(model.bodies[2]!.messages[1]!.content).toMatch(/Your previous answer was rejected/);
    // The retry keeps the conversation: the tool result is still there.
    expect(toolResults(model.bodies[2]!)).toHaveLength(1);
    const agents = ofType(await ledger(env, run.workflow_id), 'AGENT_INVOKE');
    expect(agents.map((e) => [e.data.turn, e.data.attempts])).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it('a crash after the tool ran resumes without calling the tool or the model again', async () => {
    model = await startScriptedModel((_b, n) =>
      n === 1 ? ask(['call_a', 'noop', '{"n":7}']) : answer('after restart'),
    );
    env = await engineOn(STORES[0]!, {
      models: gateway(model.baseUrl),
      definitions: [researchDefinition()],
    });
    // The process dies right after the tool ran, before the run recorded its result.
    const original = env.kernel.executeAction.bind(env.kernel);
    env.kernel.executeAction = async (c, input) => {
      await original(c, input);
      throw new Error('process killed');
    };
    const first = await start(env, 'agent_tools_flow', { topic: 'crash' });
    env.kernel.executeAction = original;
    expect(first.status).toBe('running');
    expect(env.errors).toHaveLength(1);
    expect(model.bodies).toHaveLength(1);
    expect(env.tools.calls).toHaveLength(1);

    const second = env.newRuntime();
    await second.resume();
    await second.close();
    const after = await env.runtime.status(ctx, first.workflow_id);
    expect(after).toMatchObject({ status: 'completed', stage: 'done' });
    expect(after.artifacts.findings).toEqual({ summary: 'after restart', checked: 1 });
    // Turn 1 came from the record; only turn 2 reached the model. The tool ran once.
    expect(model.bodies).toHaveLength(2);
    expect(env.tools.calls.map((c) => c.params)).toEqual([{ n: 7 }]);
    const events = await ledger(env, first.workflow_id);
    expect(ofType(events, 'AGENT_INVOKE')).toHaveLength(2);
    expect(ofType(events, 'ACTION_PROPOSED')).toHaveLength(1);
    expect(ofType(events, 'TOOL_INVOKE')).toHaveLength(1);
    expect(toolResults(model.bodies[1]!)[0]!.content).toEqual({
      ok: true,
      output: { done: 'noop', params: { n: 7 } },
    });

    // A later resume of the finished run calls nothing at all.
    const third = env.newRuntime();
    await third.resume();
    await third.close();
    expect(model.bodies).toHaveLength(2);
    expect(env.tools.calls).toHaveLength(1);
  });

  it('the rules provider asks for its lookups and reports them, with no model server', async () => {
    env = await engineOn(STORES[0]!, {
      models: new ModelGateway({
        providers: new Map([['rules', new RulesProvider()]]),
        allowedModels: () => Promise.resolve(['rules/v1']),
        defaultModel: 'rules/v1',
      }),
      definitions: [lookupDefinition()],
    });
    const run = await start(env, 'lookup_flow', {
      lookups: [
        { tool: 'noop', params: { n: 1 } },
        { tool: 'write_record', params: { table: 'users' } },
      ],
    });
    expect(run.status).toBe('completed');
    expect(run.artifacts.lookups).toEqual({
      results: [
        { tool: 'noop', ok: true, output: { done: 'noop', params: { n: 1 } }, code: null },
        { tool: 'write_record', ok: false, output: null, code: 'REVIEW_REQUIRED' },
      ],
    });
    expect(env.tools.calls.map((c) => c.tool)).toEqual(['noop']);
    const events = await ledger(env, run.workflow_id);
    expect(ofType(events, 'AGENT_INVOKE').map((e) => e.data.model)).toEqual([
      'rules/v1',
      'rules/v1',
    ]);
    expect(validateTrace(run.workflow_id, events).problems).toEqual([]);
  });
});

describe('an agent that asks for what it may not use (attacks)', () => {
  let env: Env | undefined;
  let model: ScriptedModel | undefined;
  afterEach(async () => {
    await env?.runtime.close();
    await env?.cleanup();
    await model?.close();
    env = undefined;
    model = undefined;
  });

  it('refuses tools outside the step and approval operations; nothing runs, nothing is proposed or decided', async () => {
    model = await startScriptedModel((_b, n) =>
      n === 1
        ? ask(
            ['x1', 'drop_table', '{"table":"users"}'],
            ['x2', 'review_action', '{"proposal_id":"prop_1","decision":"approve"}'],
            ['x3', 'explode', '{}'],
            ['x4', 'noop', '{not json'],
            ['x5', 'noop', '[1,2]'],
          )
        : answer('nothing allowed'),
    );
    env = await engineOn(STORES[0]!, {
      models: gateway(model.baseUrl),
      definitions: [researchDefinition()],
    });
    const run = await start(env, 'agent_tools_flow', { topic: 'attack' });
    expect(run.status).toBe('completed');
    expect(env.tools.calls).toEqual([]);
    const events = await ledger(env, run.workflow_id);
    for (const type of [
      'ACTION_PROPOSED',
      'TOOL_INVOKE',
      'ACTION_EXECUTED',
      'APPROVAL_REQUESTED',
      'APPROVAL_DECISION',
    ])
      expect(ofType(events, type), type).toEqual([]);
    expect(
      ofType(events, 'OPERATION_REFUSED').map((e) => [e.data.call_id, e.data.tool, e.data.code]),
    ).toEqual([
      ['x1', 'drop_table', 'POLICY_DENIED'],
      ['x2', 'review_action', 'POLICY_DENIED'],
      ['x3', 'explode', 'POLICY_DENIED'],
      ['x4', 'noop', 'VALIDATION_FAILED'],
      ['x5', 'noop', 'VALIDATION_FAILED'],
    ]);
    const results = toolResults(model.bodies[1]!);
    expect(results.map((r) => [r.id, r.content.ok, r.content.code])).toEqual([
      ['x1', false, 'POLICY_DENIED'],
      ['x2', false, 'POLICY_DENIED'],
      ['x3', false, 'POLICY_DENIED'],
      ['x4', false, 'VALIDATION_FAILED'],
      ['x5', false, 'VALIDATION_FAILED'],
    ]);
    expect(results[0]!.content.error).toMatch(/may use: noop, write_record/);
  });
});

describe('the openai-compatible provider with tools', () => {
  it('offers tool names Chat Completions accepts and maps the calls back to the tool names', async () => {
    const model = await startScriptedModel(() => ask(['c1', 'tickets_lookup', '{"id":"T-9"}']));
    try {
      const provider = new OpenAiCompatibleProvider({ baseUrl: model.baseUrl, model: 'fake' });
      const response = await provider.generate({
        tenant_id: 'default',
        model: 'fake',
        role: 'researcher',
        instructions: 'Look it up.',
        input: { id: 'T-9' },
        output_schema: { type: 'object' },
        schema_name: 'findings',
        tools: [
          {
            name: 'tickets.lookup',
            description: 'Reads a ticket.',
            parameters: { type: 'object' },
          },
          { name: 'tickets:lookup', description: 'Another.', parameters: { type: 'object' } },
        ],
        messages: [],
      });
      expect(model.bodies[0]!.tools!.map((t) => t.function.name)).toEqual([
        'tickets_lookup',
        'tickets_lookup_2',
      ]);
      expect(response.output).toBeNull();
      expect(response.tool_calls).toEqual([
        { id: 'c1', name: 'tickets.lookup', arguments: { id: 'T-9' } },
      ]);
    } finally {
      await model.close();
    }
  });
});

describe('declaring an agent with tools', () => {
  const base = researchDefinition();
  const withStep = (
    patch: object,
    allowed: WorkflowDefinition<{ topic: string }>['allowed_tools'],
  ) => ({
    ...base,
    allowed_tools: allowed,
    steps: base.steps.map((s) =>
      s.kind === 'agent' ? { ...s, ...patch } : s,
    ) as typeof base.steps,
  });

  it('refuses at registration a tool the definition does not allow, a repeated tool, or max_turns outside 1..20', () => {
    expect(() =>
      validateDefinition(withStep({ tools: ['noop', 'drop_table'] }, () => ['noop'])),
    ).toThrow(/may use tool "drop_table", which is not in allowed_tools/);
    expect(() => validateDefinition(withStep({ tools: ['noop', 'noop'] }, () => ['noop']))).toThrow(
      /lists a tool twice/,
    );
    for (const max_turns of [0, 21, 2.5])
      expect(() =>
        validateDefinition(withStep({ max_turns }, () => ['noop', 'write_record'])),
      ).toThrow(/max_turns must be a whole number from 1 to 20/);
    expect(() =>
      validateDefinition(withStep({ max_turns: 20 }, () => ['noop', 'write_record'])),
    ).not.toThrow();
  });

  it('refuses to start a run whose allowed_tools (from its input) leave out an agent tool; nothing is written', async () => {
    const def = {
      ...withStep({ tools: ['noop'] }, (i: { topic: string }) =>
        i.topic === 'ok' ? ['noop'] : [],
      ),
      name: 'input_tools_flow',
    };
    const env = await engineOn(STORES[0]!, { definitions: [def] });
    try {
      await expectCode(start(env, 'input_tools_flow', { topic: 'nope' }), 'VALIDATION_FAILED');
      const id = runIdFor('default', 'input_tools_flow', 'k1');
      await expectCode(env.runtime.status(ctx, id), 'NOT_FOUND');
      await expectCode(
        start(env, 'input_tools_flow', { topic: 'nope' }, 'k2'),
        'VALIDATION_FAILED',
      );
    } finally {
      await env.runtime.close();
      await env.cleanup();
    }
  });
});
