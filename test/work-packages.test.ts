import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KyselyStore } from '../src/adapters/store/kysely-store.js';
import { type CallContext, callerFor } from '../src/core/context.js';
import type { Kernel } from '../src/core/kernel.js';
import type { LedgerEvent } from '../src/core/model.js';
import { listLedger } from '../src/core/console-reads.js';
import { STORES, ctx, expectCode, kernelOn } from './support/kernel-fixture.js';

/**
 * Work packages through the kernel on a real SQLite file and a real Postgres server, with the
 * shipped policies: booked by a person, claimed and worked by an agent of the package's role,
 * decided by another person; every move a ledger event, every illegal or unauthorized move
 * refused, recorded, and leaving the package as it was.
 */
const SPEC = {
  title: 'Retry failed exports',
  objective: 'Retry a failed export three times with backoff.',
  role: 'implementer',
  owned_surfaces: ['src/exporter/**'],
  forbidden_surfaces: ['src/exporter/secrets.ts'],
  tools: ['noop'],
  evidence_tier: 'local_command_proof' as const,
  validation_commands: ['npm test'],
};

/** A return with one claim in its evidence register (`claims` replaces it). */
const artifact = (claims: object[] = []) => ({
  summary: 'Exports retry three times with backoff.',
  changed: [{ path: 'src/exporter/retry.ts', what: 'a retry loop with backoff' }],
  validated: [{ how: 'unit tests', command: 'npm test', result: 'pass' }],
  not_touched: ['src/exporter/secrets.ts'],
  evidence: claims,
  non_claims: ['no load test'],
  risks: ['backoff may delay the nightly export'],
  next_gate: 'review by the export owner',
});

