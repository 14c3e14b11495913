/**
 * Role quorums: "all of these roles" and "N approvals per role" beside the default any-of,
 * on proposals (a policy's @quorum), on workflow gates (request_approval's role_quorum, and
 * the ops change-control plan gate of a critical change), and through the HTTP door, where
 * an agent cannot conjure the second reviewer a quorum needs. Real SQLite files throughout.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { CedarPolicyEngine } from '../src/adapters/policy/cedar-policy-engine.js';
import { operatorContext } from '../src/core/context.js';
import type { Kernel } from '../src/core/kernel.js';
import type { JsonObject } from '../src/core/model.js';
import { ManualClock } from '../src/core/ports/clock.js';
import { describeMissing, tallyApprovals } from '../src/core/quorum.js';
import { type Runtime, openRuntime } from '../src/main/compose.js';
import { configFromEnv } from '../src/main/config.js';
import { type RunningServer, startServer } from '../src/main/serve.js';
import { STORES, ctx, expectCode, kernelOn } from './support/kernel-fixture.js';

const DEFAULT_POLICIES = fs.readFileSync(path.resolve('policies/default/policies.cedar'), 'utf8');

/** The default policies plus a PCI-DSS rule: writes need a change manager AND security. */
const QUORUM_POLICIES = `${DEFAULT_POLICIES}

@id("pci-writes-need-change-manager-and-security")
@quorum("change_manager, security")
permit (principal, action == Action::"proposal.create", resource)
when { resource == Tool::"write_record" };

@id("drops-need-one-change-manager-and-two-security")
@quorum("change_manager:1, security:2")
permit (principal, action == Action::"proposal.create", resource)
when { resource == Tool::"drop_table" };
`;

// ---- counting, the pure rule -----------------------------------------------------------------

describe('quorum counting', () => {
  const rule = {
    required_approvals: 2,
    required_roles: ['change_manager', 'security'],
    role_quorum: { change_manager: 1, security: 1 },
  };

  it('an approver holding both roles fills one slot only', () => {
    const t = tallyApprovals(rule, [{ id: 'pat', roles: ['change_manager', 'security'] }]);
    expect(t).toMatchObject({ received: 1, satisfied: false });
    expect(Object.values(t.missing)).toEqual([1]);
    // With a second reviewer the matching gives each one a slot, whichever role it takes.
    const both = tallyApprovals(rule, [
      { id: 'pat', roles: ['change_manager', 'security'] },
      { id: 'sam', roles: ['security'] },
    ]);
    expect(both).toMatchObject({ satisfied: true, missing: {} });
    expect(both.filled).toEqual({ pat: 'change_manager', sam: 'security' });
  });

  it('the same approver twice counts once, and an author never counts', () => {
    const cm = { id: 'cm', roles: ['change_manager'] };
    const sec = { id: 'sec', roles: ['security'] };
    expect(tallyApprovals(rule, [cm, cm])).toMatchObject({
      received: 1,
      missing: { security: 1 },
    });
    expect(tallyApprovals(rule, [cm, sec], ['sec'])).toMatchObject({
      satisfied: false,
      missing: { security: 1 },
    });
  });

  it('any-of is unchanged: distinct reviewers up to the number required', () => {
    const anyOf = { required_approvals: 2, required_roles: ['a', 'b'] };
    expect(tallyApprovals(anyOf, [{ id: 'x', roles: [] }])).toEqual({
      received: 1,
      satisfied: false,
      missing: { 'a|b': 1 },
      filled: {},
    });
    expect(
      tallyApprovals(anyOf, [
        { id: 'x', roles: [] },
        { id: 'y', roles: [] },
      ]).satisfied,
    ).toBe(true);
    expect(describeMissing({ security: 1, 'a|b': 2, '*': 1 })).toBe(
      'security, 2 × a or b, any reviewer',
    );
  });
});

// ---- proposals: a policy's @quorum ----------------------------------------------------------

