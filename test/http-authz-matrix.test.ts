/**
 * Every route × every kind of caller × own and foreign-tenant objects, over real HTTP. Each cell
 * names the statuses it may answer; a 2xx anywhere it is not allowed, or any access to another
 * tenant's object, counts as a wrong access, and there must be none.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorContext } from '../src/core/context.js';
import type { Kernel } from '../src/core/kernel.js';
import { configFromEnv } from '../src/main/config.js';
import { type RunningServer, startServer } from '../src/main/serve.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { HTTP_STATUS } from '../src/surfaces/http/errors.js';
import { OPERATIONS, type Operation } from '../src/surfaces/operations.js';
import { TENANT_OPERATIONS } from '../src/core/console-schemas.js';
import { errorCode } from './support/mcp-client.js';

type Role = 'operator' | 'admin' | 'actor' | 'none' | 'foreign-admin' | 'foreign-operator';
type Target = 'own' | 'foreign';

interface Ids {
  /** The actor the caller acts as (or names, for the operator). */
  self: string;
  /** Another actor of the object's tenant. */
  other: string;
  workflow: string;
  /** A pending proposal someone else proposed. */
  pending: string;
  /** An approved proposal. */
  approved: string;
  /** Another approved proposal, for execute_parallel. */
  approved2: string;
  /** An actor that is the subject of create_token. */
  subject: string;
  /** A workflow run waiting at its risk gate, and that gate. */
  run: string;
  approval: string;
  /** Another waiting run, for cancel_workflow_run. */
  cancellable: string;
  /** A spare token the caller may revoke (its own, or any for the operator). */
  token: string;
  /** A booked work package, for the caller to read and hold. */
  wp: string;
}

interface Req {
  method: string;
  url: string;
  body?: unknown;
}

