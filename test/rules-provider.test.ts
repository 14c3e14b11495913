import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RulesProvider } from '../src/adapters/models/rules-provider.js';
import { createDemoTools, type DemoTools } from '../src/adapters/tools/demo-tools.js';
import { CountersignError } from '../src/core/errors.js';
import type { JsonObject, JsonValue } from '../src/core/model.js';
import type { ToolContext } from '../src/core/ports/tools.js';
import {
  type ChangePlan,
  type IntakeBundle,
  type RiskAssessment,
  auditReport,
  changePlan,
  intakeBundle,
  riskAssessment,
} from '../src/engine/workflows/ops-schemas.js';
import { draftResponse } from '../src/engine/workflows/safe-ai-schemas.js';

const provider = new RulesProvider();

async function generate(role: string, input: JsonObject, model = 'v1') {
  return provider.generate({
    tenant_id: 'default',
    model,
    role,
    instructions: 'test',
    input,
    output_schema: {},
    schema_name: role,
  });
}

async function output(role: string, input: JsonObject): Promise<JsonValue> {
  return (await generate(role, input)).output;
}

const asJson = (v: unknown) => v as JsonObject;

/** A low-risk change: one staging system, one config key. */
const stagingConfig: JsonObject = {
  change_request: {
    title: '  Raise   checkout HTTP timeout ',
    summary: 'Raise the upstream timeout.  \r\n\r\n\r\n\r\nThe p99 latency grew.',
    change_type: 'configuration',
    requested_by: ' alice ',
    ticket: 'CHG-1001',
  },
  impacted_systems: [
    { name: 'checkout-api', criticality: 'medium', environment: 'staging', owner: 'payments' },
  ],
  requirements: { compliance: [] },
  change_window: { start: '2026-03-10T22:00:00Z', end: '2026-03-10T23:00:00Z' },
  parameters: {
    config_changes: [
      { service: 'checkout-api', key: 'http.timeout_ms', from: '3000', to: '5000' },
      { service: 'checkout-api', key: 'feature.retry', from: null, to: 'on' },
    ],
  },
};

/** A critical change: production databases with restricted data under PCI-DSS. */
const productionMigration: JsonObject = {
  change_request: {
    title: 'Add feature flags table',
    summary: 'Apply catalog migration 2.1.0 to the payments database.',
    change_type: 'database_schema',
    requested_by: 'bob',
    ticket: 'CHG-2002',
  },
  impacted_systems: [
    {
      name: 'ledger-api',
      criticality: 'high',
      environment: 'production',
      data_classification: 'confidential',
    },
    {
      name: 'payments-db',
      criticality: 'critical',
      environment: 'production',
      owner: 'dba-team',
      data_classification: 'restricted',
    },
  ],
  requirements: { compliance: ['PCI-DSS'], max_risk_tier: 'high' },
  change_window: { start: '2026-03-14T03:00:00+01:00', end: '2026-03-14T05:00:00+01:00' },
  parameters: { database: 'payments', migration_version: '2.1.0', notify_channel: 'slack' },
};

function change(overrides: {
  change_type?: string;
  systems?: JsonObject[];
  compliance?: string[];
  window?: { start: string; end: string };
  parameters?: JsonObject;
  ticket?: string | undefined;
}): JsonObject {
  const cr: JsonObject = {
    title: 'A change',
    summary: 'What it does.',
    change_type: overrides.change_type ?? 'configuration',
    requested_by: 'carol',
  };
  if (overrides.ticket !== undefined) cr.ticket = overrides.ticket;
  return {
    change_request: cr,
    impacted_systems: overrides.systems ?? [
      { name: 'svc', criticality: 'low', environment: 'development' },
    ],
    requirements: { compliance: overrides.compliance ?? [] },
    change_window: overrides.window ?? {
      start: '2026-03-10T22:00:00Z',
      end: '2026-03-10T23:00:00Z',
    },
    parameters: overrides.parameters ?? {
      config_changes: [{ service: 'svc', key: 'k', from: 'a', to: 'b' }],
    },
  };
}

