/**
 * Activating an approved plan, on the embedded runtime over real HTTP (and MCP over Streamable
 * HTTP), with a real SQLite store and the real demo target: a plan-only run saves a plan whose
 * reads are the demo read tools; activate_plan refuses what is not an approved, fresh plan with
 * nothing written, and runs an approved one phase by phase, each at its own human gate, changing
 * the demo database for real; drift before activation or between phases is PLAN_STALE.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoTarget } from '../src/adapters/tools/demo-tools.js';
import { type CallContext, operatorContext, tokenContext } from '../src/core/context.js';
import { isCountersignError } from '../src/core/errors.js';
import type { PlanCheck } from '../src/engine/plan-checks.js';
import type { PlanRead } from '../src/engine/plan-reads.js';
import { planHash } from '../src/engine/plan-reads.js';
import { type Runtime, openRuntime } from '../src/main/compose.js';
import { configFromEnv } from '../src/main/config.js';
import { buildHttpApp } from '../src/surfaces/http/app.js';
import { createMcpHttpHandler } from '../src/surfaces/mcp/streamable-http.js';
import { callTool, fails, ok } from './support/mcp-client.js';
import {
  TEST_PLAN,
  blockedPhase,
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
  stage: string;
  waiting_on: { approval_id?: string } | null;
  context: Body;
  artifacts: Record<string, Body>;
  trace: Body[];
  error: { step_id: string; reason: string } | null;
}

let dir: string;
let rt: Runtime;
let app: FastifyInstance;
let base: string;
let planner: Awaited<ReturnType<typeof startPlannerServer>>;
let mcpServer: http.Server;
const tokens: Record<string, string> = {};
const ids: Record<string, string> = {};
const op = operatorContext('plan activation test');

const READS: PlanRead[] = [
  { tool: 'list_tables', params: { database: 'production' } },
  { tool: 'get_table_schema', params: { database: 'production', table: 'users' } },
  { tool: 'read_row_counts', params: { database: 'production' } },
];
const dbFile = () => path.join(dir, 'demo-target', 'production.sqlite');
const columns = () => {
  const db = new Database(dbFile(), { readonly: true });
  try {
    return (
      db.prepare('SELECT name FROM pragma_table_info(?)').all('users') as { name: string }[]
    ).map((c) => c.name);
  } finally {
    db.close();
  }
};
/** Drift made by someone else: rows inserted into the demo database outside Countersign. */
const insertUser = (email: string) => {
  const db = new Database(dbFile());
  try {
    db.prepare('INSERT INTO users (email, created_at) VALUES (?, ?)').run(email, '2026-02-01');
  } finally {
    db.close();
  }
};