/** One valid request per operation, aimed at the given objects. */
const REQUESTS: Record<string, (ids: Ids) => Req> = {
  register_actor: () => ({
    method: 'POST',
    url: '/actors',
    body: { name: 'New', role: 'Developer' },
  }),
  // The subject's own role again (Alice is a Developer): allowed or not, nothing changes.
  set_actor_role: (i) => ({
    method: 'PUT',
    url: `/actors/${i.subject}/role`,
    body: { role: 'Developer' },
  }),
  start_workflow: () => ({ method: 'POST', url: '/workflows', body: { title: 'Matrix' } }),
  propose_action: (i) => ({
    method: 'POST',
    url: '/proposals',
    body: {
      workflow_id: i.workflow,
      actor_id: i.self,
      tool: 'update_status',
      params: { status: 'matrix' },
      reason: 'matrix',
    },
  }),
  review_action: (i) => ({
    method: 'POST',
    url: `/proposals/${i.pending}/review`,
    body: { reviewer_id: i.self, decision: 'approve' },
  }),
  revise_action: (i) => ({
    method: 'POST',
    url: `/proposals/${i.pending}/revise`,
    body: { actor_id: i.self, params: { status: 'revised' } },
  }),
  execute_action: (i) => ({ method: 'POST', url: `/proposals/${i.approved}/execute`, body: {} }),
  execute_parallel: (i) => ({
    method: 'POST',
    url: '/executions/parallel',
    body: {
      calls: [{ tool: 'update_status', params: { status: 'p' }, proposal_id: i.approved2 }],
    },
  }),
  get_audit_log: (i) => ({ method: 'GET', url: `/workflows/${i.workflow}/audit-log` }),
  set_policy: () => ({ method: 'PUT', url: '/policy', body: { dry_run: false } }),
  create_token: (i) => ({
    method: 'POST',
    url: '/tokens',
    body: { actor_id: i.subject, name: 'matrix' },
  }),
  revoke_token: (i) => ({ method: 'DELETE', url: `/tokens/${i.token}` }),
  list_tokens: () => ({ method: 'GET', url: '/tokens' }),
  get_workflow: (i) => ({ method: 'GET', url: `/workflows/${i.workflow}` }),
  get_proposal: (i) => ({ method: 'GET', url: `/proposals/${i.pending}` }),
  list_pending_reviews: (i) => ({
    method: 'GET',
    url: `/reviews/pending?workflow_id=${i.workflow}`,
  }),
  verify_audit: () => ({ method: 'GET', url: '/audit/verify' }),
  list_tools: () => ({ method: 'GET', url: '/tools' }),
  list_workflow_definitions: () => ({ method: 'GET', url: '/workflows/definitions' }),
  start_workflow_run: () => ({
    method: 'POST',
    url: '/workflows/start',
    body: { definition: 'ops_change_control', input: OPS_INPUT, idempotency_key: 'matrix' },
  }),
  get_workflow_status: (i) => ({ method: 'GET', url: `/workflows/${i.run}/status` }),
  list_workflow_runs: () => ({ method: 'GET', url: '/workflows/runs' }),
  cancel_workflow_run: (i) => ({
    method: 'POST',
    url: `/workflows/${i.cancellable}/cancel`,
    body: { reason: 'matrix' },
  }),
  request_approval: (i) => ({
    method: 'POST',
    url: '/approvals/request',
    // A key is one gate with one requester: each caller asks under its own key.
    body: {
      workflow_id: i.workflow,
      request_key: `matrix-${i.self}`,
      title: 'Matrix gate',
      packet: {},
    },
  }),
  decide_approval: (i) => ({
    method: 'POST',
    url: `/approvals/${i.approval}/decision`,
    body: { reviewer_id: i.self, decision: 'approve' },
  }),
  list_pending_approvals: (i) => ({
    method: 'GET',
    url: `/approvals/pending?workflow_id=${i.run}`,
  }),
  get_approval: (i) => ({ method: 'GET', url: `/approvals/${i.approval}` }),
  validate_trace: (i) => ({ method: 'GET', url: `/workflows/${i.run}/trace` }),
  activate_plan: (i) => ({ method: 'POST', url: `/workflows/${i.run}/activate`, body: {} }),
  add_document: () => ({
    method: 'POST',
    url: '/knowledge/documents',
    body: { title: 'Matrix runbook', body: 'Restart the matrix service.' },
  }),
  search_knowledge: () => ({ method: 'GET', url: '/knowledge/search?query=matrix' }),
  who_am_i: () => ({ method: 'GET', url: '/me' }),
  list_actors: () => ({ method: 'GET', url: '/actors' }),
  list_ledger: () => ({ method: 'GET', url: '/audit/ledger?limit=5' }),
  plan_action: (i) => ({ method: 'GET', url: `/proposals/${i.pending}/plan` }),
  // Decided already: answers at once.
  wait_for_decision: (i) => ({
    method: 'GET',
    url: `/decisions/wait?proposal_id=${i.approved}&timeout_seconds=1`,
  }),
  test_policy: (i) => ({
    method: 'POST',
    url: '/policy/test',
    body: {
      tool: 'update_status',
      params: { status: 'matrix' },
      proposer_id: i.other,
      workflow_id: i.workflow,
    },
  }),
  book_work_package: () => ({
    method: 'POST',
    url: '/work-packages',
    body: { spec: WP_SPEC },
  }),
  get_work_package: (i) => ({ method: 'GET', url: `/work-packages/${i.wp}` }),
  list_work_packages: () => ({ method: 'GET', url: '/work-packages?state=booked&limit=5' }),
  // A hold is a person's move, legal from booked: people may, the operator never moves.
  move_work_package: (i) => ({
    method: 'POST',
    url: `/work-packages/${i.wp}/moves`,
    body: { move: 'hold', reason: 'matrix' },
  }),
  replay_policy: () => ({
    method: 'POST',
    url: '/policy/replay',
    body: {
      candidate: [{ name: 'm.cedar', text: 'permit (principal, action, resource);' }],
      last: 5,
    },
  }),
};

const WP_SPEC = {
  title: 'Matrix package',
  objective: 'A package for the authorization matrix.',
  role: 'coder',
  owned_surfaces: ['src/**'],
  evidence_tier: 'source_trace' as const,
};

/** A booked work package of `tenant`, booked by its operator. */
async function bookedPackage(tenant: string): Promise<string> {
  return (await kernel.bookWorkPackage(operatorContext('matrix setup', tenant), { spec: WP_SPEC }))
    .id;
}

const OPS_INPUT = {
  change_request: {
    title: 'Matrix change',
    summary: 'A change for the authorization matrix.',
    change_type: 'configuration',
    requested_by: 'matrix',
  },
  impacted_systems: [{ name: 'matrix', criticality: 'low', environment: 'staging' }],
  requirements: { compliance: [] },
  change_window: { start: '2026-01-01T00:00:00Z', end: '2036-01-01T00:00:00Z' },
  parameters: { config_changes: [{ service: 'matrix', key: 'k', from: null, to: 'v' }] },
};