async function intakeOf(request: JsonObject): Promise<IntakeBundle> {
  return intakeBundle.parse(await output('intake_agent', { request }));
}

async function riskOf(intake: IntakeBundle): Promise<RiskAssessment> {
  return riskAssessment.parse(await output('risk_agent', { intake: asJson(intake) }));
}

async function planOf(request: JsonObject, feedback: string[] = []): Promise<ChangePlan> {
  const intake = await intakeOf(request);
  const risk = await riskOf(intake);
  return changePlan.parse(
    await output('change_planner', { intake: asJson(intake), risk: asJson(risk), feedback }),
  );
}

async function riskFor(request: JsonObject): Promise<RiskAssessment> {
  return riskOf(await intakeOf(request));
}

describe('intake_agent', () => {
  it('normalizes text, sorts systems critical first and defaults the data classification', async () => {
    const intake = await intakeOf(productionMigration);
    expect(intake.systems.map((s) => s.name)).toEqual(['payments-db', 'ledger-api']);
    expect(intake.highest_criticality).toBe('critical');
    expect(intake.window).toEqual({
      start: '2026-03-14T02:00:00.000Z',
      end: '2026-03-14T04:00:00.000Z',
      duration_minutes: 120,
    });
    expect(intake.max_risk_tier).toBe('high');

    const staging = await intakeOf(stagingConfig);
    expect(staging.title).toBe('Raise checkout HTTP timeout');
    expect(staging.summary).toBe('Raise the upstream timeout.\n\nThe p99 latency grew.');
    expect(staging.requested_by).toBe('alice');
    expect(staging.systems[0]?.data_classification).toBe('internal');
    expect(staging.max_risk_tier).toBeNull();
    expect(staging.warnings).toEqual([]);

    const mixed = await intakeOf(
      change({
        systems: [
          { name: 'b-svc', criticality: 'low', environment: 'staging' },
          { name: 'z-svc', criticality: 'high', environment: 'staging', owner: 'o' },
          { name: 'a-svc', criticality: 'low', environment: 'development' },
          { name: 'm-svc', criticality: 'high', environment: 'development' },
        ],
        compliance: ['SOX', 'GDPR', 'SOX'],
        ticket: 'T-1',
      }),
    );
    expect(mixed.systems.map((s) => s.name)).toEqual(['m-svc', 'z-svc', 'a-svc', 'b-svc']);
    expect(mixed.environments).toEqual(['development', 'staging']);
    expect(mixed.compliance).toEqual(['GDPR', 'SOX']);
  });

  it('warns about a missing ticket, unowned production systems, odd windows and restricted data', async () => {
    const intake = await intakeOf(
      change({
        systems: [
          {
            name: 'vault',
            criticality: 'high',
            environment: 'production',
            data_classification: 'restricted',
          },
        ],
        window: { start: '2026-03-10T22:00:00Z', end: '2026-03-10T22:20:00Z' },
      }),
    );
    expect(intake.ticket).toBeNull();
    expect(intake.warnings).toEqual([
      'No ticket is referenced; link the change to a ticket for the audit trail.',
      'Production system "vault" has no owner.',
      'The change window is 20 minutes, shorter than 30 minutes: little time to verify or roll back.',
      'Restricted data (vault) but no compliance requirement is listed.',
    ]);
    const long = await intakeOf(
      change({ window: { start: '2026-03-10T08:00:00Z', end: '2026-03-10T17:00:00Z' } }),
    );
    expect(long.warnings).toContain(
      'The change window is 540 minutes, longer than 8 hours; consider splitting the change.',
    );
    const outOfBand = await intakeOf(change({ change_type: 'infrastructure', parameters: {} }));
    expect(outOfBand.warnings).toContain(
      'No governed tool performs this infrastructure change; the plan can only record its status.',
    );
  });

  it('rejects a request that is not a valid change request', async () => {
    const bad = { ...stagingConfig, parameters: {} };
    await expect(output('intake_agent', { request: bad })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/parameters\.config_changes/) as unknown,
    });
  });
});

