import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CedarPolicyEngine } from '../../src/adapters/policy/cedar-policy-engine.js';
import { operatorContext } from '../../src/core/context.js';
import { Kernel } from '../../src/core/kernel.js';
import type { JsonObject, JsonValue } from '../../src/core/model.js';
import { ManualClock } from '../../src/core/ports/clock.js';
import type { ModelRequest } from '../../src/core/ports/model.js';
import { staticToolRegistry, type ToolDefinition } from '../../src/core/ports/tools.js';
import { WorkflowOps } from '../../src/core/workflow-ops.js';
import { type AgentModels, createActivities } from '../../src/engine/activities.js';
import type { PlannedCall, WorkflowDefinition } from '../../src/engine/definition.js';
import { EmbeddedRuntime } from '../../src/engine/embedded-runtime.js';
import { type StoreFactory, testTools } from './kernel-fixture.js';

/** The default policies, except that reads run without review (for runs that need none). */
export function enginePolicies(): CedarPolicyEngine {
  return CedarPolicyEngine.fromText([{ name: 'policies.cedar', text: enginePolicyText() }]);
}

export function enginePolicyText(): string {
  const text = fs
    .readFileSync(path.resolve('policies/default/policies.cedar'), 'utf8')
    .replace(
      '@id("calls-need-review")\n@approvals("1")\npermit (principal, action == Action::"proposal.create", resource)' +
        '\nunless {\n  context has workflow_archetype &&\n  context.workflow_archetype == "proposal_only" &&\n  context has agent_invocation_id &&\n  resource.risk == "read"\n};',
      '@id("calls-need-review")\n@approvals("1")\npermit (principal, action == Action::"proposal.create", resource)\nunless { resource.risk == "read" };\n\n' +
        '@id("reads-run-at-once")\n@approvals("0")\npermit (principal, action == Action::"proposal.create", resource)\nwhen { resource.risk == "read" };',
    );
  if (!text.includes('reads-run-at-once'))
    throw new Error('default policies changed: update enginePolicyText()');
  return text;
}

/** A model stand-in: answers per role with a function of the input; records every request. */
export function scriptedModels(
  answers: Record<string, (input: JsonObject, request: ModelRequest) => JsonValue>,
) {
  const requests: ModelRequest[] = [];
  const models: AgentModels & { requests: ModelRequest[] } = {
    requests,
    async generate(r) {
      const request: ModelRequest = { ...r, model: r.model ?? 'test/v1' };
      requests.push(request);
      const answer = answers[r.role];
      if (!answer) throw new Error(`no scripted answer for ${r.role}`);
      return {
        response: {
          output: answer(r.input, request),
          usage: { prompt_tokens: 10, completion_tokens: 5 },
          model: 'test/v1',
        },
        model_id: 'test/v1',
        redactions: {},
      };
    },
  };
  return models;
}

/** A definition that exercises every step kind with the kernel's test tools. */
export const testInput = z.strictObject({
  tables: z.array(z.string().regex(/^[a-z_]+$/)).min(1),
  explode: z.boolean().default(false),
  read_only: z.boolean().default(false),
  not_before: z.string().nullable().default(null),
  timeout_ms: z.number().int().nullable().default(null),
  escalate_to: z.array(z.string()).nullable().default(null),
  roles: z.array(z.string()).default([]),
});
export type TestInput = z.infer<typeof testInput>;

const draftOutput = z.strictObject({ tables: z.array(z.string()), note: z.string() });

