import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { operatorContext } from '../src/core/context.js';
import { openRuntime } from '../src/main/compose.js';
import { configFromEnv } from '../src/main/config.js';
import { type FakeModelServer, startFakeModelServer } from './support/fake-model-server.js';

/**
 * Crash safety of the embedded runtime with real processes. `countersign serve` runs on a fresh
 * SQLite data directory, its agents ask a fake Chat Completions server in this process (the
 * rules provider behind an OpenAI-compatible wire), and the test drives an ops change-control
 * run over the HTTP API, then SIGKILLs the server at a known point:
 *
 * - while the audit agent's model call is in flight, after the governed write-back ran: a new
 *   process on the same data directory finishes the run, and the ledger, the demo target and
 *   the trace show every tool ran exactly once;
 * - while the run waits at its human gates: the gates survive and deciding them finishes it;
 * - while a non-idempotent tool (send_notification, held at its webhook) is in flight: the new
 *   process never re-runs it; it is surfaced as EXECUTION_IN_DOUBT and the run rolls back.
 * - restarts never wait for resumed runs before listening, and a decision committed just before
 *   a crash moves its run on after the restart.
 */

const BIN = path.resolve('bin/countersign.js');
const PURPOSE = 'sigkill crash-safety test';
const HOUR = 3_600_000;
const SERVICE = 'checkout-api';

type Json = Record<string, unknown>;

