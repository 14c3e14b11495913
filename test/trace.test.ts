import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEvent } from '../src/core/model.js';
import { validateTrace } from '../src/core/trace.js';
import { ctx, engineOn } from './support/engine-fixture.js';
import { STORES } from './support/kernel-fixture.js';

/** A real run's ledger, then crafted corruptions of it: each must be caught by its rule. */
describe('trace validation', () => {
  let env: Awaited<ReturnType<typeof engineOn>>;
  let run: string;
  let events: LedgerEvent[];

  beforeAll(async () => {
    env = await engineOn(STORES[0]!);
    const reviewer = (await env.kernel.registerActor(ctx, { name: 'Rita', role: 'reviewer' }))
      .actor_id;
    const started = await env.runtime.start(ctx, {
      definition: 'test_flow',
      input: { tables: ['users', 'orders'] },
      idempotency_key: 'trace',
    });
    run = started.workflow_id;
    const [gate] = await env.ops.listPendingApprovals(ctx, { workflow_id: run, kind: 'gate' });
    await env.runtime.decide(ctx, {
      approval_id: gate!.id,
      reviewer_id: reviewer,
      decision: 'approve',
    });
    events = await env.store.transaction((tx) => tx.listLedger('default', { workflow_id: run }));
  });
  afterAll(async () => {
    await env.runtime.close();
    await env.cleanup();
  });

  const rules = (list: readonly LedgerEvent[]) =>
    validateTrace(run, list).problems.map((p) => p.rule);
  const first = (type: string) => events.findIndex((e) => e.type === type);
  const edit = (i: number, data: Record<string, unknown>) =>
    events.map((e, j) => (j === i ? { ...e, data: { ...e.data, ...data } } : e)) as LedgerEvent[];

  it('accepts the real run: started, steps, agent, approval, tools, completed', () => {
    const report = validateTrace(run, events);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
    expect(report.summary).toMatchObject({
      event_counts: { TOOL_INVOKE: 2, WORKFLOW_COMPLETED: 1 },
    });
  });

  it('reads of the audit log recorded afterwards do not break the order', async () => {
    await env.kernel.getAuditLog(ctx, { workflow_id: run });
    const withRead = [
      ...events,
      { ...events.at(-1)!, seq: events.at(-1)!.seq + 1, type: 'AUDIT_LOG_READ', data: {} },
    ];
    expect(rules(withRead)).toEqual([]);
  });

  it('catches a missing WORKFLOW_STARTED', () => {
    expect(rules(events.slice(1))).toContain('started');
  });

  it('catches a step missing after the start', () => {
    const i = first('WORKFLOW_STEP');
    expect(rules(events.filter((_, j) => j !== i))).toContain('first-step');
  });

  it('catches a run that has not ended, or goes on after its end', () => {
    expect(rules(events.slice(0, -1))).toEqual(['ended']);
    const end = events.at(-1)!;
    const after = { ...events[first('WORKFLOW_STEP')]!, seq: end.seq + 1 };
    expect(rules([...events, after])).toContain('ended');
    expect(rules([...events, { ...end, seq: end.seq + 2 }])).toContain('ended');
  });

  it('catches events out of order', () => {
    const swapped = [...events];
    const i = first('TOOL_INVOKE');
    [swapped[i], swapped[i - 1]] = [swapped[i - 1]!, swapped[i]!];
    expect(rules(swapped)).toContain('order');
  });

  it('catches a tool invocation without workflow context or agent invocation', () => {
    const i = first('TOOL_INVOKE');
    expect(rules(edit(i, { workflow_id: null }))).toContain('tool-context');
    expect(rules(edit(i, { agent_invocation_id: null }))).toContain('tool-context');
    expect(
      rules(events.map((e, j) => (j === i ? { ...e, workflow_id: 'workflow_9' } : e))),
    ).toContain('tool-context');
  });

  it('catches a tool invocation under an agent invocation that never started', () => {
    const i = first('TOOL_INVOKE');
    expect(rules(edit(i, { agent_invocation_id: `${run}.nowhere.1` }))).toEqual(['tool-agent']);
    const agents = events.filter((e) => e.type === 'AGENT_INVOKE');
    const withoutExecutor = events.filter((e) => e !== agents.at(-1));
    expect(rules(withoutExecutor)).toContain('tool-agent');
  });

  it('catches an agent invocation outside the run', () => {
    const i = first('AGENT_INVOKE');
    expect(rules(edit(i, { agent_invocation_id: 'adhoc-1' }))).toContain('agent-context');
  });

  it('catches a tool invocation whose hash no decision approved', () => {
    const i = first('TOOL_INVOKE');
    expect(rules(edit(i, { hash: 'f'.repeat(64) }))).toEqual(['tool-authorized']);
    const approvals = events.filter((e) => e.type === 'APPROVAL_DECISION' && e.data.proposal_id);
    expect(rules(events.filter((e) => !approvals.includes(e)))).toContain('tool-authorized');
  });

  it('catches a gate decision that was never requested', () => {
    const i = events.findIndex((e) => e.type === 'APPROVAL_REQUESTED' && e.data.approval_id);
    expect(rules(events.filter((_, j) => j !== i))).toContain('decision-request');
  });

  it('reports every problem with its seq and a readable message', () => {
    const report = validateTrace(run, edit(first('TOOL_INVOKE'), { hash: 'f'.repeat(64) }));
    expect(report.valid).toBe(false);
    expect(report.problems[0]).toMatchObject({
      rule: 'tool-authorized',
      seq: events[first('TOOL_INVOKE')]!.seq,
    });
    expect(report.problems[0]!.message).toMatch(/follows no decision that approved that hash/);
  });
});