export function testDefinition(): WorkflowDefinition<TestInput> {
  return {
    name: 'test_flow',
    version: '1',
    title: (i) => `Test flow for ${i.tables.join(', ')}`,
    description: 'Every step kind, with the kernel test tools.',
    input: testInput,
    initial_stage: 'intake',
    final_stage: 'closed',
    allowed_tools: () => ['write_record', 'explode', 'noop'],
    steps: [
      { kind: 'stage', id: 'open', stage: 'intake' },
      {
        kind: 'agent',
        id: 'draft',
        role: 'drafter',
        artifact: 'draft',
        output: draftOutput,
        instructions: 'Say which tables to write.',
        input: (run) => ({
          tables: run.input.tables,
          feedback: [...(run.feedback.approve ?? [])],
        }),
      },
      {
        kind: 'propose',
        id: 'calls',
        as: 'executor',
        invocation_of: 'draft',
        calls: (run) => {
          const draft = run.artifacts.draft as { tables: string[] };
          if (run.input.read_only)
            return [
              { tool: 'noop', params: { n: draft.tables.length }, reason: 'read', label: 'read' },
            ];
          const calls: PlannedCall[] = draft.tables.flatMap((t, i): PlannedCall[] => [
            {
              tool: 'write_record',
              params: { table: t },
              reason: `write ${t}`,
              label: `w${i + 1}`,
            },
            {
              tool: 'write_record',
              params: { table: `undo_${t}` },
              reason: `undo ${t}`,
              label: `w${i + 1}.rollback`,
              rollback_for: `w${i + 1}`,
            },
          ]);
          if (run.input.explode)
            calls.push({ tool: 'explode', params: {}, reason: 'fails', label: 'boom' });
          return calls;
        },
      },
      { kind: 'stage', id: 'to-review', stage: 'review' },
      {
        kind: 'gate',
        id: 'approve',
        when: (run) => run.approval_required,
        title: (run) => `Approve ${run.input.tables.join(', ')}`,
        packet: (run) => ({ tables: run.input.tables, risk_tier: 'low' }),
        binds: 'calls',
        roles: (run) => run.input.roles,
        on_reject: { stage: 'rejected' },
        on_more_info: { goto: 'draft' },
      },
      { kind: 'stage', id: 'to-approved', stage: 'approved' },
      { kind: 'wait', id: 'window', until: (run) => run.input.not_before },
      { kind: 'stage', id: 'to-execution', stage: 'execution' },
      {
        kind: 'execute',
        id: 'run_calls',
        from: 'calls',
        as: 'executor',
        on_failure: { stage: 'failed' },
      },
      { kind: 'notify', id: 'tell', channel: () => 'ops', message: (run) => `done ${run.id}` },
    ],
  };
}

/** The test definition with a gate timeout: reject after an hour, or escalate. */
export function timedDefinition(escalate_to: string[] | null): WorkflowDefinition<TestInput> {
  const base = testDefinition();
  return {
    ...base,
    name: escalate_to ? 'test_flow_escalating' : 'test_flow_timed',
    steps: base.steps.map((s) =>
      s.kind === 'gate'
        ? {
            ...s,
            timeout: escalate_to
              ? { after_ms: 3_600_000, escalate_to }
              : { after_ms: 3_600_000, outcome: 'reject' as const },
          }
        : s,
    ),
  };
}

export const ctx = operatorContext('engine tests');

export async function engineOn(
  factory: StoreFactory,
  options: {
    models?: AgentModels;
    tools?: ToolDefinition[];
    /** Default: the default policies with reads run at once (enginePolicies). */
    policy?: CedarPolicyEngine;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    definitions?: WorkflowDefinition<any>[];
  } = {},
) {
  const { store, cleanup } = await factory.open();
  const t = testTools();
  const clock = new ManualClock('2026-03-01T00:00:00.000Z', 1000);
  const kernel = new Kernel({
    store,
    policy: options.policy ?? enginePolicies(),
    tools: staticToolRegistry([...t.tools, ...(options.tools ?? [])]),
    clock,
    newSecret: () => randomBytes(24).toString('base64url'),
  });
  const ops = new WorkflowOps(kernel);
  const models =
    options.models ??
    scriptedModels({
      drafter: (input) => ({
        tables: input.tables as JsonValue,
        note: `feedback: ${JSON.stringify(input.feedback ?? [])}`,
      }),
    });
  const errors: unknown[] = [];
  const newRuntime = () =>
    new EmbeddedRuntime({
      ops,
      activities: createActivities({ ops, kernel, models }),
      definitions: [
        testDefinition(),
        timedDefinition(null),
        timedDefinition(['change_manager']),
        ...(options.definitions ?? []),
      ],
      timers: false,
      onError: (_run, e) => errors.push(e),
    });
  const runtime = newRuntime();
  return { kernel, ops, store, clock, runtime, newRuntime, tools: t, models, errors, cleanup };
}
