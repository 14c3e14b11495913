/**
 * Changing an actor's role: who may (the operator and admins, never the actor itself, never an
 * agent or a plain reviewer), what it leaves behind (an ACTOR_ROLE_CHANGED event), and what it
 * must not do: fill a quorum slot after the fact. An approval counts with the role its reviewer
 * held when deciding, on proposals and on workflow gates. Real SQLite files and a real server.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CedarPolicyEngine } from '../src/adapters/policy/cedar-policy-engine.js';
import { operatorContext } from '../src/core/context.js';
import { listActors, listLedger } from '../src/core/console-reads.js';
import type { Kernel } from '../src/core/kernel.js';
import { configFromEnv } from '../src/main/config.js';
import { type RunningServer, startServer } from '../src/main/serve.js';
import { STORES, ctx, expectCode, kernelOn } from './support/kernel-fixture.js';

const DEFAULT_POLICIES = fs.readFileSync(path.resolve('policies/default/policies.cedar'), 'utf8');
const QUORUM_POLICIES = `${DEFAULT_POLICIES}

@id("pci-writes-need-change-manager-and-security")
@quorum("change_manager, security")
permit (principal, action == Action::"proposal.create", resource)
when { resource == Tool::"write_record" };
`;

describe('set_actor_role (kernel, SQLite file)', () => {
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
    ] as const)
      id[name] = (await kernel.registerActor(ctx, { name, role, kind })).actor_id;
    id.workflow = (await kernel.startWorkflow(ctx, { title: 'PCI-DSS change' })).workflow_id;
  });
  afterEach(async () => cleanup());

  it('changes the role, records who changed it, and the next decision uses the new role', async () => {
    const out = await kernel.setActorRole(ctx, { actor_id: id.cm2!, role: 'security' });
    expect(out).toEqual({
      actor_id: id.cm2,
      name: 'cm2',
      kind: 'human',
      role: 'security',
      previous_role: 'change_manager',
    });
    const log = await listLedger(kernel, ctx, {});
    const changed = log.entries.filter((e) => e.type === 'ACTOR_ROLE_CHANGED');
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({
      actor: 'operator',
      data: { actor_id: id.cm2, from: 'change_manager', to: 'security' },
    });
    // Setting the role it already has changes nothing and records nothing.
    await kernel.setActorRole(ctx, { actor_id: id.cm2!, role: 'security' });
    const again = await listLedger(kernel, ctx, {});
    expect(again.entries.filter((e) => e.type === 'ACTOR_ROLE_CHANGED')).toHaveLength(1);

    const p = await kernel.proposeAction(ctx, {
      workflow_id: id.workflow!,
      actor_id: id.deployer!,
      tool: 'write_record',
      params: { table: 'cards' },
      reason: 'cardholder table change',
    });
    await kernel.reviewAction(ctx, {
      proposal_id: p.proposal_id,
      reviewer_id: id.cm1!,
      decision: 'approve',
    });
    expect(
      await kernel.reviewAction(ctx, {
        proposal_id: p.proposal_id,
        reviewer_id: id.cm2!,
        decision: 'approve',
      }),
    ).toMatchObject({ status: 'approved', missing: {} });
  });

  it('an approval keeps the role it was given with: a later change fills no slot', async () => {
    const p = await kernel.proposeAction(ctx, {
      workflow_id: id.workflow!,
      actor_id: id.deployer!,
      tool: 'write_record',
      params: { table: 'cards' },
      reason: 'cardholder table change',
    });
    await kernel.reviewAction(ctx, {
      proposal_id: p.proposal_id,
      reviewer_id: id.cm1!,
      decision: 'approve',
    });
    // cm1 approved as a change manager; making them security now must not turn that approval
    // into the security sign-off (with current roles it would, and cm2 would complete it).
    await kernel.setActorRole(ctx, { actor_id: id.cm1!, role: 'security' });
    expect(
      await kernel.reviewAction(ctx, {
        proposal_id: p.proposal_id,
        reviewer_id: id.cm2!,
        decision: 'approve',
      }),
    ).toMatchObject({ status: 'pending', missing: { security: 1 } });
    await expectCode(kernel.executeAction(ctx, { proposal_id: p.proposal_id }), 'REVIEW_REQUIRED');
    const shown = await kernel.getProposal(ctx, { proposal_id: p.proposal_id });
    expect(shown.decisions.map((d) => [d.reviewer_id, d.reviewer_role])).toEqual([
      [id.cm1, 'change_manager'],
      [id.cm2, 'change_manager'],
    ]);
    expect(
      await kernel.reviewAction(ctx, {
        proposal_id: p.proposal_id,
        reviewer_id: id.sec1!,
        decision: 'approve',
      }),
    ).toMatchObject({ status: 'approved' });
  });

  it('bad input: an unknown actor is NOT_FOUND, an empty role VALIDATION_FAILED, nothing changes', async () => {
    await expectCode(kernel.setActorRole(ctx, { actor_id: 'actor_999', role: 'x' }), 'NOT_FOUND');
    await expectCode(
      kernel.setActorRole(ctx, { actor_id: id.cm1!, role: '' }),
      'VALIDATION_FAILED',
    );
    await expectCode(
      kernel.setActorRole(ctx, { actor_id: id.cm1!, role: 'x', kind: 'agent' } as never),
      'VALIDATION_FAILED',
    );
    const { actors } = await listActors(kernel, ctx, {});
    expect(actors.find((a) => a.actor_id === id.cm1)?.role).toBe('change_manager');
    const log = await listLedger(kernel, ctx, {});
    expect(log.entries.some((e) => e.type === 'ACTOR_ROLE_CHANGED')).toBe(false);
  });
});

interface Body extends Record<string, unknown> {
  error: { code: string; message: string };
}

describe('set_actor_role over HTTP and MCP (a real server)', { timeout: 60_000 }, () => {
  let dir: string;
  let server: RunningServer;
  const tokens: Record<string, string> = {};
  const ids: Record<string, string> = {};

  async function call(token: string, method: string, url: string, body?: unknown) {
    const headers: Record<string, string> = {
      authorization: `Bearer ${tokens[token]}`,
      'x-purpose': 'role test',
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
  const roleOf = async (actor: string) => {
    const r = await call('operator', 'GET', '/actors');
    return (r.body.actors as { actor_id: string; role: string }[]).find((a) => a.actor_id === actor)
      ?.role;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-roles-http-'));
    server = await startServer(
      { ...configFromEnv({}), dataDir: path.join(dir, 'data') },
      { port: 0, host: '127.0.0.1', log: () => undefined },
    );
    tokens.operator = server.adminToken!;
    const op = operatorContext('tests');
    for (const [name, role, kind] of [
      ['admin', 'admin', 'human'],
      ['admin2', 'admin', 'human'],
      ['reviewer', 'change_manager', 'human'],
      ['agent', 'deployer', 'agent'],
    ] as const) {
      const { actor_id } = await server.kernel.registerActor(op, { name, role, kind });
      ids[name] = actor_id;
      tokens[name] = (await server.kernel.createToken(op, { actor_id, name })).token;
    }
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('nobody changes their own role, not even an admin', async () => {
    const self = await call('reviewer', 'PUT', `/actors/${ids.reviewer}/role`, {
      role: 'security',
    });
    expect(self.status).toBe(403);
    const adminSelf = await call('admin', 'PUT', `/actors/${ids.admin}/role`, { role: 'security' });
    expect(adminSelf.status).toBe(403);
    expect(adminSelf.body.error.code).toBe('SELF_APPROVAL');
    expect(await roleOf(ids.admin!)).toBe('admin');
    expect(await roleOf(ids.reviewer!)).toBe('change_manager');
  });

  it('a reviewer or an agent cannot change anyone’s role; an admin and the operator can', async () => {
    for (const who of ['reviewer', 'agent']) {
      const r = await call(who, 'PUT', `/actors/${ids.admin2}/role`, { role: 'viewer' });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('POLICY_DENIED');
    }
    expect(await roleOf(ids.admin2!)).toBe('admin');
    const byAdmin = await call('admin', 'PUT', `/actors/${ids.reviewer}/role`, {
      role: 'security',
    });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body).toMatchObject({ role: 'security', previous_role: 'change_manager' });
    const byOperator = await call('operator', 'PUT', `/actors/${ids.reviewer}/role`, {
      role: 'change_manager',
    });
    expect(byOperator.status).toBe(200);
    expect(await roleOf(ids.reviewer!)).toBe('change_manager');
  });

  it('bad input is a 4xx with a stable code', async () => {
    const missing = await call('operator', 'PUT', `/actors/actor_999/role`, { role: 'x' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
    const empty = await call('operator', 'PUT', `/actors/${ids.reviewer}/role`, { role: '' });
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe('VALIDATION_FAILED');
    const kind = await call('operator', 'PUT', `/actors/${ids.agent}/role`, {
      role: 'reviewer',
      kind: 'human',
    });
    expect(kind.status).toBe(400);
  });
});
