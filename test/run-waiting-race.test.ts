/**
 * Two processes on one database: one drives a run to its gate and is about to mark it waiting
 * while the other records the deciding decision. The run must never end up waiting on a gate
 * that is already decided (nothing would wake it until the gate's deadline).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ctx, engineOn } from './support/engine-fixture.js';
import { STORES } from './support/kernel-fixture.js';

for (const factory of STORES) {
  describe(`a run about to wait on a gate decided meanwhile (${factory.name})`, () => {
    let env: Awaited<ReturnType<typeof engineOn>> | undefined;
    afterEach(async () => {
      await env?.runtime.close();
      await env?.cleanup();
      env = undefined;
    });

    it('is not set waiting: the driver is told to go on, and going on finishes the run', async () => {
      env = await engineOn(factory);
      const rita = (await env.kernel.registerActor(ctx, { name: 'Rita', role: 'reviewer' }))
        .actor_id;
      const run = await env.runtime.start(ctx, {
        definition: 'test_flow',
        input: { tables: ['users'] },
        idempotency_key: 'race-1',
      });
      expect(run.status).toBe('waiting');
      const [gate] = await env.ops.listPendingApprovals(ctx, {
        workflow_id: run.workflow_id,
        kind: 'gate',
      });
      // The other process decides (without driving the run)…
      await env.ops.decideApproval(ctx, {
        approval_id: gate!.id,
        reviewer_id: rita,
        decision: 'approve',
      });
      expect((await env.ops.getRun(ctx, run.workflow_id)).status).toBe('running');
      // …and this driver, which read the gate as pending a moment earlier, tries to wait on it.
      const waits = await env.ops.setRunWaiting('default', run.workflow_id, {
        waiting_on: { kind: 'approval', approval_id: gate!.id, roles: [] },
        wake_at: null,
      });
      expect(waits).toBe(false);
      expect((await env.ops.getRun(ctx, run.workflow_id)).status).toBe('running');
      // A restart resumes running runs: this one completes.
      const next = env.newRuntime();
      await next.resume();
      await next.settle();
      expect((await env.ops.getRun(ctx, run.workflow_id)).status).toBe('completed');
      await next.close();
    });
  });
}
