import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallContext } from '../src/core/context.js';
import type { LedgerEvent } from '../src/core/model.js';
import { runIdFor } from '../src/core/workflow-ops.js';
import { ctx, engineOn, scriptedModels } from './support/engine-fixture.js';
import { STORES, expectCode } from './support/kernel-fixture.js';

type Env = Awaited<ReturnType<typeof engineOn>>;

const start = (env: Env, input: Record<string, unknown>, key = 'k1', definition = 'test_flow') =>
  env.runtime.start(ctx, { definition, input, idempotency_key: key });

async function reviewers(env: Env) {
  const ids: Record<string, string> = {};
  for (const [name, role] of [
    ['Rita', 'reviewer'],
    ['Max', 'change_manager'],
    ['Sam', 'security'],
  ] as const)
    ids[name] = (await env.kernel.registerActor(ctx, { name, role })).actor_id;
  return ids;
}

async function ledger(env: Env, workflow_id?: string): Promise<LedgerEvent[]> {
  return env.store.transaction((tx) =>
    tx.listLedger('default', workflow_id ? { workflow_id } : {}),
  );
}

const pendingGate = async (env: Env, workflow_id: string) => {
  const items = await env.ops.listPendingApprovals(ctx, { workflow_id, kind: 'gate' });
  expect(items).toHaveLength(1);
  return items[0]!.id;
};

describe('agent output validation', () => {
  it('retries an invalid answer once with the reason, then accepts a valid one', async () => {
    let calls = 0;
    const models = scriptedModels({
      drafter: (input, request) => {
        calls += 1;
        if (calls === 1) return { tables: 'not a list', note: 1 };
        expect(request.previous_error).toMatch(/tables/);
        return { tables: input.tables as string[], note: 'fixed' };
      },
    });
    const env = await engineOn(STORES[0]!, { models });
    try {
      const run = await start(env, { tables: ['users'], read_only: true });
      expect(run.status).toBe('completed');
      const agent = (await ledger(env, run.workflow_id)).find((e) => e.type === 'AGENT_INVOKE')!;
      expect(agent.data).toMatchObject({ ok: true, attempts: 2 });
    } finally {
      await env.runtime.close();
      await env.cleanup();
    }
  });

  it('fails the step with a clear reason when the second answer is invalid too', async () => {
    const models = scriptedModels({ drafter: () => ({ tables: 'still wrong' }) });
    const env = await engineOn(STORES[0]!, { models });
    try {
      const run = await start(env, { tables: ['users'] });
      expect(run).toMatchObject({ status: 'failed', stage: 'failed' });
      expect(run.error).toMatchObject({ step_id: 'draft' });
      expect(String((run.error as { reason: string }).reason)).toMatch(
        /invalid output after 2 attempt\(s\).*tables/,
      );
      expect(models.requests).toHaveLength(2);
      const events = await ledger(env, run.workflow_id);
      expect(events.find((e) => e.type === 'AGENT_INVOKE')!.data).toMatchObject({
        ok: false,
        attempts: 2,
      });
      expect(events.filter((e) => e.type === 'ACTION_PROPOSED')).toEqual([]);
      expect(events.at(-1)!.type).toBe('WORKFLOW_FAILED');
    } finally {
      await env.runtime.close();
      await env.cleanup();
    }
  });
});