describe('proposals under a policy @quorum (kernel, SQLite file)', () => {
  let kernel: Kernel;
  let cleanup: () => Promise<void>;
  const id: Record<string, string> = {};

  beforeEach(async () => {
    ({ kernel, cleanup } = await kernelOn(STORES[0]!, {
      policy: CedarPolicyEngine.fromText([{ name: 'policies.cedar', text: QUORUM_POLICIES }]),
    }));
    for (const [name, role, kind] of [
      ['deployer', 'deployer', 'agent'],
      ['cm1', 'change_manager', 'human'],
      ['cm2', 'change_manager', 'human'],
      ['sec1', 'security', 'human'],
      ['sec2', 'security', 'human'],
      ['dev', 'Developer', 'human'],
    ] as const)
      id[name] = (await kernel.registerActor(ctx, { name, role, kind })).actor_id;
    id.workflow = (await kernel.startWorkflow(ctx, { title: 'PCI-DSS change' })).workflow_id;
  });
  afterEach(async () => cleanup());

  const propose = (tool: string, params: JsonObject, actor = id.deployer!) =>
    kernel.proposeAction(ctx, {
      workflow_id: id.workflow!,
      actor_id: actor,
      tool,
      params,
      reason: 'cardholder table change',
    });
  const review = (
    proposal_id: string,
    who: string,
    decision: 'approve' | 'reject' | 'request_more_info',
  ) => kernel.reviewAction(ctx, { proposal_id, reviewer_id: id[who]!, decision });
  const pendingOf = async (proposal_id: string) =>
    (await kernel.listPendingReviews(ctx, {})).reviews.find((r) => r.proposal_id === proposal_id);

  it('two change managers do not make a security sign-off; more info blocks; then security approves', async () => {
    const p = await propose('write_record', { table: 'cards' });
    expect(p).toMatchObject({
      status: 'pending',
      required_approvals: 2,
      required_roles: ['change_manager', 'security'],
      role_quorum: { change_manager: 1, security: 1 },
    });
    expect(await review(p.proposal_id, 'cm1', 'approve')).toMatchObject({
      status: 'pending',
      missing: { security: 1 },
    });
    expect(await review(p.proposal_id, 'cm2', 'approve')).toMatchObject({
      status: 'pending',
      approvals: { received: 2, required: 2 },
      missing: { security: 1 },
    });
    expect(await pendingOf(p.proposal_id)).toMatchObject({
      approvals: { received: 2, required: 2 },
      missing: { security: 1 },
      role_quorum: { change_manager: 1, security: 1 },
    });
    const early = await expectCode(
      kernel.executeAction(ctx, { proposal_id: p.proposal_id }),
      'REVIEW_REQUIRED',
    );
    expect(early.message).toContain('1 from change_manager, 1 from security');

    // Security asks for more information: not approved, and nothing runs.
    expect(await review(p.proposal_id, 'sec1', 'request_more_info')).toMatchObject({
      status: 'needs_info',
    });
    await expectCode(kernel.executeAction(ctx, { proposal_id: p.proposal_id }), 'REVIEW_REQUIRED');

    // The proposer answers; the new version needs its own quorum.
    await kernel.reviseAction(ctx, {
      proposal_id: p.proposal_id,
      actor_id: id.deployer!,
      params: { table: 'cards', tags: ['pci'] },
    });
    expect(await pendingOf(p.proposal_id)).toMatchObject({
      version: 2,
      missing: { change_manager: 1, security: 1 },
    });
    await review(p.proposal_id, 'cm1', 'approve');
    expect(await review(p.proposal_id, 'sec1', 'approve')).toMatchObject({
      status: 'approved',
      missing: {},
    });
    expect(await pendingOf(p.proposal_id)).toBeUndefined();
    const ran = await kernel.executeAction(ctx, { proposal_id: p.proposal_id });
    expect(ran.result.status).toBe('succeeded');

    // The ledger says which role each approval filled.
    const log = await kernel.getAuditLog(ctx, { workflow_id: id.workflow! });
    const last = log.entries.filter((e) => e.type === 'APPROVAL_DECISION').at(-1)!;
    expect(last.data).toMatchObject({
      status: 'approved',
      role_quorum: { change_manager: 1, security: 1 },
      missing: {},
      counted_as: { [id.cm1!]: 'change_manager', [id.sec1!]: 'security' },
    });
  });

  it('a security rejection blocks as before', async () => {
    const p = await propose('write_record', { table: 'cards' });
    await review(p.proposal_id, 'cm1', 'approve');
    expect(await review(p.proposal_id, 'sec1', 'reject')).toMatchObject({ status: 'rejected' });
    await expectCode(review(p.proposal_id, 'sec2', 'approve'), 'INVALID_STATE');
  });

  it('N approvals per role: one change manager and two security reviewers', async () => {
    const p = await propose('drop_table', { table: 'old_cards' });
    expect(p).toMatchObject({
      required_approvals: 3,
      role_quorum: { change_manager: 1, security: 2 },
    });
    await review(p.proposal_id, 'sec1', 'approve');
    expect(await review(p.proposal_id, 'cm1', 'approve')).toMatchObject({
      status: 'pending',
      missing: { security: 1 },
    });
    // A second change manager fills nothing: the change manager slot is taken.
    expect(await review(p.proposal_id, 'cm2', 'approve')).toMatchObject({
      status: 'pending',
      approvals: { received: 3, required: 3 },
      missing: { security: 1 },
    });
    expect(await review(p.proposal_id, 'sec2', 'approve')).toMatchObject({ status: 'approved' });
  });

  it('the same reviewer approving twice counts once; other roles are refused', async () => {
    const p = await propose('write_record', { table: 'cards' });
    await review(p.proposal_id, 'sec1', 'approve');
    await expectCode(review(p.proposal_id, 'sec1', 'approve'), 'DUPLICATE_DECISION');
    await expectCode(review(p.proposal_id, 'dev', 'approve'), 'MISSING_ROLE');
    expect(await pendingOf(p.proposal_id)).toMatchObject({
      approvals: { received: 1 },
      missing: { change_manager: 1 },
    });
  });

  it('a proposer holding a required role never counts for it', async () => {
    const p = await propose('write_record', { table: 'cards' }, id.cm1);
    await expectCode(review(p.proposal_id, 'cm1', 'approve'), 'SELF_APPROVAL');
    await review(p.proposal_id, 'sec1', 'approve');
    expect(await pendingOf(p.proposal_id)).toMatchObject({ missing: { change_manager: 1 } });
    expect(await review(p.proposal_id, 'cm2', 'approve')).toMatchObject({ status: 'approved' });
  });

  it('any-of stays the default: a call without a quorum needs one approval from anyone', async () => {
    await kernel.registerActor(ctx, { name: 'reader', role: 'reader' });
    const p = await kernel.proposeAction(ctx, {
      workflow_id: id.workflow!,
      actor_id: id.deployer!,
      tool: 'explode',
      params: {},
      reason: 'not under the PCI rule',
    });
    expect(p).toEqual({
      proposal_id: p.proposal_id,
      status: 'pending',
      hash: p.hash,
      required_approvals: 1,
      required_roles: [],
    });
    expect(await pendingOf(p.proposal_id)).toMatchObject({ missing: { '*': 1 } });
    expect(await review(p.proposal_id, 'dev', 'approve')).toMatchObject({ status: 'approved' });
  });

  it('refuses a malformed @quorum when the policies load', () => {
    for (const q of ['security:0', 'security:x', 'security, security', ''])
      expect(() =>
        CedarPolicyEngine.fromText([
          {
            name: 'p.cedar',
            text: `${DEFAULT_POLICIES}\n@id("bad")\n@quorum("${q}")\npermit (principal, action == Action::"proposal.create", resource);\n`,
          },
        ]),
      ).toThrow(/@quorum/);
  });
});