/** Operations that name no object of the tenant: a "foreign object" does not apply. */
const OBJECTLESS = new Set([
  'register_actor',
  'start_workflow',
  'set_policy',
  'verify_audit',
  'list_tools',
  'list_workflow_definitions',
  'start_workflow_run',
  'list_workflow_runs',
  'add_document',
  'search_knowledge',
  'who_am_i',
  'list_actors',
  'list_ledger',
  'list_tokens',
  'replay_policy',
  'book_work_package',
  'list_work_packages',
]);

const OK = [200];
const OK_OR_STATE = [200, 409];
const DENIED = [403];
/** The matrix's runs are no plans: activating one is refused once access is granted. */
const NOT_A_PLAN = [400];

/**
 * What each authenticated role may get on its own tenant's objects. The operator token
 * administers and never acts as an actor: whatever names an acting actor is denied to it.
 * Only the operator mints tokens, whatever an actor's role.
 */
const OWN: Record<string, Partial<Record<Role, number[]>>> = {
  register_actor: { operator: OK, admin: OK, actor: DENIED },
  set_actor_role: { operator: OK, admin: OK, actor: DENIED },
  start_workflow: { operator: OK, admin: OK, actor: OK },
  propose_action: { operator: DENIED, admin: OK, actor: OK },
  review_action: { operator: DENIED, admin: OK_OR_STATE, actor: OK_OR_STATE },
  // Only the proposer (bob, who has no token here) revises.
  revise_action: { operator: DENIED, admin: DENIED, actor: DENIED },
  execute_action: { operator: OK_OR_STATE, admin: OK_OR_STATE, actor: OK_OR_STATE },
  execute_parallel: { operator: OK, admin: OK, actor: OK },
  get_audit_log: { operator: OK, admin: OK, actor: OK },
  set_policy: { operator: OK, admin: OK, actor: DENIED },
  create_token: { operator: OK, admin: DENIED, actor: DENIED },
  revoke_token: { operator: OK, admin: OK, actor: OK },
  list_tokens: { operator: OK, admin: OK, actor: OK },
  get_workflow: { operator: OK, admin: OK, actor: OK },
  get_proposal: { operator: OK, admin: OK, actor: OK },
  list_pending_reviews: { operator: OK, admin: OK, actor: OK },
  verify_audit: { operator: OK, admin: OK, actor: OK },
  list_tools: { operator: OK, admin: OK, actor: OK },
  list_workflow_definitions: { operator: OK, admin: OK, actor: OK },
  start_workflow_run: { operator: OK, admin: OK, actor: OK },
  get_workflow_status: { operator: OK, admin: OK, actor: OK },
  list_workflow_runs: { operator: OK, admin: OK, actor: OK },
  cancel_workflow_run: { operator: OK, admin: OK, actor: DENIED },
  request_approval: { operator: OK, admin: OK, actor: OK },
  decide_approval: { operator: DENIED, admin: OK, actor: OK },
  list_pending_approvals: { operator: OK, admin: OK, actor: OK },
  get_approval: { operator: OK, admin: OK, actor: OK },
  validate_trace: { operator: OK, admin: OK, actor: OK },
  activate_plan: { operator: NOT_A_PLAN, admin: NOT_A_PLAN, actor: NOT_A_PLAN },
  add_document: { operator: OK, admin: OK, actor: DENIED },
  search_knowledge: { operator: OK, admin: OK, actor: OK },
  who_am_i: { operator: OK, admin: OK, actor: OK },
  list_actors: { operator: OK, admin: OK, actor: OK },
  list_ledger: { operator: OK, admin: OK, actor: OK },
  plan_action: { operator: OK, admin: OK, actor: OK },
  wait_for_decision: { operator: OK, admin: OK, actor: OK },
  // Trying policy is administering it: an actor (and so an agent) is refused.
  test_policy: { operator: OK, admin: OK, actor: DENIED },
  replay_policy: { operator: OK, admin: OK, actor: DENIED },
  // People and the operator book; every caller of the tenant reads. The callers here are
  // people (an agent's refusals are in work-package-doors.test.ts); the operator moves nothing.
  book_work_package: { operator: OK, admin: OK, actor: OK },
  get_work_package: { operator: OK, admin: OK, actor: OK },
  list_work_packages: { operator: OK, admin: OK, actor: OK },
  move_work_package: { operator: DENIED, admin: OK, actor: OK },
};