describe.each(STORES)('work packages on $name', (factory) => {
  let kernel: Kernel;
  let store: KyselyStore;
  let cleanup: () => Promise<void>;
  let as: Record<'dana' | 'erin' | 'coder' | 'other' | 'tester', CallContext>;

  beforeEach(async () => {
    ({ kernel, store, cleanup } = await kernelOn(factory));
    const reg = async (name: string, role: string, kind: 'human' | 'agent') =>
      ({
        ...ctx,
        caller: callerFor((await kernel.registerActor(ctx, { name, role, kind })).actor_id),
      }) as CallContext;
    as = {
      dana: await reg('Dana', 'lead', 'human'),
      erin: await reg('Erin', 'lead', 'human'),
      coder: await reg('coder', 'implementer', 'agent'),
      other: await reg('other-coder', 'implementer', 'agent'),
      tester: await reg('tester', 'qa', 'agent'),
    };
  });
  afterEach(async () => cleanup());

  const events = async (type: string): Promise<LedgerEvent[]> =>
    (await listLedger(kernel, ctx, { limit: 500 })).entries.filter((e) => e.type === type);
  const move = (who: CallContext, wp_id: string, m: string, extra: object = {}) =>
    kernel.moveWorkPackage(who, { wp_id, move: m, ...extra });

  it('books a package, versioned and hashed, and renders it', async () => {
    const wp = await kernel.bookWorkPackage(as.dana, { spec: SPEC });
    expect(wp).toMatchObject({ id: 'wp_1', version: 1, state: 'booked', booked_by: 'actor_1' });
    expect(wp.spec_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(wp.markdown).toContain('# Retry failed exports');
    const [booked] = await events('WP_BOOKED');
    expect(booked!.data).toMatchObject({ wp_id: 'wp_1', version: 1, hash: wp.spec_hash });
    expect(await kernel.getWorkPackage(as.coder, { wp_id: 'wp_1' })).toEqual(wp);
    expect(await kernel.listWorkPackages(ctx, { state: 'booked' })).toHaveLength(1);
    expect(await kernel.listWorkPackages(ctx, { state: 'claimed' })).toHaveLength(0);
  });

  it('runs the whole loop: scope, go, execute, return, revision, accept, merge', async () => {
    const { id } = await kernel.bookWorkPackage(as.dana, { spec: SPEC });
    const steps: [CallContext, string, object?][] = [
      [as.coder, 'claim'],
      [as.coder, 'return_scope', { scope: 'src/exporter/retry.ts only' }],
      [as.erin, 'go'],
      [as.coder, 'start'],
      [as.coder, 'return', { artifact: artifact() }],
      [as.erin, 'open_review'],
      [as.erin, 'require_revision', { findings: ['retry count is 2, not 3'] }],
      [as.coder, 'start'],
      [as.coder, 'return', { artifact: artifact() }],
      [as.dana, 'open_review'],
      [as.dana, 'accept', { override_reason: 'ran the tests myself' }],
      [as.dana, 'merge', { merge_proof: 'a1b2c3d4' }],
    ];
    for (const [who, m, extra] of steps) await move(who, id, m, extra);
    const wp = await kernel.getWorkPackage(ctx, { wp_id: id });
    expect(wp).toMatchObject({ state: 'merged', claimed_by: 'actor_3' });
    const moved = await events('WP_MOVED');
    expect(moved.map((e) => e.data.move)).toEqual(steps.map(([, m]) => m));
    expect(moved.find((e) => e.data.move === 'require_revision')!.data).toMatchObject({
      verdict: true,
      findings: ['retry count is 2, not 3'],
      from: 'in_review',
      to: 'revision_required',
    });
    expect((await kernel.verifyAudit(ctx)).ok).toBe(true);
  });

  it('refuses an illegal move with the legal ones named, records it, and changes nothing', async () => {
    const { id } = await kernel.bookWorkPackage(as.dana, { spec: SPEC });
    await move(as.coder, id, 'claim');
    const e = await expectCode(move(as.erin, id, 'accept'), 'INVALID_STATE');
    expect(e.details).toMatchObject({
      state: 'claimed',
      legal_moves: ['return_scope', 'hold', 'stop'],
    });
    expect((await kernel.getWorkPackage(ctx, { wp_id: id })).state).toBe('claimed');
    const refused = await events('OPERATION_REFUSED');
    expect(refused.at(-1)!.data).toMatchObject({
      operation: 'move_work_package',
      code: 'INVALID_STATE',
      wp_id: id,
      move: 'accept',
    });
  });

  it('never lets the agent, another agent, the operator or a wrong role make a move that is not theirs', async () => {
    const { id } = await kernel.bookWorkPackage(as.dana, { spec: SPEC });
    await expectCode(move(as.tester, id, 'claim'), 'MISSING_ROLE');
    await expectCode(move(as.dana, id, 'claim'), 'POLICY_DENIED');
    await move(as.coder, id, 'claim');
    await move(as.coder, id, 'return_scope', { scope: 'the exporter' });
    // The claimant approves its own scope; another agent of the role does; the operator does.
    await expectCode(move(as.coder, id, 'go'), 'POLICY_DENIED');
    await expectCode(move(as.other, id, 'go'), 'POLICY_DENIED');
    await expectCode(move(ctx, id, 'go'), 'POLICY_DENIED');
    await move(as.erin, id, 'go');
    // Another agent of the same role cannot work a package it did not claim.
    await expectCode(move(as.other, id, 'start'), 'POLICY_DENIED');
    expect((await kernel.getWorkPackage(ctx, { wp_id: id })).state).toBe('go');
    expect((await events('OPERATION_REFUSED')).map((e) => e.data.code)).toEqual([
      'MISSING_ROLE',
      'POLICY_DENIED',
      'POLICY_DENIED',
      'POLICY_DENIED',
      'POLICY_DENIED',
      'POLICY_DENIED',
    ]);
  });

  it('needs findings, a reason or a merge commit where the move says so, before writing anything', async () => {
    const { id } = await kernel.bookWorkPackage(as.dana, { spec: SPEC });
    await expectCode(move(as.erin, id, 'hold'), 'VALIDATION_FAILED');
    await expectCode(move(as.erin, id, 'hold', { reason: '  ' }), 'VALIDATION_FAILED');
    await expectCode(move(as.erin, id, 'fly'), 'VALIDATION_FAILED');
    await expectCode(move(as.erin, 'wp_99', 'hold', { reason: 'x' }), 'NOT_FOUND');
    expect(await events('WP_MOVED')).toEqual([]);
    await move(as.erin, id, 'hold', { reason: 'waiting on the vendor' });
    await expectCode(move(as.coder, id, 'claim'), 'INVALID_STATE');
    const back = await move(as.erin, id, 'release');
    expect(back).toMatchObject({ state: 'booked', held_from: null });
  });

  it('refuses bad bookings with nothing written: an agent booking, an unknown tool, a surface outside the workspace, duplicates', async () => {
    await expectCode(kernel.bookWorkPackage(as.coder, { spec: SPEC }), 'POLICY_DENIED');
    await expectCode(
      kernel.bookWorkPackage(as.dana, { spec: { ...SPEC, tools: ['launch_rockets'] } }),
      'UNKNOWN_TOOL',
    );
    await expectCode(
      kernel.bookWorkPackage(as.dana, { spec: { ...SPEC, owned_surfaces: ['../../etc/**'] } }),
      'VALIDATION_FAILED',
    );
    await expectCode(
      kernel.bookWorkPackage(as.dana, { spec: { ...SPEC, owned_surfaces: ['a/**', 'a/**'] } }),
      'VALIDATION_FAILED',
    );
    expect(await kernel.listWorkPackages(ctx, {})).toEqual([]);
    expect(await events('WP_BOOKED')).toEqual([]);
  });

  it('lets one of two agents racing to claim a package win, never both', async () => {
    const { id } = await kernel.bookWorkPackage(as.dana, { spec: SPEC });
    const results = await Promise.allSettled([
      move(as.coder, id, 'claim'),
      move(as.other, id, 'claim'),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((loser.reason as { code: string }).code).toBe('INVALID_STATE');
    expect(await events('WP_MOVED')).toHaveLength(1);
  });

  it('keeps booked versions immutable in the database', async () => {
    await kernel.bookWorkPackage(as.dana, { spec: SPEC });
    const db = store.kysely;
    await expect(
      sql`UPDATE work_package_versions SET spec = '{}' WHERE wp_id = 'wp_1'`.execute(db),
    ).rejects.toThrow(/append-only/);
    await expect(sql`DELETE FROM work_package_versions`.execute(db)).rejects.toThrow(/append-only/);
  });

  /** A package at runtime_proof, claimed, worked and returned with `claims`, now in review. */
  const inReview = async (claims: object[], tier = 'runtime_proof' as const) => {
    const { id } = await kernel.bookWorkPackage(as.dana, {
      spec: { ...SPEC, evidence_tier: tier, stop_gate: false },
    });
    await move(as.coder, id, 'claim');
    await move(as.coder, id, 'start_without_scope');
    await move(as.coder, id, 'return', { artifact: artifact(claims) });
    await move(as.erin, id, 'open_review');
    return id;
  };
  /** A live execution of `tool` by the coder in a workflow of `on`'s tenant. */
  const execution = async (tool: 'noop' | 'explode', on: CallContext = ctx) => {
    const { workflow_id } = await kernel.startWorkflow(on, { title: 'evidence' });
    const reg = async (role: string, kind: 'human' | 'agent') =>
      (await kernel.registerActor(on, { name: `${kind} ${++registered}`, role, kind })).actor_id;
    const [coder, reviewer] =
      on === ctx
        ? ['actor_3', 'actor_1']
        : [await reg('implementer', 'agent'), await reg('lead', 'human')];
    const p = await kernel.proposeAction(on, {
      workflow_id,
      actor_id: coder,
      tool,
      params: {},
      reason: 'evidence',
    });
    await kernel.reviewAction(on, {
      proposal_id: p.proposal_id,
      reviewer_id: reviewer,
      decision: 'approve',
    });
    const ex = await kernel.executeAction(on, { proposal_id: p.proposal_id });
    expect(ex.result.status).toBe(tool === 'noop' ? 'succeeded' : 'failed');
    return ex.execution_id;
  };
  let registered = 0;
  const runtime = (kind: string, ref: string) => ({
    claim: 'the retry ran against the export tool',
    class: 'runtime_proof',
    pointer: { kind, ref },
  });

  it('needs the scope and the return, stores them append-only, and puts their hashes in the events', async () => {
    const { id } = await kernel.bookWorkPackage(as.dana, { spec: SPEC });
    await move(as.coder, id, 'claim');
    await expectCode(move(as.coder, id, 'return_scope'), 'VALIDATION_FAILED');
    await expectCode(move(as.coder, id, 'return_scope', { scope: '   ' }), 'VALIDATION_FAILED');
    await expectCode(
      move(as.coder, id, 'return_scope', { scope: 'x', artifact: artifact() }),
      'VALIDATION_FAILED',
    );
    await move(as.coder, id, 'return_scope', { scope: 'the retry loop only' });
    await move(as.erin, id, 'go');
    await move(as.coder, id, 'start');
    await expectCode(move(as.coder, id, 'return'), 'VALIDATION_FAILED');
    await expectCode(
      move(as.coder, id, 'return', { artifact: { ...artifact(), next_gate: undefined } }),
      'VALIDATION_FAILED',
    );
    await expectCode(
      move(as.coder, id, 'return', { artifact: artifact([runtime('file', '')]) }),
      'VALIDATION_FAILED',
    );
    await expectCode(
      move(as.coder, id, 'return', { artifact: { ...artifact(), extra: 1 } }),
      'VALIDATION_FAILED',
    );
    expect((await kernel.getWorkPackage(ctx, { wp_id: id })).state).toBe('executing');
    const returned = await move(as.coder, id, 'return', { artifact: artifact() });
    expect(returned.returns.map((r) => [r.n, r.kind, r.returned_by])).toEqual([
      [1, 'scope', 'actor_3'],
      [2, 'return', 'actor_3'],
    ]);
    expect(returned.returns[1]!.artifact).toEqual(artifact());
    expect(returned.returns[1]!.markdown).toContain('## Evidence register');
    const moved = await events('WP_MOVED');
    const hashes = moved.filter((e) => e.data.return).map((e) => e.data.return);
    expect(hashes).toEqual(returned.returns.map((r) => ({ n: r.n, kind: r.kind, hash: r.hash })));
    expect((await kernel.getWorkPackage(as.coder, { wp_id: id })).returns).toEqual(
      returned.returns,
    );
    const db = store.kysely;
    await expect(
      sql`UPDATE work_package_returns SET body = '{}' WHERE wp_id = ${id}`.execute(db),
    ).rejects.toThrow(/append-only/);
    await expect(sql`DELETE FROM work_package_returns`.execute(db)).rejects.toThrow(/append-only/);
  });

  it('accepts at runtime_proof when the claim points at a succeeded execution of the tenant', async () => {
    const exec = await execution('noop');
    const id = await inReview([runtime('execution', exec)]);
    const accepted = await move(as.erin, id, 'accept');
    expect(accepted.state).toBe('accepted');
    const last = (await events('WP_MOVED')).at(-1)!;
    expect(last.data).toMatchObject({ move: 'accept' });
    expect(last.data.override).toBeUndefined();
  });

  it('refuses, records and leaves in review an accept whose pointers are forged, failed, foreign or of the wrong kind', async () => {
    const other = { ...ctx, tenant_id: 'tenant_b' } as CallContext;
    const failed = await execution('explode');
    const good = await execution('noop');
    // Another tenant's execution, under an ID this tenant has not used.
    for (let i = 0; i < 2; i++) await execution('noop', other);
    const foreign = await execution('noop', other);
    expect([failed, good]).not.toContain(foreign);
    const cases: [object, string][] = [
      [runtime('execution', 'exec_999'), 'no execution exec_999'],
      [runtime('execution', foreign), `no execution ${foreign}`],
      [runtime('execution', failed), 'not succeeded'],
      [runtime('run', 'run_0000'), 'no run run_0000'],
      // Classes do not collapse: a real file or a real execution under the wrong kind.
      [runtime('file', 'src/exporter/retry.ts'), 'not a file'],
      [{ ...runtime('commit', good), class: 'runtime_proof' }, 'not a commit'],
      [
        { claim: 'merged', class: 'merge_proof', pointer: { kind: 'commit', ref: 'abc1234' } },
        'not merged',
      ],
      [
        {
          claim: 'tests pass',
          class: 'local_command_proof',
          pointer: { kind: 'command', ref: 'npm test' },
        },
        'no runner record yet',
      ],
    ];
    for (const [claim, why] of cases) {
      const id = await inReview([claim]);
      const e = await expectCode(move(as.erin, id, 'accept'), 'EVIDENCE_BELOW_TIER');
      expect(e.details).toMatchObject({ required: 'runtime_proof', reached: 'not_proven' });
      expect((e.details.unverified as { why: string }[])[0]!.why).toContain(why);
      expect(e.message).toContain(why);
      expect((await kernel.getWorkPackage(ctx, { wp_id: id })).state).toBe('in_review');
      expect((await events('OPERATION_REFUSED')).at(-1)!.data).toMatchObject({
        operation: 'move_work_package',
        code: 'EVIDENCE_BELOW_TIER',
        wp_id: id,
        move: 'accept',
      });
    }
  });

  it('accepts below the tier only with a reviewer’s override reason, recorded; never by the claimant', async () => {
    const id = await inReview([
      {
        claim: 'tests pass',
        class: 'local_command_proof',
        pointer: { kind: 'command', ref: 'npm test' },
      },
    ]);
    await expectCode(
      move(as.coder, id, 'accept', { override_reason: 'I checked' }),
      'POLICY_DENIED',
    );
    await expectCode(move(as.erin, id, 'accept', { override_reason: '  ' }), 'VALIDATION_FAILED');
    await expectCode(
      move(as.erin, id, 'open_review', { override_reason: 'x' }),
      'VALIDATION_FAILED',
    );
    const accepted = await move(as.erin, id, 'accept', { override_reason: 'ran npm test myself' });
    expect(accepted.state).toBe('accepted');
    expect((await events('WP_MOVED')).at(-1)!.data).toMatchObject({
      move: 'accept',
      override: { reason: 'ran npm test myself', required: 'runtime_proof', reached: 'not_proven' },
    });
    expect((await kernel.verifyAudit(ctx)).ok).toBe(true);
  });
});
