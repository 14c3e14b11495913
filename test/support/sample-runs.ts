import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type CallContext, operatorContext } from '../../src/core/context.js';
import type { JsonObject, JsonValue } from '../../src/core/model.js';
import { ManualClock } from '../../src/core/ports/clock.js';
import { type Runtime, openRuntime } from '../../src/main/compose.js';
import { configFromEnv } from '../../src/main/config.js';

/**
 * Seed 000's deterministic sample runs of ops change control, produced by the real engine on
 * a fresh SQLite data directory with an injected clock and the rules model provider. The test
 * regenerates them and compares with scenarios/ops-change-control.sample-runs.json byte for
 * byte (data-directory paths are written as <data-dir>).
 */

export const SAMPLE_RUNS_FILE = path.resolve('scenarios/ops-change-control.sample-runs.json');
const START = '2026-03-02T09:00:00.000Z';
const WINDOW = { start: '2026-03-02T22:00:00.000Z', end: '2026-03-02T23:30:00.000Z' };

type Decision = {
  as: string;
  decision: 'approve' | 'reject' | 'request_more_info';
  comment: string;
};
interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly key: string;
  readonly input: JsonObject;
  /** Decisions per gate attempt, in order; the run is driven until it waits or ends. */
  readonly decisions: readonly Decision[];
  /** Seed the demo target before the run (e.g. the config a change starts from). */
  readonly setup?: (rt: Runtime, ctx: CallContext) => Promise<void>;
}

const staging = (name: string) => ({
  name,
  criticality: 'medium',
  environment: 'staging',
  owner: 'platform-team',
});

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'low-risk-config-change',
    description:
      'A low-risk configuration change on staging: both gates approved, the run waits for its window, the write-back runs, closed.',
    key: 'CHG-1001',
    input: {
      change_request: {
        title: 'Raise checkout API timeout on staging',
        summary: 'Increase the upstream timeout of the checkout API from 30s to 45s on staging.',
        change_type: 'configuration',
        requested_by: 'dana@example.com',
        ticket: 'CHG-1001',
      },
      impacted_systems: [staging('checkout-api')],
      requirements: { compliance: [] },
      change_window: WINDOW,
      parameters: {
        config_changes: [
          { service: 'checkout-api', key: 'upstream.timeout', from: '30s', to: '45s' },
        ],
        notify_channel: 'ops-staging',
      },
    },
    decisions: [
      { as: 'Riley', decision: 'approve', comment: 'Low risk confirmed.' },
      { as: 'Riley', decision: 'approve', comment: 'Plan and rollback look right.' },
    ],
    setup: (rt, ctx) => seedConfig(rt, ctx, 'checkout-api', 'upstream.timeout', '30s'),
  },
  {
    name: 'rejected-at-risk-review',
    description:
      'A production schema change touching PCI-DSS card data, rejected at the risk review: nothing is proposed or run.',
    key: 'CHG-1002',
    input: {
      change_request: {
        title: 'Add loyalty column to payments database',
        summary: 'Apply catalog migration 2.1.0 to the production payments database.',
        change_type: 'database_schema',
        requested_by: 'lee@example.com',
        ticket: 'CHG-1002',
      },
      impacted_systems: [
        {
          name: 'payments-db',
          criticality: 'critical',
          environment: 'production',
          owner: 'payments-team',
          data_classification: 'restricted',
        },
      ],
      requirements: { compliance: ['PCI-DSS', 'SOX'], max_risk_tier: 'high' },
      change_window: WINDOW,
      parameters: { database: 'production', migration_version: '2.1.0' },
    },
    decisions: [
      {
        as: 'Casey',
        decision: 'reject',
        comment:
          'Critical tier exceeds the allowed maximum; split the change and retry after the freeze.',
      },
    ],
  },
  {
    name: 'plan-sent-back-then-approved',
    description:
      'A production schema change whose plan is sent back for more information (a backup and a notification are asked for), redrafted and approved by two reviewers, then run in the window.',
    key: 'CHG-1003',
    input: {
      change_request: {
        title: 'Add dark-mode preference column',
        summary: 'Apply catalog migration 2.1.0 to the production users database.',
        change_type: 'database_schema',
        requested_by: 'kim@example.com',
        ticket: 'CHG-1003',
      },
      impacted_systems: [
        {
          name: 'users-db',
          criticality: 'high',
          environment: 'production',
          owner: 'identity-team',
        },
      ],
      requirements: { compliance: ['SOC2'] },
      change_window: WINDOW,
      parameters: { database: 'production', migration_version: '2.1.0', notify_channel: 'ops' },
    },
    decisions: [
      { as: 'Riley', decision: 'approve', comment: 'High risk accepted with enhanced governance.' },
      {
        as: 'Riley',
        decision: 'request_more_info',
        comment: 'Confirm a fresh backup is taken first and that the notification goes out.',
      },
      { as: 'Riley', decision: 'approve', comment: 'Backup and notification are in.' },
      { as: 'Sam', decision: 'approve', comment: 'Service owner agrees.' },
    ],
  },
  {
    name: 'failing-step-rolled-back',
    description:
      'A configuration change whose second key is not what the request expected: that step fails, the first step is rolled back, the run fails.',
    key: 'CHG-1004',
    input: {
      change_request: {
        title: 'Tune search cache',
        summary: 'Raise the search cache size and TTL on staging.',
        change_type: 'configuration',
        requested_by: 'alex@example.com',
        ticket: 'CHG-1004',
      },
      impacted_systems: [staging('search')],
      requirements: { compliance: [] },
      change_window: WINDOW,
      parameters: {
        config_changes: [
          { service: 'search', key: 'cache.size', from: '512MB', to: '1GB' },
          { service: 'search', key: 'cache.ttl', from: '60s', to: '300s' },
        ],
      },
    },
    decisions: [
      { as: 'Riley', decision: 'approve', comment: 'Low risk.' },
      { as: 'Riley', decision: 'approve', comment: 'Go.' },
    ],
    // cache.ttl is really 120s, so the second step's expectation fails.
    setup: async (rt, ctx) => {
      await seedConfig(rt, ctx, 'search', 'cache.size', '512MB');
      await seedConfig(rt, ctx, 'search', 'cache.ttl', '120s');
    },
  },
];