/** A run of ops change control waiting at its risk gate, started by the tenant's operator. */
async function waitingRun(tenant: string, key: string) {
  const ctx = operatorContext('matrix setup', tenant);
  const run = await server.services.engine.start(ctx, {
    definition: 'ops_change_control',
    input: OPS_INPUT,
    idempotency_key: key,
  });
  if (run.waiting_on?.kind !== 'approval') throw new Error(`${key} is not at a gate`);
  return { run: run.workflow_id, approval: run.waiting_on.approval_id as string };
}

let dir: string;
let server: RunningServer;
let kernel: Kernel;
const tokens = {} as Record<Role, string | null>;

/** Objects per role: each role gets its own pending and approved proposals. */
const own: Partial<Record<Role, Ids>> = {};
const ownMcp: Partial<Record<Role, Ids>> = {};
let foreignOfDefault: Ids; // objects in "globex", which no default-tenant ID reaches
let foreignOfAcme: Ids; // objects in "default", at IDs "acme" never reaches

async function send(role: Role, r: Req) {
  const headers: Record<string, string> = { 'x-purpose': 'authz matrix' };
  const token = tokens[role];
  if (token) headers.authorization = `Bearer ${token}`;
  if (r.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}${r.url}`, {
    method: r.method,
    headers,
    body: r.body === undefined ? undefined : JSON.stringify(r.body),
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as Record<string, unknown> };
}

/** A pending proposal by `proposer` and two that `approver` approved. */
async function proposals(tenant: string, workflow_id: string, proposer: string, approver: string) {
  const op = operatorContext('matrix setup', tenant);
  const propose = (status: string) =>
    kernel.proposeAction(op, {
      workflow_id,
      actor_id: proposer,
      tool: 'update_status',
      params: { status },
      reason: 'matrix setup',
    });
  const pending = (await propose('pending')).proposal_id;
  const approved: string[] = [];
  for (const s of ['a', 'b']) {
    const p = await propose(s);
    await kernel.reviewAction(op, {
      proposal_id: p.proposal_id,
      reviewer_id: approver,
      decision: 'approve',
    });
    approved.push(p.proposal_id);
  }
  return { pending, approved: approved[0]!, approved2: approved[1]! };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-http-authz-'));
  server = await startServer({ ...configFromEnv({}), dataDir: dir }, { port: 0 });
  kernel = server.kernel;
  tokens.operator = server.adminToken;
  tokens.none = null;

  // Tenant "default": alice (plain), bob (proposer), carol (approver), ada (admin); ten workflows.
  const op = operatorContext('matrix setup');
  const reg = async (name: string, role: string, tenant = 'default') =>
    (await kernel.registerActor(operatorContext('matrix setup', tenant), { name, role })).actor_id;
  const alice = await reg('Alice', 'Developer');
  const bob = await reg('Bob', 'Developer');
  const carol = await reg('Carol', 'Senior Developer');
  const ada = await reg('Ada', 'admin');
  tokens.actor = (await kernel.createToken(op, { actor_id: alice, name: 'alice' })).token;
  tokens.admin = (await kernel.createToken(op, { actor_id: ada, name: 'ada' })).token;
  const spare = async (actor_id: string) =>
    (await kernel.createToken(op, { actor_id, name: 'spare' })).token_id;
  const workflows: string[] = [];
  for (let i = 0; i < 10; i++)
    workflows.push((await kernel.startWorkflow(op, { title: `W${i}` })).workflow_id);
  // The operator names carol: she may review bob's calls, and is not their proposer.
  // Each door (HTTP, MCP over HTTP) gets objects of its own, so one's writes leave the
  // other's cells as they were.
  for (const [objects, door] of [
    [own, 'http'],
    [ownMcp, 'mcp'],
  ] as const) {
    for (const [role, self] of [
      ['operator', carol],
      ['admin', ada],
      ['actor', alice],
    ] as const) {
      const p = await proposals('default', workflows[0]!, bob, carol);
      const gate = await waitingRun('default', `own-${role}-${door}`);
      const cancellable = (await waitingRun('default', `cancel-${role}-${door}`)).run;
      objects[role] = {
        self,
        other: bob,
        workflow: workflows[0]!,
        subject: alice,
        ...p,
        ...gate,
        cancellable,
        token: await spare(role === 'operator' ? bob : self),
        wp: await bookedPackage('default'),
      };
    }
  }

  // Tenant "globex": twenty of everything, so its high IDs exist nowhere else.
  const g = operatorContext('matrix setup', 'globex');
  for (let i = 0; i < 30; i++) await reg(`G${i}`, 'Developer', 'globex');
  let gw = '';
  for (let i = 0; i < 30; i++) gw = (await kernel.startWorkflow(g, { title: `G${i}` })).workflow_id;
  let gp = '';
  // Runs deciding their gates propose plan calls, so default-tenant proposal IDs climb fast.
  for (let i = 0; i < 80; i++)
    gp = (
      await kernel.proposeAction(g, {
        workflow_id: gw,
        actor_id: 'actor_1',
        tool: 'update_status',
        params: { status: `g${i}` },
        reason: 'r',
      })
    ).proposal_id;
  for (const proposal_id of ['proposal_77', 'proposal_78'])
    await kernel.reviewAction(g, { proposal_id, reviewer_id: 'actor_2', decision: 'approve' });
  const globexGate = await waitingRun('globex', 'foreign');
  let globexWp = '';
  for (let i = 0; i < 30; i++) globexWp = await bookedPackage('globex');
  let globexToken = '';
  for (let i = 0; i < 30; i++)
    globexToken = (await kernel.createToken(g, { actor_id: 'actor_1', name: `g${i}` })).token_id;
  for (let i = 0; i < 30; i++)
    await server.services.workflows.requestApproval(g, {
      workflow_id: gw,
      request_key: `g${i}`,
      title: 'globex gate',
      packet: {},
    });
  foreignOfDefault = {
    self: 'actor_1',
    other: 'actor_2',
    workflow: gw,
    pending: gp,
    approved: 'proposal_77',
    approved2: 'proposal_78',
    subject: 'actor_30',
    run: globexGate.run,
    // Default-tenant approval IDs stay well below 31 throughout the matrix.
    approval: 'approval_31',
    cancellable: (await waitingRun('globex', 'foreign-cancel')).run,
    token: globexToken,
    wp: globexWp,
  };
  // Default-tenant IDs stay well below these throughout the matrix.
  expect([gw, gp, globexToken, globexWp]).toEqual([
    'workflow_30',
    'proposal_80',
    'token_30',
    'wp_30',
  ]);

  // Tenant "acme": an admin actor and an operator token; it targets default's high IDs.
  const mallory = await reg('Mallory', 'admin', 'acme');
  const acmeOp = operatorContext('matrix setup', 'acme');
  tokens['foreign-admin'] = (
    await kernel.createToken(acmeOp, { actor_id: mallory, name: 'm' })
  ).token;
  tokens['foreign-operator'] = (
    await kernel.createToken(acmeOp, { actor_id: 'operator', name: 'acme-admin' })
  ).token;
  const defaults = await proposals('default', workflows[9]!, bob, carol);
  foreignOfAcme = {
    self: mallory,
    other: mallory,
    workflow: workflows[9]!,
    subject: ada, // actor_4: acme registers at most three actors
    ...defaults,
    ...(await waitingRun('default', 'target-of-acme')),
    cancellable: (await waitingRun('default', 'target-of-acme-cancel')).run,
    token: await spare(alice), // token_6 and up: acme mints two
    wp: await bookedPackage('default'), // acme books none
  };
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Cell {
  op: string;
  role: Role;
  target: Target | 'impersonate';
  status: number;
  expected: number[];
  text: string;
}

describe('authorization matrix over HTTP', () => {
  it('gives every route × role × object its expected status, with zero wrong accesses', async () => {
    const cells: Cell[] = [];
    const ledger = async (tenant: string) =>
      (await kernel.verifyAudit(operatorContext('matrix', tenant))).events;

    // 1. The default tenant's own callers, and no token at all.
    for (const role of ['operator', 'admin', 'actor', 'none'] as const) {
      for (const o of OPERATIONS) {
        const build = REQUESTS[o.name]!;
        const targets: Target[] = OBJECTLESS.has(o.name) ? ['own'] : ['own', 'foreign'];
        for (const target of targets) {
          const ids = target === 'own' ? own[role === 'none' ? 'actor' : role]! : foreignOfDefault;
          // Against a foreign tenant the caller still names itself.
          const named =
            target === 'foreign'
              ? { ...ids, self: own[role === 'none' ? 'actor' : role]!.self }
              : ids;
          const r = await send(role, build(named));
          // A foreign object is never found; a role denied the operation may be denied first.
          const mine = role === 'none' ? [] : OWN[o.name]![role]!;
          const expected =
            role === 'none'
              ? [401]
              : target === 'foreign'
                ? mine.includes(403)
                  ? [403, 404]
                  : [404]
                : mine;
          cells.push({ op: o.name, role, target, status: r.status, expected, text: r.text });
        }
      }
    }

    // 2. Actors naming someone else in an actor field.
    for (const role of ['admin', 'actor'] as const) {
      for (const o of OPERATIONS.filter((x) => x.actorFields.length > 0)) {
        const ids = own[role]!;
        const req =
          o.name === 'execute_parallel'
            ? {
                method: 'POST',
                url: '/executions/parallel',
                body: {
                  calls: [{ tool: 'update_status', params: { status: 'x' } }],
                  workflow_id: ids.workflow,
                  actor_id: ids.other,
                },
              }
            : REQUESTS[o.name]!({ ...ids, self: ids.other });
        const r = await send(role, req);
        cells.push({
          op: o.name,
          role,
          target: 'impersonate',
          status: r.status,
          expected: DENIED,
          text: r.text,
        });
      }
    }
    const escalate = await send('admin', {
      method: 'POST',
      url: '/tokens',
      body: { actor_id: 'operator', name: 'escalate' },
    });
    cells.push({
      op: 'create_token',
      role: 'admin',
      target: 'impersonate',
      status: escalate.status,
      expected: DENIED,
      text: escalate.text,
    });

    // 3. Another tenant's administrators against the default tenant's objects: never found,
    //    and the default tenant's ledger does not move.
    const defaultBefore = await ledger('default');
    for (const role of ['foreign-admin', 'foreign-operator'] as const) {
      for (const o of OPERATIONS.filter((x) => !OBJECTLESS.has(x.name))) {
        const r = await send(role, REQUESTS[o.name]!(foreignOfAcme));
        // Denied to that kind of caller anywhere (403 before any lookup), or never found.
        const kind = role === 'foreign-admin' ? 'admin' : 'operator';
        cells.push({
          op: o.name,
          role,
          target: 'foreign',
          status: r.status,
          expected: OWN[o.name]![kind]!.includes(403) ? [403, 404] : [404],
          text: r.text,
        });
      }
    }
    expect(await ledger('default')).toBe(defaultBefore);

    // A 2xx is only right where it is expected; on a foreign object it may only be an answer
    // that reveals and runs nothing (a filter that matches nothing, a call refused as not found).
    const leaks = (c: Cell): boolean => {
      if (c.status < 200 || c.status >= 300) return false;
      if (c.target !== 'foreign') return !c.expected.includes(c.status);
      const body = JSON.parse(c.text) as Record<string, unknown>;
      if (c.op === 'list_pending_reviews') return (body.reviews as unknown[]).length !== 0;
      if (c.op === 'list_pending_approvals') return (body.approvals as unknown[]).length !== 0;
      if (c.op === 'execute_parallel')
        return !(body.results as { status: string; error: { code: string } | null }[]).every(
          (x) => x.status === 'refused' && x.error?.code === 'NOT_FOUND',
        );
      return true;
    };
    const wrong = cells.filter(leaks);
    expect(wrong.map((c) => `${c.role} ${c.op} ${c.target}: ${c.status} ${c.text}`)).toEqual([]);

    // The harmless foreign 2xx answers above are the only departures from the table.
    const tolerated = (c: Cell) =>
      c.target === 'foreign' &&
      c.status === 200 &&
      ['list_pending_reviews', 'list_pending_approvals', 'execute_parallel'].includes(c.op);
    const mismatched = cells.filter((c) => !c.expected.includes(c.status) && !tolerated(c));
    expect(mismatched.map((c) => `${c.role} ${c.op} ${c.target}: ${c.status} ${c.text}`)).toEqual(
      [],
    );
    expect(cells.every((c) => c.status < 500)).toBe(true);
    expect(cells.length).toBeGreaterThan(100);
  });
  it('answers the same over MCP over HTTP: every tool × token × object, the operator acting as nobody', async () => {
    const cells: Cell[] = [];
    const clients: Client[] = [];
    const clientFor = async (role: Role) => {
      const client = new Client({ name: `matrix-${role}`, version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
          requestInit: { headers: { Authorization: `Bearer ${tokens[role]}` } },
        }),
      );
      clients.push(client);
      return client;
    };
    try {
      for (const role of ['operator', 'admin', 'actor'] as const) {
        const client = await clientFor(role);
        for (const o of OPERATIONS) {
          const targets: Target[] = OBJECTLESS.has(o.name) ? ['own'] : ['own', 'foreign'];
          for (const target of targets) {
            const ids =
              target === 'own' ? ownMcp[role]! : { ...foreignOfDefault, self: ownMcp[role]!.self };
            const result = (await client.callTool({
              name: o.name,
              arguments: argsOf(o, REQUESTS[o.name]!(ids)),
            })) as CallToolResult;
            const code = errorCode(result);
            const status = result.isError ? (code ? HTTP_STATUS[code as never] : 0) : 200;
            const mine = OWN[o.name]![role]!;
            const expected =
              target === 'foreign' ? (mine.includes(403) ? [403, 404] : [404]) : mine;
            const text = JSON.stringify(result.structuredContent ?? result.content);
            cells.push({ op: o.name, role, target, status, expected, text });
          }
        }
      }
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
    const tolerated = (c: Cell) =>
      c.target === 'foreign' &&
      c.status === 200 &&
      ['list_pending_reviews', 'list_pending_approvals', 'execute_parallel'].includes(c.op) &&
      !/"status":"(succeeded|pending)"|"proposal_id":"proposal_\d+","tool"/.test(c.text);
    const mismatched = cells.filter((c) => !c.expected.includes(c.status) && !tolerated(c));
    expect(mismatched.map((c) => `${c.role} ${c.op} ${c.target}: ${c.status} ${c.text}`)).toEqual(
      [],
    );
    // The operator token named carol in every actor field, through every such tool: refused.
    const operatorActs = cells.filter(
      (c) =>
        c.role === 'operator' &&
        c.target === 'own' &&
        OPERATIONS.find((o) => o.name === c.op)!.actorFields.length > 0 &&
        c.op !== 'execute_parallel',
    );
    expect(operatorActs.length).toBeGreaterThanOrEqual(4);
    expect(
      operatorActs.every((c) => c.status === 403 && c.text.includes('never acts as an actor')),
    ).toBe(true);
    expect(cells.length).toBeGreaterThan(60);
  });

  it("says in who_am_i's may exactly the tenant-level operations the table lets each role call", async () => {
    for (const role of ['operator', 'admin', 'actor', 'foreign-admin'] as const) {
      const me = await send(role, REQUESTS.who_am_i!(own.actor!));
      expect(me.status, me.text).toBe(200);
      // What the doors answered above, per the table: a 403 is "may not"; anything else is "may".
      const kind = role === 'foreign-admin' ? 'admin' : role;
      const allowed = TENANT_OPERATIONS.filter((o) => !OWN[o]![kind]!.includes(403));
      expect([role, me.body.may]).toEqual([role, allowed]);
    }
  });
});

/** The MCP arguments of an HTTP request: path parameters, query parameters and the body. */
function argsOf(op: Operation, req: Req): Record<string, unknown> {
  const url = new URL(req.url, 'http://matrix');
  const names = [...op.http.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const match = new RegExp(`^${op.http.path.replace(/\{\w+\}/g, '([^/]+)')}$`).exec(url.pathname);
  if (!match) throw new Error(`${req.url} is not ${op.http.path}`);
  const args: Record<string, unknown> = {};
  names.forEach((n, i) => (args[n] = decodeURIComponent(match[i + 1]!)));
  for (const [k, v] of url.searchParams) args[k] = /^\d+$/.test(v) ? Number(v) : v;
  return {
    ...args,
    ...((req.body as Record<string, unknown> | undefined) ?? {}),
    purpose: 'authz matrix',
  };
}
