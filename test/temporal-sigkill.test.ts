import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { validateTrace } from '../src/core/trace.js';
import { configFromEnv } from '../src/main/config.js';
import type { LedgerEvent } from '../src/core/model.js';
import { type FreshPgDatabase, freshPgDatabase } from './setup/pg.js';
import { type FakeModelServer, startFakeModelServer } from './support/fake-model-server.js';
import { temporalClient } from './support/temporal-fixture.js';

/**
 * Runs survive worker restarts: real `countersign serve` and `countersign worker` processes on
 * a real Temporal dev server and Postgres. The worker is killed with SIGKILL while the audit
 * agent's model call is in flight (after the write-back ran); a new worker finishes the run,
 * and every tool effect happened once.
 */
const BIN = path.resolve('bin/countersign.js');
const children = new Set<ChildProcess>();
let db: FreshPgDatabase;
let dataDir: string;
let model: FakeModelServer;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  db = await freshPgDatabase(inject('pgUrl'), 'temporal_sigkill');
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-temporal-kill-'));
  model = await startFakeModelServer();
  env = {
    ...process.env,
    COUNTERSIGN_DATA_DIR: dataDir,
    COUNTERSIGN_DATABASE_URL: db.url,
    COUNTERSIGN_TEMPORAL_ADDRESS: inject('temporalAddress'),
    COUNTERSIGN_TEMPORAL_TASK_QUEUE: `cs-kill-${process.pid}`,
    COUNTERSIGN_TEMPORAL_HEARTBEAT_TIMEOUT_MS: '3000',
    COUNTERSIGN_POLICY_DIR: '',
    COUNTERSIGN_SERVER: '',
    COUNTERSIGN_TOKEN: '',
    COUNTERSIGN_TENANT: '',
    COUNTERSIGN_OPENAI_BASE_URL: model.baseUrl,
    COUNTERSIGN_OPENAI_MODEL: 'fake',
    COUNTERSIGN_MODEL: 'openai-compatible/fake',
    COUNTERSIGN_OPENAI_TIMEOUT_MS: '600000',
    PORT: '',
  };
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await model?.close();
  await db?.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Spawns the binary and resolves once its output matches `ready`. */
