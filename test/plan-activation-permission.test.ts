/**
 * Who may activate an approved plan. Activation is its own policy action (`plan.activate`),
 * apart from starting runs (`workflow.start`), and who_am_i's `may` tells the console what to
 * offer from the server's own checks (token scope, then policy for the caller). Over real HTTP
 * and MCP over Streamable HTTP, with a real SQLite store and the real demo target: first with
 * the default policies, then on the same data directory restarted with a policy that keeps
 * activation to release managers while everyone still starts runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_DIR } from '../src/adapters/policy/cedar-policy-engine.js';
import { DemoTarget } from '../src/adapters/tools/demo-tools.js';
import { operatorContext } from '../src/core/context.js';
import type { PlanRead } from '../src/engine/plan-reads.js';
import { planHash } from '../src/engine/plan-reads.js';
import { activationKey } from '../src/engine/plan-activation.js';
import { type Runtime, openRuntime } from '../src/main/compose.js';
import { configFromEnv } from '../src/main/config.js';
import { buildHttpApp } from '../src/surfaces/http/app.js';
import { mcpRoute } from '../src/surfaces/http/mcp-route.js';
import { callTool, fails } from './support/mcp-client.js';
import {
  TEST_PLAN,
  proposedPhase,
  savedPlan,
  startPlannerServer,
  testPlanDefinition,
} from './support/plan-fixture.js';

type Body = Record<string, unknown>;
interface RunView {
  workflow_id: string;
  definition: string;
  status: string;
  waiting_on: { approval_id?: string } | null;
}

const READS: PlanRead[] = [{ tool: 'list_tables', params: { database: 'production' } }];
const PHASE = proposedPhase(
  'p1',
  'Back up production',
  [{ tool: 'database_backup', params: { database: 'production', backup_type: 'full' } }],
  ['a full backup of production exists'],
);
/** The policy added to the defaults on restart: only release managers (and the operator) activate. */
const RELEASE_MANAGERS_ACTIVATE = `
@id("release-managers-activate-plans")
forbid (principal, action == Action::"plan.activate", resource)
unless { principal.kind == "operator" || principal.roles.contains("release_manager") };
`;
const ALL = [
  'start_workflow_run',
  'activate_plan',
  'register_actor',
  'set_actor_role',
  'set_policy',
  'create_token',
];

let dir: string;
let rt: Runtime;
let app: FastifyInstance;
let base: string;
let planner: Awaited<ReturnType<typeof startPlannerServer>>;
const tokens: Record<string, string> = {};
const ids: Record<string, string> = {};
const op = operatorContext('activation permission test');