for (const factory of STORES) {
  describe(`embedded runtime on ${factory.name}`, () => {
    let env: Env;
    beforeEach(async () => {
      env = await engineOn(factory);
    });
    afterEach(async () => {
      await env.runtime.close();
      await env.cleanup();
    });

    it('derives the run ID from tenant, definition and key; the same start is the same run', async () => {
      const a = await start(env, { tables: ['users'] });
      expect(a.workflow_id).toBe(runIdFor('default', 'test_flow', 'k1'));
      const again = await start(env, { tables: ['users'] });
      expect(again.workflow_id).toBe(a.workflow_id);
      expect((await ledger(env)).filter((e) => e.type === 'WORKFLOW_STARTED')).toHaveLength(1);
      await expectCode(start(env, { tables: ['orders'] }), 'IDEMPOTENCY_KEY_REUSED');
      const other = await start(env, { tables: ['users'] }, 'k2');
      expect(other.workflow_id).not.toBe(a.workflow_id);
    });

    it('refuses bad input and unknown definitions without creating anything', async () => {
      const e = await expectCode(start(env, { tables: [] }), 'VALIDATION_FAILED');
      expect(e.message).toContain('input.tables');
      await expectCode(start(env, { tables: ['x'] }, 'k', 'nope'), 'NOT_FOUND');
      await expectCode(
        env.runtime.start(ctx, {
          definition: 'test_flow',
          input: { tables: ['x'] },
          idempotency_key: '',
        }),
        'VALIDATION_FAILED',
      );
      expect(await ledger(env)).toHaveLength(0);
      expect(await env.runtime.list(ctx, {})).toHaveLength(0);
    });

    it('completes a run that needs no approval (policy allows the read)', async () => {
      const run = await start(env, { tables: ['users'], read_only: true });
      expect(run).toMatchObject({ status: 'completed', stage: 'closed' });
      expect(run.context).toMatchObject({ approval_required: false, workflow_id: run.workflow_id });
      expect(env.tools.calls.map((c) => c.tool)).toEqual(['noop']);
      const types = (await ledger(env, run.workflow_id)).map((e) => e.type);
      expect(types[0]).toBe('WORKFLOW_STARTED');
      expect(types.at(-1)).toBe('WORKFLOW_COMPLETED');
      expect(types).not.toContain('APPROVAL_REQUESTED');
      const skipped = (await ledger(env, run.workflow_id)).find(
        (e) => e.type === 'WORKFLOW_STEP' && e.data.step_id === 'approve',
      );
      expect(skipped?.data.status).toBe('skipped');
    });

    it('pauses at the gate, and resumes after the decision with the approved calls only', async () => {
      const who = await reviewers(env);
      const run = await start(env, { tables: ['users', 'orders'] });
      expect(run).toMatchObject({ status: 'waiting', stage: 'review' });
      expect(run.waiting_on).toMatchObject({ kind: 'approval' });
      expect(env.tools.calls).toHaveLength(0);
      const approval_id = await pendingGate(env, run.workflow_id);
      const { approval } = await env.ops.getApproval(ctx, approval_id);
      // The gate binds the four proposed calls (two writes, two rollbacks) by hash.
      expect(approval.proposals).toHaveLength(4);
      const decided = await env.runtime.decide(ctx, {
        approval_id,
        reviewer_id: who.Rita!,
        decision: 'approve',
        comment: 'ok',
      });
      expect(decided.run).toMatchObject({ status: 'completed', stage: 'closed' });
      // Only the main calls ran, in order; the rollbacks were approved but not needed.
      expect(env.tools.calls.map((c) => c.params.table)).toEqual(['users', 'orders']);
      expect(decided.run.trace.map((t) => t.type)).toEqual(['decision', 'tool', 'tool']);
      const events = await ledger(env, run.workflow_id);
      const invokes = events.filter((e) => e.type === 'TOOL_INVOKE');
      expect(invokes).toHaveLength(2);
      for (const inv of invokes) {
        expect(inv.data.workflow_id).toBe(run.workflow_id);
        expect(inv.data.agent_invocation_id as string).toMatch(
          new RegExp(`^${run.workflow_id}\\.run_calls\\.`),
        );
        expect(inv.data.purpose).toBe('engine tests');
      }
      // Each tool invocation follows the approval of its exact hash.
      for (const inv of invokes) {
        const approvedAt = events.findIndex(
          (e) =>
            e.type === 'APPROVAL_DECISION' &&
            e.data.decision === 'approve' &&
            e.data.hash === inv.data.hash,
        );
        expect(approvedAt).toBeGreaterThan(-1);
        expect(approvedAt).toBeLessThan(events.indexOf(inv));
      }
      // A second decision on a decided gate is refused and changes nothing.
      await expectCode(
        env.runtime.decide(ctx, { approval_id, reviewer_id: who.Max!, decision: 'approve' }),
        'INVALID_STATE',
      );
    });

    it('emits the seed-001 event sequence: started, steps, agent, approval, tool, completed', async () => {
      const who = await reviewers(env);
      const run = await start(env, { tables: ['users'] });
      await env.runtime.decide(ctx, {
        approval_id: await pendingGate(env, run.workflow_id),
        reviewer_id: who.Rita!,
        decision: 'approve',
      });
      const types = (await ledger(env, run.workflow_id)).map((e) => e.type);
      const first = (t: string) => types.indexOf(t);
      expect(first('WORKFLOW_STARTED')).toBe(0);
      expect(first('WORKFLOW_STEP')).toBe(1);
      expect(first('AGENT_INVOKE')).toBeLessThan(first('APPROVAL_REQUESTED'));
      expect(first('APPROVAL_REQUESTED')).toBeLessThan(first('APPROVAL_DECISION'));
      expect(first('APPROVAL_DECISION')).toBeLessThan(first('TOOL_INVOKE'));
      expect(types.at(-1)).toBe('WORKFLOW_COMPLETED');
      const agent = (await ledger(env, run.workflow_id)).find((e) => e.type === 'AGENT_INVOKE')!;
      expect(agent.data).toMatchObject({
        role: 'drafter',
        ok: true,
        model: 'test/v1',
        usage: { prompt_tokens: 10, completion_tokens: 5 },
      });
      expect((agent.data.agent_invocation_id as string).startsWith(`${run.workflow_id}.`)).toBe(
        true,
      );
    });

    it('denies agent invocations outside a workflow context and records the refusal', async () => {
      await expectCode(env.ops.authorizeAgentInvocation(ctx, { role: 'drafter' }), 'POLICY_DENIED');
      const run = await start(env, { tables: ['users'] });
      // A workflow but no invocation ID generated by it: still denied.
      await expectCode(
        env.ops.authorizeAgentInvocation(ctx, { role: 'drafter', workflow_id: run.workflow_id }),
        'POLICY_DENIED',
      );
      const refused = (await ledger(env)).filter((e) => e.type === 'OPERATION_REFUSED');
      expect(refused.map((e) => e.data.operation)).toEqual(['agent.invoke', 'agent.invoke']);
    });

    it('rejection ends the run in "rejected" and rejects the bound calls; nothing runs', async () => {
      const who = await reviewers(env);
      const run = await start(env, { tables: ['users'] });
      const r = await env.runtime.decide(ctx, {
        approval_id: await pendingGate(env, run.workflow_id),
        reviewer_id: who.Rita!,
        decision: 'reject',
        comment: 'not now',
      });
      expect(r.run).toMatchObject({ status: 'completed', stage: 'rejected' });
      expect(env.tools.calls).toHaveLength(0);
      const proposals = await env.kernel.getWorkflow(ctx, { workflow_id: run.workflow_id });
      expect(new Set(proposals.proposals.map((p) => p.status))).toEqual(new Set(['rejected']));
      await expectCode(
        env.kernel.proposeAction(ctx, {
          workflow_id: run.workflow_id,
          actor_id: who.Rita!,
          tool: 'noop',
          params: {},
          reason: 'after the end',
        }),
        'INVALID_STATE',
      );
    });

    it('request_more_info goes back to the agent with the comment, then asks again', async () => {
      const who = await reviewers(env);
      const run = await start(env, { tables: ['users'] });
      const first = await pendingGate(env, run.workflow_id);
      const r = await env.runtime.decide(ctx, {
        approval_id: first,
        reviewer_id: who.Rita!,
        decision: 'request_more_info',
        comment: 'which index?',
      });
      expect(r.run).toMatchObject({ status: 'waiting', stage: 'review' });
      const second = await pendingGate(env, run.workflow_id);
      expect(second).not.toBe(first);
      const drafts = (env.models as ReturnType<typeof scriptedModels>).requests;
      expect(drafts).toHaveLength(2);
      expect(drafts[1]!.input.feedback).toEqual(['which index?']);
      const done = await env.runtime.decide(ctx, {
        approval_id: second,
        reviewer_id: who.Max!,
        decision: 'approve',
      });
      expect(done.run.status).toBe('completed');
      expect(env.tools.calls).toHaveLength(1);
      // The first attempt's proposals were sent back; the second attempt's ran.
      const wf = await env.kernel.getWorkflow(ctx, { workflow_id: run.workflow_id });
      expect(wf.proposals.map((p) => p.status).sort()).toEqual(
        ['approved', 'executed', 'needs_info', 'needs_info'].sort(),
      );
    });

    it('a failing call rolls back the completed ones in reverse, and the run fails', async () => {
      const who = await reviewers(env);
      const run = await start(env, { tables: ['a', 'b'], explode: true });
      const r = await env.runtime.decide(ctx, {
        approval_id: await pendingGate(env, run.workflow_id),
        reviewer_id: who.Rita!,
        decision: 'approve',
      });
      expect(r.run).toMatchObject({ status: 'failed', stage: 'failed' });
      expect(env.tools.calls.map((c) => c.params.table)).toEqual(['a', 'b', 'undo_b', 'undo_a']);
      expect(
        r.run.trace.map((t) =>
          [t.type, t.step_id ?? t.gate, t.status ?? t.decision].map((v) => v as string).join(':'),
        ),
      ).toEqual([
        'decision:approve:approve',
        'tool:w1:succeeded',
        'tool:w2:succeeded',
        'tool:boom:failed',
        'rollback:w2.rollback:succeeded',
        'rollback:w1.rollback:succeeded',
      ]);
      expect(r.run.error).toMatchObject({ step_id: 'run_calls' });
      expect((await ledger(env, run.workflow_id)).at(-1)!.type).toBe('WORKFLOW_FAILED');
    });

    it('separation of duties: whoever started the run cannot decide its gate; roles apply', async () => {
      const who = await reviewers(env);
      const asRita: CallContext = { ...ctx, caller: { kind: 'actor', actor_id: who.Rita! } };
      const run = await env.runtime.start(asRita, {
        definition: 'test_flow',
        input: { tables: ['users'], roles: ['change_manager'] },
        idempotency_key: 'sod',
      });
      const approval_id = await pendingGate(env, run.workflow_id);
      await expectCode(
        env.runtime.decide(asRita, { approval_id, reviewer_id: who.Rita!, decision: 'approve' }),
        'SELF_APPROVAL',
      );
      const e = await expectCode(
        env.runtime.decide(ctx, { approval_id, reviewer_id: who.Sam!, decision: 'approve' }),
        'MISSING_ROLE',
      );
      expect(e.message).toContain('change_manager');
      // Acting as someone else over an actor-authenticated call is refused too.
      await expectCode(
        env.runtime.decide(asRita, { approval_id, reviewer_id: who.Max!, decision: 'approve' }),
        'POLICY_DENIED',
      );
      expect((await env.ops.getApproval(ctx, approval_id)).decisions).toHaveLength(0);
      const ok = await env.runtime.decide(ctx, {
        approval_id,
        reviewer_id: who.Max!,
        decision: 'approve',
      });
      expect(ok.run.status).toBe('completed');
    });

    it('a change window: an early approval waits on a persisted timer, then runs', async () => {
      const who = await reviewers(env);
      const run = await start(env, { tables: ['users'], not_before: '2026-03-02T02:00:00.000Z' });
      const r = await env.runtime.decide(ctx, {
        approval_id: await pendingGate(env, run.workflow_id),
        reviewer_id: who.Rita!,
        decision: 'approve',
      });
      expect(r.run).toMatchObject({
        status: 'waiting',
        stage: 'approved',
        wake_at: '2026-03-02T02:00:00.000Z',
      });
      await env.runtime.tick();
      expect(env.tools.calls).toHaveLength(0);
      env.clock.set('2026-03-02T02:00:00.000Z');
      // A new process (restart) sees the same timer in the store.
      const restarted = env.newRuntime();
      await restarted.tick();
      await restarted.close();
      expect((await env.runtime.status(ctx, run.workflow_id)).status).toBe('completed');
      expect(env.tools.calls).toHaveLength(1);
    });

    it('a gate timeout settles the gate with its default outcome (reject)', async () => {
      const run = await start(env, { tables: ['users'] }, 't', 'test_flow_timed');
      expect(run.wake_at).not.toBeNull();
      env.clock.advance(3_600_000 + 1000);
      await env.runtime.tick();
      const after = await env.runtime.status(ctx, run.workflow_id);
      expect(after).toMatchObject({ status: 'completed', stage: 'rejected' });
      expect(after.trace[0]).toMatchObject({ decision: 'timeout', reviewer_id: 'system' });
      expect(env.tools.calls).toHaveLength(0);
    });

    it('a gate timeout can escalate to another role instead', async () => {
      const who = await reviewers(env);
      const run = await start(env, { tables: ['users'] }, 'e', 'test_flow_escalating');
      const approval_id = await pendingGate(env, run.workflow_id);
      env.clock.advance(3_600_000 + 1000);
      await env.runtime.tick();
      const escalated = await env.ops.getApproval(ctx, approval_id);
      expect(escalated.approval).toMatchObject({
        status: 'pending',
        required_roles: ['change_manager'],
        due_at: null,
      });
      await expectCode(
        env.runtime.decide(ctx, { approval_id, reviewer_id: who.Rita!, decision: 'approve' }),
        'MISSING_ROLE',
      );
      const r = await env.runtime.decide(ctx, {
        approval_id,
        reviewer_id: who.Max!,
        decision: 'approve',
      });
      expect(r.run.status).toBe('completed');
    });

    it('a crash mid-run resumes from the recorded effects without repeating a tool call', async () => {
      const who = await reviewers(env);
      const run = await start(env, { tables: ['a', 'b'] });
      const approval_id = await pendingGate(env, run.workflow_id);
      // The process dies right after the second write ran, before the run recorded it.
      const original = env.kernel.executeAction.bind(env.kernel);
      let calls = 0;
      env.kernel.executeAction = async (c, input) => {
        const r = await original(c, input);
        calls += 1;
        if (calls === 2) throw new Error('process killed');
        return r;
      };
      await env.runtime.decide(ctx, { approval_id, reviewer_id: who.Rita!, decision: 'approve' });
      env.kernel.executeAction = original;
      expect(env.errors).toHaveLength(1);
      expect((await env.runtime.status(ctx, run.workflow_id)).status).toBe('running');
      // A fresh process resumes the run: the kernel returns the recorded execution of "b".
      const second = env.newRuntime();
      await second.resume();
      await second.close();
      const after = await env.runtime.status(ctx, run.workflow_id);
      expect(after.status).toBe('completed');
      expect(env.tools.calls.map((c) => c.params.table)).toEqual(['a', 'b']);
      const events = await ledger(env, run.workflow_id);
      // One gate request and one proposal per call (two writes, two rollbacks): none repeated.
      const requested = events.filter((e) => e.type === 'APPROVAL_REQUESTED');
      expect(requested.filter((e) => e.data.approval_id)).toHaveLength(1);
      expect(requested.filter((e) => e.data.proposal_id)).toHaveLength(4);
      expect(events.filter((e) => e.type === 'ACTION_PROPOSED')).toHaveLength(4);
      expect(events.filter((e) => e.type === 'TOOL_INVOKE')).toHaveLength(2);
      expect(events.filter((e) => e.type === 'AGENT_INVOKE')).toHaveLength(2);
    });

    it('cancel stops a waiting run and its gate', async () => {
      const who = await reviewers(env);
      const run = await start(env, { tables: ['users'] });
      const approval_id = await pendingGate(env, run.workflow_id);
      const c = await env.runtime.cancel(ctx, { workflow_id: run.workflow_id, reason: 'dup' });
      expect(c.status).toBe('cancelled');
      await expectCode(
        env.runtime.decide(ctx, { approval_id, reviewer_id: who.Rita!, decision: 'approve' }),
        'INVALID_STATE',
      );
      await expectCode(
        env.runtime.cancel(ctx, { workflow_id: run.workflow_id, reason: 'again' }),
        'INVALID_STATE',
      );
      expect(env.tools.calls).toHaveLength(0);
    });
  });
}
