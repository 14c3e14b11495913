/**
 * The workflow, approval, trace and knowledge operations through the three real front doors
 * (seed 001, prompt 11.9): the HTTP API from `startServer` driven with fetch, `countersign mcp`
 * spawned from the build and driven by the official MCP SDK client over stdio, and the
 * `countersign` binary run once per command. Each part has its own temporary data directory.
 * Run `npm run build` first (the MCP and CLI parts spawn bin/countersign.js).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorContext } from '../src/core/context.js';
import type { Kernel } from '../src/core/kernel.js';
import { configFromEnv } from '../src/main/config.js';
import { type RunningServer, startServer } from '../src/main/serve.js';
import { callTool, fails, ok } from './support/mcp-client.js';

const BIN = path.resolve('bin/countersign.js');
const HOUR = 3_600_000;
/** A line of a JavaScript stack trace. */
const STACK_LINE = /^\s{4}at /m;

// ---- shared fixtures ----------------------------------------------------------------------

interface RunView {
  workflow_id: string;
  definition: string;
  status: string;
  stage: string;
  waiting_on: { kind: string; approval_id?: string; roles?: string[] } | null;
  context: Record<string, unknown>;
  artifacts: Record<string, unknown>;
  trace: Record<string, unknown>[];
  error: Record<string, unknown> | null;
}

interface ApprovalView {
  id: string;
  workflow_id: string;
  request_key: string;
  status: string;
  requested_by: string;
  required_approvals: number;
  required_roles: string[];
  proposals: { proposal_id: string; hash: string }[];
  packet: Record<string, unknown>;
}

interface PendingItem {
  kind: string;
  id: string;
  workflow_id: string;
  approvals: { received: number; required: number };
  required_roles: string[];
}

interface TraceView {
  workflow_id: string;
  valid: boolean;
  events: number;
  problems: { seq: number | null; rule: string; message: string }[];
}

/**
 * A valid ops change control input whose change window is open now (it started an hour ago and
 * ends in six hours), so an approved plan runs at once; with `later`, the window opens tomorrow. "low": a medium-criticality staging
 * system (one approval from anyone at the plan gate); "high": a high-criticality production
 * system under SOX (two approvals from change_manager or service_owner). The config key is
 * expected to be unset, so each run must use its own service/key.
 */
function changeInput(o: {
  service: string;
  key: string;
  tier: 'low' | 'high';
  ticket: string;
  later?: boolean;
}) {
  const now = Date.now() + (o.later ? 24 * HOUR : 0);
  return {
    change_request: {
      title: `Tune ${o.service} ${o.key}`,
      summary: `Set ${o.key} of ${o.service} to 42.`,
      change_type: 'configuration',
      requested_by: 'dana@example.com',
      ticket: o.ticket,
    },
    impacted_systems: [
      o.tier === 'high'
        ? {
            name: o.service,
            criticality: 'high',
            environment: 'production',
            owner: 'platform-team',
          }
        : {
            name: o.service,
            criticality: 'medium',
            environment: 'staging',
            owner: 'platform-team',
          },
    ],
    requirements: { compliance: o.tier === 'high' ? ['SOX'] : [] },
    change_window: {
      start: new Date(now - HOUR).toISOString(),
      end: new Date(now + 6 * HOUR).toISOString(),
    },
    parameters: {
      config_changes: [{ service: o.service, key: o.key, from: null, to: '42' }],
    },
  };
}

/** The demo target's configuration of a service, as config_set wrote it. */
function demoConfig(dataDir: string, service: string): Record<string, string> {
  const file = path.join(dataDir, 'demo-target', 'config', `${service}.json`);
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
}

interface Reviewer {
  id: string;
  role: string;
}

/** `n` distinct reviewers for `approval` from `pool`: never its requester, holding a required role. */
function reviewersFor(approval: ApprovalView, pool: readonly Reviewer[]): Reviewer[] {
  const eligible = pool.filter(
    (r) =>
      r.id !== approval.requested_by &&
      (approval.required_roles.length === 0 || approval.required_roles.includes(r.role)),
  );
  expect(
    eligible.length,
    `reviewers for ${approval.id} (${approval.required_approvals} of ${approval.required_roles.join(', ')})`,
  ).toBeGreaterThanOrEqual(approval.required_approvals);
  return eligible.slice(0, approval.required_approvals);
}

// ---- 1. HTTP ------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
  error: { code: string; message: string; details: Record<string, unknown> };
}