async function open(policyDir?: string) {
  rt = await openRuntime(
    {
      ...configFromEnv({}),
      dataDir: path.join(dir, 'data'),
      model: 'openai-compatible/planner',
      ...(policyDir ? { policyDir } : {}),
    },
    {
      env: { COUNTERSIGN_OPENAI_BASE_URL: planner.baseUrl, COUNTERSIGN_OPENAI_MODEL: 'planner' },
      definitions: [testPlanDefinition()],
    },
  );
  app = buildHttpApp(rt.services, { extraRoutes: mcpRoute(rt.services) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

async function close() {
  await app?.close();
  await rt?.close();
}

async function call(method: string, url: string, who: string, body?: unknown) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${tokens[who]}`,
      'x-purpose': 'activation permission test',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, text, body: (text ? JSON.parse(text) : {}) as Body };
}
const codeOf = (r: { body: Body }) => (r.body.error as { code: string } | undefined)?.code;
const mayOf = async (who: string) => {
  const me = await call('GET', '/me', who);
  expect(me.status, me.text).toBe(200);
  return me.body.may as string[];
};
const activations = async () =>
  (await rt.engine.list(op, { definition: 'plan_activation' })).map((r) => r.workflow_id);

/** A plan-only run started by alice and approved by bob. */
async function approvedPlan(key: string) {
  const saved = await savedPlan(rt.kernel.listTools(), key, [PHASE], READS);
  planner.put(saved);
  const started = await call('POST', '/workflows/start', 'alice', {
    definition: TEST_PLAN,
    input: { topic: key },
    idempotency_key: key,
  });
  expect(started.status, started.text).toBe(200);
  const run = started.body as unknown as RunView;
  const decided = await call('POST', `/approvals/${run.waiting_on!.approval_id}/decision`, 'bob', {
    reviewer_id: ids.bob,
    decision: 'approve',
  });
  expect(decided.status, decided.text).toBe(200);
  return { id: run.workflow_id, hash: planHash(saved.plan) };
}

async function mcpClient(who: string): Promise<Client> {
  const client = new Client({ name: `test-${who}`, version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: {
        headers: {
          Authorization: `Bearer ${tokens[who]}`,
          'X-Purpose': 'activation permission test',
        },
      },
    }),
  );
  return client;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-activation-permission-'));
  const target = new DemoTarget(path.join(dir, 'data'));
  target.database('production');
  target.close();
  planner = await startPlannerServer();
  await open();
  for (const [who, role] of [
    ['alice', 'engineer'],
    ['bob', 'change_manager'],
    ['rita', 'reviewer'],
    ['carol', 'release_manager'],
  ] as const) {
    ids[who] = (await rt.kernel.registerActor(op, { name: who, role })).actor_id;
    tokens[who] = (await rt.kernel.createToken(op, { actor_id: ids[who], name: who })).token;
  }
  tokens.operator = (await rt.kernel.createToken(op, { actor_id: 'operator', name: 'op' })).token;
  // carol's narrow token: she may activate, but this token was not given activate_plan.
  const narrow = await rt.kernel.createToken(op, {
    actor_id: ids.carol!,
    name: 'narrow',
    scope: ['who_am_i', 'start_workflow_run'],
  });
  tokens.carol_narrow = narrow.token;
}, 120_000);

afterAll(async () => {
  await close();
  await planner?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('activating a plan is its own permission', () => {
  it('by default, whoever may start runs may activate: may lists it, and the operator may all', async () => {
    for (const who of ['alice', 'rita', 'carol'])
      expect(await mayOf(who), who).toEqual(['start_workflow_run', 'activate_plan']);
    expect(await mayOf('operator')).toEqual(ALL);
    // A scope narrows may to what the token may call, whatever policy allows its actor.
    expect(await mayOf('carol_narrow')).toEqual(['start_workflow_run']);
    // The same answer over MCP: one operation, every door.
    const client = await mcpClient('alice');
    try {
      const me = await callTool(client, 'who_am_i', {});
      expect(me.structuredContent).toMatchObject({ may: ['start_workflow_run', 'activate_plan'] });
    } finally {
      await client.close();
    }
    // And the default still activates (alice, who asked for the plan).
    const plan = await approvedPlan('default-activates');
    const r = await call('POST', `/workflows/${plan.id}/activate`, 'alice', {});
    expect(r.status, r.text).toBe(200);
    expect((r.body as unknown as RunView).definition).toBe('plan_activation');
  }, 120_000);

  it('a policy may allow starting runs and forbid activation: may drops activate_plan and every door refuses it', async () => {
    // The operator changes policy: the defaults plus "only release managers activate".
    await close();
    const policyDir = path.join(dir, 'policies');
    fs.mkdirSync(policyDir);
    for (const f of fs.readdirSync(DEFAULT_POLICY_DIR))
      fs.copyFileSync(path.join(DEFAULT_POLICY_DIR, f), path.join(policyDir, f));
    fs.writeFileSync(path.join(policyDir, 'release-managers.cedar'), RELEASE_MANAGERS_ACTIVATE);
    await open(policyDir);

    expect(await mayOf('alice')).toEqual(['start_workflow_run']);
    expect(await mayOf('rita')).toEqual(['start_workflow_run']);
    expect(await mayOf('carol')).toEqual(['start_workflow_run', 'activate_plan']);
    expect(await mayOf('operator')).toEqual(ALL);

    // alice still starts runs (her plan run), and bob approves it.
    const plan = await approvedPlan('restricted');
    const before = await activations();

    // She is refused activation over HTTP and MCP, with the policy action named and no trace.
    const r = await call('POST', `/workflows/${plan.id}/activate`, 'alice', {
      plan_hash: plan.hash,
    });
    expect([r.status, codeOf(r)]).toEqual([403, 'POLICY_DENIED']);
    expect(r.text).toContain('plan.activate');
    expect(r.text).toContain('release-managers-activate-plans');
    expect(r.text).not.toContain('    at ');
    const client = await mcpClient('alice');
    try {
      fails(
        await callTool(client, 'activate_plan', { workflow_id: plan.id, plan_hash: plan.hash }),
        'POLICY_DENIED',
      );
    } finally {
      await client.close();
    }

    // Attacker: a reviewer, shown no button, calls the API directly: refused; and starting the
    // activation run around activate_plan, under the very ID activate_plan would use, is too.
    const direct = await call('POST', `/workflows/${plan.id}/activate`, 'rita', {});
    expect([direct.status, codeOf(direct)]).toEqual([403, 'POLICY_DENIED']);
    const around = await call('POST', '/workflows/start', 'rita', {
      definition: 'plan_activation',
      input: { plan_run_id: plan.id, plan_hash: plan.hash, tools: ['database_backup'] },
      idempotency_key: activationKey(plan.id, plan.hash),
    });
    expect([around.status, codeOf(around)]).toEqual([403, 'POLICY_DENIED']);
    expect(around.text).toContain('plan.activate');
    expect(await activations()).toEqual(before);

    // A release manager activates it.
    const ok = await call('POST', `/workflows/${plan.id}/activate`, 'carol', {
      plan_hash: plan.hash,
    });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body).toMatchObject({ definition: 'plan_activation', status: 'waiting' });
    expect(await activations()).toHaveLength(before.length + 1);
    // Asking again answers with that run, but only to those who may activate: policy is asked
    // before the plan is looked at.
    const again = await call('POST', `/workflows/${plan.id}/activate`, 'alice', {});
    expect([again.status, codeOf(again)]).toEqual([403, 'POLICY_DENIED']);
    const carolAgain = await call('POST', `/workflows/${plan.id}/activate`, 'carol', {});
    expect(carolAgain.status, carolAgain.text).toBe(200);
    expect(carolAgain.body.workflow_id).toBe(ok.body.workflow_id);
  }, 120_000);

  it('a token without activate_plan in its scope, or revoked, shrinks may and is refused', async () => {
    const plan = await approvedPlan('scoped');
    const narrow = await call('POST', `/workflows/${plan.id}/activate`, 'carol_narrow', {});
    expect([narrow.status, codeOf(narrow)]).toEqual([403, 'POLICY_DENIED']);
    expect(narrow.text).toContain('outside its scope');
    expect(await mayOf('carol_narrow')).toEqual(['start_workflow_run']);

    // carol's full token, revoked: it answers nothing, may included.
    const listed = await call('GET', '/tokens', 'operator');
    const full = (
      listed.body.tokens as { token_id: string; actor_id: string; name: string }[]
    ).find((t) => t.actor_id === ids.carol && t.name === 'carol')!;
    expect(await mayOf('carol')).toContain('activate_plan');
    const revoked = await call('DELETE', `/tokens/${full.token_id}`, 'operator');
    expect(revoked.status, revoked.text).toBe(200);
    const me = await call('GET', '/me', 'carol');
    expect([me.status, codeOf(me)]).toEqual([401, 'UNAUTHENTICATED']);
    const after = await call('POST', `/workflows/${plan.id}/activate`, 'carol', {});
    expect([after.status, codeOf(after)]).toEqual([401, 'UNAUTHENTICATED']);
  }, 120_000);
});