/** Writes a config value through the governed kernel, in its own setup workflow. */
export async function seedConfig(
  rt: Runtime,
  ctx: CallContext,
  service: string,
  key: string,
  value: string,
) {
  const { kernel } = rt;
  const { workflow_id } = await kernel.startWorkflow(ctx, { title: `setup ${service} ${key}` });
  const setup = await kernel.registerActor(ctx, { name: 'Setup', role: 'operator_script' });
  const helper = await kernel.registerActor(ctx, { name: 'Setup reviewer', role: 'reviewer' });
  const p = await kernel.proposeAction(ctx, {
    workflow_id,
    actor_id: setup.actor_id,
    tool: 'config_set',
    params: { service, key, value },
    reason: 'sample setup',
  });
  await kernel.reviewAction(ctx, {
    proposal_id: p.proposal_id,
    reviewer_id: helper.actor_id,
    decision: 'approve',
  });
  await kernel.executeAction(ctx, { proposal_id: p.proposal_id });
}

/** Runs every scenario on a fresh data directory and returns the fixture's JSON text. */
export async function generateSampleRuns(): Promise<string> {
  const runs: JsonValue[] = [];
  for (const scenario of SCENARIOS) runs.push(await runScenario(scenario));
  const doc = {
    description:
      "Deterministic sample runs of seed 000's ops change control, generated by test/sample-runs.test.ts (rules model provider, injected clock, fresh SQLite data directory).",
    definition: 'ops_change_control',
    runs,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

async function runScenario(s: Scenario): Promise<JsonValue> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-samples-'));
  const clock = new ManualClock(START, 1000);
  const rt = await openRuntime({ ...configFromEnv({}), dataDir: dir }, { clock, env: {} });
  try {
    const ctx = operatorContext(`sample run ${s.key}`);
    const reviewers: Record<string, string> = {};
    for (const [name, role] of [
      ['Riley', 'change_manager'],
      ['Sam', 'service_owner'],
      ['Casey', 'security'],
    ] as const)
      reviewers[name] = (await rt.kernel.registerActor(ctx, { name, role })).actor_id;
    await s.setup?.(rt, ctx);
    let run = await rt.engine.start(ctx, {
      definition: 'ops_change_control',
      input: s.input,
      idempotency_key: s.key,
    });
    for (const d of s.decisions) {
      const waiting = run.waiting_on;
      if (run.status !== 'waiting' || waiting?.kind !== 'approval')
        throw new Error(`${s.name}: expected a gate, the run is ${run.status} (${run.stage})`);
      const r = await rt.engine.decide(ctx, {
        approval_id: waiting.approval_id as string,
        reviewer_id: reviewers[d.as]!,
        decision: d.decision,
        comment: d.comment,
      });
      run = r.run;
    }
    if (run.status === 'waiting' && run.waiting_on?.kind === 'time') {
      clock.set(run.waiting_on.until as string);
      await rt.embedded!.tick();
      run = await rt.engine.status(ctx, run.workflow_id);
    }
    const ledger = await rt.store.transaction((tx) =>
      tx.listLedger('default', { workflow_id: run.workflow_id }),
    );
    const approvals = await rt.services.workflows.listPendingApprovals(ctx, {});
    const record = {
      name: s.name,
      description: s.description,
      input: s.input,
      run: {
        id: run.workflow_id,
        definition: run.definition,
        status: run.status,
        stage: run.stage,
        context: run.context,
        artifacts: run.artifacts,
        trace: run.trace,
        error: run.error,
      },
      still_pending: approvals.length,
      ledger: ledger.map((e) => ({
        seq: e.seq,
        time: e.time,
        type: e.type,
        actor: e.actor,
        data: e.data,
      })),
    };
    return JSON.parse(JSON.stringify(record).split(dir).join('<data-dir>')) as JsonValue;
  } finally {
    await rt.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