describe(
  'workflow and approval routes over HTTP (a real server, real fetch)',
  { timeout: 60_000 },
  () => {
    let dir: string;
    let server: RunningServer;
    let kernel: Kernel;
    const serverLog: string[] = [];
    const tokens: Record<string, string> = {};
    const actors: Record<string, Reviewer> = {};
    const purpose = (p: string) => ({ 'x-purpose': p });

    async function request(
      method: string,
      url: string,
      o: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
    ): Promise<Answer> {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      let body: string | undefined;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(`${server.url}${url}`, { method, headers, body });
      const text = await res.text();
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // left empty: the assertions name the status
      }
      return {
        status: res.status,
        headers: res.headers,
        text,
        body: parsed,
        error: parsed.error as Answer['error'],
      };
    }

    /** Ledger events of a tenant, counted without writing one (verify_audit only reads). */
    async function ledgerLength(tenant = 'default'): Promise<number> {
      return (await kernel.verifyAudit(operatorContext('tests', tenant))).events;
    }

    async function runIds(): Promise<string[]> {
      const r = await request('GET', '/workflows/runs?limit=500', { token: tokens.admin });
      expect(r.status).toBe(200);
      return (r.body.runs as RunView[]).map((x) => x.workflow_id);
    }

    async function pending(token: string | undefined): Promise<PendingItem[]> {
      const r = await request('GET', '/approvals/pending', { token });
      expect(r.status).toBe(200);
      return r.body.approvals as PendingItem[];
    }

    async function approval(id: string, token = tokens.riley!) {
      const r = await request('GET', `/approvals/${id}`, { token });
      expect(r.status).toBe(200);
      return r.body as { approval: ApprovalView; decisions: { reviewer_id: string }[] };
    }

    async function ledgerOf(workflow_id: string) {
      const r = await request('GET', `/workflows/${workflow_id}/audit-log`, {
        token: tokens.admin,
      });
      expect(r.status).toBe(200);
      return r.body.entries as { type: string; actor: string; data: Record<string, unknown> }[];
    }

    const startBody = (input: unknown, key: string) => ({
      definition: 'ops_change_control',
      input,
      idempotency_key: key,
    });

    /** The high-risk change the main run makes: two approvals at the plan gate. */
    const mainInput = changeInput({
      service: 'checkout-api',
      key: 'db.pool_size',
      tier: 'high',
      ticket: 'CHG-2001',
    });
    let mainRun: string;
    let riskGate: string;
    let planGate: string;

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-wf-http-'));
      server = await startServer(
        { ...configFromEnv({}), dataDir: dir },
        { port: 0, host: '127.0.0.1', log: (l) => serverLog.push(l) },
      );
      kernel = server.kernel;
      expect(server.adminToken).toMatch(/^cs_/);
      tokens.admin = server.adminToken!;
      const op = operatorContext('tests');
      for (const [name, role] of [
        ['alice', 'Developer'],
        ['riley', 'change_manager'],
        ['sam', 'service_owner'],
        ['casey', 'security'],
        ['morgan', 'change_manager'],
      ] as const) {
        const { actor_id } = await kernel.registerActor(op, { name, role });
        actors[name] = { id: actor_id, role };
        tokens[name] = (await kernel.createToken(op, { actor_id, name })).token;
      }
    }, 120_000);

    afterAll(async () => {
      await server?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    it('POST /workflows/start without a token (or with an unknown one) is 401 and records nothing', async () => {
      const before = await ledgerLength();
      for (const headers of [
        purpose('no token'),
        { ...purpose('bad token'), authorization: 'Bearer cs_thisTokenDoesNotExist0000000' },
      ]) {
        const r = await request('POST', '/workflows/start', {
          body: startBody(mainInput, 'CHG-2001'),
          headers,
        });
        expect(r.status).toBe(401);
        expect(r.error.code).toBe('UNAUTHENTICATED');
        expect(r.headers.get('www-authenticate')).toBe('Bearer');
      }
      expect(await ledgerLength()).toBe(before);
      expect(await runIds()).toEqual([]);
    });

    it('without X-Purpose it is 403 POLICY_DENIED naming the header, with a blank one 400, and no run starts', async () => {
      // The API answers a missing purpose on privileged routes with 403 POLICY_DENIED; a header
      // sent blank is malformed input (400), as on every route.
      const before = await ledgerLength();
      const missing = await request('POST', '/workflows/start', {
        token: tokens.alice,
        body: startBody(mainInput, 'CHG-2001'),
      });
      expect(missing.status).toBe(403);
      expect(missing.error.code).toBe('POLICY_DENIED');
      expect(missing.error.message).toContain(
        'X-Purpose header is required for start_workflow_run',
      );
      const blank = await request('POST', '/workflows/start', {
        token: tokens.alice,
        body: startBody(mainInput, 'CHG-2001'),
        headers: purpose('   '),
      });
      expect(blank.status).toBe(400);
      expect(blank.error.code).toBe('VALIDATION_FAILED');
      expect(blank.error.message).toContain('The X-Purpose header is empty');
      expect(await ledgerLength()).toBe(before);
      expect(await runIds()).toEqual([]);
    });

    it('bad input creates nothing: unknown definition 404, invalid input 400 naming input.<field>, extra keys 400', async () => {
      const before = await ledgerLength();
      const send = (body: unknown) =>
        request('POST', '/workflows/start', {
          token: tokens.alice,
          body,
          headers: purpose('CHG-2001 bad input'),
        });

      const unknown = await send({
        ...startBody(mainInput, 'K-unknown'),
        definition: 'no_such_flow',
      });
      expect(unknown.status).toBe(404);
      expect(unknown.error.code).toBe('NOT_FOUND');
      expect(unknown.error.message).toContain('ops_change_control');

      const { change_window: _window, ...noWindow } = mainInput;
      const missing = await send(startBody(noWindow, 'K-missing'));
      expect(missing.status).toBe(400);
      expect(missing.error.code).toBe('VALIDATION_FAILED');
      expect(missing.error.details.issues).toEqual([
        expect.objectContaining({ path: 'input.change_window' }),
      ]);

      const backwards = await send(
        startBody(
          {
            ...mainInput,
            change_window: {
              start: mainInput.change_window.end,
              end: mainInput.change_window.start,
            },
          },
          'K-backwards',
        ),
      );
      expect(backwards.status).toBe(400);
      expect(backwards.error.details.issues).toEqual([
        { path: 'input.change_window.end', message: 'must be after change_window.start' },
      ]);

      const badEnum = await send(
        startBody(
          { ...mainInput, change_request: { ...mainInput.change_request, change_type: 'yolo' } },
          'K-enum',
        ),
      );
      expect(badEnum.status).toBe(400);
      expect((badEnum.error.details.issues as { path: string }[]).map((i) => i.path)).toEqual([
        'input.change_request.change_type',
      ]);

      const extraTop = await send({ ...startBody(mainInput, 'K-extra'), priority: 'urgent' });
      expect(extraTop.status).toBe(400);
      expect(extraTop.error.code).toBe('VALIDATION_FAILED');
      expect(extraTop.error.message).toContain('priority');

      const extraInInput = await send(startBody({ ...mainInput, rollback: 'none' }, 'K-extra-in'));
      expect(extraInInput.status).toBe(400);
      expect(JSON.stringify(extraInInput.error)).toContain('rollback');
      expect((extraInInput.error.details.issues as { path: string }[])[0]!.path).toMatch(/^input/);

      const notObject = await send(startBody('change everything', 'K-string'));
      expect(notObject.status).toBe(400);
      const badName = await send({ ...startBody(mainInput, 'K-name'), definition: 'Ops Change' });
      expect(badName.status).toBe(400);
      const noKey = await send({ definition: 'ops_change_control', input: mainInput });
      expect(noKey.status).toBe(400);
      expect(noKey.error.details.issues).toEqual([
        expect.objectContaining({ path: 'idempotency_key' }),
      ]);

      expect(await ledgerLength()).toBe(before);
      expect(await runIds()).toEqual([]);
      expect(await pending(tokens.admin)).toEqual([]);
    });

    it("with a token and a purpose the run starts, audited with the purpose and the token's actor, and waits at the risk gate", async () => {
      const before = await ledgerLength();
      const r = await request('POST', '/workflows/start', {
        token: tokens.alice,
        body: startBody(mainInput, 'CHG-2001'),
        headers: purpose('CHG-2001: raise the checkout pool'),
      });
      expect(r.status).toBe(200);
      const run = r.body as unknown as RunView;
      expect(run.workflow_id).toMatch(/^run_[0-9a-f]{20}$/);
      expect(run).toMatchObject({
        definition: 'ops_change_control',
        status: 'waiting',
        stage: 'risk_review',
        waiting_on: { kind: 'approval' },
        context: {
          workflow_id: run.workflow_id,
          actor: actors.alice!.id,
          purpose: 'CHG-2001: raise the checkout pool',
        },
      });
      expect(run.waiting_on?.approval_id).toMatch(/^approval_\d+$/);
      mainRun = run.workflow_id;
      riskGate = run.waiting_on!.approval_id!;
      expect(await ledgerLength()).toBeGreaterThan(before);
      expect(await runIds()).toEqual([mainRun]);

      const status = await request('GET', `/workflows/${mainRun}/status`, { token: tokens.sam });
      expect(status.status).toBe(200);
      expect(status.body).toMatchObject({
        workflow_id: mainRun,
        status: 'waiting',
        stage: 'risk_review',
        waiting_on: { kind: 'approval', approval_id: riskGate },
      });

      const inbox = await pending(tokens.riley);
      expect(inbox).toEqual([
        expect.objectContaining({
          kind: 'gate',
          id: riskGate,
          workflow_id: mainRun,
          requested_by: actors.alice!.id,
          approvals: { received: 0, required: 1 },
        }),
      ]);
      expect((await approval(riskGate)).approval).toMatchObject({
        workflow_id: mainRun,
        request_key: 'risk_review#1',
        status: 'pending',
      });

      const entries = await ledgerOf(mainRun);
      expect(entries[0]).toMatchObject({
        type: 'WORKFLOW_STARTED',
        actor: actors.alice!.id,
        data: {
          workflow_id: mainRun,
          definition: 'ops_change_control',
          idempotency_key: 'CHG-2001',
          purpose: 'CHG-2001: raise the checkout pool',
        },
      });
      expect(entries.filter((e) => e.type === 'WORKFLOW_STARTED')).toHaveLength(1);
      expect(entries.map((e) => e.type)).toEqual(
        expect.arrayContaining(['WORKFLOW_STEP', 'AGENT_INVOKE', 'APPROVAL_REQUESTED']),
      );
      expect(entries.map((e) => e.type)).not.toContain('TOOL_INVOKE');
    });

    it('the same idempotency_key is the same run; an Idempotency-Key header replays the first answer', async () => {
      const before = await ledgerLength();
      const again = await request('POST', '/workflows/start', {
        token: tokens.alice,
        body: startBody(mainInput, 'CHG-2001'),
        headers: purpose('CHG-2001: retry'),
      });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({
        workflow_id: mainRun,
        status: 'waiting',
        waiting_on: { approval_id: riskGate },
      });
      expect(await ledgerLength()).toBe(before);

      const other = await request('POST', '/workflows/start', {
        token: tokens.alice,
        body: startBody({ ...mainInput, requirements: { compliance: [] } }, 'CHG-2001'),
        headers: purpose('CHG-2001: different input'),
      });
      expect(other.status).toBe(422);
      expect(other.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
      expect(await ledgerLength()).toBe(before);
      expect(await runIds()).toEqual([mainRun]);

      const input = changeInput({
        service: 'search',
        key: 'cache.size',
        tier: 'low',
        ticket: 'CHG-2002',
      });
      const send = (body: unknown) =>
        request('POST', '/workflows/start', {
          token: tokens.alice,
          body,
          headers: { ...purpose('CHG-2002'), 'idempotency-key': 'start-chg-2002' },
        });
      const first = await send(startBody(input, 'CHG-2002'));
      expect(first.status).toBe(200);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      expect(first.body).toMatchObject({ status: 'waiting', stage: 'risk_review' });
      const afterFirst = await ledgerLength();
      const second = await send(startBody(input, 'CHG-2002'));
      expect(second.status).toBe(200);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      expect(second.text).toBe(first.text);
      const reused = await send(startBody(input, 'CHG-2002-other'));
      expect(reused.status).toBe(422);
      expect(reused.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
      expect(await ledgerLength()).toBe(afterFirst);
      expect((await runIds()).sort()).toEqual([mainRun, first.body.workflow_id as string].sort());
    });

    it('the risk gate: another actor is 403, the starter gets SELF_APPROVAL, a reviewer deciding as itself moves the run to the plan gate', async () => {
      const before = await ledgerLength();
      const url = `/approvals/${riskGate}/decision`;
      const asSam = await request('POST', url, {
        token: tokens.riley,
        body: { reviewer_id: actors.sam!.id, decision: 'approve' },
        headers: purpose('impersonation attempt'),
      });
      expect(asSam.status).toBe(403);
      expect(asSam.error.code).toBe('POLICY_DENIED');
      expect(asSam.error.message).toContain(`authenticated as ${actors.riley!.id}`);
      const noPurpose = await request('POST', url, {
        token: tokens.riley,
        body: { reviewer_id: actors.riley!.id, decision: 'approve' },
      });
      expect(noPurpose.status).toBe(403);
      expect(noPurpose.error.message).toContain('X-Purpose header is required');
      expect(await ledgerLength()).toBe(before);

      const self = await request('POST', url, {
        token: tokens.alice,
        body: { reviewer_id: actors.alice!.id, decision: 'approve' },
        headers: purpose('approving my own change'),
      });
      expect(self.status).toBe(403);
      expect(self.error.code).toBe('SELF_APPROVAL');
      const still = await approval(riskGate);
      expect(still.approval.status).toBe('pending');
      expect(still.decisions).toEqual([]);

      const decided = await request('POST', url, {
        token: tokens.riley,
        body: {
          reviewer_id: actors.riley!.id,
          decision: 'approve',
          comment: 'High risk accepted.',
        },
        headers: purpose('CHG-2001 risk review'),
      });
      expect(decided.status).toBe(200);
      const body = decided.body as {
        approval: ApprovalView;
        decision: { reviewer_id: string; decision: string; comment: string };
        run: RunView;
      };
      expect(body.approval).toMatchObject({ id: riskGate, status: 'approved' });
      expect(body.decision).toMatchObject({
        reviewer_id: actors.riley!.id,
        decision: 'approve',
        comment: 'High risk accepted.',
      });
      expect(body.run).toMatchObject({
        workflow_id: mainRun,
        status: 'waiting',
        waiting_on: { kind: 'approval' },
      });
      planGate = body.run.waiting_on!.approval_id!;
      expect(planGate).not.toBe(riskGate);
      expect(body.run.artifacts).toHaveProperty('plan');
      expect(body.run.trace).toContainEqual(
        expect.objectContaining({
          type: 'decision',
          gate: 'risk_review',
          reviewer_id: actors.riley!.id,
          decision: 'approve',
        }),
      );

      const plan = (await approval(planGate)).approval;
      expect(plan).toMatchObject({
        workflow_id: mainRun,
        request_key: 'plan_approval#1',
        status: 'pending',
      });
      expect(plan.proposals.length).toBeGreaterThan(0);
      const inbox = (await pending(tokens.sam)).filter(
        (a) => a.workflow_id === mainRun && a.kind === 'gate',
      );
      expect(inbox.map((a) => a.id)).toEqual([planGate]);

      // A decided gate takes no more decisions.
      const late = await request('POST', url, {
        token: tokens.sam,
        body: { reviewer_id: actors.sam!.id, decision: 'reject' },
        headers: purpose('late'),
      });
      expect(late.status).toBe(409);
      expect(late.error.code).toBe('INVALID_STATE');
    });

    it("a foreign tenant's token gets 404 for the run and its approvals, and changes nothing", async () => {
      const acme = operatorContext('tests', 'acme');
      const { actor_id } = await kernel.registerActor(acme, { name: 'Mallory', role: 'admin' });
      const mallory = (await kernel.createToken(acme, { actor_id, name: 'mallory' })).token;
      const before = await ledgerLength('default');
      for (const [method, url, body] of [
        ['GET', `/workflows/${mainRun}/status`, undefined],
        ['GET', `/workflows/${mainRun}/trace`, undefined],
        ['GET', `/workflows/${mainRun}/audit-log`, undefined],
        ['GET', `/approvals/${planGate}`, undefined],
        ['GET', `/approvals/${riskGate}`, undefined],
        ['POST', `/approvals/${planGate}/decision`, { reviewer_id: actor_id, decision: 'approve' }],
        ['POST', `/workflows/${mainRun}/cancel`, { reason: 'sabotage' }],
      ] as const) {
        const r = await request(method, url, { token: mallory, body, headers: purpose('probe') });
        expect(r.status, `${method} ${url}`).toBe(404);
        expect(r.error.code).toBe('NOT_FOUND');
      }
      expect(await pending(mallory)).toEqual([]);
      const runs = await request('GET', '/workflows/runs', { token: mallory });
      expect(runs.body).toEqual({ runs: [] });
      expect(await ledgerLength('default')).toBe(before);
      expect((await approval(planGate)).approval.status).toBe('pending');
    });

    it('the plan gate needs its approvals from distinct reviewers holding its roles; then the change runs and the run closes with an audit report and a valid trace', async () => {
      const { approval: plan } = await approval(planGate);
      // The high-risk change asks for two approvals from named roles (rules risk agent).
      expect(plan.required_approvals).toBeGreaterThanOrEqual(2);
      expect(plan.required_roles.length).toBeGreaterThan(0);
      expect(plan.required_roles).not.toContain('security');

      const url = `/approvals/${planGate}/decision`;
      const wrongRole = await request('POST', url, {
        token: tokens.casey,
        body: { reviewer_id: actors.casey!.id, decision: 'approve' },
        headers: purpose('CHG-2001 plan'),
      });
      expect(wrongRole.status).toBe(403);
      expect(wrongRole.error.code).toBe('MISSING_ROLE');

      const pool = Object.values(actors);
      const chosen = reviewersFor(plan, pool);
      const tokenOf = (id: string) =>
        tokens[Object.keys(actors).find((n) => actors[n]!.id === id)!]!;
      let last: { approval: ApprovalView; run: RunView } | undefined;
      for (const [i, reviewer] of chosen.entries()) {
        const r = await request('POST', url, {
          token: tokenOf(reviewer.id),
          body: { reviewer_id: reviewer.id, decision: 'approve', comment: `plan ok (${i + 1})` },
          headers: purpose('CHG-2001 plan approval'),
        });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        last = r.body as unknown as { approval: ApprovalView; run: RunView };
        if (i < chosen.length - 1) {
          expect(last.approval.status).toBe('pending');
          expect(last.run).toMatchObject({
            status: 'waiting',
            waiting_on: { approval_id: planGate },
          });
          const item = (await pending(tokens.admin)).find((a) => a.id === planGate)!;
          expect(item.approvals).toEqual({ received: i + 1, required: plan.required_approvals });
          // The same reviewer cannot count twice.
          const twice = await request('POST', url, {
            token: tokenOf(reviewer.id),
            body: { reviewer_id: reviewer.id, decision: 'approve' },
            headers: purpose('again'),
          });
          expect(twice.status).toBe(409);
          expect(twice.error.code).toBe('DUPLICATE_DECISION');
        }
      }
      expect(last!.approval.status).toBe('approved');
      // The decision drives the run at once: the window is open, so it runs to the end.
      expect(last!.run).toMatchObject({
        workflow_id: mainRun,
        status: 'completed',
        stage: 'closed',
      });

      const status = await request('GET', `/workflows/${mainRun}/status`, { token: tokens.alice });
      const run = status.body as unknown as RunView;
      expect(run).toMatchObject({
        status: 'completed',
        stage: 'closed',
        waiting_on: null,
        error: null,
      });
      const report = run.artifacts.audit_report as { outcome: string; markdown: string };
      expect(report.outcome).toBe('closed');
      expect(report.markdown).toContain(mainRun);
      // Every decision row says when it was made (an ISO time, never "—").
      const rows = report.markdown
        .split('## Decisions')[1]!
        .split('##')[0]!
        .split('\n')
        .filter((l) => /^\| \d+ \|/.test(l));
      expect(rows.length).toBeGreaterThanOrEqual(2);
      for (const r of rows) expect(r.split('|')[5]!.trim()).toMatch(/^\d{4}-\d\d-\d\dT/);
      // Who asked for the change is named (a declared exception to redaction), not hidden.
      expect(report.markdown).toContain('- Requested by: dana@example.com');
      expect((run.artifacts.intake as { requested_by: string }).requested_by).toBe(
        'dana@example.com',
      );
      expect(run.trace.filter((t) => t.type === 'tool').map((t) => t.status)).not.toContain(
        'failed',
      );
      // The governed write-back really happened on the demo target.
      expect(demoConfig(dir, 'checkout-api')['db.pool_size']).toBe('42');

      const trace = await request('GET', `/workflows/${mainRun}/trace`, { token: tokens.sam });
      expect(trace.status).toBe(200);
      expect(trace.body).toMatchObject({ workflow_id: mainRun, valid: true, problems: [] });
      const types = (await ledgerOf(mainRun)).map((e) => e.type);
      expect(types.at(-1)).toBe('WORKFLOW_COMPLETED');
      expect(types).toEqual(expect.arrayContaining(['TOOL_INVOKE', 'APPROVAL_DECISION']));
      expect((await pending(tokens.admin)).filter((a) => a.workflow_id === mainRun)).toEqual([]);
    });

    it('the trace of a run that has not ended is not valid', async () => {
      const runs = (await runIds()).filter((id) => id !== mainRun);
      expect(runs).toHaveLength(1);
      const r = await request('GET', `/workflows/${runs[0]}/trace`, { token: tokens.alice });
      expect(r.status).toBe(200);
      const trace = r.body as unknown as TraceView;
      expect(trace.valid).toBe(false);
      const ended = trace.problems.filter((p) => p.rule === 'ended');
      expect(ended).toHaveLength(1);
      expect(ended[0]!.message).toContain('has not ended');
    });

    it('cancel: a plain actor is refused (403), the admin token cancels a waiting run (200) and its gate leaves the inbox', async () => {
      const runs = (await runIds()).filter((id) => id !== mainRun);
      const waiting = runs[0]!;
      const status = await request('GET', `/workflows/${waiting}/status`, { token: tokens.admin });
      expect(status.body).toMatchObject({ status: 'waiting', waiting_on: { kind: 'approval' } });
      const gate = (status.body as unknown as RunView).waiting_on!.approval_id!;
      const url = `/workflows/${waiting}/cancel`;

      const plain = await request('POST', url, {
        token: tokens.riley,
        body: { reason: 'not needed' },
        headers: purpose('cleanup'),
      });
      expect(plain.status).toBe(403);
      expect(plain.error.code).toBe('POLICY_DENIED');
      const noPurpose = await request('POST', url, {
        token: tokens.admin,
        body: { reason: 'not needed' },
      });
      expect(noPurpose.status).toBe(403);
      const noReason = await request('POST', url, {
        token: tokens.admin,
        body: {},
        headers: purpose('cleanup'),
      });
      expect(noReason.status).toBe(400);
      expect(noReason.error.details.issues).toEqual([expect.objectContaining({ path: 'reason' })]);
      const unchanged = await request('GET', `/workflows/${waiting}/status`, {
        token: tokens.admin,
      });
      expect(unchanged.body).toMatchObject({ status: 'waiting' });

      const cancelled = await request('POST', url, {
        token: tokens.admin,
        body: { reason: 'superseded by CHG-2001' },
        headers: purpose('cleanup'),
      });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({
        workflow_id: waiting,
        status: 'cancelled',
        waiting_on: null,
        error: { reason: 'superseded by CHG-2001' },
      });
      expect((await pending(tokens.admin)).map((a) => a.id)).not.toContain(gate);
      const decide = await request('POST', `/approvals/${gate}/decision`, {
        token: tokens.riley,
        body: { reviewer_id: actors.riley!.id, decision: 'approve' },
        headers: purpose('too late'),
      });
      expect(decide.status).toBe(409);
      expect(decide.error.code).toBe('INVALID_STATE');
      const again = await request('POST', url, {
        token: tokens.admin,
        body: { reason: 'twice' },
        headers: purpose('cleanup'),
      });
      expect(again.status).toBe(409);
      const after = await request('GET', `/workflows/${waiting}/status`, { token: tokens.alice });
      expect(after.body).toMatchObject({ status: 'cancelled' });
      const types = (await ledgerOf(waiting)).map((e) => e.type);
      expect(types.at(-1)).toBe('WORKFLOW_CANCELLED');
      expect(types).not.toContain('TOOL_INVOKE');
      expect(serverLog).toEqual([]);
    });

    it('a call bound to a pending plan gate cannot be approved around the gate nor run before it', async () => {
      // Seed 000: write-back only of the calls the plan gate approved, only inside the window.
      const input = changeInput({
        service: 'ledger-api',
        key: 'batch.size',
        tier: 'high',
        ticket: 'CHG-2003',
        later: true,
      });
      const started = await request('POST', '/workflows/start', {
        token: tokens.alice,
        body: startBody(input, 'CHG-2003'),
        headers: purpose('CHG-2003'),
      });
      expect(started.status).toBe(200);
      const run = started.body as unknown as RunView;
      const risk = await request('POST', `/approvals/${run.waiting_on!.approval_id}/decision`, {
        token: tokens.riley,
        body: { reviewer_id: actors.riley!.id, decision: 'approve' },
        headers: purpose('CHG-2003 risk review'),
      });
      expect(risk.status).toBe(200);
      const gate = (risk.body.run as RunView).waiting_on!.approval_id!;
      const { approval: plan } = await approval(gate);
      expect(plan.required_roles).not.toContain('security');
      const calls = plan.packet.calls as { tool: string; proposal_id: string; label: string }[];
      const change = calls.find((c) => c.tool === 'config_set' && !c.label.endsWith('.rollback'))!;
      expect(change, JSON.stringify(calls)).toBeDefined();
      const bound = change.proposal_id;
      expect(plan.proposals.map((p) => p.proposal_id)).toContain(bound);

      // Casey holds none of the gate's roles: approving the change directly, around the gate,
      // is refused, and so is running it before the gate (and the window) allow.
      const review = await request('POST', `/proposals/${bound}/review`, {
        token: tokens.casey,
        body: { reviewer_id: actors.casey!.id, decision: 'approve' },
        headers: purpose('approve around the gate'),
      });
      expect(review.status, JSON.stringify(review.body)).toBeGreaterThanOrEqual(400);
      // Each direct operation is refused as itself, naming the gate that binds the call.
      expect(review.body).toMatchObject({
        error: { code: 'INVALID_STATE', details: { operation: 'review_action' } },
      });
      const revise = await request('POST', `/proposals/${bound}/revise`, {
        token: tokens.alice,
        body: { actor_id: actors.alice!.id, params: { service: 'ledger-api' } },
        headers: purpose('revise around the gate'),
      });
      expect(revise.body).toMatchObject({
        error: { code: 'INVALID_STATE', details: { operation: 'revise_action' } },
      });
      expect(JSON.stringify(revise.body)).toContain(`its gate ${gate}`);
      const execute = await request('POST', `/proposals/${bound}/execute`, {
        token: tokens.casey,
        headers: purpose('run before the gate'),
      });
      expect(execute.status, JSON.stringify(execute.body)).toBeGreaterThanOrEqual(400);
      expect(fs.existsSync(path.join(dir, 'demo-target', 'config', 'ledger-api.json'))).toBe(false);

      const types = (await ledgerOf(run.workflow_id)).map((e) => e.type);
      expect(types).not.toContain('TOOL_INVOKE');
      expect((await approval(gate)).approval.status).toBe('pending');
      const proposal = await request('GET', `/proposals/${bound}`, { token: tokens.admin });
      expect(proposal.body).toMatchObject({ proposal: { status: 'pending' }, executions: [] });
    });
  },
);

// ---- 2. MCP over stdio --------------------------------------------------------------------

describe(
  'workflow tools over MCP stdio (`countersign mcp --operator` from the build, SDK client)',
  { timeout: 60_000 },
  () => {
    let dir: string;
    let client: Client;
    let transport: StdioClientTransport;
    let stderr = '';
    const clientErrors: Error[] = [];
    const tools = new Map<string, Tool>();
    const validators = new Map<string, ValidateFunction>();
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats.default(ajv);

    /** A successful result whose structured content validates against the tool's output schema. */
    function checked<T>(name: string, result: CallToolResult): T {
      const content = ok<T>(result);
      let validate = validators.get(name);
      if (!validate) {
        const schema = tools.get(name)?.outputSchema;
        expect(schema, `${name} has an output schema`).toBeDefined();
        validate = ajv.compile(schema!);
        validators.set(name, validate);
      }
      expect(validate(content), `${name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      return content;
    }

    const call = (name: string, args: Record<string, unknown>) => callTool(client, name, args);

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-wf-mcp-'));
      transport = new StdioClientTransport({
        command: process.execPath,
        args: [BIN, 'mcp', '--operator'],
        env: { PATH: process.env.PATH ?? '', COUNTERSIGN_DATA_DIR: dir },
        stderr: 'pipe',
      });
      transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      client = new Client({ name: 'countersign-workflow-test', version: '1.0.0' });
      client.onerror = (e) => clientErrors.push(e);
      await client.connect(transport);
      for (const t of (await client.listTools()).tools) tools.set(t.name, t);
    }, 120_000);

    afterAll(async () => {
      await client?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    }, 60_000);

    it('lists the workflow tools, each with an input and an output schema', () => {
      for (const name of [
        'start_workflow_run',
        'decide_approval',
        'list_pending_approvals',
        'get_workflow_status',
        'validate_trace',
        'get_approval',
        'cancel_workflow_run',
        'list_workflow_definitions',
      ]) {
        const tool = tools.get(name);
        expect(tool, name).toBeDefined();
        expect(tool!.outputSchema, name).toMatchObject({ type: 'object' });
        expect(tool!.inputSchema, name).toMatchObject({ type: 'object' });
        // Every advertised output schema is usable JSON Schema.
        ajv.compile(tool!.outputSchema!);
      }
      const start = tools.get('start_workflow_run')!.inputSchema;
      expect(start.additionalProperties).toBe(false);
      expect(start.required).toEqual(
        expect.arrayContaining(['definition', 'input', 'idempotency_key']),
      );
      expect(tools.get('decide_approval')!.inputSchema.required).toEqual(
        expect.arrayContaining(['approval_id', 'reviewer_id', 'decision']),
      );
      expect(tools.get('get_workflow_status')!.annotations?.readOnlyHint).toBe(true);
      expect(tools.get('start_workflow_run')!.annotations?.readOnlyHint).toBe(false);
    });

    it('starts a run, lists its gate, decides both gates as named reviewers and reads the closed run; every result matches its output schema', async () => {
      const defs = checked<{ definitions: { name: string }[] }>(
        'list_workflow_definitions',
        await call('list_workflow_definitions', {}),
      );
      expect(defs.definitions.map((d) => d.name)).toEqual(
        expect.arrayContaining(['ops_change_control', 'safe_ai_assisted']),
      );

      const pool: Reviewer[] = [];
      for (const [name, role] of [
        ['Riley', 'change_manager'],
        ['Sam', 'service_owner'],
      ] as const) {
        const { actor_id } = checked<{ actor_id: string }>(
          'register_actor',
          await call('register_actor', { name, role }),
        );
        pool.push({ id: actor_id, role });
      }

      const input = changeInput({
        service: 'billing',
        key: 'retry.limit',
        tier: 'low',
        ticket: 'CHG-3001',
      });
      const started = checked<RunView>(
        'start_workflow_run',
        await call('start_workflow_run', {
          definition: 'ops_change_control',
          input,
          idempotency_key: 'CHG-3001',
        }),
      );
      expect(started).toMatchObject({
        status: 'waiting',
        stage: 'risk_review',
        waiting_on: { kind: 'approval' },
        context: { actor: 'operator', purpose: 'mcp-stdio' },
      });
      const run = started.workflow_id;
      const again = checked<RunView>(
        'start_workflow_run',
        await call('start_workflow_run', {
          definition: 'ops_change_control',
          input,
          idempotency_key: 'CHG-3001',
        }),
      );
      expect(again.workflow_id).toBe(run);

      const inbox = checked<{ approvals: PendingItem[] }>(
        'list_pending_approvals',
        await call('list_pending_approvals', { kind: 'gate' }),
      );
      expect(inbox.approvals).toEqual([
        expect.objectContaining({
          kind: 'gate',
          id: started.waiting_on!.approval_id,
          workflow_id: run,
        }),
      ]);

      // The local operator names the reviewer; each gate gets as many as it asks for.
      let current = checked<RunView>(
        'get_workflow_status',
        await call('get_workflow_status', {
          workflow_id: run,
        }),
      );
      const gates: string[] = [];
      while (current.status === 'waiting' && current.waiting_on?.kind === 'approval') {
        const gate = current.waiting_on.approval_id!;
        expect(gates).not.toContain(gate);
        gates.push(gate);
        expect(gates.length).toBeLessThanOrEqual(2);
        const { approval } = checked<{ approval: ApprovalView }>(
          'get_approval',
          await call('get_approval', { approval_id: gate }),
        );
        // Different reviewers for the two gates, when one each suffices.
        const reviewers = reviewersFor(approval, gates.length === 2 ? [...pool].reverse() : pool);
        for (const reviewer of reviewers) {
          const decided = checked<{ approval: ApprovalView; run: RunView }>(
            'decide_approval',
            await call('decide_approval', {
              approval_id: gate,
              reviewer_id: reviewer.id,
              decision: 'approve',
              comment: `approved over MCP by ${reviewer.role}`,
            }),
          );
          expect(decided.approval.id).toBe(gate);
          current = decided.run;
        }
      }
      expect(gates).toHaveLength(2);

      const final = checked<RunView>(
        'get_workflow_status',
        await call('get_workflow_status', { workflow_id: run }),
      );
      expect(final).toMatchObject({ workflow_id: run, status: 'completed', stage: 'closed' });
      expect((final.artifacts.audit_report as { markdown: string }).markdown).toContain(run);
      expect(demoConfig(dir, 'billing')['retry.limit']).toBe('42');
      const trace = checked<TraceView>(
        'validate_trace',
        await call('validate_trace', {
          workflow_id: run,
        }),
      );
      expect(trace).toMatchObject({ workflow_id: run, valid: true, problems: [] });
      const empty = checked<{ approvals: PendingItem[] }>(
        'list_pending_approvals',
        await call('list_pending_approvals', {}),
      );
      expect(empty.approvals).toEqual([]);
      const runs = checked<{ runs: RunView[] }>(
        'list_workflow_runs',
        await call('list_workflow_runs', { status: 'completed' }),
      );
      expect(runs.runs.map((r) => r.workflow_id)).toEqual([run]);
    });

    it('answers invalid arguments with VALIDATION_FAILED naming the field, changes nothing, and keeps working', async () => {
      const events = async () =>
        checked<{ events: number }>('verify_audit', await call('verify_audit', {})).events;
      const before = await events();
      const valid = changeInput({ service: 'x-svc', key: 'k', tier: 'low', ticket: 'CHG-3002' });
      const { change_window: _w, ...noWindow } = valid;
      const cases: [string, Record<string, unknown>, RegExp][] = [
        [
          'start_workflow_run',
          { definition: 'ops_change_control', input: noWindow, idempotency_key: 'K' },
          /input\.change_window/,
        ],
        [
          'start_workflow_run',
          { definition: 'ops_change_control', input: valid },
          /idempotency_key/,
        ],
        [
          'start_workflow_run',
          { definition: 'ops_change_control', input: valid, idempotency_key: 'K', urgent: true },
          /urgent/,
        ],
        [
          'start_workflow_run',
          { definition: 'ops_change_control', input: 'all of it', idempotency_key: 'K' },
          /input/,
        ],
        [
          'decide_approval',
          { approval_id: 'approval_1', reviewer_id: 'actor_1', decision: 'maybe' },
          /decision/,
        ],
        [
          'decide_approval',
          { approval_id: 'gate-1', reviewer_id: 'actor_1', decision: 'approve' },
          /approval_id: must look like approval_/,
        ],
        ['get_workflow_status', { workflow_id: 'wf-1' }, /workflow_id: must look like run_/],
        ['validate_trace', {}, /workflow_id/],
        ['list_pending_approvals', { kind: 'everything' }, /kind/],
      ];
      for (const [tool, args, message] of cases) {
        const text = fails(await call(tool, args), 'VALIDATION_FAILED');
        expect(text, `${tool} ${JSON.stringify(args)}`).toMatch(message);
      }
      fails(
        await call('start_workflow_run', {
          definition: 'no_such_flow',
          input: valid,
          idempotency_key: 'K',
        }),
        'NOT_FOUND',
      );
      fails(
        await call('get_workflow_status', { workflow_id: 'run_00000000000000000000' }),
        'NOT_FOUND',
      );
      expect(await events()).toBe(before);
      const runs = checked<{ runs: RunView[] }>(
        'list_workflow_runs',
        await call('list_workflow_runs', {}),
      );
      expect(runs.runs).toHaveLength(1);
      expect(clientErrors).toEqual([]);
      expect(stderr).not.toMatch(STACK_LINE);
      expect(stderr).not.toContain('failed unexpectedly');
    });
  },
);

// ---- 3. CLI -------------------------------------------------------------------------------

interface CliResult {
  args: string[];
  code: number | null;
  stdout: string;
  stderr: string;
}

describe(
  'workflow, approvals, trace and knowledge commands of the countersign binary',
  { timeout: 180_000 },
  () => {
    let dir: string;
    let data: string;
    const results: CliResult[] = [];
    const files: Record<string, string> = {};
    let firstRun: string;

    /** Runs the binary once on the test's data directory; the process ends with the command. */
    function cli(...args: string[]): Promise<CliResult> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [BIN, ...args], {
          cwd: dir,
          env: {
            ...process.env,
            COUNTERSIGN_DATA_DIR: data,
            COUNTERSIGN_SERVER: '',
            COUNTERSIGN_TOKEN: '',
            COUNTERSIGN_DATABASE_URL: '',
            COUNTERSIGN_TENANT: '',
            COUNTERSIGN_DEBUG: '',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
        child.on('close', (code) => {
          clearTimeout(timer);
          const r = { args, code, stdout, stderr };
          results.push(r);
          resolve(r);
        });
      });
    }

    const json = <T>(r: CliResult): T => {
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as T;
    };

    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-wf-cli-'));
      data = path.join(dir, 'data');
      const write = (name: string, text: string) => {
        const file = path.join(dir, name);
        fs.writeFileSync(file, text);
        files[name] = file;
      };
      const input = changeInput({
        service: 'payments-api',
        key: 'http.timeout',
        tier: 'low',
        ticket: 'CHG-4001',
      });
      write('change.json', JSON.stringify(input, null, 2));
      const { change_window: _w, ...noWindow } = input;
      write('no-window.json', JSON.stringify(noWindow));
      write('broken.json', '{"change_request": {');
      write('runbook.md', 'To roll back the quokka cache, restore the previous TTL and flush.\n');
    });

    afterAll(() => {
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('workflow definitions lists ops_change_control, safe_ai_assisted and schema_change_plan', async () => {
      const r = await cli('workflow', 'definitions');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('ops_change_control');
      expect(r.stdout).toContain('safe_ai_assisted');
      expect(r.stdout).toContain('schema_change_plan');
      const j = json<{ definitions: { name: string; runtime: string }[] }>(
        await cli('--json', 'workflow', 'definitions'),
      );
      expect(j.definitions.map((d) => d.name).sort()).toEqual([
        'ops_change_control',
        'plan_activation',
        'safe_ai_assisted',
        'schema_change_plan',
      ]);
    });

    it('bad input files exit 2 with a clear message and start nothing', async () => {
      const missing = path.join(dir, 'nope.json');
      const notThere = await cli(
        'workflow',
        'run',
        'ops_change_control',
        '--input',
        `@${missing}`,
        '--key',
        'CHG-BAD',
      );
      expect(notThere.code).toBe(2);
      expect(notThere.stderr).toContain('error VALIDATION_FAILED');
      expect(notThere.stderr).toContain(`cannot read ${missing}`);
      expect(notThere.stdout).toBe('');

      const broken = await cli(
        'workflow',
        'run',
        'ops_change_control',
        '--input',
        `@${files['broken.json']}`,
        '--key',
        'CHG-BAD',
      );
      expect(broken.code).toBe(2);
      expect(broken.stderr).toContain('--input is not valid JSON');

      const schema = await cli(
        'workflow',
        'run',
        'ops_change_control',
        '--input',
        `@${files['no-window.json']}`,
        '--key',
        'CHG-BAD',
      );
      expect(schema.code).toBe(2);
      expect(schema.stderr).toContain('error VALIDATION_FAILED');
      expect(schema.stderr).toMatch(/^ {2}- input\.change_window: /m);

      const unknown = await cli(
        'workflow',
        'run',
        'no_such_flow',
        '--input',
        `@${files['change.json']}`,
        '--key',
        'CHG-BAD',
      );
      expect(unknown.code).toBe(4);
      expect(unknown.stderr).toContain('error NOT_FOUND');

      const noKey = await cli('workflow', 'run', 'ops_change_control', '--input', '{}');
      expect(noKey.code).toBe(2);
      expect(noKey.stderr).toContain('--key');

      const runs = json<{ runs: unknown[] }>(await cli('--json', 'workflow', 'runs'));
      expect(runs.runs).toEqual([]);
    });

    it('workflow run prints the run waiting at its risk gate; --json prints it as JSON, and the same key is the same run', async () => {
      const r = await cli(
        'workflow',
        'run',
        'ops_change_control',
        '--input',
        `@${files['change.json']}`,
        '--key',
        'CHG-4001',
      );
      expect(r.code, r.stderr).toBe(0);
      const m = /^run (run_[0-9a-f]{20}) \(ops_change_control\): waiting, stage risk_review$/m.exec(
        r.stdout,
      );
      expect(m, r.stdout).not.toBeNull();
      firstRun = m![1]!;
      expect(r.stdout).toMatch(/^ {2}waiting on approval_\d+/m);

      const again = json<RunView>(
        await cli(
          '--json',
          'workflow',
          'run',
          'ops_change_control',
          '--input',
          `@${files['change.json']}`,
          '--key',
          'CHG-4001',
        ),
      );
      expect(again).toMatchObject({
        workflow_id: firstRun,
        status: 'waiting',
        stage: 'risk_review',
        waiting_on: { kind: 'approval' },
        context: { actor: 'operator', purpose: 'cli' },
      });
      const runs = json<{ runs: RunView[] }>(await cli('--json', 'workflow', 'runs'));
      expect(runs.runs.map((x) => x.workflow_id)).toEqual([firstRun]);
    });

    it('approvals pending lists the gate; approvals decide moves the run on, one process per decision, until it closes', async () => {
      const ids: Reviewer[] = [];
      for (const [name, role] of [
        ['Riley', 'change_manager'],
        ['Sam', 'service_owner'],
      ] as const) {
        const { actor_id } = json<{ actor_id: string }>(
          await cli('--json', 'actor', 'register', '--name', name, '--role', role),
        );
        ids.push({ id: actor_id, role });
      }
      const status = json<RunView>(await cli('--json', 'workflow', 'status', firstRun));
      const riskGate = status.waiting_on!.approval_id!;

      const inbox = await cli('approvals', 'pending');
      expect(inbox.code).toBe(0);
      expect(inbox.stdout).toMatch(
        new RegExp(`^${riskGate}\\s+gate\\s+${firstRun}\\s+0/1 .*Risk review`, 'm'),
      );

      const first = await cli(
        'approvals',
        'decide',
        riskGate,
        '--reviewer',
        ids[0]!.id,
        '--decision',
        'approve',
        '--comment',
        'risk confirmed',
      );
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain(`${riskGate}: approved`);
      expect(first.stdout).toContain(`run ${firstRun} (ops_change_control): waiting`);
      const next = /^ {2}waiting on (approval_\d+)/m.exec(first.stdout);
      expect(next, first.stdout).not.toBeNull();
      const planGate = next![1]!;
      expect(planGate).not.toBe(riskGate);
      expect(first.stdout).toContain(`- risk_review: approve by ${ids[0]!.id} ("risk confirmed")`);

      const inbox2 = await cli('approvals', 'pending', '--kind', 'gate');
      expect(inbox2.stdout).toContain(planGate);
      expect(inbox2.stdout).not.toContain(`${riskGate} `);

      const { approval } = json<{ approval: ApprovalView }>(
        await cli('--json', 'approvals', 'show', planGate),
      );
      expect(approval).toMatchObject({ id: planGate, status: 'pending', workflow_id: firstRun });
      const reviewers = reviewersFor(approval, [...ids].reverse());
      let last: CliResult | undefined;
      for (const reviewer of reviewers) {
        last = await cli(
          'approvals',
          'decide',
          planGate,
          '--reviewer',
          reviewer.id,
          '--decision',
          'approve',
        );
        expect(last.code, last.stderr).toBe(0);
      }
      expect(last!.stdout).toContain(`${planGate}: approved`);
      expect(last!.stdout).toContain(
        `run ${firstRun} (ops_change_control): completed, stage closed`,
      );
      expect(last!.stdout).toContain('audit_report');

      const final = json<RunView>(await cli('--json', 'workflow', 'status', firstRun));
      expect(final).toMatchObject({ status: 'completed', stage: 'closed', waiting_on: null });
      expect(demoConfig(data, 'payments-api')['http.timeout']).toBe('42');
      const empty = await cli('approvals', 'pending');
      expect(empty.stdout).toBe('Nothing is waiting on a human.\n');

      const late = await cli(
        'approvals',
        'decide',
        planGate,
        '--reviewer',
        ids[0]!.id,
        '--decision',
        'reject',
      );
      expect(late.code).toBe(4);
      expect(late.stderr).toContain('error INVALID_STATE');
    });

    it('trace validate exits 0 with "trace valid" for the finished run and 5 for a run that has not ended', async () => {
      const valid = await cli('trace', 'validate', firstRun);
      expect(valid.code, valid.stdout + valid.stderr).toBe(0);
      expect(valid.stdout).toMatch(new RegExp(`^trace valid: ${firstRun}, \\d+ events$`, 'm'));

      const second = json<RunView>(
        await cli(
          '--json',
          'workflow',
          'run',
          'ops_change_control',
          '--input',
          `@${files['change.json']}`,
          '--key',
          'CHG-4002',
        ),
      );
      expect(second.workflow_id).not.toBe(firstRun);
      expect(second.status).toBe('waiting');
      const open = await cli('trace', 'validate', second.workflow_id);
      expect(open.code).toBe(5);
      expect(open.stdout).toContain(`trace INVALID: ${second.workflow_id}`);
      expect(open.stdout).toContain('has not ended');
      const report = json<TraceView>(await cli('--json', 'trace', 'validate', firstRun));
      expect(report).toMatchObject({ workflow_id: firstRun, valid: true, problems: [] });

      const bad = await cli('trace', 'validate', 'wf-1');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('workflow_id');
      const none = await cli('trace', 'validate', 'run_00000000000000000000');
      expect(none.code).toBe(4);
    });

    it('workflow report prints the Markdown audit report of a finished run, and says why there is none yet', async () => {
      const r = await cli('workflow', 'report', firstRun);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^# /);
      expect(r.stdout).toContain(firstRun);
      expect(r.stdout).toContain('closed');
      const j = json<{ outcome: string; markdown: string }>(
        await cli('--json', 'workflow', 'report', firstRun),
      );
      expect(j.outcome).toBe('closed');
      expect(j.markdown.trim()).toBe(r.stdout.trim());

      const runs = json<{ runs: RunView[] }>(
        await cli('--json', 'workflow', 'runs', '--status', 'waiting'),
      );
      expect(runs.runs).toHaveLength(1);
      const waiting = await cli('workflow', 'report', runs.runs[0]!.workflow_id);
      expect(waiting.code).toBe(4);
      expect(waiting.stderr).toContain('has no audit report yet');
    });

    it('workflow activate refuses what is not an approved plan, with its exit code and nothing started', async () => {
      const before = json<{ runs: { workflow_id: string; definition: string }[] }>(
        await cli('--json', 'workflow', 'runs'),
      ).runs;
      const notAPlan = before.find((r) => r.definition !== 'plan_activation')!;
      const refused = await cli('workflow', 'activate', notAPlan.workflow_id);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('error VALIDATION_FAILED');
      expect(refused.stderr).toContain('not a plan-only run');
      const unknown = await cli('workflow', 'activate', 'run_00000000000000000000');
      expect(unknown.code).toBe(4);
      expect(unknown.stderr).toContain('error NOT_FOUND');
      const badHash = await cli('workflow', 'activate', notAPlan.workflow_id, '--plan-hash', 'x');
      expect(badHash.code).toBe(2);
      expect(badHash.stderr).toContain('plan_hash');
      const after = json<{ runs: unknown[] }>(await cli('--json', 'workflow', 'runs')).runs;
      expect(after).toHaveLength(before.length);
    });

    it('knowledge add --body @file, then knowledge search finds it', async () => {
      const add = await cli(
        'knowledge',
        'add',
        '--title',
        'Cache rollback runbook',
        '--body',
        `@${files['runbook.md']}`,
        '--tags',
        'ops, runbook',
      );
      expect(add.code, add.stderr).toBe(0);
      const id = /document_id: (document_\d+)/.exec(add.stdout)?.[1];
      expect(id, add.stdout).toBeDefined();

      const hit = await cli('knowledge', 'search', 'quokka');
      expect(hit.code).toBe(0);
      expect(hit.stdout).toContain(id!);
      expect(hit.stdout).toContain('Cache rollback runbook');
      const j = json<{ hits: { id: string; tags: string[] }[] }>(
        await cli('--json', 'knowledge', 'search', 'quokka'),
      );
      expect(j.hits).toEqual([expect.objectContaining({ id, tags: ['ops', 'runbook'] })]);
      const miss = await cli('knowledge', 'search', 'zeppelin');
      expect(miss.code).toBe(0);
      expect(miss.stdout).toBe('No matching documents.\n');
      const noFile = await cli('knowledge', 'add', '--title', 'T', '--body', '@/no/such/file.md');
      expect(noFile.code).toBe(2);
      expect(noFile.stderr).toContain('cannot read /no/such/file.md');
    });

    it('--help of workflow run, approvals decide and trace validate shows an example and exits 0', async () => {
      for (const args of [
        ['workflow', 'run', '--help'],
        ['approvals', 'decide', '--help'],
        ['trace', 'validate', '--help'],
      ]) {
        const r = await cli(...args);
        expect(r.code, args.join(' ')).toBe(0);
        expect(r.stdout, args.join(' ')).toMatch(/Examples?:\n {2}countersign /);
        expect(r.stdout).toContain(`countersign ${args.slice(0, 2).join(' ')}`);
      }
    });

    it('never prints a stack trace', () => {
      expect(results.length).toBeGreaterThan(20);
      for (const r of results) {
        expect(r.stderr, r.args.join(' ')).not.toMatch(STACK_LINE);
        expect(r.stdout, r.args.join(' ')).not.toMatch(STACK_LINE);
      }
    });
  },
);