// ---- a workflow gate on the embedded runtime: the critical change ----------------------------

describe('the ops change-control plan gate of a critical change (embedded runtime)', () => {
  let dir: string;
  let rt: Runtime;
  const op = operatorContext('quorum test');
  const who: Record<string, string> = {};

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-quorum-run-'));
    rt = await openRuntime(
      { ...configFromEnv({}), dataDir: dir },
      { clock: new ManualClock('2026-03-02T09:00:00.000Z', 1000), env: {} },
    );
    for (const [name, role] of [
      ['riley', 'change_manager'],
      ['morgan', 'change_manager'],
      ['casey', 'security'],
      ['sam', 'service_owner'],
    ] as const)
      who[name] = (await rt.kernel.registerActor(op, { name, role })).actor_id;
  }, 60_000);
  afterAll(async () => {
    await rt?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('needs a change manager AND security: two change managers leave it waiting on security', async () => {
    let run = await rt.engine.start(op, {
      definition: 'ops_change_control',
      idempotency_key: 'CHG-PCI-1',
      input: {
        change_request: {
          title: 'Add loyalty column to payments database',
          summary: 'Apply catalog migration 2.1.0 to the production payments database.',
          change_type: 'database_schema',
          requested_by: 'lee@example.com',
          ticket: 'CHG-PCI-1',
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
        requirements: { compliance: ['PCI-DSS', 'SOX'] },
        change_window: { start: '2026-03-02T22:00:00.000Z', end: '2026-03-02T23:30:00.000Z' },
        parameters: { database: 'production', migration_version: '2.1.0' },
      },
    });
    const risk = run.artifacts.risk as { risk_tier: string; summary: string };
    expect(risk.risk_tier).toBe('critical');
    expect(risk.summary).toContain('one from each of change_manager and security');
    const gate = () => run.waiting_on?.approval_id as string;
    const decide = async (as: string, decision: 'approve' | 'request_more_info') =>
      (run = (await rt.engine.decide(op, { approval_id: gate(), reviewer_id: who[as]!, decision }))
        .run);

    await decide('riley', 'approve'); // the risk review
    const plan = await rt.services.workflows.getApproval(op, gate());
    expect(plan.approval).toMatchObject({
      request_key: 'plan_approval#1',
      required_roles: ['change_manager', 'security'],
      role_quorum: { change_manager: 1, security: 1 },
    });
    expect(plan.missing).toEqual({ change_manager: 1, security: 1 });

    await decide('riley', 'approve');
    await decide('morgan', 'approve');
    expect(run).toMatchObject({ status: 'waiting', waiting_on: { approval_id: plan.approval.id } });
    expect((await rt.engine.status(op, run.workflow_id)).waiting_on).toMatchObject({
      kind: 'approval',
      approval_id: plan.approval.id,
      missing: { security: 1 },
    });
    const inbox = await rt.services.workflows.listPendingApprovals(op, { kind: 'gate' });
    expect(inbox).toEqual([expect.objectContaining({ id: gate(), missing: { security: 1 } })]);
    // A service owner is not one of the gate's roles.
    await expect(
      rt.engine.decide(op, { approval_id: gate(), reviewer_id: who.sam!, decision: 'approve' }),
    ).rejects.toMatchObject({ code: 'MISSING_ROLE' });

    // Security asks for more information: the plan goes back to be redrafted.
    await decide('casey', 'request_more_info');
    const second = await rt.services.workflows.getApproval(op, gate());
    expect(second.approval.request_key).toBe('plan_approval#2');
    expect(second.missing).toEqual({ change_manager: 1, security: 1 });

    await decide('morgan', 'approve');
    expect(run.waiting_on).toMatchObject({ approval_id: second.approval.id });
    await decide('casey', 'approve');
    expect(run).toMatchObject({ stage: 'plan_approved', waiting_on: { kind: 'time' } });
    expect(run.trace.filter((t) => t.gate === 'plan_approval').map((t) => t.decision)).toEqual([
      'approve',
      'approve',
      'request_more_info',
      'approve',
      'approve',
    ]);
  }, 60_000);
});

// ---- through the HTTP door ------------------------------------------------------------------

interface Body extends Record<string, unknown> {
  error: { code: string; message: string };
}

describe('quorums over HTTP (a real server, real fetch)', { timeout: 60_000 }, () => {
  let dir: string;
  let server: RunningServer;
  const tokens: Record<string, string> = {};
  const ids: Record<string, string> = {};

  async function call(token: string, method: string, url: string, body?: unknown) {
    const headers: Record<string, string> = {
      authorization: `Bearer ${tokens[token]}`,
      'x-purpose': 'quorum test',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${server.url}${url}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    expect(text).not.toMatch(/^\s{4}at /m);
    return { status: res.status, body: JSON.parse(text) as Body };
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-quorum-http-'));
    const policyDir = path.join(dir, 'policies');
    fs.mkdirSync(policyDir);
    fs.writeFileSync(
      path.join(policyDir, 'policies.cedar'),
      `${DEFAULT_POLICIES}

@id("pci-config-needs-change-manager-and-security")
@quorum("change_manager, security")
permit (principal, action == Action::"proposal.create", resource)
when { resource == Tool::"config_set" };
`,
    );
    server = await startServer(
      { ...configFromEnv({ COUNTERSIGN_POLICY_DIR: policyDir }), dataDir: path.join(dir, 'data') },
      { port: 0, host: '127.0.0.1', log: () => undefined },
    );
    tokens.operator = server.adminToken!;
    const op = operatorContext('tests');
    for (const [name, role, kind] of [
      ['agent', 'deployer', 'agent'],
      ['cm1', 'change_manager', 'human'],
      ['cm2', 'change_manager', 'human'],
      ['sec', 'security', 'human'],
    ] as const) {
      const { actor_id } = await server.kernel.registerActor(op, { name, role, kind });
      ids[name] = actor_id;
      tokens[name] = (await server.kernel.createToken(op, { actor_id, name })).token;
    }
    ids.workflow = (await server.kernel.startWorkflow(op, { title: 'PCI config' })).workflow_id;
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('an agent cannot mint the second reviewer a quorum needs, nor act as one', async () => {
    const p = await call('agent', 'POST', '/proposals', {
      workflow_id: ids.workflow,
      actor_id: ids.agent,
      tool: 'config_set',
      params: { service: 'payments', key: 'tls.min', value: '1.3' },
      reason: 'PCI-DSS hardening',
    });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({
      status: 'pending',
      role_quorum: { change_manager: 1, security: 1 },
    });
    const proposal = String(p.body.proposal_id);

    // Registering a "security" actor, or minting a token for one, is refused to an agent.
    const actor = await call('agent', 'POST', '/actors', { name: 'shadow', role: 'security' });
    expect(actor.status).toBe(403);
    expect(actor.body.error.code).toBe('POLICY_DENIED');
    for (const target of [ids.agent, ids.sec]) {
      const t = await call('agent', 'POST', '/tokens', { actor_id: target, name: 'mine' });
      expect(t.status, target).toBe(403);
      expect(t.body.error.code).toBe('POLICY_DENIED');
    }
    // Acting as the security reviewer with its own token, or deciding itself, is refused.
    const forged = await call('agent', 'POST', `/proposals/${proposal}/review`, {
      reviewer_id: ids.sec,
      decision: 'approve',
    });
    expect(forged.status).toBe(403);
    const own = await call('agent', 'POST', `/proposals/${proposal}/review`, {
      reviewer_id: ids.agent,
      decision: 'approve',
    });
    expect(own.status).toBe(403);
    // A change manager filling the security slot by naming the security reviewer: refused.
    const asOther = await call('cm1', 'POST', `/proposals/${proposal}/review`, {
      reviewer_id: ids.sec,
      decision: 'approve',
    });
    expect(asOther.status).toBe(403);

    for (const cm of ['cm1', 'cm2']) {
      const r = await call(cm, 'POST', `/proposals/${proposal}/review`, {
        reviewer_id: ids[cm],
        decision: 'approve',
      });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'pending', missing: { security: 1 } });
    }
    const again = await call('cm1', 'POST', `/proposals/${proposal}/review`, {
      reviewer_id: ids.cm1,
      decision: 'approve',
    });
    expect(again.status).toBe(409);

    const pending = await call('cm1', 'GET', '/reviews/pending');
    expect(pending.body.reviews).toEqual([
      expect.objectContaining({ proposal_id: proposal, missing: { security: 1 } }),
    ]);
    const inbox = await call('cm1', 'GET', '/approvals/pending');
    expect(inbox.body.approvals).toEqual([
      expect.objectContaining({ id: proposal, missing: { security: 1 } }),
    ]);
    const early = await call('agent', 'POST', `/proposals/${proposal}/execute`, {});
    expect(early.status).toBe(409);

    const sec = await call('sec', 'POST', `/proposals/${proposal}/review`, {
      reviewer_id: ids.sec,
      decision: 'approve',
    });
    expect(sec.body).toMatchObject({ status: 'approved', missing: {} });
  });

  it('a gate asked for with a role_quorum stays pending until every role has approved', async () => {
    const g = await call('agent', 'POST', '/approvals/request', {
      workflow_id: ids.workflow,
      request_key: 'pci-signoff',
      title: 'PCI-DSS sign-off',
      packet: { summary: 'quarterly scope change' },
      role_quorum: { change_manager: 1, security: 1 },
    });
    expect(g.status).toBe(200);
    expect(g.body).toMatchObject({
      required_approvals: 2,
      required_roles: ['change_manager', 'security'],
      role_quorum: { change_manager: 1, security: 1 },
    });
    const gate = String(g.body.id);
    // The agent (its requester) is refused at the HTTP door.
    const own = await call('agent', 'POST', `/approvals/${gate}/decision`, {
      reviewer_id: ids.agent,
      decision: 'approve',
    });
    expect(own.status).toBe(403);
    // A gate outside a run is decided in-process here (the door's answer carries a run).
    const op = operatorContext('quorum test');
    const decide = async (who: string) =>
      (
        await server.services.workflows.decideApproval(op, {
          approval_id: gate,
          reviewer_id: ids[who]!,
          decision: 'approve',
        })
      ).approval.status;
    expect(await decide('cm1')).toBe('pending');
    expect(await decide('cm2')).toBe('pending');
    expect((await call('cm1', 'GET', `/approvals/${gate}`)).body).toMatchObject({
      missing: { security: 1 },
    });
    const inbox = await call('sec', 'GET', '/approvals/pending');
    expect(inbox.body.approvals).toEqual([
      expect.objectContaining({ id: gate, kind: 'gate', missing: { security: 1 } }),
    ]);
    expect(await decide('sec')).toBe('approved');
    expect((await call('cm1', 'GET', `/approvals/${gate}`)).body.missing).toEqual({});

    const bad = await call('agent', 'POST', '/approvals/request', {
      workflow_id: ids.workflow,
      request_key: 'bad',
      title: 'bad',
      packet: {},
      role_quorum: { security: 0 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
  });
});

// ---- the CLI (run `npm run build` first: it spawns bin/countersign.js) -----------------------

describe('countersign approvals (the binary)', () => {
  it('asks for a gate with --quorum and prints what it needs', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-quorum-cli-'));
    const cli = (...args: string[]) =>
      execFileSync(process.execPath, [path.resolve('bin/countersign.js'), '-d', dir, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, COUNTERSIGN_DATA_DIR: '' },
      });
    try {
      cli('workflow', 'start', '--title', 'PCI-DSS scope change');
      const asked = cli(
        ...['approvals', 'request', '--workflow', 'workflow_1', '--key', 'pci'],
        ...['--title', 'PCI sign-off', '--quorum', 'change_manager, security:2'],
      );
      expect(asked).toContain('required_approvals: 3');
      expect(cli('approvals', 'pending')).toContain('needs: change_manager, 2 × security');
      let refused = '';
      try {
        cli(
          ...['approvals', 'request', '--workflow', 'workflow_1', '--key', 'bad'],
          '--title',
          'x',
          '--quorum',
          'security:0',
        );
      } catch (e) {
        refused = String((e as { stderr?: string }).stderr);
      }
      expect(refused).toContain('VALIDATION_FAILED');
      expect(refused).not.toMatch(/^\s{4}at /m);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