async function call(
  method: string,
  url: string,
  who: string,
  body?: unknown,
): Promise<{ status: number; body: Body }> {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${tokens[who]}`,
      'x-purpose': 'plan activation test',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Body) : {} };
}
const codeOf = (r: { body: Body }) => (r.body.error as { code: string } | undefined)?.code;
const asRun = (r: { body: Body }) => r.body as unknown as RunView;

const status = async (id: string) => asRun(await call('GET', `/workflows/${id}/status`, 'alice'));

async function decide(who: string, approval_id: string, decision = 'approve') {
  return call('POST', `/approvals/${approval_id}/decision`, who, {
    reviewer_id: ids[who],
    decision,
    comment: `${decision} by ${who}`,
  });
}

/** A plan-only run started by alice; approved by bob unless told otherwise. */
async function makePlan(
  key: string,
  phases: Parameters<typeof savedPlan>[2],
  outcome: 'approve' | 'reject' | 'wait' = 'approve',
) {
  const saved = await savedPlan(rt.kernel.listTools(), key, phases, READS);
  planner.put(saved);
  const started = await call('POST', '/workflows/start', 'alice', {
    definition: TEST_PLAN,
    input: { topic: key },
    idempotency_key: key,
  });
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  const run = asRun(started);
  expect(run.status).toBe('waiting');
  if (outcome !== 'wait') {
    const d = await decide('bob', run.waiting_on!.approval_id!, outcome);
    expect(d.status, JSON.stringify(d.body)).toBe(200);
  }
  return { id: run.workflow_id, hash: planHash(saved.plan), saved };
}

const activations = async () =>
  (await rt.engine.list(op, { definition: 'plan_activation' })).map((r) => r.workflow_id);

function serveMcp(runtime: Runtime): Promise<http.Server> {
  const mcp = createMcpHttpHandler(runtime.services);
  const server = http.createServer((req, res) => {
    void (async () => {
      let ctx: CallContext;
      try {
        const who = await runtime.kernel.authenticate(
          (req.headers.authorization ?? '').replace(/^Bearer /, ''),
        );
        ctx = tokenContext(who, 'plan activation test');
      } catch (e) {
        res.writeHead(401).end(isCountersignError(e) ? e.code : 'UNAUTHENTICATED');
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      await mcp.handle(req, res, text ? (JSON.parse(text) as unknown) : undefined, ctx);
    })();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function mcpClient(who: string): Promise<Client> {
  const url = new URL(`http://127.0.0.1:${(mcpServer.address() as AddressInfo).port}/mcp`);
  const client = new Client({ name: `test-${who}`, version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(url, {
      requestInit: { headers: { Authorization: `Bearer ${tokens[who]}` } },
    }),
  );
  return client;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-plan-activation-'));
  // The demo database exists before anything plans on it (read tools never create one).
  const target = new DemoTarget(dir);
  target.database('production');
  target.close();
  planner = await startPlannerServer();
  rt = await openRuntime(
    { ...configFromEnv({}), dataDir: dir, model: 'openai-compatible/planner' },
    {
      env: { COUNTERSIGN_OPENAI_BASE_URL: planner.baseUrl, COUNTERSIGN_OPENAI_MODEL: 'planner' },
      definitions: [testPlanDefinition()],
    },
  );
  app = buildHttpApp(rt.services);
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  mcpServer = await serveMcp(rt);
  for (const [who, role] of [
    ['alice', 'engineer'],
    ['bob', 'change_manager'],
    ['carol', 'change_manager'],
  ] as const) {
    ids[who] = (await rt.kernel.registerActor(op, { name: who, role })).actor_id;
    tokens[who] = (await rt.kernel.createToken(op, { actor_id: ids[who], name: who })).token;
  }
  // alice's read-only token: it may look at runs but was not given activate_plan.
  tokens.alice_ro = (
    await rt.kernel.createToken(op, {
      actor_id: ids.alice!,
      name: 'read-only',
      scope: ['get_workflow_status', 'list_workflow_runs'],
    })
  ).token;
}, 120_000);

