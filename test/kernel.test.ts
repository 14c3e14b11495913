import { unpackLedgerData } from '../src/adapters/store/ledger-data.js';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CedarPolicyEngine } from '../src/adapters/policy/cedar-policy-engine.js';
import type { KyselyStore } from '../src/adapters/store/kysely-store.js';
import { callHash } from '../src/core/canonical.js';
import type { CallContext } from '../src/core/context.js';
import type { Kernel } from '../src/core/kernel.js';
import {
  STORES,
  ctx,
  expectCode,
  kernelOn,
  seedActors,
  type testTools,
} from './support/kernel-fixture.js';

const backup = (over: Record<string, unknown> = {}) => ({
  workflow_id: 'workflow_1',
  actor_id: 'actor_1',
  tool: 'write_record',
  params: { table: 'users' },
  reason: 'test',
  ...over,
});

async function counts(store: KyselyStore) {
  const db = store.kysely;
  const n = async (
    t: 'proposals' | 'ledger_events' | 'decisions' | 'executions' | 'proposal_versions',
  ) =>
    Number((await db.selectFrom(t).select(db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  return {
    proposals: await n('proposals'),
    versions: await n('proposal_versions'),
    decisions: await n('decisions'),
    executions: await n('executions'),
    ledger: await n('ledger_events'),
  };
}

async function lastEvent(store: KyselyStore) {
  return store.kysely
    .selectFrom('ledger_events')
    .selectAll()
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirstOrThrow();
}

describe.each(STORES)('kernel on $name', (factory) => {
  let kernel: Kernel;
  let store: KyselyStore;
  let tools: ReturnType<typeof testTools>;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ kernel, store, tools, cleanup } = await kernelOn(factory));
    await seedActors(kernel);
  });
  afterEach(async () => cleanup());

  it('numbers IDs per kind and returns the same workflow for the same idempotency key', async () => {
    const a = await kernel.startWorkflow(ctx, { title: 'Deploy', idempotency_key: 'k1' });
    const b = await kernel.startWorkflow(ctx, { title: 'Deploy', idempotency_key: 'k1' });
    expect(a).toEqual({ workflow_id: 'workflow_2' });
    expect(b).toEqual(a);
    await expectCode(
      kernel.startWorkflow(ctx, { title: 'Other', idempotency_key: 'k1' }),
      'INVALID_STATE',
    );
  });

  it('leaves a proposal pending until a different actor approves it, binding the hash', async () => {
    const p = await kernel.proposeAction(ctx, backup());
    expect(p).toMatchObject({
      proposal_id: 'proposal_1',
      status: 'pending',
      required_approvals: 1,
    });
    expect(p.hash).toBe(callHash('write_record', { table: 'users' }));
    const r = await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_2',
      decision: 'approve',
    });
    expect(r.status).toBe('approved');
    expect(r.final_tool_call).toEqual({
      tool: 'write_record',
      params: { table: 'users' },
      hash: p.hash,
      version: 1,
    });
  });

  it('rejects a reviewer who proposed the call, and records the refusal', async () => {
    await kernel.proposeAction(ctx, backup());
    const before = await counts(store);
    const e = await expectCode(
      kernel.reviewAction(ctx, {
        proposal_id: 'proposal_1',
        reviewer_id: 'actor_1',
        decision: 'approve',
      }),
      'SELF_APPROVAL',
    );
    expect(e.message).toContain('cannot decide it');
    const after = await counts(store);
    expect(after).toEqual({ ...before, ledger: before.ledger + 1 });
    const ev = await lastEvent(store);
    expect(ev.type).toBe('OPERATION_REFUSED');
    expect(unpackLedgerData(ev.data)).toMatchObject({
      code: 'SELF_APPROVAL',
      proposal_id: 'proposal_1',
    });
  });

  it('reviews only pending proposals and refuses a second decision by the same reviewer', async () => {
    await kernel.proposeAction(ctx, backup({ tool: 'drop_table', params: { table: 't' } }));
    await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_2',
      decision: 'approve',
    });
    await expectCode(
      kernel.reviewAction(ctx, {
        proposal_id: 'proposal_1',
        reviewer_id: 'actor_2',
        decision: 'approve',
      }),
      'DUPLICATE_DECISION',
    );
    await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_3',
      decision: 'reject',
    });
    await expectCode(
      kernel.reviewAction(ctx, {
        proposal_id: 'proposal_1',
        reviewer_id: 'actor_3',
        decision: 'approve',
      }),
      'INVALID_STATE',
    );
  });

  it('needs two approvals for an irreversible tool', async () => {
    const p = await kernel.proposeAction(
      ctx,
      backup({ tool: 'drop_table', params: { table: 'old' } }),
    );
    expect(p.required_approvals).toBe(2);
    const first = await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_2',
      decision: 'approve',
    });
    expect(first).toMatchObject({ status: 'pending', approvals: { received: 1, required: 2 } });
    await expectCode(kernel.executeAction(ctx, { proposal_id: 'proposal_1' }), 'REVIEW_REQUIRED');
    const second = await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_3',
      decision: 'approve',
    });
    expect(second).toMatchObject({ status: 'approved', approvals: { received: 2, required: 2 } });
    const ex = await kernel.executeAction(ctx, { proposal_id: 'proposal_1' });
    expect(ex.result.status).toBe('succeeded');
  });

  it('edit deep-merges into a new version, re-hashes, and the edited version is what runs', async () => {
    await kernel.proposeAction(
      ctx,
      backup({ params: { table: 'users', nested: { a: 1, b: { c: 2 } }, tags: ['x', 'y'] } }),
    );
    const r = await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_3',
      decision: 'edit',
      edits: { params: { column_type: 'timestamp', nested: { b: { d: 3 } }, tags: ['z'] } },
    });
    const merged = {
      table: 'users',
      column_type: 'timestamp',
      nested: { a: 1, b: { c: 2, d: 3 } },
      tags: ['z'],
    };
    expect(r.status).toBe('approved');
    expect(r.final_tool_call).toEqual({
      tool: 'write_record',
      params: merged,
      version: 2,
      hash: callHash('write_record', merged),
    });
    const view = await kernel.getProposal(ctx, { proposal_id: 'proposal_1' });
    expect(view.versions.map((v) => v.origin)).toEqual(['proposed', 'edited']);
    // The edit is a decision on the version actor_3 saw; only the local operator's scripted
    // mode lets it stand as the new version's approval (policy local-operator-edits-stand).
    expect(view.decisions).toHaveLength(2);
    expect(view.decisions[0]).toMatchObject({
      decision: 'edit',
      version: 1,
      reviewer_id: 'actor_3',
    });
    expect(view.decisions[1]).toMatchObject({
      decision: 'approve',
      version: 2,
      reviewer_id: 'actor_3',
    });
    await kernel.executeAction(ctx, { proposal_id: 'proposal_1' });
    expect(tools.calls.map((c) => c.params)).toEqual([merged]);
  });

  it('refuses an edit whose result breaks the tool schema, naming the field, with no change', async () => {
    await kernel.proposeAction(ctx, backup());
    const before = await counts(store);
    const e = await expectCode(
      kernel.reviewAction(ctx, {
        proposal_id: 'proposal_1',
        reviewer_id: 'actor_2',
        decision: 'edit',
        edits: { params: { column_type: 'float' } },
      }),
      'VALIDATION_FAILED',
    );
    expect(JSON.stringify(e.details)).toContain('edits.params.column_type');
    expect(await counts(store)).toEqual(before);
  });

  it('request_more_info sends a call back; the proposer revises it into a new pending version', async () => {
    await kernel.proposeAction(ctx, backup());
    const r = await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_2',
      decision: 'request_more_info',
      comment: 'Which table exactly?',
    });
    expect(r.status).toBe('needs_info');
    await expectCode(kernel.executeAction(ctx, { proposal_id: 'proposal_1' }), 'REVIEW_REQUIRED');
    await expectCode(
      kernel.reviseAction(ctx, {
        proposal_id: 'proposal_1',
        actor_id: 'actor_2',
        params: { table: 'accounts' },
      }),
      'POLICY_DENIED',
    );
    const rev = await kernel.reviseAction(ctx, {
      proposal_id: 'proposal_1',
      actor_id: 'actor_1',
      params: { table: 'accounts' },
    });
    expect(rev).toMatchObject({ status: 'pending', version: 2 });
    // Bob decided version 1; version 2 is a new call and gets its own decision.
    const ok = await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_2',
      decision: 'approve',
    });
    expect(ok.final_tool_call.params).toEqual({ table: 'accounts' });
  });

  it('executes at most once per approved version; a retry returns the same execution', async () => {
    await kernel.proposeAction(ctx, backup());
    await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_2',
      decision: 'approve',
    });
    const [a, b, ...rest] = await Promise.all(
      Array.from({ length: 5 }, () => kernel.executeAction(ctx, { proposal_id: 'proposal_1' })),
    );
    for (const r of rest) expect(r).toEqual(a);
    const c = await kernel.executeAction(ctx, { proposal_id: 'proposal_1' });
    expect(a).toEqual(b);
    expect(c).toEqual(a);
    expect(a?.result.status).toBe('succeeded');
    expect(tools.calls).toHaveLength(1);
    expect((await kernel.getProposal(ctx, { proposal_id: 'proposal_1' })).proposal.status).toBe(
      'executed',
    );
  });

  it('dry-run runs plan(), says simulated, and does not count as the live execution', async () => {
    await kernel.proposeAction(ctx, backup());
    // Before approval a dry run is still refused, and the refusal points at the plan instead.
    await expect(
      kernel.executeAction(ctx, { proposal_id: 'proposal_1', dry_run: true }),
    ).rejects.toMatchObject({
      code: 'REVIEW_REQUIRED',
      message: expect.stringContaining('countersign plan proposal_1') as unknown,
    });
    await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_2',
      decision: 'approve',
    });
    const dry = await kernel.executeAction(ctx, { proposal_id: 'proposal_1', dry_run: true });
    expect(dry.result).toMatchObject({
      status: 'simulated',
      dry_run: true,
      output: { would_write: 'users' },
    });
    expect(tools.calls).toHaveLength(0);
    const live = await kernel.executeAction(ctx, { proposal_id: 'proposal_1' });
    expect(live.execution_id).not.toBe(dry.execution_id);
    expect(live.result.status).toBe('succeeded');
    expect(tools.calls).toHaveLength(1);
  });

  it('set_policy dry_run simulates every execution and records the new policy version', async () => {
    const s = await kernel.setPolicy(ctx, { dry_run: true });
    expect(s.dry_run).toBe(true);
    const ev = await lastEvent(store);
    expect(ev.type).toBe('POLICY_SET');
    expect(unpackLedgerData(ev.data)).toMatchObject({
      dry_run: true,
      policy_version: s.policy_version,
    });
    await kernel.proposeAction(ctx, backup());
    await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_2',
      decision: 'approve',
    });
    const ex = await kernel.executeAction(ctx, { proposal_id: 'proposal_1' });
    expect(ex.result.status).toBe('simulated');
    expect(tools.calls).toHaveLength(0);
    const off = await kernel.setPolicy(ctx, { dry_run: false });
    expect(off.policy_version).not.toBe(s.policy_version);
  });

  it('records a tool that throws as failed, once, with its error', async () => {
    await kernel.proposeAction(ctx, backup({ tool: 'explode', params: {} }));
    await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_2',
      decision: 'approve',
    });
    const ex = await kernel.executeAction(ctx, { proposal_id: 'proposal_1' });
    expect(ex.result).toMatchObject({
      status: 'failed',
      error: { message: 'disk on fire' },
      output: null,
    });
    const again = await kernel.executeAction(ctx, { proposal_id: 'proposal_1' });
    expect(again).toEqual(ex);
    const view = await kernel.getProposal(ctx, { proposal_id: 'proposal_1' });
    expect(view.proposal.status).toBe('failed');
    expect(view.executions).toHaveLength(1);
  });

  it('refuses to run a call whose stored parameters no longer match the approved hash', async () => {
    await kernel.proposeAction(ctx, backup());
    await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_2',
      decision: 'approve',
    });
    // A malicious administrator drops the append-only trigger and rewrites the call.
    if (factory.name === 'sqlite')
      await sql`drop trigger proposal_versions_no_update`.execute(store.kysely);
    else
      await sql`drop trigger proposal_versions_append_only on proposal_versions`.execute(
        store.kysely,
      );
    await store.kysely
      .updateTable('proposal_versions')
      .set({ params: JSON.stringify({ table: 'salaries' }) })
      .execute();
    await expectCode(
      kernel.executeAction(ctx, { proposal_id: 'proposal_1' }),
      'APPROVAL_HASH_MISMATCH',
    );
    expect(tools.calls).toHaveLength(0);
    expect((await lastEvent(store)).type).toBe('OPERATION_REFUSED');
  });

  it('surfaces a live execution that started and never finished instead of re-running it', async () => {
    await kernel.proposeAction(ctx, backup());
    await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_2',
      decision: 'approve',
    });
    // What a crash between "started" and "finished" leaves behind.
    const view = await kernel.getProposal(ctx, { proposal_id: 'proposal_1' });
    await store.kysely
      .insertInto('executions')
      .values({
        tenant_id: 'default',
        id: 'execution_1',
        workflow_id: 'workflow_1',
        proposal_id: 'proposal_1',
        version: 1,
        tool: 'write_record',
        params: '{"table":"users"}',
        hash: view.final_tool_call.hash,
        dry_run: 0,
        status: 'started',
        output: null,
        error: null,
        started_at: '2026-01-01T00:00:00.000Z',
        finished_at: null,
        live_key: 'proposal_1#1',
      })
      .execute();
    const e = await expectCode(
      kernel.executeAction(ctx, { proposal_id: 'proposal_1' }),
      'EXECUTION_IN_DOUBT',
    );
    expect(e.message).toContain('reconcile');
    expect(tools.calls).toHaveLength(0);
  });

  it('execute_parallel runs approved calls by hash, and an unapproved call fails alone', async () => {
    await kernel.proposeAction(ctx, backup());
    await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_2',
      decision: 'approve',
    });
    await kernel.proposeAction(ctx, backup({ tool: 'noop', params: { n: 1 } }));
    await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_2',
      reviewer_id: 'actor_3',
      decision: 'approve',
    });
    const out = await kernel.executeParallel(ctx, {
      calls: [
        { tool: 'write_record', params: { table: 'users' } },
        { tool: 'noop', params: { n: 2 } },
        { tool: 'noop', params: { n: 1 }, proposal_id: 'proposal_2' },
      ],
    });
    expect(out.results.map((r) => [r.status, r.proposal_id, r.error?.code ?? null])).toEqual([
      ['succeeded', 'proposal_1', null],
      ['refused', null, 'REVIEW_REQUIRED'],
      ['succeeded', 'proposal_2', null],
    ]);
    expect(tools.calls).toHaveLength(2);
    const ev = await lastEvent(store);
    expect(ev.type).toBe('PARALLEL_EXECUTED');
    expect(ev.workflow_id).toBe('workflow_1');
  });

  it('execute_parallel refuses a call naming a missing proposal alone, and still records the batch', async () => {
    await kernel.proposeAction(ctx, backup());
    await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_2',
      decision: 'approve',
    });
    const out = await kernel.executeParallel(ctx, {
      calls: [
        { tool: 'write_record', params: { table: 'users' } },
        { tool: 'noop', params: {}, proposal_id: 'proposal_99' },
      ],
    });
    expect(out.results.map((r) => r.error?.code ?? r.status)).toEqual(['succeeded', 'NOT_FOUND']);
    const ev = await lastEvent(store);
    expect(ev.type).toBe('PARALLEL_EXECUTED');
    expect(ev.workflow_id).toBe('workflow_1');
  });

  it('execute_parallel refuses a named proposal whose approved call differs', async () => {
    await kernel.proposeAction(ctx, backup());
    await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_2',
      decision: 'approve',
    });
    const out = await kernel.executeParallel(ctx, {
      calls: [{ tool: 'write_record', params: { table: 'salaries' }, proposal_id: 'proposal_1' }],
    });
    expect(out.results[0]).toMatchObject({
      status: 'refused',
      error: { code: 'APPROVAL_HASH_MISMATCH' },
    });
    expect(tools.calls).toHaveLength(0);
  });

  it('denies proposals outside an open workflow, unknown tools and bad params, leaving no partial state', async () => {
    const before = await counts(store);
    await expectCode(kernel.proposeAction(ctx, backup({ workflow_id: 'workflow_9' })), 'NOT_FOUND');
    await expectCode(kernel.proposeAction(ctx, backup({ actor_id: 'actor_9' })), 'NOT_FOUND');
    const unknown = await expectCode(
      kernel.proposeAction(ctx, backup({ tool: 'rm_rf' })),
      'UNKNOWN_TOOL',
    );
    expect(unknown.message).toContain('noop, write_record');
    const bad = await expectCode(
      kernel.proposeAction(ctx, backup({ params: { table: 'Users!', extra: 1 } })),
      'VALIDATION_FAILED',
    );
    expect(bad.message).toContain('params.table');
    expect(bad.message).toContain('extra');
    const shape = await expectCode(
      kernel.proposeAction(ctx, {
        workflow_id: 'wf',
        actor_id: 5,
        tool: '',
        params: [],
        reason: '',
      } as never),
      'VALIDATION_FAILED',
    );
    for (const field of ['workflow_id', 'actor_id', 'tool', 'params', 'reason'])
      expect(shape.message).toContain(field);
    await expectCode(
      kernel.proposeAction(
        ctx,
        backup({ params: JSON.parse('{"table":"users","__proto__":{"x":1}}') as object }),
      ),
      'VALIDATION_FAILED',
    );
    expect(await counts(store)).toEqual(before);
  });

  it('fails closed without purpose or identity, and an actor cannot act as someone else', async () => {
    await expectCode(kernel.proposeAction({ ...ctx, purpose: ' ' }, backup()), 'POLICY_DENIED');
    await expectCode(
      kernel.startWorkflow({ ...ctx, tenant_id: '' }, { title: 'x' }),
      'POLICY_DENIED',
    );
    const asAlice: CallContext = {
      tenant_id: 'default',
      caller: { kind: 'actor', actor_id: 'actor_1' },
      purpose: 'http',
    };
    await kernel.proposeAction(asAlice, backup());
    await expectCode(
      kernel.reviewAction(asAlice, {
        proposal_id: 'proposal_1',
        reviewer_id: 'actor_2',
        decision: 'approve',
      }),
      'POLICY_DENIED',
    );
    // Actors may not register actors or change policy under the default policies.
    await expectCode(
      kernel.registerActor(asAlice, { name: 'Mallory', role: 'admin' }),
      'POLICY_DENIED',
    );
    await expectCode(kernel.setPolicy(asAlice, { dry_run: true }), 'POLICY_DENIED');
  });

  it('keeps tenants apart: a foreign tenant object reads as not found', async () => {
    await kernel.proposeAction(ctx, backup());
    const other = { ...ctx, tenant_id: 'acme' };
    await expectCode(kernel.getProposal(other, { proposal_id: 'proposal_1' }), 'NOT_FOUND');
    await expectCode(kernel.getWorkflow(other, { workflow_id: 'workflow_1' }), 'NOT_FOUND');
    const { actor_id } = await kernel.registerActor(other, { name: 'Zed', role: 'Developer' });
    expect(actor_id).toBe('actor_1');
    expect((await kernel.listPendingReviews(other)).reviews).toEqual([]);
    expect((await kernel.verifyAudit(other)).ok).toBe(true);
  });

  it('lists pending reviews across workflows, filtered by workflow, tool and age, newest first', async () => {
    await kernel.startWorkflow(ctx, { title: 'Second' });
    await kernel.proposeAction(ctx, backup());
    await kernel.proposeAction(
      ctx,
      backup({ workflow_id: 'workflow_2', tool: 'noop', params: {} }),
    );
    await kernel.proposeAction(ctx, backup({ tool: 'noop', params: { n: 3 } }));
    await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_3',
      reviewer_id: 'actor_2',
      decision: 'approve',
    });
    const all = await kernel.listPendingReviews(ctx);
    expect(all.reviews.map((r) => r.proposal_id)).toEqual(['proposal_2', 'proposal_1']);
    expect(
      (await kernel.listPendingReviews(ctx, { workflow_id: 'workflow_2' })).reviews.map(
        (r) => r.proposal_id,
      ),
    ).toEqual(['proposal_2']);
    expect(
      (await kernel.listPendingReviews(ctx, { tool: 'write_record' })).reviews.map(
        (r) => r.proposal_id,
      ),
    ).toEqual(['proposal_1']);
    expect((await kernel.listPendingReviews(ctx, { min_age_seconds: 3600 })).reviews).toEqual([]);
    await expectCode(kernel.listPendingReviews(ctx, { min_age_seconds: -1 }), 'VALIDATION_FAILED');
    // Older than the epoch: nothing, not a RangeError (the fuzzer's 9007199254740991).
    expect(
      (await kernel.listPendingReviews(ctx, { min_age_seconds: Number.MAX_SAFE_INTEGER })).reviews,
    ).toEqual([]);
  });

  it('records every state change in the hash-chained ledger and get_audit_log returns it in order', async () => {
    await kernel.proposeAction(ctx, backup());
    await kernel.reviewAction(ctx, {
      proposal_id: 'proposal_1',
      reviewer_id: 'actor_2',
      decision: 'approve',
    });
    await kernel.executeAction(ctx, { proposal_id: 'proposal_1' });
    const { entries } = await kernel.getAuditLog(ctx, { workflow_id: 'workflow_1' });
    expect(entries.map((e) => e.type)).toEqual([
      'WORKFLOW_STARTED',
      'ACTION_PROPOSED',
      'APPROVAL_REQUESTED',
      'APPROVAL_DECISION',
      'TOOL_INVOKE',
      'ACTION_EXECUTED',
    ]);
    for (const e of entries)
      expect(Object.keys(e).sort()).toEqual(
        [
          'actor',
          'data',
          'hash',
          'prev_hash',
          'seq',
          'tenant_id',
          'time',
          'type',
          'workflow_id',
        ].sort(),
      );
    expect(entries.find((e) => e.type === 'TOOL_INVOKE')!.data).toMatchObject({
      workflow_id: 'workflow_1',
      purpose: 'tests',
      hash: entries[1]!.data.hash,
    });
    const report = await kernel.verifyAudit(ctx);
    expect(report).toMatchObject({ ok: true, first_broken_seq: null });
    expect(report.events).toBeGreaterThan(entries.length); // actors and the audit read are in the chain too
  });

  it('policy may allow a call without review: approved by policy, decision recorded', async () => {
    const policy = CedarPolicyEngine.fromText([
      {
        name: 'p.cedar',
        text: `@id("all") permit(principal, action, resource) when { action != Action::"proposal.create" };
               @id("noop-free") @approvals("0") permit(principal, action == Action::"proposal.create", resource) when { resource == Tool::"noop" };`,
      },
    ]);
    const k = await kernelOn(factory, { policy });
    try {
      await seedActors(k.kernel);
      const p = await k.kernel.proposeAction(ctx, backup({ tool: 'noop', params: {} }));
      expect(p.status).toBe('approved');
      const view = await k.kernel.getProposal(ctx, { proposal_id: p.proposal_id });
      expect(view.decisions[0]).toMatchObject({ reviewer_id: 'policy', decision: 'policy_allow' });
      // execute_parallel may run such a call directly, inside a workflow context.
      const out = await k.kernel.executeParallel(ctx, {
        calls: [
          { tool: 'noop', params: { n: 7 } },
          { tool: 'write_record', params: { table: 'x' } },
        ],
        workflow_id: 'workflow_1',
        actor_id: 'actor_1',
        max_concurrency: 2,
      });
      expect(out.results.map((r) => r.error?.code ?? r.status)).toEqual([
        'succeeded',
        'REVIEW_REQUIRED',
      ]);
    } finally {
      await k.cleanup();
    }
  });

  it('counts an approval only from a reviewer holding a role the policy requires', async () => {
    const policy = CedarPolicyEngine.fromText([
      {
        name: 'roles.cedar',
        text: `@id("all") permit(principal, action, resource) when { action != Action::"proposal.create" };
               @id("dba-review") @approvals("1") @roles("DevOps Engineer") permit(principal, action == Action::"proposal.create", resource);`,
      },
    ]);
    const k = await kernelOn(factory, { policy });
    try {
      await seedActors(k.kernel);
      const p = await k.kernel.proposeAction(ctx, backup());
      expect(p).toMatchObject({ status: 'pending', required_roles: ['DevOps Engineer'] });
      const e = await expectCode(
        k.kernel.reviewAction(ctx, {
          proposal_id: 'proposal_1',
          reviewer_id: 'actor_2',
          decision: 'approve',
        }),
        'MISSING_ROLE',
      );
      expect(e.message).toContain('"Senior Developer"');
      expect(e.message).toContain('DevOps Engineer');
      const ok = await k.kernel.reviewAction(ctx, {
        proposal_id: 'proposal_1',
        reviewer_id: 'actor_3',
        decision: 'approve',
      });
      expect(ok.status).toBe('approved');
    } finally {
      await k.cleanup();
    }
  });

  it('creates API tokens stored only as hashes, and authenticates them', async () => {
    const t = await kernel.createToken(ctx, { actor_id: 'actor_2', name: 'bob laptop' });
    expect(t).toMatchObject({ token_id: 'token_1', actor_id: 'actor_2' });
    expect(t.token).toMatch(/^cs_[A-Za-z0-9_-]{16,}$/);
    expect(await kernel.authenticate(t.token)).toEqual({
      tenant_id: 'default',
      actor_id: 'actor_2',
      token_id: 'token_1',
      minted_by: 'operator',
      scope: null,
    });
    await expectCode(kernel.authenticate(`${t.token}x`), 'UNAUTHENTICATED');
    await expectCode(kernel.authenticate('Bearer nonsense'), 'UNAUTHENTICATED');
    const rows = await store.kysely.selectFrom('api_tokens').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(t.token);
    const ev = await lastEvent(store);
    expect(ev.type).toBe('TOKEN_CREATED');
    expect(JSON.stringify(unpackLedgerData(ev.data))).not.toContain(t.token);
    // Only the operator mints tokens; an actor (even an admin) cannot, for anyone.
    const op = await kernel.createToken(ctx, { actor_id: 'operator', name: 'root' });
    expect((await kernel.authenticate(op.token)).actor_id).toBe('operator');
    const admin = await kernel.registerActor(ctx, { name: 'Ada', role: 'admin' });
    const asAdmin: CallContext = {
      tenant_id: 'default',
      caller: { kind: 'actor', actor_id: admin.actor_id },
      purpose: 'p',
    };
    await expectCode(
      kernel.createToken(asAdmin, { actor_id: 'operator', name: 'escalate' }),
      'POLICY_DENIED',
    );
    await expectCode(
      kernel.createToken(asAdmin, { actor_id: 'actor_1', name: 'impersonate' }),
      'POLICY_DENIED',
    );
    const asAlice: CallContext = {
      tenant_id: 'default',
      caller: { kind: 'actor', actor_id: 'actor_1' },
      purpose: 'p',
    };
    await expectCode(
      kernel.createToken(asAlice, { actor_id: 'actor_1', name: 'self' }),
      'POLICY_DENIED',
    );
    expect(await kernel.countTokens('default')).toBe(2);
    expect(await kernel.countTokens('acme')).toBe(0);
  });

  it('bounds execute_parallel concurrency', async () => {
    for (let i = 0; i < 6; i++) {
      await kernel.proposeAction(ctx, backup({ params: { table: `t_${'abcdef'[i]}` } }));
      await kernel.reviewAction(ctx, {
        proposal_id: `proposal_${i + 1}`,
        reviewer_id: 'actor_2',
        decision: 'approve',
      });
    }
    const out = await kernel.executeParallel(ctx, {
      calls: Array.from({ length: 6 }, (_, i) => ({
        tool: 'write_record',
        params: { table: `t_${'abcdef'[i]}` },
      })),
      max_concurrency: 2,
    });
    expect(out.results.every((r) => r.status === 'succeeded')).toBe(true);
    expect(tools.maxInFlight).toBeLessThanOrEqual(2);
    expect(tools.calls).toHaveLength(6);
  });
});