function spawnUntil(args: string[], ready: RegExp, stream: 'stdout' | 'stderr') {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  return new Promise<{ child: ChildProcess; out: () => string; exited: typeof exited }>(
    (resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${args[0]} did not start:\n${out}`)),
        90_000,
      );
      const onData = (d: Buffer) => {
        out += d.toString();
        if (ready.test(out)) {
          clearTimeout(timer);
          resolve({ child, out: () => out, exited });
        }
      };
      child.stdout.on('data', (d: Buffer) =>
        stream === 'stdout' ? onData(d) : (out += d.toString()),
      );
      child.stderr.on('data', (d: Buffer) =>
        stream === 'stderr' ? onData(d) : (out += d.toString()),
      );
      void exited.then((how) => reject(new Error(`${args[0]} exited (${how}):\n${out}`)));
    },
  );
}

it('a worker killed with SIGKILL mid-activity is replaced and the run completes with no duplicate tool effect', async () => {
  let worker = await spawnUntil(['worker'], /worker polling task queue/, 'stderr');
  const serve = await spawnUntil(
    ['serve', '--port', '0'],
    /Workflow runs execute on Temporal at 127\.0\.0\.1:\d+ \(namespace default, task queue cs-kill-/,
    'stdout',
  );
  const url = /Countersign listening on (http:\/\/\S+)/.exec(serve.out())![1]!;
  const operatorToken = /Operator token \(shown once\): (\S+)/.exec(serve.out())![1]!;
  expect(serve.out()).toContain(
    `encrypted with the keys in ${path.join(dataDir, 'temporal-keys.json')}; the Temporal UI and CLI decode through ${url}/codec`,
  );
  const api = async <T = Record<string, unknown>>(
    method: string,
    route: string,
    body?: unknown,
    token = operatorToken,
  ) => {
    const res = await fetch(`${url}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'x-purpose': 'temporal sigkill test',
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };

  // The operator token administers; each reviewer decides with a token of their own.
  const reviewers: { role: string; actor_id: string; token: string }[] = [];
  for (const [name, role] of [
    ['Riley', 'change_manager'],
    ['Sam', 'service_owner'],
    ['Ana', 'change_manager'],
  ] as const) {
    const { actor_id } = await api<{ actor_id: string }>('POST', '/actors', { name, role });
    const { token } = await api<{ token: string }>('POST', '/tokens', { actor_id, name });
    reviewers.push({ role, actor_id, token });
  }

  const now = Date.now();
  const run = await api<{
    workflow_id: string;
    status: string;
    waiting_on: { approval_id: string };
  }>('POST', '/workflows/start', {
    definition: 'ops_change_control',
    idempotency_key: 'KILL-1',
    input: {
      change_request: {
        title: 'Tune checkout upstream timeout on staging',
        summary: 'Set the upstream timeout of the checkout API.',
        change_type: 'configuration',
        requested_by: 'dana',
        ticket: 'KILL-1',
      },
      impacted_systems: [{ name: 'checkout-api', criticality: 'medium', environment: 'staging' }],
      requirements: { compliance: [] },
      change_window: {
        start: new Date(now - 60_000).toISOString(),
        end: new Date(now + 3_600_000).toISOString(),
      },
      parameters: {
        config_changes: [
          { service: 'checkout-api', key: 'upstream.timeout', from: null, to: '45s' },
        ],
        notify_channel: 'ops-staging',
      },
    },
  });
  expect(run.status).toBe('waiting');
  const id = run.workflow_id;

  /** Approves a gate with as many distinct reviewers holding its roles as it needs. */
  const approve = async (approval_id: string) => {
    const { approval } = await api<{
      approval: { required_approvals: number; required_roles: string[] };
    }>('GET', `/approvals/${approval_id}`);
    const fit = reviewers.filter(
      (r) => approval.required_roles.length === 0 || approval.required_roles.includes(r.role),
    );
    const sends = fit
      .slice(0, approval.required_approvals)
      .map((r) =>
        api(
          'POST',
          `/approvals/${approval_id}/decision`,
          { reviewer_id: r.actor_id, decision: 'approve', comment: 'ok' },
          r.token,
        ),
      );
    return sends;
  };

  // Risk review, then the plan gate; before the plan is approved the audit agent's model call
  // is held open, so the worker dies in the middle of an activity, after the write-back.
  await Promise.all(await approve(run.waiting_on.approval_id));
  const atPlan = await api<{ waiting_on: { approval_id: string } }>(
    'GET',
    `/workflows/${id}/status`,
  );
  model.hang('audit_report');
  const deciding = Promise.all(await approve(atPlan.waiting_on.approval_id));
  await model.waitForHung('audit_report', 60_000);
  const beforeKill = await api<{ entries: LedgerEvent[] }>('GET', `/workflows/${id}/audit-log`);
  expect(beforeKill.entries.filter((e) => e.type === 'TOOL_INVOKE').length).toBeGreaterThan(0);

  worker.child.kill('SIGKILL');
  expect(await worker.exited).toBe('SIGKILL');
  model.answerAll();
  worker = await spawnUntil(['worker'], /worker polling task queue/, 'stderr');
  await deciding;

  const deadline = Date.now() + 90_000;
  let status: { status: string; stage: string } = { status: '', stage: '' };
  while (Date.now() < deadline) {
    status = await api('GET', `/workflows/${id}/status`);
    if (status.status === 'completed' || status.status === 'failed') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(status).toMatchObject({ status: 'completed', stage: 'closed' });

  const { entries: events } = await api<{ entries: LedgerEvent[] }>(
    'GET',
    `/workflows/${id}/audit-log`,
  );
  const invokes = events.filter((e) => e.type === 'TOOL_INVOKE');
  const perProposal = new Map<string, number>();
  for (const e of invokes) {
    const p = e.data.proposal_id as string;
    perProposal.set(p, (perProposal.get(p) ?? 0) + 1);
  }
  expect(invokes.length).toBeGreaterThanOrEqual(3);
  expect([...perProposal.values()]).toEqual(invokes.map(() => 1));
  expect(events.filter((e) => e.type === 'WORKFLOW_COMPLETED')).toHaveLength(1);
  expect(validateTrace(id, events).problems).toEqual([]);
  // The model call the dead worker held was made again on the new one: the kill landed mid-activity.
  expect(
    model.requests.filter((r) => r.schema_name === 'audit_report').length,
  ).toBeGreaterThanOrEqual(2);

  const client = await temporalClient(inject('temporalAddress'), configFromEnv(env));
  try {
    const history = await client.workflow.getHandle(id).fetchHistory();
    const agentAttempts = history
      .events!.map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0)
      .filter((a) => a > 1);
    expect(agentAttempts.length).toBeGreaterThan(0);
  } finally {
    await client.connection.close();
  }
  const verify = await api<{ ok: boolean }>('GET', '/audit/verify');
  expect(verify.ok).toBe(true);

  serve.child.kill('SIGTERM');
  worker.child.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
}, 240_000);