afterAll(async () => {
  await app?.close();
  await new Promise<void>((r) => (mcpServer ? mcpServer.close(() => r()) : r()));
  await rt?.close();
  await planner?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A check that users has (or, with `absent`, has not) a column, by get_table_schema. */
const columnCheck = (criterion: string, column: string, op = 'contains'): PlanCheck => ({
  criterion,
  tool: 'get_table_schema',
  params: JSON.stringify({ database: 'production', table: 'users' }),
  path: 'columns.*.name',
  op: op as PlanCheck['op'],
  value: JSON.stringify(column),
});
const backupPhase = proposedPhase(
  'p1',
  'Back up production',
  [{ tool: 'database_backup', params: { database: 'production', backup_type: 'full' } }],
  ['a full backup of production exists'],
  [
    {
      criterion: 'a full backup of production exists',
      tool: 'list_backups',
      params: JSON.stringify({ database: 'production' }),
      path: 'backups.*.type',
      op: 'contains',
      value: '"full"',
    },
  ],
);
const columnPhase = (column: string, id = 'p2', checked = column) =>
  proposedPhase(
    id,
    `Add users.${column}`,
    [
      {
        tool: 'database_migration',
        params: {
          database: 'production',
          table: 'users',
          operation: 'add_column',
          column_name: column,
          column_type: 'text',
        },
      },
    ],
    [`users has a column ${column}`, 'no rows were lost'],
    [columnCheck(`users has a column ${column}`, checked)],
  );
const dropPhase = blockedPhase(
  'p3',
  'drop_column cannot write yet',
  "an implementation of drop_column's write",
);

describe('activate_plan', () => {
  it('runs an approved plan phase by phase, each at its own gate, on the real demo database; the requester cannot approve a phase', async () => {
    const plan = await makePlan('activate-ok', [backupPhase, columnPhase('nickname'), dropPhase]);
    const before = columns();
    expect(before).not.toContain('nickname');

    const r = await call('POST', `/workflows/${plan.id}/activate`, 'alice', {
      plan_hash: plan.hash,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    let run = asRun(r);
    expect(run.definition).toBe('plan_activation');
    expect(run.workflow_id).not.toBe(plan.id);
    expect(run.status).toBe('waiting');
    expect(run.stage).toBe('phase p1');
    // The link back, and the blocked phase listed with its reason, never run.
    expect(run.trace[0]).toMatchObject({
      type: 'plan',
      plan_run_id: plan.id,
      plan_hash: plan.hash,
    });
    expect(run.trace).toContainEqual({
      type: 'blocked_phase',
      phase_id: 'p3',
      title: 'Blocked: p3',
      blocked_reason: 'drop_column cannot write yet',
      deferred_to: "an implementation of drop_column's write",
    });
    expect(run.artifacts.activation).toMatchObject({
      plan_run_id: plan.id,
      plan_hash: plan.hash,
      proposed: ['p1', 'p2'],
    });
    expect(run.context.case_id).toBe(plan.id);

    // The phase gate binds the phase's call by hash.
    const gate = await call('GET', `/approvals/${run.waiting_on!.approval_id}`, 'bob');
    const approval = gate.body.approval as { packet: Body; proposals: { hash: string }[] };
    expect(approval.packet).toMatchObject({
      phase_id: 'p1',
      plan_run_id: plan.id,
      plan_hash: plan.hash,
    });
    // It shows what will be checked after the phase ran.
    expect(approval.packet.checks).toEqual(backupPhase.checks);
    expect(approval.proposals).toHaveLength(1);
    expect(approval.proposals[0]!.hash).toMatch(/^[0-9a-f]{64}$/);

    // Attacker: alice asked for the plan and activated it; she cannot approve its phase.
    const own = await decide('alice', run.waiting_on!.approval_id!);
    expect(own.status).toBe(403);
    expect(codeOf(own)).toBe('SELF_APPROVAL');
    expect((await status(run.workflow_id)).stage).toBe('phase p1');

    const backups = path.join(dir, 'demo-target', 'backups');
    expect(fs.existsSync(backups) ? fs.readdirSync(backups) : []).toEqual([]);
    expect((await decide('bob', run.waiting_on!.approval_id!)).status).toBe(200);
    run = await status(run.workflow_id);
    // Phase 1 ran (a real backup file), phase 2 waits at its own gate, nothing of it ran yet.
    expect(fs.readdirSync(backups).filter((f) => f.startsWith('production-full-'))).toHaveLength(1);
    expect(run.status).toBe('waiting');
    expect(run.stage).toBe('phase p2');
    expect(columns()).not.toContain('nickname');
    expect(run.artifacts['phase.p1.assurance']).toMatchObject({
      phase_id: 'p1',
      expect: 'record',
      criteria: [
        {
          criterion: 'a full backup of production exists',
          checked: true,
          passed: true,
          op: 'contains',
          expected: '"full"',
          found: ['full'],
        },
      ],
    });

    expect((await decide('bob', run.waiting_on!.approval_id!)).status).toBe(200);
    run = await status(run.workflow_id);
    expect(run.status, JSON.stringify(run.error)).toBe('completed');
    expect(run.stage).toBe('activated');
    expect(columns()).toEqual([...before, 'nickname']);
    const tools = run.trace.filter((t) => t.type === 'tool');
    expect(tools.map((t) => [t.tool, t.status])).toEqual([
      ['database_backup', 'succeeded'],
      ['database_migration', 'succeeded'],
    ]);
    expect(JSON.stringify(run.trace)).not.toContain('drop_column"');
    // Assurance: the reads again, what changed, the check made and passed, and the criterion in
    // words only honestly reported as not checked.
    const assured = run.artifacts['phase.p2.assurance'] as {
      changed: { tool: string }[];
      criteria: { criterion: string; checked: boolean }[];
      reads: { tool: string; result: { columns?: { name: string }[] } }[];
    };
    expect(assured.changed.map((c) => c.tool)).toContain('get_table_schema');
    expect(assured.reads[1]!.result.columns!.map((c) => c.name)).toContain('nickname');
    expect(assured.criteria).toEqual([
      {
        criterion: 'users has a column nickname',
        checked: true,
        passed: true,
        tool: 'get_table_schema',
        path: 'columns.*.name',
        op: 'contains',
        expected: '"nickname"',
        found: [...before, 'nickname'],
      },
      expect.objectContaining({ criterion: 'no rows were lost', checked: false }),
    ]);
    expect(run.trace.filter((t) => t.type === 'acceptance')).toEqual([
      { type: 'acceptance', phase_id: 'p1', checks: 1, failed: [] },
      { type: 'acceptance', phase_id: 'p2', checks: 1, failed: [] },
    ]);

    // Both runs tell a complete, governed story.
    for (const id of [plan.id, run.workflow_id]) {
      const t = await call('GET', `/workflows/${id}/trace`, 'alice');
      expect(t.body, JSON.stringify(t.body)).toMatchObject({ valid: true, problems: [] });
    }
    // One activation per approved plan version: asking again is the same run.
    const again = await call('POST', `/workflows/${plan.id}/activate`, 'alice', {});
    expect(again.status).toBe(200);
    expect(asRun(again).workflow_id).toBe(run.workflow_id);
  }, 120_000);

  it('when someone else activates a plan, neither its requester nor the activator approves a phase', async () => {
    // alice asks for the plan, bob approves it, and carol activates it.
    const plan = await makePlan('activate-by-other', [backupPhase]);
    const r = await call('POST', `/workflows/${plan.id}/activate`, 'carol', {});
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const run = asRun(r);
    const gate = run.waiting_on!.approval_id!;
    const shown = await call('GET', `/approvals/${gate}`, 'bob');
    expect((shown.body.approval as { authors?: string[] }).authors).toEqual([ids.alice]);
    for (const who of ['alice', 'carol']) {
      const own = await decide(who, gate);
      expect(own.status, who).toBe(403);
      expect(codeOf(own)).toBe('SELF_APPROVAL');
    }
    // The inbox says who may not decide it.
    const pending = await call('GET', '/approvals/pending', 'bob');
    const item = (pending.body.approvals as { id: string; authors: string[] }[]).find(
      (a) => a.id === gate,
    );
    expect(item?.authors.sort()).toEqual([ids.alice, ids.carol].sort());
    expect((await status(run.workflow_id)).stage).toBe('phase p1');
    expect((await decide('bob', gate)).status).toBe(200);
    expect((await status(run.workflow_id)).status).toBe('completed');
  }, 120_000);

  it('fails the run with ACCEPTANCE_FAILED when a phase ran but its check does not hold, and runs no later phase', async () => {
    // p1 adds acc_col but its check expects acc_ghost; p2 would add after_col.
    const plan = await makePlan('activate-acceptance', [
      columnPhase('acc_col', 'p1', 'acc_ghost'),
      columnPhase('after_col', 'p2'),
    ]);
    const r = await call('POST', `/workflows/${plan.id}/activate`, 'alice', {});
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    let run = asRun(r);
    expect((await decide('bob', run.waiting_on!.approval_id!)).status).toBe(200);
    run = await status(run.workflow_id);
    expect(run.status).toBe('failed');
    expect(run.stage).toBe('failed');
    expect(run.error).toMatchObject({ step_id: 'phase.p1.assure' });
    expect(run.error!.reason).toMatch(/^ACCEPTANCE_FAILED: phase p1 /);
    expect(run.error!.reason).toContain('"users has a column acc_col"');
    // The phase's change was made; the check says it is not what the plan promised.
    expect(columns()).toContain('acc_col');
    expect(columns()).not.toContain('after_col');
    expect(run.waiting_on).toBeNull();
    expect(run.trace.filter((t) => t.type === 'tool').map((t) => t.tool)).toEqual([
      'database_migration',
    ]);
    expect(run.trace).toContainEqual({
      type: 'acceptance',
      phase_id: 'p1',
      checks: 1,
      failed: ['users has a column acc_col'],
    });
    const assured = run.artifacts['phase.p1.assurance'] as { criteria: Body[] };
    expect(assured.criteria[0]).toMatchObject({
      checked: true,
      passed: false,
      expected: '"acc_ghost"',
      why: '"columns.*.name" does not contain "acc_ghost"',
    });
    expect((assured.criteria[0]!.found as string[]).includes('acc_col')).toBe(true);
    // No gate of p2 was ever asked for.
    const pending = await call('GET', '/approvals/pending', 'bob');
    expect(JSON.stringify(pending.body)).not.toContain(run.workflow_id);
    const t = await call('GET', `/workflows/${run.workflow_id}/trace`, 'alice');
    expect(t.body).toMatchObject({ valid: true });
  }, 120_000);

  it('refuses a stored plan whose check names a write tool, at activate_plan and again at plan_load; the write never runs', async () => {
    // The planner of this test stores its plan as it answers it: no save-time check stands
    // between it and the store, as for a plan edited in the database after it was saved.
    const evil: PlanCheck = {
      criterion: 'the column is there',
      tool: 'database_migration',
      params: JSON.stringify({
        database: 'production',
        table: 'users',
        operation: 'add_column',
        column_name: 'pwned',
        column_type: 'text',
      }),
      path: '',
      op: 'exists',
      value: null,
    };
    const p1 = { ...columnPhase('safe_col', 'p1'), checks: [evil] };
    const plan = await makePlan('activate-evil-check', [p1]);
    const before = await activations();
    const r = await call('POST', `/workflows/${plan.id}/activate`, 'alice', {});
    expect(r.status).toBe(400);
    expect(codeOf(r)).toBe('VALIDATION_FAILED');
    const message = (r.body.error as { message: string }).message;
    expect(message).toContain('Check 1 of phase p1 ("the column is there")');
    expect(message).toContain('database_migration is a write tool, not a read');
    expect(JSON.stringify(r.body)).not.toContain('    at ');
    expect(await activations()).toEqual(before);
    // Defence in depth: an activation run that gets past the door loads the plan and refuses it.
    const started = await call('POST', '/workflows/start', 'alice', {
      definition: 'plan_activation',
      input: { plan_run_id: plan.id, plan_hash: plan.hash, tools: ['database_migration'] },
      idempotency_key: 'evil-check-around',
    });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    const run = asRun(started);
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ step_id: 'load' });
    expect(run.error!.reason).toContain('VALIDATION_FAILED: Check 1 of phase p1');
    expect(run.trace.filter((t) => t.type === 'tool')).toEqual([]);
    expect(columns()).not.toContain('pwned');
    expect(columns()).not.toContain('safe_col');
    const events = await rt.store.transaction((tx) => tx.listLedger('default', {}));
    expect(
      events.filter((e) => e.type === 'TOOL_INVOKE' && JSON.stringify(e.data).includes('pwned')),
    ).toEqual([]);
  }, 120_000);

  it('refuses a plan whose reads answer differently now (PLAN_STALE), starting nothing', async () => {
    const plan = await makePlan('activate-stale', [columnPhase('stale_col')]);
    insertUser('drift@example.com');
    const before = await activations();
    const r = await call('POST', `/workflows/${plan.id}/activate`, 'alice', {
      plan_hash: plan.hash,
    });
    expect(r.status).toBe(409);
    expect(codeOf(r)).toBe('PLAN_STALE');
    expect(JSON.stringify(r.body)).not.toContain('    at ');
    expect(await activations()).toEqual(before);
    expect(columns()).not.toContain('stale_col');
  }, 60_000);

  it('refuses the next phase when the target drifted between phases', async () => {
    const plan = await makePlan('activate-drift', [backupPhase, columnPhase('late_col')]);
    const r = await call('POST', `/workflows/${plan.id}/activate`, 'alice', {});
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    let run = asRun(r);
    expect((await decide('bob', run.waiting_on!.approval_id!)).status).toBe(200);
    run = await status(run.workflow_id);
    expect(run.stage).toBe('phase p2');
    // While phase 2 waits for its approval, someone changes what the plan read.
    insertUser('late@example.com');
    expect((await decide('bob', run.waiting_on!.approval_id!)).status).toBe(200);
    run = await status(run.workflow_id);
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ step_id: 'phase.p2.recheck' });
    expect(run.error!.reason).toContain('PLAN_STALE');
    expect(run.error!.reason).toContain('phase p2');
    expect(columns()).not.toContain('late_col');
    expect(run.trace.filter((t) => t.type === 'tool').map((t) => t.tool)).toEqual([
      'database_backup',
    ]);
    const t = await call('GET', `/workflows/${run.workflow_id}/trace`, 'alice');
    expect(t.body).toMatchObject({ valid: true });
  }, 120_000);

  it('refuses an unapproved plan, a rejected plan, a run that is not a plan, a wrong plan_hash and an unknown run, with no run created', async () => {
    const waiting = await makePlan('activate-waiting', [columnPhase('w_col')], 'wait');
    const rejected = await makePlan('activate-rejected', [columnPhase('r_col')], 'reject');
    const good = await makePlan('activate-hash', [columnPhase('h_col')]);
    const notAPlan = (await activations())[0]!;
    const before = await activations();
    const cases: [string, Body, number, string][] = [
      [waiting.id, {}, 409, 'INVALID_STATE'],
      [rejected.id, {}, 409, 'INVALID_STATE'],
      [notAPlan, {}, 400, 'VALIDATION_FAILED'],
      [good.id, { plan_hash: 'f'.repeat(64) }, 409, 'APPROVAL_HASH_MISMATCH'],
      ['run_0000000000000000beef', {}, 404, 'NOT_FOUND'],
      [good.id, { plan_hash: 'not-a-hash' }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [id, body, code, error] of cases) {
      const r = await call('POST', `/workflows/${id}/activate`, 'alice', body);
      expect([id, r.status, codeOf(r)]).toEqual([id, code, error]);
    }
    expect(await activations()).toEqual(before);
    expect((await status(waiting.id)).status).toBe('waiting');
  }, 120_000);

  it('activates a plan version once: a run started around activate_plan runs nothing of it', async () => {
    const plan = await makePlan('activate-around', [backupPhase]);
    const r = await call('POST', '/workflows/start', 'alice', {
      definition: 'plan_activation',
      input: { plan_run_id: plan.id, plan_hash: plan.hash, tools: ['database_backup'] },
      idempotency_key: 'a-second-activation',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const run = asRun(r);
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ step_id: 'load' });
    expect(run.error!.reason).toContain('activated once');
    expect(run.trace.filter((t) => t.type === 'tool')).toEqual([]);
    const pending = await call('GET', '/approvals/pending', 'bob');
    expect(JSON.stringify(pending.body)).not.toContain(run.workflow_id);
    // The activation through its door still works, once.
    const real = await call('POST', `/workflows/${plan.id}/activate`, 'alice', {});
    expect(real.status).toBe(200);
    expect(asRun(real).status).toBe('waiting');
  }, 60_000);

  it('refuses a token without activate_plan over HTTP and over MCP; a token with it activates over MCP', async () => {
    const plan = await makePlan('activate-scope', [backupPhase]);
    const before = await activations();
    const r = await call('POST', `/workflows/${plan.id}/activate`, 'alice_ro', {});
    expect(r.status).toBe(403);
    expect(codeOf(r)).toBe('POLICY_DENIED');
    const ro = await mcpClient('alice_ro');
    try {
      const refused = await callTool(ro, 'activate_plan', { workflow_id: plan.id });
      expect(fails(refused, 'POLICY_DENIED')).toContain('outside its scope');
    } finally {
      await ro.close();
    }
    expect(await activations()).toEqual(before);
    const full = await mcpClient('alice');
    try {
      const tool = (await full.listTools()).tools.find((t) => t.name === 'activate_plan');
      expect(tool?.inputSchema.required).toEqual(['workflow_id']);
      fails(
        await callTool(full, 'activate_plan', { workflow_id: plan.id, plan_hash: '0'.repeat(64) }),
        'APPROVAL_HASH_MISMATCH',
      );
      const run = ok<RunView>(
        await callTool(full, 'activate_plan', { workflow_id: plan.id, plan_hash: plan.hash }),
      );
      expect(run.definition).toBe('plan_activation');
      expect(run.trace[0]).toMatchObject({ plan_run_id: plan.id });
    } finally {
      await full.close();
    }
  }, 120_000);
});