describe('risk_agent', () => {
  it('rates a config change on a staging system low, with standard governance', async () => {
    const risk = await riskFor(stagingConfig);
    expect(risk).toMatchObject({
      risk_tier: 'low',
      score: 15,
      governance_level: 'standard',
      required_approvals: 1,
      required_roles: [],
      exceeds_max_tier: false,
    });
    expect(risk.factors).toEqual([
      { factor: 'criticality', points: 10, detail: 'highest criticality medium: checkout-api' },
      { factor: 'change_type', points: 5, detail: 'change type configuration' },
    ]);
  });

  it('rates a production database change under PCI-DSS critical and flags the max tier', async () => {
    const risk = await riskFor(productionMigration);
    expect(risk).toMatchObject({
      risk_tier: 'critical',
      score: 100,
      governance_level: 'strict',
      required_approvals: 2,
      required_roles: ['change_manager', 'security'],
      exceeds_max_tier: true,
    });
    expect(risk.factors.map((f) => [f.factor, f.points])).toEqual([
      ['criticality', 40],
      ['additional_critical_systems', 5],
      ['production', 15],
      ['change_type', 20],
      ['compliance', 10],
      ['data_classification', 15],
    ]);
    expect(risk.summary).toMatch(/score 100 of 100, 105 points before the cap/);
    expect(risk.summary).toMatch(/exceeds the maximum tier allowed for the change \(high\)/);
  });

  it('maps medium and high tiers to their governance', async () => {
    const medium = await riskFor(
      change({ systems: [{ name: 'svc', criticality: 'high', environment: 'staging' }] }),
    );
    expect(medium).toMatchObject({
      risk_tier: 'medium',
      score: 30,
      governance_level: 'standard',
      required_approvals: 1,
      required_roles: ['change_manager'],
    });
    const high = await riskFor(
      change({
        change_type: 'application_release',
        systems: [{ name: 'svc', criticality: 'high', environment: 'production', owner: 'o' }],
      }),
    );
    expect(high).toMatchObject({
      risk_tier: 'high',
      score: 50,
      governance_level: 'enhanced',
      required_approvals: 2,
      required_roles: ['change_manager', 'service_owner'],
    });
  });

  it('adds points for a short window and none for an off-hours one', async () => {
    const night = await riskFor(change({}));
    const day = await riskFor(
      change({ window: { start: '2026-03-10T10:00:00Z', end: '2026-03-10T11:00:00Z' } }),
    );
    const short = await riskFor(
      change({ window: { start: '2026-03-10T22:00:00Z', end: '2026-03-10T22:15:00Z' } }),
    );
    expect(day.score).toBe(night.score);
    expect(short.score).toBe(night.score + 10);
    expect(short.factors.at(-1)?.factor).toBe('short_window');
  });

  it('caps compliance points and counts many config changes', async () => {
    const changes = Array.from({ length: 6 }, (_, i) => ({
      service: 'svc',
      key: `k${i}`,
      from: null,
      to: 'v',
    }));
    const risk = await riskFor(
      change({
        compliance: ['SOX', 'PCI-DSS', 'HIPAA', 'GDPR'],
        parameters: { config_changes: changes },
      }),
    );
    const points = Object.fromEntries(risk.factors.map((f) => [f.factor, f.points]));
    expect(points).toMatchObject({ compliance: 25, config_change_count: 5 });
  });
});

