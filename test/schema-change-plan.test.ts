/**
 * Plan-only runs end to end on the embedded runtime, on a real SQLite store and a real demo
 * target database: schema_change_plan with the rules models (scope gate with a correction, the
 * planner's reads, the plan saved by the engine with the drop phase blocked, the plan gate), and
 * a small plan-only definition driven by a real Chat Completions server on 127.0.0.1 whose
 * answers break each plan invariant in turn, or ask for a write tool.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OpenAiCompatibleProvider } from '../src/adapters/models/openai-compatible.js';
import { RulesProvider } from '../src/adapters/models/rules-provider.js';
import { CedarPolicyEngine } from '../src/adapters/policy/cedar-policy-engine.js';
import { createDemoReadTools } from '../src/adapters/tools/demo-read-tools.js';
import { createDemoTools } from '../src/adapters/tools/demo-tools.js';
import { callerFor, operatorContext } from '../src/core/context.js';
import type { JsonObject, JsonValue, LedgerEvent } from '../src/core/model.js';
import type { ModelProvider } from '../src/core/ports/model.js';
import type { ToolContext } from '../src/core/ports/tools.js';
import { validateTrace } from '../src/core/trace.js';
import type { WorkflowDefinition } from '../src/engine/definition.js';
import { ModelGateway } from '../src/engine/model-gateway.js';
import { PLAN_INVARIANTS, changeProposalBrief } from '../src/engine/plan-brief.js';
import { PLAN_ARTIFACT, type SavedPlan, planHash, readDigest } from '../src/engine/plan-reads.js';
import { activatePlan } from '../src/engine/plan-activation.js';
import { planActivation } from '../src/engine/workflows/plan-activation.js';
import { schemaChangePlan } from '../src/engine/workflows/schema-change-plan.js';
import { ctx, engineOn } from './support/engine-fixture.js';
import { STORES } from './support/kernel-fixture.js';
import { SCHEMA_PLAN_REQUEST, columnsOf, seedPlanTarget } from './support/schema-plan-fixture.js';

type Env = Awaited<ReturnType<typeof engineOn>>;
const READS = ['list_tables', 'get_table_schema', 'read_row_counts', 'list_backups'];

interface Setup {
  env: Env;
  dataDir: string;
  dbFile: string;
  close(): Promise<void>;
}

/** The embedded runtime with the demo tools on a seeded demo target and the default policies. */
async function setup(
  models: ModelGateway,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  definitions: WorkflowDefinition<any>[] = [schemaChangePlan],
): Promise<Setup> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-schema-plan-'));
  const dbFile = seedPlanTarget(dataDir);
  const demo = createDemoTools({ dataDir });
  const env = await engineOn(STORES[0]!, {
    models,
    tools: [...demo.tools, ...createDemoReadTools({ dataDir })],
    // The shipped policies: a plan-only run's own reads run at once, everything else waits.
    policy: CedarPolicyEngine.fromDirectory(),
    definitions,
  });
  return {
    env,
    dataDir,
    dbFile,
    async close() {
      await env.runtime.close();
      await env.cleanup();
      demo.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function rulesGateway(): ModelGateway {
  return new ModelGateway({
    providers: new Map<string, ModelProvider>([['rules', new RulesProvider()]]),
    allowedModels: () => Promise.resolve(['rules/v1']),
    defaultModel: 'rules/v1',
  });
}

async function ledger(env: Env, workflow_id: string): Promise<LedgerEvent[]> {
  return env.store.transaction((tx) => tx.listLedger('default', { workflow_id }));
}
const ofType = (events: LedgerEvent[], type: string) => events.filter((e) => e.type === type);

async function human(env: Env, name: string): Promise<string> {
  return (await env.kernel.registerActor(ctx, { name, role: 'change_manager', kind: 'human' }))
    .actor_id;
}

const waitingApproval = (run: { waiting_on: JsonObject | null }) =>
  String((run.waiting_on as { approval_id?: string } | null)?.approval_id);

describe('schema_change_plan (rules models, embedded runtime)', () => {
  let s: Setup | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it('confirms its scope with a correction, reads, saves a plan with the drop blocked, and executes nothing', async () => {
    s = await setup(rulesGateway());
    const { env } = s;
    const reviewer = await human(env, 'Olivia');
    const before = columnsOf(s.dbFile, 'users');
    // Started with the wrong database: the operator corrects it at the scope gate.
    let run = await env.runtime.start(ctx, {
      definition: 'schema_change_plan',
      input: { ...SCHEMA_PLAN_REQUEST, database: 'prod' },
      idempotency_key: 'plan-1',
    });
    expect(run).toMatchObject({ status: 'waiting', stage: 'scoping' });
    expect(run.context.archetype).toBe('proposal_only');
    expect((run.artifacts.scope as { database: string }).database).toBe('prod');
    let decided = await env.runtime.decide(
      { ...operatorContext('review'), caller: callerFor(reviewer) },
      {
        approval_id: waitingApproval(run),
        reviewer_id: reviewer,
        decision: 'request_more_info',
        comment: 'Wrong database: use database production.',
      },
    );
    run = decided.run;
    const scope = run.artifacts.scope as { database: string; corrections: JsonObject[] };
    expect(scope.database).toBe('production');
    expect(scope.corrections).toEqual([
      {
        comment: 'Wrong database: use database production.',
        applied: 'database set to "production"',
      },
    ]);
    expect(run.artifacts.findings).toBeUndefined();
    decided = await env.runtime.decide(
      { ...operatorContext('review'), caller: callerFor(reviewer) },
      { approval_id: waitingApproval(run), reviewer_id: reviewer, decision: 'approve' },
    );
    run = decided.run;
    expect(run).toMatchObject({ status: 'waiting', stage: 'plan_review' });

    // The saved plan: every phase the planner found, the drop blocked (not missing).
    const saved = run.artifacts[PLAN_ARTIFACT] as unknown as SavedPlan;
    const plan = changeProposalBrief.parse(saved.plan);
    expect(plan.phases.map((p) => [p.phase_id, p.status])).toEqual([
      ['backup', 'proposed'],
      ['add_users_email_verified', 'proposed'],
      ['backfill_users_email_verified', 'proposed'],
      ['drop_users_legacy_flag', 'blocked'],
      ['verify', 'proposed'],
    ]);
    const drop = plan.phases[3]!;
    expect(drop.blocked_reason).toMatch(/^WRITE_NOT_IMPLEMENTED: /);
    expect(drop.deferred_to).toContain('adapter that can drop columns');
    expect(JSON.parse(drop.calls[0]!.params)).toMatchObject({
      operation: 'drop_column',
      column_name: 'legacy_flag',
    });
    for (const p of plan.phases.filter((x) => x.status === 'proposed'))
      expect([p.blocked_reason, p.deferred_to]).toEqual([null, null]);
    expect(plan.human_review_required).toBe(true);
    expect(plan.next_step.requires_human_approval).toBe(true);
    expect(plan.risks.join(' ')).toContain('SQLite cannot add NOT NULL');

    // read_digest: the planner's reads, made again now, give the same digest.
    expect(saved.reads.map((r) => r.tool)).toEqual([
      'list_tables',
      'get_table_schema',
      'read_row_counts',
      'list_backups',
    ]);
    expect(saved.reads[0]!.params).toEqual({ database: 'production' });
    const tools = env.kernel.listTools();
    const toolCtx: ToolContext = {
      tenant_id: 'default',
      workflow_id: run.workflow_id,
      proposal_id: 'p',
      execution_id: 'e',
      idempotency_key: 'k',
      now: '2026-03-01T00:00:00.000Z',
    };
    const again = [];
    for (const r of saved.reads) {
      const tool = tools.find((t) => t.name === r.tool)!;
      again.push({ ...r, result: (await tool.apply(r.params, toolCtx)) as JsonValue });
    }
    expect(plan.read_digest).toBe(readDigest(again));
    expect(plan.read_digest).toMatch(/^[0-9a-f]{64}$/);

    // The step that saved it says so, with the hash that binds this version.
    let events = await ledger(env, run.workflow_id);
    const savedStep = ofType(events, 'WORKFLOW_STEP').find(
      (e) => e.data.step_id === 'write_plan' && e.data.status === 'completed',
    )!;
    expect(savedStep.data.detail).toMatchObject({
      plan_saved: {
        artifact: 'plan_brief',
        plan_hash: planHash(plan),
        blocked_phases: ['drop_users_legacy_flag'],
      },
    });

    // The plan gate, then the end: completed, and the target is exactly as it was.
    decided = await env.runtime.decide(
      { ...operatorContext('review'), caller: callerFor(reviewer) },
      { approval_id: waitingApproval(run), reviewer_id: reviewer, decision: 'approve' },
    );
    expect(decided.run).toMatchObject({ status: 'completed', stage: 'planned' });
    events = await ledger(env, run.workflow_id);
    const invoked = ofType(events, 'TOOL_INVOKE').map((e) => e.data.tool as string);
    expect(invoked.length).toBe(4);
    for (const tool of invoked) expect(READS).toContain(tool);
    expect(ofType(events, 'ACTION_PROPOSED').map((e) => e.data.tool)).toEqual(invoked);
    expect(columnsOf(s.dbFile, 'users')).toEqual(before);
    expect(fs.existsSync(path.join(s.dataDir, 'demo-target', 'backups'))).toBe(false);
    expect(validateTrace(run.workflow_id, events).problems).toEqual([]);
  }, 60_000);

  it('writes checks its activation makes and passes after each phase; the blocked drop is never checked', async () => {
    s = await setup(rulesGateway(), [schemaChangePlan, planActivation]);
    const { env } = s;
    const reviewer = await human(env, 'Olivia');
    const asOlivia = { ...operatorContext('review'), caller: callerFor(reviewer) };
    const approve = async (run: { waiting_on: JsonObject | null }) =>
      (
        await env.runtime.decide(asOlivia, {
          approval_id: waitingApproval(run),
          reviewer_id: reviewer,
          decision: 'approve',
        })
      ).run;
    let run = await env.runtime.start(ctx, {
      definition: 'schema_change_plan',
      input: SCHEMA_PLAN_REQUEST,
      idempotency_key: 'plan-checks',
    });
    run = await approve(run); // the scope
    const saved = run.artifacts[PLAN_ARTIFACT] as unknown as SavedPlan;
    const checks = Object.fromEntries(
      saved.plan.phases.map((p) => [p.phase_id, p.checks.map((c) => [c.tool, c.path, c.op])]),
    );
    expect(checks).toEqual({
      backup: [['list_backups', 'backups.*.type', 'contains']],
      add_users_email_verified: [['get_table_schema', 'columns.*.name', 'contains']],
      backfill_users_email_verified: [['read_row_counts', 'counts.0.rows', 'equals']],
      drop_users_legacy_flag: [['get_table_schema', 'columns.*.name', 'not_contains']],
      verify: [['get_table_schema', 'columns.*.name', 'contains']],
    });
    run = await approve(run); // the plan
    expect(run.status).toBe('completed');
    let activation = await activatePlan({ ops: env.ops, engine: env.runtime }, ctx, {
      workflow_id: run.workflow_id,
    });
    while (activation.status === 'waiting') activation = await approve(activation);
    expect(activation.status, JSON.stringify(activation.error)).toBe('completed');
    expect(columnsOf(s.dbFile, 'users')).toContain('email_verified');
    const judged = Object.entries(activation.artifacts)
      .filter(([k]) => k.endsWith('.assurance'))
      .map(([k, v]) => [
        k,
        ((v as { criteria: { checked: boolean; passed?: boolean }[] }).criteria ?? [])
          .filter((c) => c.checked)
          .map((c) => c.passed),
      ]);
    expect(judged).toEqual([
      ['phase.backup.assurance', [true]],
      ['phase.add_users_email_verified.assurance', [true]],
      ['phase.backfill_users_email_verified.assurance', [true]],
      ['phase.verify.assurance', [true]],
    ]);
  }, 120_000);

  it('refuses the requester approving the plan of the run they started', async () => {
    s = await setup(rulesGateway());
    const { env } = s;
    const requester = await human(env, 'Rita');
    const reviewer = await human(env, 'Olivia');
    const asRita = { ...operatorContext('plan'), caller: callerFor(requester) };
    let run = await env.runtime.start(asRita, {
      definition: 'schema_change_plan',
      input: { ...SCHEMA_PLAN_REQUEST, review: false },
      idempotency_key: 'plan-2',
    });
    await expect(
      env.runtime.decide(asRita, {
        approval_id: waitingApproval(run),
        reviewer_id: requester,
        decision: 'approve',
      }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/SELF_|POLICY_DENIED/) as unknown });
    run = (
      await env.runtime.decide(
        { ...operatorContext('review'), caller: callerFor(reviewer) },
        { approval_id: waitingApproval(run), reviewer_id: reviewer, decision: 'approve' },
      )
    ).run;
    // Without the reviewer agent, the plan still keeps every phase.
    expect(run.artifacts.review).toBeUndefined();
    const saved = run.artifacts[PLAN_ARTIFACT] as unknown as SavedPlan;
    expect(saved.plan.phases).toHaveLength(5);
    await expect(
      env.runtime.decide(asRita, {
        approval_id: waitingApproval(run),
        reviewer_id: requester,
        decision: 'approve',
      }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/SELF_|POLICY_DENIED/) as unknown });
    expect((await env.runtime.status(ctx, run.workflow_id)).status).toBe('waiting');
  }, 60_000);
});

