/**
 * Plan-only runs end to end on the embedded runtime, on a real SQLite store and a real demo
 * target database: schema_change_plan with the rules models (scope gate with a correction, the
 * planner's reads, the plan saved by the engine with the drop phase blocked, the plan gate), and
 * a small plan-only definition driven by a real Chat Completions server on 127.0.0.1 whose
 * answers break each plan invariant in turn, or ask for a write tool.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
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
import { type ScriptedModel, startScriptedModel } from './support/scripted-model-server.js';
import { BREAKERS, goodBrief, tinyPlan, tinyScript, writerRequests } from './support/tiny-plan.js';

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

function openAiGateway(baseUrl: string): ModelGateway {
  return new ModelGateway({
    providers: new Map<string, ModelProvider>([
      ['openai-compatible', new OpenAiCompatibleProvider({ baseUrl, model: 'fake' })],
    ]),
    allowedModels: () => Promise.resolve(['openai-compatible/fake']),
    defaultModel: 'openai-compatible/fake',
  });
}

describe('a plan-only output agent behind a real model server', () => {
  let s: Setup | undefined;
  let model: ScriptedModel | undefined;
  afterEach(async () => {
    await s?.close();
    await model?.close();
    s = undefined;
    model = undefined;
  });

  for (const invariant of PLAN_INVARIANTS)
    it(`fails the writer's step naming ${invariant} when both its answers break it`, async () => {
      model = await startScriptedModel(tinyScript(() => BREAKERS[invariant](goodBrief())));
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
      // One failed invocation, after the two answers the model actually gave.
      expect(writer.map((e) => [e.data.ok, e.data.attempts])).toEqual([[false, 2]]);
      expect(writerRequests(model.bodies)).toHaveLength(2);
      // The retry told the model which invariant its first answer broke.
      const retry = writerRequests(model.bodies)[1]!;
      expect(JSON.stringify(retry.messages)).toContain(invariant);
      expect(validateTrace(run.workflow_id, events).problems).toEqual([]);
      // Nothing but the planner's reads ran (a check naming a write tool included).
      expect(ofType(events, 'TOOL_INVOKE').map((e) => e.data.tool)).toEqual([
        'list_tables',
        'list_tables',
      ]);
    }, 60_000);

  it('accepts a corrected answer on the retry and saves it, blocking the unregistered cutover', async () => {
    model = await startScriptedModel(
      tinyScript((attempt) =>
        attempt === 1 ? BREAKERS.NO_PHASE_DROPPED(goodBrief()) : goodBrief(),
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
    model = await startScriptedModel(tinyScript(() => goodBrief(), 'database_migration'));
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