interface Served {
  readonly child: ChildProcess;
  readonly url: string;
  /** Printed on the first start only. */
  readonly adminToken: string | null;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

const children = new Set<ChildProcess>();
const dirs: string[] = [];
let model: FakeModelServer | undefined;
let webhook: WebhookSink | undefined;

afterEach(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  await model?.close();
  model = undefined;
  await webhook?.close();
  webhook = undefined;
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Only this test's settings: never the caller's server, token, database or policies. */
function envFor(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    COUNTERSIGN_DATA_DIR: dataDir,
    COUNTERSIGN_DATABASE_URL: '',
    COUNTERSIGN_TEMPORAL_ADDRESS: '',
    COUNTERSIGN_POLICY_DIR: '',
    COUNTERSIGN_WEBHOOK_URL: '',
    COUNTERSIGN_SERVER: '',
    COUNTERSIGN_TOKEN: '',
    COUNTERSIGN_TENANT: '',
    COUNTERSIGN_MODEL: '',
    COUNTERSIGN_OPENAI_BASE_URL: '',
    COUNTERSIGN_OPENAI_MODEL: '',
    COUNTERSIGN_OPENAI_API_KEY: '',
    PORT: '',
    ...extra,
  };
}

/** The server's model settings: every agent asks the fake Chat Completions server. */
function modelEnv(m: FakeModelServer): Record<string, string> {
  return {
    COUNTERSIGN_OPENAI_BASE_URL: m.baseUrl,
    COUNTERSIGN_OPENAI_MODEL: 'fake',
    COUNTERSIGN_MODEL: 'openai-compatible/fake',
    // A held model call must outlive the test's wait for it.
    COUNTERSIGN_OPENAI_TIMEOUT_MS: '600000',
  };
}

/** Spawns `countersign serve --port 0` and resolves once it printed where it listens. */
function serve(
  dataDir: string,
  m: FakeModelServer,
  extra: Record<string, string> = {},
): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
    env: envFor(dataDir, { ...modelEnv(m), ...extra }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise<Served>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`serve did not start within 90 s:\n${out}\n${err}`)),
      90_000,
    );
    const check = () => {
      const url = /Countersign listening on (http:\/\/\S+)/.exec(out)?.[1];
      const token = /Operator token \(shown once\): (\S+)/.exec(out)?.[1] ?? null;
      if (!url || (token === null && !out.includes('API tokens already exist'))) return;
      clearTimeout(timer);
      resolve({ child, url, adminToken: token, exited, output: () => `${out}\n${err}` });
    };
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      check();
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code ?? signal}) before listening:\n${out}\n${err}`));
    });
  });
}

/** SIGKILL: no shutdown hook, no close of the store, nothing flushed by the process. */
async function crash(s: Served): Promise<void> {
  s.child.kill('SIGKILL');
  const { signal } = await s.exited;
  expect(signal).toBe('SIGKILL');
}

/** SIGTERM: the clean stop, so the CLI checks below read a closed database. */
async function stop(s: Served): Promise<void> {
  s.child.kill('SIGTERM');
  const { code } = await s.exited;
  expect(code).toBe(0);
}

/** A one-shot CLI call on the local data directory (no server involved). */
function cli(dataDir: string, args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: envFor(dataDir),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The HTTP API as one token (the operator's, or a reviewer's); `as` switches token. */
function client(url: string, token: string) {
  const call = async function call<T = Json>(
    method: 'GET' | 'POST',
    route: string,
    body?: Json,
    timeoutMs: number | null = 60_000,
  ): Promise<T> {
    const res = await fetch(`${url}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'x-purpose': PURPOSE,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
      ...(timeoutMs === null ? {} : { signal: AbortSignal.timeout(timeoutMs) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${route} answered ${res.status}: ${text}`);
    return JSON.parse(text) as T;
  };
  return Object.assign(call, { as: (other: string) => client(url, other) });
}
type Api = ReturnType<typeof client>;
interface Reviewer {
  id: string;
  role: string;
  token: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `read` every 100 ms until `done` holds; fails naming `what` after `timeoutMs`. */
async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await read();
    if (done(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await sleep(100);
  }
}

interface RunView {
  workflow_id: string;
  status: string;
  stage: string;
  waiting_on: { kind?: string; approval_id?: string } | null;
  artifacts: Record<string, unknown>;
  trace: Json[];
  error: Json | null;
}
interface Approval {
  id: string;
  status: string;
  required_approvals: number;
  required_roles: string[];
}
interface LedgerEntry {
  seq: number;
  type: string;
  actor: string;
  data: Json;
}

const status = (api: Api, id: string) => api<RunView>('GET', `/workflows/${id}/status`);

/** A configuration change on one staging system whose change window is already open. */
function changeInput(key: string) {
  const now = Date.now();
  return {
    change_request: {
      title: 'Tune checkout upstream settings on staging',
      summary: 'Set the upstream timeout and the connection pool size of the checkout API.',
      change_type: 'configuration',
      requested_by: 'dana',
      ticket: key,
    },
    impacted_systems: [
      { name: SERVICE, criticality: 'critical', environment: 'staging', owner: 'platform-team' },
    ],
    // critical system (40) + configuration (5) + SOX (10): high risk, two reviewers at the plan gate.
    requirements: { compliance: ['SOX'] },
    change_window: {
      start: new Date(now - HOUR).toISOString(),
      end: new Date(now + 4 * HOUR).toISOString(),
    },
    parameters: {
      // from: null, so no seeding is needed, and a second config_set of the same call would
      // be refused by its expect_previous instead of silently succeeding.
      config_changes: [
        { service: SERVICE, key: 'upstream.timeout', from: null, to: '45s' },
        { service: SERVICE, key: 'pool.size', from: null, to: '32' },
      ],
      notify_channel: 'ops-staging',
    },
  };
}

/** Two reviewers, each with a token of their own (the operator's never decides). */
async function registerReviewers(api: Api): Promise<Reviewer[]> {
  const reviewers: Reviewer[] = [];
  for (const [name, role] of [
    ['Riley', 'change_manager'],
    ['Sam', 'service_owner'],
  ] as const) {
    const r = await api<{ actor_id: string }>('POST', '/actors', { name, role });
    const t = await api<{ token: string }>('POST', '/tokens', { actor_id: r.actor_id, name });
    reviewers.push({ id: r.actor_id, role, token: t.token });
  }
  return reviewers;
}

/**
 * Approves a gate with as many distinct reviewers as it needs (holding one of its roles). All
 * decisions but the resolving one are awaited; the resolving one drives the run, so its
 * answer comes when the run next waits or ends: it is returned as a promise, not awaited.
 */
async function approveGate(
  api: Api,
  approval_id: string,
  reviewers: readonly Reviewer[],
): Promise<{ approval: Approval; resolving: Promise<{ run: RunView }> }> {
  const { approval } = await api<{ approval: Approval }>('GET', `/approvals/${approval_id}`);
  expect(approval.status).toBe('pending');
  const eligible = reviewers.filter(
    (r) => approval.required_roles.length === 0 || approval.required_roles.includes(r.role),
  );
  expect(eligible.length).toBeGreaterThanOrEqual(approval.required_approvals);
  const chosen = eligible.slice(0, approval.required_approvals);
  for (const r of chosen.slice(0, -1)) {
    const d = await api.as(r.token)<{ approval: Approval }>(
      'POST',
      `/approvals/${approval_id}/decision`,
      {
        reviewer_id: r.id,
        decision: 'approve',
        comment: `approved by ${r.role}`,
      },
    );
    expect(d.approval.status).toBe('pending');
  }
  const last = chosen[chosen.length - 1]!;
  const resolving = api.as(last.token)<{ run: RunView }>(
    'POST',
    `/approvals/${approval_id}/decision`,
    { reviewer_id: last.id, decision: 'approve', comment: `approved by ${last.role}` },
    null,
  );
  return { approval, resolving };
}

function gateOf(run: RunView): string {
  expect(run.status).toBe('waiting');
  expect(run.waiting_on?.kind).toBe('approval');
  return run.waiting_on!.approval_id!;
}

function readConfig(dataDir: string): unknown {
  return JSON.parse(
    fs.readFileSync(path.join(dataDir, 'demo-target', 'config', `${SERVICE}.json`), 'utf8'),
  );
}

/** Counts values of `key` in events of `type`, failing on any value seen twice. */
function once(entries: readonly LedgerEntry[], type: string, key: (d: Json) => unknown) {
  const seen = entries.filter((e) => e.type === type).map((e) => JSON.stringify(key(e.data)));
  const dupes = seen.filter((v, i) => seen.indexOf(v) !== i);
  expect(dupes, `${type} recorded twice for ${dupes.join(', ')}`).toEqual([]);
  return seen.map((v) => JSON.parse(v) as unknown);
}

/** The ledger facts every finished run of this scenario must show, crash or no crash. */
async function expectExactlyOnce(api: Api, run: RunView, dataDir: string) {
  const { entries } = await api<{ entries: LedgerEntry[] }>(
    'GET',
    `/workflows/${run.workflow_id}/audit-log`,
  );
  const count = (type: string) => entries.filter((e) => e.type === type).length;
  expect(count('WORKFLOW_STARTED')).toBe(1);
  expect(count('WORKFLOW_COMPLETED')).toBe(1);
  expect(count('WORKFLOW_FAILED')).toBe(0);

  // One TOOL_INVOKE and one ACTION_EXECUTED per plan step, each for that step's proposal.
  const plan = run.artifacts.plan as { steps: { id: string; call: { tool: string } }[] };
  const tools = run.trace.filter((t) => t.type === 'tool');
  expect(tools.map((t) => t.step_id)).toEqual(plan.steps.map((s) => s.id));
  expect(tools.every((t) => t.status === 'succeeded')).toBe(true);
  const planned = tools.map((t) => t.proposal_id as string).sort();
  expect(new Set(planned).size).toBe(plan.steps.length);
  expect((once(entries, 'TOOL_INVOKE', (d) => d.proposal_id) as string[]).sort()).toEqual(planned);
  expect((once(entries, 'ACTION_EXECUTED', (d) => d.proposal_id) as string[]).sort()).toEqual(
    planned,
  );
  expect(
    entries.filter((e) => e.type === 'ACTION_EXECUTED').every((e) => e.data.status === 'succeeded'),
  ).toBe(true);
  expect(run.trace.filter((t) => t.type === 'rollback')).toEqual([]);

  // One APPROVAL_REQUESTED per gate approval and per proposed call.
  const requested = entries.filter((e) => e.type === 'APPROVAL_REQUESTED');
  const gates = once(
    requested.filter((e) => typeof e.data.approval_id === 'string'),
    'APPROVAL_REQUESTED',
    (d) => d.approval_id,
  );
  const decided = [
    ...new Set(run.trace.filter((t) => t.type === 'decision').map((t) => t.approval_id)),
  ];
  expect(gates.sort()).toEqual([...decided].sort());
  expect(gates).toHaveLength(2);
  once(
    requested.filter((e) => typeof e.data.proposal_id === 'string'),
    'APPROVAL_REQUESTED',
    (d) => [d.proposal_id, d.version],
  );
  once(entries, 'ACTION_PROPOSED', (d) => d.proposal_id);

  // Each agent invocation recorded once; each workflow step event once.
  once(entries, 'AGENT_INVOKE', (d) => d.agent_invocation_id);
  expect(
    entries.filter((e) => e.type === 'AGENT_INVOKE').map((e) => [e.data.step_id, e.data.ok]),
  ).toEqual([
    ['intake', true],
    ['risk', true],
    ['plan', true],
    ['write_back', true],
    ['audit', true],
  ]);
  once(entries, 'WORKFLOW_STEP', (d) => d);

  // The demo target: both keys set (a second config_set would have failed its expectation),
  // and one outbox message per send_notification step.
  expect(readConfig(dataDir)).toEqual({ 'pool.size': '32', 'upstream.timeout': '45s' });
  const notifications = plan.steps.filter((s) => s.call.tool === 'send_notification').length;
  expect(notifications).toBeGreaterThan(0);
  const ops = new Database(path.join(dataDir, 'demo-target', 'ops.sqlite'), { readonly: true });
  try {
    const row = ops.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number };
    expect(row.n).toBe(notifications);
  } finally {
    ops.close();
  }
  return entries;
}

/** After the last server stopped: the trace and the whole chain check out from the CLI. */
async function expectValidFromCli(dataDir: string, workflow_id: string) {
  const trace = await cli(dataDir, ['--json', 'trace', 'validate', workflow_id]);
  expect(trace.code, `${trace.stdout}\n${trace.stderr}`).toBe(0);
  expect(JSON.parse(trace.stdout)).toMatchObject({ valid: true, problems: [] });
  const verify = await cli(dataDir, ['--json', 'audit', 'verify']);
  expect(verify.code, `${verify.stdout}\n${verify.stderr}`).toBe(0);
  expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, first_broken_seq: null });
}

/** The change run up to its plan gate, whose resolving approval is sent but not answered. */
async function runToPlanApproval(api: Api, key: string) {
  const reviewers = await registerReviewers(api);
  const started = await api<RunView>('POST', '/workflows/start', {
    definition: 'ops_change_control',
    input: changeInput(key),
    idempotency_key: key,
  });
  expect(started.stage).toBe('risk_review');
  // Risk gate: its required approvals and roles come from the approval itself.
  const atPlan = (await (await approveGate(api, gateOf(started), reviewers)).resolving).run;
  expect(atPlan.artifacts.risk).toMatchObject({
    risk_tier: 'high',
    required_approvals: 2,
    required_roles: ['change_manager', 'service_owner'],
  });
  const plan = await approveGate(api, gateOf(atPlan), reviewers);
  expect(plan.approval).toMatchObject({
    required_approvals: 2,
    required_roles: ['change_manager', 'service_owner'],
  });
  // Settles when the server answers or dies; never left as an unhandled rejection.
  const answer = plan.resolving.then(
    () => 'answered',
    () => 'connection lost',
  );
  const steps = (atPlan.artifacts.plan as { steps: unknown[] }).steps.length;
  return { id: started.workflow_id, steps, answer };
}

interface WebhookSink {
  readonly url: string;
  /** The Idempotency-Key of every POST received, in order. */
  readonly keys: readonly string[];
  /** POSTs from number `n` on (0-based) are held open without an answer. */
  holdFrom(n: number): void;
  waitForPosts(n: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Where send_notification POSTs (COUNTERSIGN_WEBHOOK_URL); can hold a POST open. */
async function startWebhookSink(): Promise<WebhookSink> {
  const keys: string[] = [];
  const held: http.ServerResponse[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let holdFrom = Number.POSITIVE_INFINITY;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const index = keys.push(String(req.headers['idempotency-key'])) - 1;
      for (const w of waiters.filter((x) => keys.length >= x.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      if (index >= holdFrom) held.push(res);
      else res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    keys,
    holdFrom(n) {
      holdFrom = n;
    },
    waitForPosts(n, timeoutMs) {
      if (keys.length >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${n} webhook POSTs did not arrive within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    async close() {
      for (const res of held.splice(0)) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a workflow run survives SIGKILL of `countersign serve` (real processes, SQLite)', () => {
  it('killed while the audit agent is in flight after the write-back: a new process finishes the run, every tool ran once', async () => {
    model = await startFakeModelServer();
    const dataDir = tempDir('cs-sigkill-');
    model.hang('audit_report');

    const first = await serve(dataDir, model);
    expect(first.adminToken).toBeTruthy();
    const token = first.adminToken!;
    let api = client(first.url, token);

    // The plan gate's second approval runs the write-back, then the audit agent's model call
    // hangs, so that decision request never answers.
    const { id, steps, answer } = await runToPlanApproval(api, 'CHG-9001');
    await model.waitForHung('audit_report', 90_000);
    const mid = await until(
      'the write-back in the trace',
      () => status(api, id),
      (r) => r.trace.filter((t) => t.type === 'tool').length === steps,
    );
    expect(mid.status).toBe('running');
    expect(mid.stage).toBe('execution');
    expect(mid.artifacts.audit_report).toBeUndefined();
    expect(readConfig(dataDir)).toEqual({ 'pool.size': '32', 'upstream.timeout': '45s' });

    await crash(first);
    expect(await answer).toBe('connection lost');

    // The crashed run is still open, as a one-shot CLI process reads it from the database.
    const afterCrash = await cli(dataDir, ['--json', 'workflow', 'status', id]);
    expect(afterCrash.code, afterCrash.stderr).toBe(0);
    const crashed = JSON.parse(afterCrash.stdout) as RunView;
    expect(crashed).toMatchObject({ status: 'running', stage: 'execution', error: null });
    expect(crashed.artifacts.audit_report).toBeUndefined();
    expect(crashed.trace.filter((t) => t.type === 'tool')).toHaveLength(steps);

    // A new process on the same data directory resumes the run from the store.
    model.answerAll();
    const second = await serve(dataDir, model);
    expect(second.adminToken).toBeNull();
    api = client(second.url, token);
    const done = await until(
      'the resumed run to complete',
      () => status(api, id),
      (r) => r.status !== 'running',
      90_000,
    );
    expect(done, second.output()).toMatchObject({ status: 'completed', stage: 'closed' });
    expect(done.error).toBeNull();
    expect(done.artifacts.audit_report).toMatchObject({ outcome: 'closed' });

    // The model saw each agent once, and the audit agent a second time after the crash.
    expect(model.requests).toEqual([
      { schema_name: 'intake', outcome: 'answered' },
      { schema_name: 'risk', outcome: 'answered' },
      { schema_name: 'plan', outcome: 'answered' },
      { schema_name: 'audit_report', outcome: 'hung' },
      { schema_name: 'audit_report', outcome: 'answered' },
    ]);

    await expectExactlyOnce(api, done, dataDir);
    await stop(second);
    await expectValidFromCli(dataDir, id);
  }, 180_000);

  it('killed while the run waits at each gate: after every restart the gate is still there, and deciding it finishes the run', async () => {
    model = await startFakeModelServer();
    const dataDir = tempDir('cs-sigkill-gate-');

    const first = await serve(dataDir, model);
    const token = first.adminToken!;
    let api = client(first.url, token);
    const reviewers = await registerReviewers(api);
    const started = await api<RunView>('POST', '/workflows/start', {
      definition: 'ops_change_control',
      input: changeInput('CHG-9002'),
      idempotency_key: 'CHG-9002',
    });
    const id = started.workflow_id;
    const riskGate = gateOf(started);
    await crash(first);

    const second = await serve(dataDir, model);
    api = client(second.url, token);
    const { approvals } = await api<{ approvals: { id: string; kind: string }[] }>(
      'GET',
      `/approvals/pending?workflow_id=${id}&kind=gate`,
    );
    expect(approvals.map((a) => a.id)).toEqual([riskGate]);
    expect(await status(api, id)).toMatchObject({ status: 'waiting', stage: 'risk_review' });
    const atPlan = (await (await approveGate(api, riskGate, reviewers)).resolving).run;
    const planGate = gateOf(atPlan);
    await crash(second);

    const third = await serve(dataDir, model);
    api = client(third.url, token);
    expect(gateOf(await status(api, id))).toBe(planGate);
    const finished = (await (await approveGate(api, planGate, reviewers)).resolving).run;
    expect(finished).toMatchObject({ status: 'completed', stage: 'closed', error: null });
    expect(finished.artifacts.audit_report).toMatchObject({ outcome: 'closed' });
    expect(model.requests.map((r) => [r.schema_name, r.outcome])).toEqual([
      ['intake', 'answered'],
      ['risk', 'answered'],
      ['plan', 'answered'],
      ['audit_report', 'answered'],
    ]);

    await expectExactlyOnce(api, finished, dataDir);
    await stop(third);
    await expectValidFromCli(dataDir, id);
  }, 180_000);

  it('killed while a non-idempotent tool is in flight: the new process never re-runs it, it is surfaced as EXECUTION_IN_DOUBT and the done steps are rolled back', async () => {
    model = await startFakeModelServer();
    webhook = await startWebhookSink();
    // notify-start is delivered; notify-done (the last plan step) is held at the webhook,
    // inside send_notification's apply(), whose execution is recorded as started.
    webhook.holdFrom(1);
    const dataDir = tempDir('cs-sigkill-tool-');
    const hook = { COUNTERSIGN_WEBHOOK_URL: webhook.url };

    const first = await serve(dataDir, model, hook);
    const token = first.adminToken!;
    let api = client(first.url, token);
    const { id, steps, answer } = await runToPlanApproval(api, 'CHG-9003');
    await webhook.waitForPosts(2, 90_000);
    // The tool gives its webhook 5 s; the kill comes well before.
    await crash(first);
    expect(await answer).toBe('connection lost');

    const afterCrash = await cli(dataDir, ['--json', 'workflow', 'status', id]);
    expect(afterCrash.code, afterCrash.stderr).toBe(0);
    const crashed = JSON.parse(afterCrash.stdout) as RunView;
    expect(crashed).toMatchObject({ status: 'running', stage: 'execution' });
    const doneBefore = crashed.trace.filter((t) => t.type === 'tool');
    expect(doneBefore).toHaveLength(steps - 1);
    expect(doneBefore.every((t) => t.status === 'succeeded')).toBe(true);

    webhook.holdFrom(Number.POSITIVE_INFINITY);
    const second = await serve(dataDir, model, hook);
    api = client(second.url, token);
    const ended = await until(
      'the resumed run to end',
      () => status(api, id),
      (r) => r.status !== 'running',
      90_000,
    );
    expect(ended, second.output()).toMatchObject({ status: 'failed', stage: 'failed' });
    expect(ended.error).toMatchObject({ step_id: 'write_back' });
    expect(String(ended.error?.reason)).toContain('EXECUTION_IN_DOUBT');
    expect(ended.artifacts.audit_report).toMatchObject({ outcome: 'failed' });

    const tools = ended.trace.filter((t) => t.type === 'tool');
    const inDoubt = tools[tools.length - 1]!;
    expect(inDoubt).toMatchObject({ tool: 'send_notification', status: 'refused' });
    expect(String(inDoubt.step_id)).toMatch(/notify-done$/);
    const rollbacks = ended.trace.filter((t) => t.type === 'rollback');
    expect(rollbacks.map((t) => t.status)).toEqual(rollbacks.map(() => 'succeeded'));
    expect(rollbacks.map((t) => String(t.step_id).replace(/\.rollback$/, ''))).toEqual(
      doneBefore
        .map((t) => String(t.step_id))
        .reverse()
        .filter((s) => !s.endsWith('-status')),
    );

    // The in-doubt POST was sent once, before the crash, and never again.
    const key = (proposal: unknown) => `default:${String(proposal)}:v1`;
    expect(webhook.keys).toEqual([
      key(doneBefore[0]!.proposal_id),
      key(inDoubt.proposal_id),
      ...rollbacks.filter((t) => t.tool === 'send_notification').map((t) => key(t.proposal_id)),
    ]);
    const ops = new Database(path.join(dataDir, 'demo-target', 'ops.sqlite'), { readonly: true });
    try {
      const row = ops
        .prepare('SELECT delivery_status FROM outbox WHERE idempotency_key = ?')
        .get(key(inDoubt.proposal_id)) as { delivery_status: string };
      expect(row.delivery_status).toBe('pending');
    } finally {
      ops.close();
    }
    // Both config keys were set once and rolled back once (to "", their rollback value).
    expect(readConfig(dataDir)).toEqual({ 'pool.size': '', 'upstream.timeout': '' });

    const { entries } = await api<{ entries: LedgerEntry[] }>('GET', `/workflows/${id}/audit-log`);
    const invoked = once(entries, 'TOOL_INVOKE', (d) => d.proposal_id);
    expect(invoked).toContain(inDoubt.proposal_id);
    expect(invoked).toHaveLength(tools.length + rollbacks.length);
    const executed = once(entries, 'ACTION_EXECUTED', (d) => d.proposal_id);
    expect(executed).not.toContain(inDoubt.proposal_id);
    expect(executed).toHaveLength(invoked.length - 1);
    const refused = entries.filter((e) => e.type === 'OPERATION_REFUSED');
    expect(refused.map((e) => e.data.code)).toEqual(['EXECUTION_IN_DOUBT']);
    expect(entries.filter((e) => e.type === 'WORKFLOW_FAILED')).toHaveLength(1);
    expect(entries.filter((e) => e.type === 'WORKFLOW_COMPLETED')).toHaveLength(0);
    once(entries, 'AGENT_INVOKE', (d) => d.agent_invocation_id);
    once(entries, 'WORKFLOW_STEP', (d) => d);

    await stop(second);
    await expectValidFromCli(dataDir, id);
  }, 180_000);
});

describe('crash recovery around the restart', () => {
  // Runs a crash left mid-step resume in the background: the server listens meanwhile.
  it('a restarted server listens while a resumed run is still in its model call', async () => {
    model = await startFakeModelServer();
    const dataDir = tempDir('cs-sigkill-listen-');
    model.hang('audit_report');
    const first = await serve(dataDir, model);
    const { answer } = await runToPlanApproval(client(first.url, first.adminToken!), 'CHG-9004');
    await model.waitForHung('audit_report', 90_000);
    await crash(first);
    expect(await answer).toBe('connection lost');

    // The model still hangs: the resumed audit agent waits on it.
    const second = serve(dataDir, model).then(() => 'listening');
    second.catch(() => undefined);
    const outcome = await Promise.race([second, sleep(20_000).then(() => 'not listening')]);
    // Either way the new process did resume the run into the audit agent's model call.
    await until(
      'the resumed audit call',
      () => Promise.resolve(model!.requests.filter((r) => r.schema_name === 'audit_report')),
      (calls) => calls.length === 2,
      60_000,
    );
    expect(outcome).toBe('listening');
  }, 180_000);

  // A resolving decision marks its run running in the same transaction, so a crash before the
  // run is driven leaves it for the next start to resume. The state is produced here exactly
  // as such a crash leaves it: the decision's own transaction, committed with the server down.
  it('a decision committed just before a crash moves the run on after the restart', async () => {
    model = await startFakeModelServer();
    const dataDir = tempDir('cs-sigkill-decided-');
    const first = await serve(dataDir, model);
    const token = first.adminToken!;
    const api = client(first.url, token);
    const reviewers = await registerReviewers(api);
    const started = await api<RunView>('POST', '/workflows/start', {
      definition: 'ops_change_control',
      input: changeInput('CHG-9005'),
      idempotency_key: 'CHG-9005',
    });
    const riskGate = gateOf(started);
    await crash(first);

    const rt = await openRuntime(configFromEnv({ COUNTERSIGN_DATA_DIR: dataDir }), { env: {} });
    try {
      const r = await rt.services.workflows.decideApproval(operatorContext(PURPOSE), {
        approval_id: riskGate,
        reviewer_id: reviewers[0]!.id,
        decision: 'approve',
      });
      expect(r).toMatchObject({ resolved: true, approval: { status: 'approved' } });
    } finally {
      await rt.close();
    }

    const second = await serve(dataDir, model);
    const api2 = client(second.url, token);
    // Give it 15 s; a fixed runtime moves on before the server even listens.
    const deadline = Date.now() + 15_000;
    let run = await status(api2, started.workflow_id);
    while (run.waiting_on?.approval_id === riskGate && Date.now() < deadline) {
      await sleep(200);
      run = await status(api2, started.workflow_id);
    }
    expect(run.waiting_on?.approval_id, 'the run still waits on its approved risk gate').not.toBe(
      riskGate,
    );
  }, 180_000);
});