// ---- a model behind a real Chat Completions server ------------------------------------------

type Reply =
  { tool_calls: { id: string; name: string; arguments: string }[] } | { content: string };

interface ChatBody {
  messages: { role: string; content: string | null }[];
  response_format?: { json_schema?: { name?: string } };
}

async function fakeModel(script: (body: ChatBody, n: number) => Reply) {
  const bodies: ChatBody[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
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
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: `chatcmpl-${bodies.length}`,
          object: 'chat.completion',
          created: 0,
          model: 'fake',
          choices: [
            { index: 0, message, finish_reason: 'content' in reply ? 'stop' : 'tool_calls' },
          ],
          usage: { prompt_tokens: 10, completion_tokens: 5 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    bodies,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function openAiGateway(baseUrl: string): ModelGateway {
  return new ModelGateway({
    providers: new Map<string, ModelProvider>([
      ['openai-compatible', new OpenAiCompatibleProvider({ baseUrl, model: 'fake' })],
    ]),
    allowedModels: () => Promise.resolve(['openai-compatible/fake']),
    defaultModel: 'openai-compatible/fake',
  });
}

const notes = z.strictObject({ notes: z.array(z.string()), phase_ids: z.array(z.string()) });

/** A small plan-only definition: a planner with one read tool, a writer that saves, a gate. */
const tinyPlan: WorkflowDefinition<{ topic: string }> = {
  name: 'tiny_plan',
  version: '1',
  archetype: 'proposal_only',
  title: (i) => `Tiny plan: ${i.topic}`,
  description: 'PLAN ONLY (test).',
  input: z.strictObject({ topic: z.string() }),
  initial_stage: 'planning',
  final_stage: 'planned',
  allowed_tools: () => ['list_tables'],
  steps: [
    { kind: 'stage', id: 'open', stage: 'planning' },
    {
      kind: 'agent',
      id: 'plan',
      role: 'planner',
      artifact: 'notes',
      instructions: 'Read, then list the phases.',
      output: notes,
      input: (run) => ({ topic: run.input.topic }),
      tools: ['list_tables'],
      max_turns: 3,
    },
    {
      kind: 'agent',
      id: 'write',
      role: 'writer',
      artifact: 'draft',
      instructions: 'Write the ChangeProposalBrief.',
      output: changeProposalBrief,
      input: (run) => ({ notes: run.artifacts.notes ?? null }),
      saves_plan: {
        expected_phases: (run) => (run.artifacts.notes as { phase_ids: string[] }).phase_ids,
      },
    },
    {
      kind: 'gate',
      id: 'plan_review',
      title: () => 'Review the plan',
      packet: (run) => ({ plan: run.artifacts.plan_brief ?? null }),
      on_reject: { stage: 'rejected' },
    },
  ],
};

function goodBrief(): JsonObject {
  return {
    proposal_id: 'tiny-1',
    artifact_type: 'ChangeProposalBrief',
    human_review_required: true,
    status: 'proposed',
    title: 'Tiny plan',
    summary: 'Back up, then add a column.',
    phases: [
      {
        phase_id: 'p1',
        phase_type: 'backup',
        title: 'Back up',
        status: 'proposed',
        blocked_reason: null,
        deferred_to: null,
        risk_level: 'low',
        rollback_note: 'none',
        calls: [
          { tool: 'database_backup', params: '{"database":"production","backup_type":"full"}' },
        ],
        acceptance_criteria: ['a backup exists'],
        checks: [
          {
            criterion: 'users is still there',
            tool: 'list_tables',
            params: '{"database":"production"}',
            path: 'tables.*.name',
            op: 'contains',
            value: '"users"',
          },
        ],
      },
      {
        phase_id: 'p2',
        phase_type: 'cutover',
        title: 'Cut over',
        status: 'proposed',
        blocked_reason: null,
        deferred_to: null,
        risk_level: 'high',
        rollback_note: 'revert',
        calls: [{ tool: 'registrar_set_nameservers', params: '{"domain":"example.com"}' }],
        acceptance_criteria: ['resolves'],
        checks: [],
      },
    ],
    risks: [],
    assumptions: [],
    next_step: { requires_human_approval: true, instructions: 'Review it.' },
    read_digest: null,
  };
}

type Brief = ReturnType<typeof goodBrief> & { phases: JsonObject[] };
const BREAKERS: Record<(typeof PLAN_INVARIANTS)[number], (b: Brief) => JsonObject> = {
  HUMAN_REVIEW_REQUIRED: (b) => ({ ...b, human_review_required: false }),
  STATUS_PROPOSED_OR_BLOCKED: (b) => ({
    ...b,
    phases: [{ ...b.phases[0]!, status: 'executed' }, b.phases[1]!],
  }),
  BLOCKED_HAS_REASON: (b) => ({
    ...b,
    phases: [b.phases[0]!, { ...b.phases[1]!, status: 'blocked' }],
  }),
  PROPOSED_HAS_NO_BLOCK: (b) => ({
    ...b,
    phases: [{ ...b.phases[0]!, deferred_to: 'later' }, b.phases[1]!],
  }),
  NEXT_STEP_NEEDS_APPROVAL: (b) => ({
    ...b,
    next_step: { requires_human_approval: false, instructions: 'Run it.' },
  }),
  NO_PHASE_DROPPED: (b) => ({ ...b, phases: [b.phases[0]!] }),
  NO_SECRETS: (b) => ({ ...b, summary: 'Use key AKIAIOSFODNN7EXAMPLE to back up.' }),
  // The attack: a "check" that would run a write after the phase.
  CHECKS_ARE_READS: (b) => ({
    ...b,
    phases: [
      {
        ...b.phases[0]!,
        checks: [
          {
            criterion: 'the column is there',
            tool: 'database_migration',
            params:
              '{"database":"production","table":"users","operation":"add_column","column_name":"pwned","column_type":"text"}',
            path: '',
            op: 'exists',
            value: null,
          },
        ],
      },
      b.phases[1]!,
    ],
  }),
};

/** The planner reads once, then answers; the writer answers with `brief(n)` (n: its attempt). */
function tinyScript(brief: (attempt: number) => JsonObject, firstRead = 'list_tables') {
  let writes = 0;
  return (body: ChatBody, _n: number): Reply => {
    const schema = body.response_format?.json_schema?.name;
    if (schema === 'notes') {
      const asked = body.messages.some((m) => m.role === 'tool');
      return asked
        ? { content: JSON.stringify({ notes: ['read'], phase_ids: ['p1', 'p2'] }) }
        : {
            tool_calls: [
              { id: 'c1', name: firstRead, arguments: '{"database":"production"}' },
              { id: 'c2', name: 'list_tables', arguments: '{"database":"production"}' },
            ],
          };
    }
    writes++;
    return { content: JSON.stringify(brief(writes)) };
  };
}

describe('a plan-only output agent behind a real model server', () => {
  let s: Setup | undefined;
  let model: Awaited<ReturnType<typeof fakeModel>> | undefined;
  afterEach(async () => {
    await s?.close();
    await model?.close();
    s = undefined;
    model = undefined;
  });

  for (const invariant of PLAN_INVARIANTS)
    it(`fails the writer's step naming ${invariant} when both its answers break it`, async () => {
      model = await fakeModel(tinyScript(() => BREAKERS[invariant](goodBrief() as Brief)));
      s = await setup(openAiGateway(model.baseUrl), [tinyPlan]);
      const run = await s.env.runtime.start(ctx, {
        definition: 'tiny_plan',
        input: { topic: invariant },
        idempotency_key: invariant,
      });
      expect(run.status).toBe('failed');
      expect(run.artifacts[PLAN_ARTIFACT]).toBeUndefined();
      const events = await ledger(s.env, run.workflow_id);
      const failed = ofType(events, 'WORKFLOW_STEP').find(
        (e) => e.data.step_id === 'write' && e.data.status === 'failed',
      )!;
      expect(String((failed.data.detail as { error: string }).error)).toContain(invariant);
      const writer = ofType(events, 'AGENT_INVOKE').filter((e) => e.data.role === 'writer');
      expect(writer.map((e) => e.data.ok)).toEqual([false]);
      // The retry told the model which invariant its first answer broke.
      const retry = model.bodies.filter(
        (b) => b.response_format?.json_schema?.name === 'draft',
      )[1]!;
      expect(JSON.stringify(retry.messages)).toContain(invariant);
      expect(validateTrace(run.workflow_id, events).problems).toEqual([]);
      // Nothing but the planner's reads ran (a check naming a write tool included).
      expect(ofType(events, 'TOOL_INVOKE').map((e) => e.data.tool)).toEqual([
        'list_tables',
        'list_tables',
      ]);
    }, 60_000);

  it('accepts a corrected answer on the retry and saves it, blocking the unregistered cutover', async () => {
    model = await fakeModel(
      tinyScript((attempt) =>
        attempt === 1 ? BREAKERS.NO_PHASE_DROPPED(goodBrief() as Brief) : goodBrief(),
      ),
    );
    s = await setup(openAiGateway(model.baseUrl), [tinyPlan]);
    const run = await s.env.runtime.start(ctx, {
      definition: 'tiny_plan',
      input: { topic: 'retry' },
      idempotency_key: 'retry',
    });
    expect(run).toMatchObject({ status: 'waiting' });
    const saved = run.artifacts[PLAN_ARTIFACT] as unknown as SavedPlan;
    expect(saved.plan.phases.map((p) => [p.phase_id, p.status])).toEqual([
      ['p1', 'proposed'],
      ['p2', 'blocked'],
    ]);
    expect(saved.plan.phases[1]!.blocked_reason).toContain('not registered');
    expect(saved.plan.phases[0]!.checks).toEqual(
      (goodBrief() as { phases: { checks: unknown }[] }).phases[0]!.checks,
    );
    expect(saved.reads).toEqual([
      { tool: 'list_tables', params: { database: 'production' } },
      { tool: 'list_tables', params: { database: 'production' } },
    ]);
  }, 60_000);

  it('refuses a planner asking for a write tool, records the refusal, and the run goes on', async () => {
    model = await fakeModel(tinyScript(() => goodBrief(), 'database_migration'));
    s = await setup(openAiGateway(model.baseUrl), [tinyPlan]);
    const before = columnsOf(s.dbFile, 'users');
    const run = await s.env.runtime.start(ctx, {
      definition: 'tiny_plan',
      input: { topic: 'write' },
      idempotency_key: 'write',
    });
    expect(run.status).toBe('waiting');
    const events = await ledger(s.env, run.workflow_id);
    const refused = ofType(events, 'OPERATION_REFUSED');
    expect(refused.map((e) => [e.data.operation, e.data.code, e.data.tool])).toEqual([
      ['agent_tool_call', 'POLICY_DENIED', 'database_migration'],
    ]);
    expect(ofType(events, 'TOOL_INVOKE').map((e) => e.data.tool)).toEqual(['list_tables']);
    // Only the read that ran is behind the digest.
    const saved = run.artifacts[PLAN_ARTIFACT] as unknown as SavedPlan;
    expect(saved.reads.map((r) => r.tool)).toEqual(['list_tables']);
    expect(columnsOf(s.dbFile, 'users')).toEqual(before);
    const reviewer = await human(s.env, 'Olivia');
    const done = await s.env.runtime.decide(
      { ...operatorContext('review'), caller: callerFor(reviewer) },
      { approval_id: waitingApproval(run), reviewer_id: reviewer, decision: 'approve' },
    );
    expect(done.run).toMatchObject({ status: 'completed', stage: 'planned' });
    expect(validateTrace(run.workflow_id, await ledger(s.env, run.workflow_id)).problems).toEqual(
      [],
    );
  }, 60_000);
});
