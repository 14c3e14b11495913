import fs from 'node:fs';
import type { Client } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { operatorContext } from '../src/core/context.js';
import type { LedgerEvent } from '../src/core/model.js';
import { validateTrace } from '../src/core/trace.js';
import { SEARCH_ATTRIBUTES, approvalResolved, snapshot } from '../src/engine/temporal/contract.js';
import type { TemporalRuntime } from '../src/engine/temporal/temporal-runtime.js';
import { type Runtime, openRuntime } from '../src/main/compose.js';
import type { Config } from '../src/main/config.js';
import { type RunningWorker, startWorker } from '../src/main/worker.js';
import { type FreshPgDatabase, freshPgDatabase } from './setup/pg.js';
import { seedConfig } from './support/sample-runs.js';
import {
  eventually,
  keepHistory,
  openWindowChange,
  temporalClient,
  temporalConfig,
} from './support/temporal-fixture.js';

/**
 * The Temporal runtime end to end: a real `temporal server start-dev`, a real Postgres store,
 * a worker in this process, runs started and decided through the engine port exactly as the
 * front doors do.
 */
const ctx = operatorContext('temporal runtime tests');
let db: FreshPgDatabase;
let config: Config;
let rt: Runtime;
let worker: RunningWorker;
let client: Client;
let riley: string;
let sam: string;

const engine = () => rt.engine as TemporalRuntime;
const ledger = (workflow_id: string): Promise<LedgerEvent[]> =>
  rt.store.transaction((tx) => tx.listLedger('default', { workflow_id }));
const start = (key: string) =>
  rt.engine.start(ctx, {
    definition: 'ops_change_control',
    input: openWindowChange(key),
    idempotency_key: key,
  });
const gateOf = (run: { waiting_on: unknown }) =>
  (run.waiting_on as { approval_id: string }).approval_id;

beforeAll(async () => {
  db = await freshPgDatabase(inject('pgUrl'), 'temporal_runtime');
  config = temporalConfig(inject('temporalAddress'), db.url, 'runtime');
  worker = await startWorker(config);
  rt = await openRuntime(config, { warn: () => undefined });
  client = await temporalClient(inject('temporalAddress'), config);
  riley = (await rt.kernel.registerActor(ctx, { name: 'Riley', role: 'change_manager' })).actor_id;
  sam = (await rt.kernel.registerActor(ctx, { name: 'Sam', role: 'service_owner' })).actor_id;
  await seedConfig(rt, ctx, 'checkout-api', 'upstream.timeout', '30s');
}, 120_000);

afterAll(async () => {
  await rt?.close();
  await worker?.stop();
  await client?.connection.close();
  await db?.drop();
  fs.rmSync(config.dataDir, { recursive: true, force: true });
});