describe('change_planner', () => {
  let demo: DemoTools;
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-rules-'));
    demo = createDemoTools({ dataDir: dir });
  });
  afterAll(() => {
    demo.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const tool = (name: string) => demo.tools.find((t) => t.name === name);
  const ctxFor = (id: string): ToolContext => ({
    tenant_id: 'default',
    workflow_id: 'workflow_1',
    proposal_id: `proposal_${id}`,
    execution_id: `execution_${id}`,
    idempotency_key: `default:${id}:v1`,
    now: '2026-03-14T02:00:00.000Z',
  });

  /** Every call and rollback names an existing tool with parameters its validate() accepts. */
  function expectValidCalls(plan: ChangePlan): void {
    for (const step of plan.steps)
      for (const call of [step.call, step.rollback]) {
        if (call === null) continue;
        const t = tool(call.tool);
        expect(t, `${step.id}: ${call.tool}`).toBeDefined();
        const v = t!.validate(call.params);
        expect(v.ok ? [] : v.issues, `${step.id}: ${call.tool}`).toEqual([]);
      }
  }

  async function apply(call: { tool: string; params: JsonObject }, id: string) {
    const t = tool(call.tool)!;
    const v = t.validate(call.params);
    if (!v.ok) throw new Error(JSON.stringify(v.issues));
    const plan = await t.plan(v.value, ctxFor(id));
    expect(plan.would_fail, `${id}: dry-run`).toBeUndefined();
    return t.apply(v.value, ctxFor(id));
  }

  const perType: [string, JsonObject][] = [
    ['database_schema', productionMigration],
    ['configuration', stagingConfig],
    ['infrastructure', change({ change_type: 'infrastructure' })],
    ['application_release', change({ change_type: 'application_release', parameters: {} })],
    ['access_change', change({ change_type: 'access_change', parameters: {} })],
  ];
  for (const [type, request] of perType)
    it(`plans a ${type} change with existing tools and valid parameters`, async () => {
      const plan = await planOf(request);
      expect(plan.change_type).toBe(type);
      expectValidCalls(plan);
      expect(new Set(plan.steps.map((s) => s.id)).size).toBe(plan.steps.length);
    });

  it('plans a database change: notify, backup, migrate, status, notify', async () => {
    const plan = await planOf(productionMigration);
    expect(plan.steps.map((s) => s.id)).toEqual([
      's1-notify-start',
      's2-backup',
      's3-migrate',
      's4-status',
      's5-notify-done',
    ]);
    expect(plan.steps[1]?.call).toEqual({
      tool: 'database_backup',
      params: { database: 'payments', backup_type: 'full' },
    });
    expect(plan.steps[2]?.call).toEqual({
      tool: 'database_migration',
      params: {
        version: '2.1.0',
        rollback_plan: 'enabled',
        maintenance_window: '02:00-04:00 UTC',
        database: 'payments',
        notification_channels: ['slack'],
      },
    });
    expect(plan.steps[2]?.rollback).toMatchObject({
      tool: 'update_status',
      params: { status: 'rolled_back' },
    });
    expect(plan.steps[0]?.call.params).toMatchObject({ channel: 'slack' });
    expect(plan.steps[3]?.call.params).toMatchObject({ status: 'migrated' });
    expect(plan.rollback_plan.join(' ')).toMatch(/no down-migration tool/);
    expect(plan.evidence_requirements).toEqual(
      expect.arrayContaining(['backup file path and size', 'schema_migrations row for 2.1.0']),
    );
    expect(plan.monitoring_checkpoints).toEqual(
      expect.arrayContaining([
        'A second reviewer confirms rollback readiness before the first write',
        'The security reviewer confirms access and data-handling controls before the window opens',
      ]),
    );
    expect(plan.acceptance_criteria.join('\n')).toMatch(/accepted a critical risk tier/);
  });

  it('runs the database plan against the demo target', async () => {
    const plan = await planOf(productionMigration);
    for (const step of plan.steps) await apply(step.call, step.id);
    const migrated = await tool('database_migration')!.plan(
      { version: '2.1.0', rollback_plan: 'enabled', database: 'payments' },
      ctxFor('check'),
    );
    expect(migrated.would_fail).toMatch(/already applied/);
  });

  it('plans config changes with expectations and reverse rollbacks that restore the file', async () => {
    const plan = await planOf(stagingConfig);
    expect(plan.steps.map((s) => s.id)).toEqual([
      's1-notify-start',
      's2-config-1',
      's3-config-2',
      's4-status',
      's5-notify-done',
    ]);
    expect(plan.steps[0]?.call.params).toMatchObject({ recipient: 'ops' });
    expect(plan.steps[1]).toMatchObject({
      call: {
        tool: 'config_set',
        params: {
          service: 'checkout-api',
          key: 'http.timeout_ms',
          value: '5000',
          expect_previous: '3000',
        },
      },
      rollback: {
        tool: 'config_set',
        params: {
          service: 'checkout-api',
          key: 'http.timeout_ms',
          value: '3000',
          expect_previous: '5000',
        },
      },
    });
    expect(plan.steps[2]?.rollback?.params).toEqual({
      service: 'checkout-api',
      key: 'feature.retry',
      value: '',
      expect_previous: 'on',
    });
    expect(plan.evidence_requirements[0]).toBe('notification outbox rows for start and completion');
    expect(plan.evidence_requirements).toContain(
      'config file diff for checkout-api http.timeout_ms (previous and new value)',
    );
    expect(plan.monitoring_checkpoints.join(' ')).not.toMatch(/second reviewer/);

    const file = path.join(dir, 'demo-target', 'config', 'checkout-api.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '{"http.timeout_ms": "3000"}');
    for (const step of plan.steps) await apply(step.call, step.id);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({
      'feature.retry': 'on',
      'http.timeout_ms': '5000',
    });
    for (const step of [...plan.steps].reverse())
      if (step.rollback) await apply(step.rollback, `${step.id}.rollback`);
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({
      'feature.retry': '',
      'http.timeout_ms': '3000',
    });
  });

  it('plans a status-only change when no governed tool can perform it, and says so', async () => {
    const plan = await planOf(change({ change_type: 'access_change', parameters: {} }));
    expect(plan.steps).toHaveLength(1);
    expect(plan.steps[0]).toMatchObject({
      id: 's1-status',
      call: { tool: 'update_status', params: { status: 'acknowledged' } },
      rollback: null,
    });
    expect(plan.rollback_plan[0]).toMatch(/performed out of band/);
  });

  it('changes the plan visibly for reviewer feedback', async () => {
    const request = change({
      change_type: 'application_release',
      parameters: { database: 'inventory' },
    });
    const before = await planOf(request);
    const feedback = ['Please take a backup of inventory first.', 'Notify the on-call team.'];
    const after = await planOf(request, feedback);
    expect(before.steps.map((s) => s.id)).toEqual(['s1-status']);
    expect(after.steps.map((s) => s.id)).toEqual([
      's1-notify-start',
      's2-backup',
      's3-status',
      's4-notify-done',
    ]);
    expect(after.steps[1]?.call).toEqual({
      tool: 'database_backup',
      params: { database: 'inventory', backup_type: 'full' },
    });
    expect(after.acceptance_criteria).toEqual(
      expect.arrayContaining([
        'Reviewer asked: Please take a backup of inventory first.',
        'Reviewer asked: Notify the on-call team.',
      ]),
    );
    expectValidCalls(after);

    const config = await planOf(stagingConfig, ['What is the backup plan?']);
    expect(config.steps.some((s) => s.call.tool === 'database_backup')).toBe(false);
    expect(config.rollback_plan.at(-1)).toMatch(/names no database/);
    expect(config.acceptance_criteria).toContain('Reviewer asked: What is the backup plan?');
  });
});

describe('audit_agent', () => {
  const hash = (c: string) => c.repeat(64);

  async function audit(extra: JsonObject) {
    const intake = await intakeOf(productionMigration);
    const risk = await riskOf(intake);
    const plan = changePlan.parse(
      await output('change_planner', { intake: asJson(intake), risk: asJson(risk), feedback: [] }),
    );
    const input: JsonObject = {
      run: {
        id: 'workflow_7',
        definition: 'ops_change_control',
        stage: 'closed',
        status: 'completed',
        started_by: 'actor_1',
      },
      intake: asJson(intake),
      risk: asJson(risk),
      plan: asJson(plan),
      decisions: [
        {
          gate: 'risk_review',
          decision: 'approve',
          reviewer_id: 'actor_2',
          comment: 'Risk | tier confirmed',
        },
        {
          gate: 'plan_approval',
          decision: 'approve',
          reviewer_id: 'actor_3',
          comment: null,
        },
      ],
      executions: plan.steps.map((s, i) => ({
        step_id: s.id,
        tool: s.call.tool,
        status: 'succeeded',
        proposal_id: `proposal_${i + 1}`,
        execution_id: `execution_${i + 1}`,
        hash: hash(String(i + 1)),
        error: null,
      })),
      rollbacks: [],
      ...extra,
    };
    return auditReport.parse(await output('audit_agent', input));
  }

  it('reports a closed run with its decisions and shortened hashes', async () => {
    const report = await audit({});
    expect(report.outcome).toBe('closed');
    expect(report.headline).toBe(
      'Closed: "Add feature flags table" (critical risk), 5 of 5 planned steps executed.',
    );
    const md = report.markdown;
    expect(md).toMatch(/^# Change audit report: Add feature flags table/);
    expect(md).toContain('`workflow_7`');
    expect(md).toContain('| 1 | risk_review | approve | actor_2 | — | Risk \\| tier confirmed |');
    expect(md).toContain('| 2 | plan_approval | approve | actor_3 | — | — |');
    expect(md).toContain(`\`${hash('3').slice(0, 12)}\``);
    expect(md).not.toContain(hash('3'));
    expect(md).toContain('| criticality | 40 |');
    expect(md).toContain('No rollback call ran.');
    expect(md).toContain('This report is read-only; the ledger is the record of truth.');
    expect(report.summary).toMatchObject({
      run_id: 'workflow_7',
      outcome: 'closed',
      risk: { tier: 'critical', score: 100 },
      counts: { planned_steps: 5, executed: 5, failed: 0, rollbacks: 0 },
    });
    expect((report.summary.executions as JsonObject[])[2]?.hash).toBe(hash('3'));
  });

  it('reports a rejected run with the reviewer who rejected it', async () => {
    const report = await audit({
      run: {
        id: 'workflow_8',
        definition: 'ops_change_control',
        stage: 'rejected',
        status: 'rejected',
      },
      plan: null,
      decisions: [
        { gate: 'risk_review', decision: 'reject', reviewer_id: 'actor_2', comment: 'Too risky' },
      ],
      executions: [],
    });
    expect(report.outcome).toBe('rejected');
    expect(report.headline).toBe(
      'Rejected: "Add feature flags table" at risk_review by actor_2. No governed call was executed.',
    );
    expect(report.markdown).toContain('Too risky');
    expect(report.markdown).toContain('No governed tool call was executed.');
  });

  it('reports a failed run with its rollbacks', async () => {
    const report = await audit({
      run: {
        id: 'workflow_9',
        definition: 'ops_change_control',
        stage: 'failed',
        status: 'failed',
      },
      executions: [
        {
          step_id: 's1-notify-start',
          tool: 'send_notification',
          status: 'succeeded',
          proposal_id: 'proposal_1',
          execution_id: 'execution_1',
          hash: hash('a'),
        },
        {
          step_id: 's2-backup',
          tool: 'database_backup',
          status: 'failed',
          proposal_id: 'proposal_3',
          execution_id: 'execution_2',
          hash: hash('b'),
          error: 'disk full',
        },
      ],
      rollbacks: [
        {
          step_id: 's1-notify-start.rollback',
          tool: 'send_notification',
          status: 'succeeded',
          proposal_id: 'proposal_2',
          execution_id: 'execution_3',
          hash: hash('c'),
        },
      ],
    });
    expect(report.outcome).toBe('failed');
    expect(report.headline).toBe(
      'Failed: "Add feature flags table", step s2-backup (database_backup) failed; 1 rollback call ran.',
    );
    expect(report.markdown).toContain(
      'The change failed at s2-backup (disk full): 1 governed call succeeded before it, 1 of 1 rollback call succeeded.',
    );
    expect(report.markdown).toContain(`\`${hash('c').slice(0, 12)}\``);
    expect(report.markdown).toContain('Not executed: s3-migrate, s4-status, s5-notify-done.');
  });
});

describe('response_drafter', () => {
  const hits = [
    {
      id: 'document_2',
      title: 'Resetting the cache',
      snippet: 'Run **cache flush** from the admin console.',
      score: 2.5,
      tags: ['runbook'],
    },
    {
      id: 'document_1',
      title: 'Cache basics',
      snippet: 'The **cache** holds   sessions for 24 hours.',
      score: 3.1,
      tags: [],
    },
  ];

  async function draft(question: string, knowledge: JsonObject[]) {
    return draftResponse.parse(await output('response_drafter', { question, knowledge }));
  }

  it('answers from two or more sources with high confidence and cites them', async () => {
    const d = await draft('How do I clear the cache?', hits);
    expect(d.confidence).toBe('high');
    expect(d.citations).toEqual(['document_1', 'document_2']);
    expect(d.needs_human_review).toBe(false);
    expect(d.answer).toContain(
      '- Cache basics [document_1]: The cache holds sessions for 24 hours.',
    );
    expect(d.answer).toContain('Run cache flush from the admin console.');
    expect(d.answer).not.toContain('**');
  });

  it('has medium confidence with one source and low with none', async () => {
    const one = await draft('How do I clear the cache?', [hits[0]!]);
    expect(one).toMatchObject({ confidence: 'medium', citations: ['document_2'] });
    expect(one.needs_human_review).toBe(false);
    const none = await draft('How do I clear the cache?', []);
    expect(none).toMatchObject({ confidence: 'low', citations: [], needs_human_review: true });
    expect(none.answer).toMatch(/could not find a source/);
  });

  it('asks for human review on sensitive topics', async () => {
    for (const question of [
      'Can I get a refund for last month?',
      'Please delete my account data',
      'I forgot my password',
      'Our legal team needs the logs',
    ]) {
      const d = await draft(question, hits);
      expect(d.needs_human_review, question).toBe(true);
      expect(d.rationale).toMatch(/Human review required: the question touches/);
    }
  });
});

describe('RulesProvider', () => {
  it('answers every role deterministically, byte for byte', async () => {
    const intake = asJson(await intakeOf(productionMigration));
    const risk = asJson(await riskOf(intake as unknown as IntakeBundle));
    const inputs: [string, JsonObject][] = [
      ['intake_agent', { request: productionMigration }],
      ['risk_agent', { intake }],
      ['change_planner', { intake, risk, feedback: ['add a backup'] }],
      [
        'audit_agent',
        {
          run: {
            id: 'workflow_1',
            definition: 'ops_change_control',
            stage: 'closed',
            status: 'completed',
          },
          intake,
          risk,
          plan: null,
          decisions: [],
          executions: [],
          rollbacks: [],
        },
      ],
      ['response_drafter', { question: 'refund?', knowledge: [] }],
    ];
    for (const [role, input] of inputs) {
      const a = await generate(role, input);
      const b = await new RulesProvider().generate({
        tenant_id: 'other',
        model: 'rules/v1',
        role,
        instructions: 'other',
        input: JSON.parse(JSON.stringify(input)) as JsonObject,
        output_schema: {},
        schema_name: role,
      });
      expect(JSON.stringify(b.output), role).toBe(JSON.stringify(a.output));
      expect(a.usage).toEqual({ prompt_tokens: 0, completion_tokens: 0 });
      expect(a.model).toBe('rules/v1');
    }
    expect(provider.name).toBe('rules');
  });

  it('refuses an unknown role or model with VALIDATION_FAILED', async () => {
    const err = await generate('poet', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CountersignError);
    expect(err).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((err as Error).message).toMatch(
      /no agent for role "poet"; roles: audit_agent, change_planner/,
    );
    await expect(generate('risk_agent', {}, 'gpt-4o')).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/only model is v1/) as unknown,
    });
    await expect(generate('toString', {})).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});