describe('the Temporal runtime', () => {
  it('runs ops change control on Temporal and Postgres: each gate waits with its stage searchable, decisions move it on, it closes with every tool run once', async () => {
    expect(rt.engine.runtime).toBe('temporal');
    const run = await start('T-1');
    expect(run).toMatchObject({ status: 'waiting', stage: 'risk_review' });
    const risk = gateOf(run);
    const handle = client.workflow.getHandle(run.workflow_id);

    // The Temporal UI lists the run by tenant, definition, stage and "waiting on a human".
    const query = `CountersignTenant = 'default' AND CountersignDefinition = 'ops_change_control' AND CountersignStage = 'risk_review' AND CountersignWaitingOnHuman = true AND CountersignApproval = '${risk}'`;
    await eventually(async () => {
      for await (const w of client.workflow.list({ query }))
        if (w.workflowId === run.workflow_id) return w;
      return undefined;
    });
    const described = await handle.describe();
    const roles = (await rt.workflows.approvalState('default', risk)).approval.required_roles;
    expect(described.typedSearchAttributes.get(SEARCH_ATTRIBUTES.waitingOnHuman)).toBe(true);
    expect(described.typedSearchAttributes.get(SEARCH_ATTRIBUTES.waitingRoles)).toEqual(
      roles.length ? roles : undefined,
    );
    const meta = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(meta.currentDetails).toContain(`waiting on a human: ${risk}`);
    expect(engine().uiLink(run.workflow_id)).toBe(
      `http://127.0.0.1:8233/namespaces/default/workflows/${run.workflow_id}`,
    );

    const first = await rt.engine.decide(ctx, {
      approval_id: risk,
      reviewer_id: riley,
      decision: 'approve',
      comment: 'low risk',
    });
    expect(first.run.status).toBe('waiting');
    const plan = gateOf(first.run);
    expect(plan).not.toBe(risk);
    expect(first.run.artifacts).toHaveProperty('plan');

    const done = await rt.engine.decide(ctx, {
      approval_id: plan,
      reviewer_id: sam,
      decision: 'approve',
      comment: 'plan ok',
    });
    expect(done.run).toMatchObject({ status: 'completed', stage: 'closed' });
    expect(await handle.result()).toMatchObject({ state: 'completed', stage: 'closed' });
    expect((await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage)).toBe(
      'closed',
    );

    const events = await ledger(run.workflow_id);
    expect(validateTrace(run.workflow_id, events).problems).toEqual([]);
    const tools = events.filter((e) => e.type === 'TOOL_INVOKE');
    const byProposal = new Map<string, number>();
    for (const e of tools) {
      const id = e.data.proposal_id as string;
      byProposal.set(id, (byProposal.get(id) ?? 0) + 1);
    }
    expect(tools.length).toBeGreaterThanOrEqual(3);
    expect([...byProposal.values()].every((n) => n === 1)).toBe(true);
    expect((await rt.kernel.verifyAudit(ctx)).ok).toBe(true);
    await keepHistory(inject('temporalAddress'), handle, 'ops-change-control-approved');
  });

  it('a decision committed while its update never reached the run is delivered when the server resumes', async () => {
    const run = await start('T-2');
    const risk = gateOf(run);
    // The store records the decision; no update is sent (as if the server died in between).
    const r = await rt.workflows.decideApproval(ctx, {
      approval_id: risk,
      reviewer_id: riley,
      decision: 'approve',
    });
    expect(r.resolved).toBe(true);
    const handle = client.workflow.getHandle(run.workflow_id);
    const stuck = await handle.query(snapshot);
    expect(stuck.waiting_on).toMatchObject({ kind: 'approval', approval_id: risk });

    await engine().resume();
    const moved = await eventually(async () => {
      const s = await handle.query(snapshot);
      return s.waiting_on?.kind === 'approval' && s.waiting_on.approval_id !== risk ? s : undefined;
    });
    expect(moved.consumed).toContain(risk);
    expect((await rt.engine.status(ctx, run.workflow_id)).status).toBe('waiting');
  });

  it('refuses an invalid update before it reaches history, ignores a false claim, and never applies a gate twice', async () => {
    const run = await start('T-3');
    const risk = gateOf(run);
    const handle = client.workflow.getHandle(run.workflow_id);
    const accepted = async () =>
      (await handle.fetchHistory()).events!.filter(
        (e) => e.workflowExecutionUpdateAcceptedEventAttributes,
      ).length;
    const before = await accepted();

    // Malformed: refused by the validator, nothing written to history.
    for (const bad of [
      { kind: 'decided', approval_id: '', status: 'approved', decisions: [] },
      { kind: 'decided', approval_id: risk, status: 'maybe', decisions: [] },
      { kind: 'decided', approval_id: risk, status: 'approved' },
    ])
      await expect(
        handle.executeUpdate(approvalResolved, { args: [bad as never] }),
      ).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
    expect(await accepted()).toBe(before);

    // A false claim (the store has no such decision) cannot pass the gate: the run reads the
    // store again and goes on waiting.
    await handle.executeUpdate(approvalResolved, {
      args: [
        {
          kind: 'decided',
          approval_id: risk,
          status: 'approved',
          decisions: [{ reviewer_id: 'actor_999', decision: 'approve', comment: null }],
        },
      ],
    });
    const still = await handle.query(snapshot);
    expect(still.waiting_on).toMatchObject({ kind: 'approval', approval_id: risk });
    expect(still.consumed).not.toContain(risk);
    expect((await rt.workflows.approvalState('default', risk)).approval.status).toBe('pending');

    // The real decision moves it on; the same gate again is refused.
    const next = await rt.engine.decide(ctx, {
      approval_id: risk,
      reviewer_id: riley,
      decision: 'reject',
      comment: 'not this week',
    });
    expect(next.run).toMatchObject({ status: 'completed', stage: 'rejected' });
    await expect(
      handle.executeUpdate(approvalResolved, {
        args: [{ kind: 'decided', approval_id: risk, status: 'rejected', decisions: [] }],
      }),
    ).rejects.toThrow();
    const events = await ledger(run.workflow_id);
    expect(events.filter((e) => e.type === 'APPROVAL_DECISION')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'TOOL_INVOKE')).toHaveLength(0);
    expect(validateTrace(run.workflow_id, events).problems).toEqual([]);
    await keepHistory(inject('temporalAddress'), handle, 'ops-change-control-rejected');
  });

  it('the same idempotency key is the same run and the same workflow; cancel stops the workflow', async () => {
    const a = await start('T-4');
    const b = await start('T-4');
    expect(b.workflow_id).toBe(a.workflow_id);
    const cancelled = await rt.engine.cancel(ctx, { workflow_id: a.workflow_id, reason: 'test' });
    expect(cancelled.status).toBe('cancelled');
    const handle = client.workflow.getHandle(a.workflow_id);
    await expect(handle.result()).rejects.toThrow(/cancelled/);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    const events = await ledger(a.workflow_id);
    expect(events.filter((e) => e.type === 'WORKFLOW_CANCELLED')).toHaveLength(1);
  });
});
