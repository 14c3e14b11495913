/**
 * The console's plan view in a real browser (playwright-core and Debian's chromium, as
 * console-e2e.test.ts): the built console (`npm run build` first) served by a stand-in API on
 * 127.0.0.1 that answers with a saved plan exactly as a plan-only run stores it. It checks what
 * only a browser can: at 390 px nothing of the plan sticks out of the page, axe-core finds no
 * WCAG 2 A/AA problem, and the Activate refusal reaches the page through the real fetch path.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as checks from './support/browser-checks.js';
import { SAVED_PLAN } from '../console/test/plan-fixture.js';

const DIST = path.resolve('dist/console');
const SHOTS = path.resolve('.test-results/screenshots');
const STEP_TIMEOUT = 15_000;
const T = '2026-12-01T10:00:00.000Z';

/** The fixture with a phase of long, unbroken words: what would widen a phone's page. */
const WIDE_PLAN = {
  ...SAVED_PLAN,
  plan: {
    ...SAVED_PLAN.plan,
    phases: [
      ...SAVED_PLAN.plan.phases,
      {
        phase_id: 'backfill_email_verified_from_the_verified_addresses_table_in_batches',
        phase_type: 'backfill',
        title: 'Backfill email_verified_from_the_verified_addresses_table_in_batches_of_1000',
        status: 'blocked',
        blocked_reason:
          'The tool https://tools.example.internal/database_migration/backfill_in_batches_of_one_thousand_rows is not registered.',
        deferred_to: 'an_adapter_that_can_backfill_in_batches_without_locking_the_users_table',
        risk_level: 'critical',
        rollback_note:
          'UPDATE users SET email_verified = 0 WHERE id IN (SELECT user_id FROM verified_addresses_imported_yesterday)',
        calls: [
          {
            tool: 'database_migration_backfill_in_batches',
            params: JSON.stringify({
              sql: 'UPDATE users SET email_verified = 1 WHERE id IN (SELECT user_id FROM verified_addresses WHERE verified_at IS NOT NULL AND verified_at > 0)',
              batch_size_in_rows_per_transaction_for_the_backfill: 1000,
            }),
          },
        ],
        acceptance_criteria: [
          'SELECT_COUNT_FROM_users_WHERE_email_verified_IS_NULL_returns_zero_for_every_batch',
        ],
      },
    ],
  },
};

const run = (o: Record<string, unknown>) => ({
  workflow_id: 'run_plan',
  definition: 'schema_change_plan',
  status: 'completed',
  stage: 'plan_approved',
  waiting_on: null,
  wake_at: null,
  context: {},
  artifacts: { plan_brief: WIDE_PLAN },
  trace: [
    {
      type: 'decision',
      gate: 'plan_review',
      approval_id: 'approval_9',
      reviewer_id: 'actor_2',
      decision: 'approve',
      comment: null,
      at: T,
    },
  ],
  error: null,
  created_at: T,
  updated_at: T,
  ...o,
});

const RUNS: Record<string, unknown> = {
  run_plan: run({}),
  run_review: run({
    workflow_id: 'run_review',
    status: 'waiting',
    stage: 'plan_review',
    waiting_on: { kind: 'approval', approval_id: 'approval_9' },
    trace: [],
  }),
};

const GATE = {
  approval: {
    id: 'approval_9',
    workflow_id: 'run_review',
    request_key: 'plan_review',
    title: 'Plan review: add email_verified to users',
    packet: { summary: 'Review the plan before anything runs.' },
    required_approvals: 1,
    required_roles: [],
    proposals: [],
    status: 'pending',
    requested_by: 'actor_5',
    due_at: null,
    created_at: T,
    updated_at: T,
  },
  decisions: [],
};

/** The answers of the stand-in API, by method and path. */
function answer(method: string, url: string): { status: number; body: unknown } {
  const p = url.split('?')[0]!;
  const ok = (body: unknown) => ({ status: 200, body });
  if (method === 'GET' && p === '/me')
    return ok({
      tenant_id: 'default',
      kind: 'actor',
      principal_kind: 'human',
      token_id: 'token_1',
      actor_id: 'actor_1',
      name: 'Alice',
      roles: ['Developer'],
      may: ['start_workflow_run', 'activate_plan'],
    });
  if (method === 'GET' && p === '/actors') return ok({ actors: [] });
  if (method === 'GET' && p === '/workflows/definitions')
    return ok({ definitions: [{ name: 'schema_change_plan', runtime: 'embedded' }] });
  if (method === 'GET' && p === '/approvals/approval_9') return ok(GATE);
  const status = /^\/workflows\/([^/]+)\/status$/.exec(p);
  if (method === 'GET' && status && RUNS[status[1]!]) return ok(RUNS[status[1]!]);
  if (method === 'POST' && p === '/workflows/run_plan/activate')
    return {
      status: 409,
      body: {
        error: {
          code: 'PLAN_STALE',
          message: 'The reads of plan run_plan answer differently now: a new plan is needed.',
        },
      },
    };
  return {
    status: 404,
    body: { error: { code: 'NOT_FOUND', message: `No route ${method} ${p}` } },
  };
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

let api: http.Server;
let base: string;
let profile: string;
let context: BrowserContext;
let page: Page;
const posts: { url: string; purpose: string | undefined; body: string }[] = [];

beforeAll(async () => {
  if (!fs.existsSync(path.join(DIST, 'index.html')))
    throw new Error(`${DIST} is missing: run npm run build first.`);
  fs.mkdirSync(SHOTS, { recursive: true });
  api = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const p = url.split('?')[0]!;
    // The console's own files, with the CSP the real server sends.
    const file = p === '/' ? 'index.html' : p.slice(1);
    const local = path.join(DIST, file);
    if (
      req.method === 'GET' &&
      local.startsWith(DIST) &&
      fs.existsSync(local) &&
      !fs.statSync(local).isDirectory()
    ) {
      res.writeHead(200, {
        'content-type': TYPES[path.extname(local)] ?? 'application/octet-stream',
        'content-security-policy': "default-src 'self'; img-src 'self'; frame-ancestors 'none'",
      });
      res.end(fs.readFileSync(local));
      return;
    }
    if (p === '/console-config.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ temporal_ui_url: null }));
      return;
    }
    if (p === '/events') {
      // An open stream that says nothing: the run view then reloads only when told.
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': open\n\n');
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.method === 'POST')
        posts.push({ url: p, purpose: req.headers['x-purpose'] as string | undefined, body });
      const a = answer(req.method ?? 'GET', url);
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-chromium-plan-'));
  ({ context, page } = await checks.launchChromium(profile));
  page.setDefaultTimeout(STEP_TIMEOUT);
  await page.goto(`${base}/#/`);
  await page.getByLabel('API token').fill('cs_test_token_0123456789');
  await page.getByLabel('Purpose (recorded with every action)').fill('review the users plan');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('signed-in-as').waitFor();
}, 60_000);

afterAll(async () => {
  await context?.close();
  api?.closeAllConnections();
  await new Promise((r) => (api ? api.close(r) : r(undefined)));
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

const poll = <T>(fn: () => T | Promise<T>) =>
  expect.poll(fn, { timeout: STEP_TIMEOUT, interval: 100 });

/** Opens every <details> of the plan, so what is behind a click is checked too. */
const openAll = () =>
  page.evaluate(`document.querySelectorAll('main details').forEach((d) => (d.open = true))`);

describe('the plan view in a browser', () => {
  for (const [width, height] of [
    [390, 844],
    [1280, 900],
  ] as const)
    it(`fits ${width} px and has no accessibility problem, in the run and at its review gate`, async () => {
      await page.setViewportSize({ width, height });
      for (const [hash, ready] of [
        ['#/runs/run_plan', 'activate-plan'],
        ['#/approvals/approval_9', 'plan-brief'],
      ] as const) {
        await page.goto(`${base}/${hash}`);
        await page.getByTestId(ready).waitFor();
        await page.getByTestId('plan-only').waitFor();
        expect(await page.getByTestId('phase-blocked').count()).toBe(2);
        expect({ hash, clipped: await checks.clipped(page) }).toEqual({ hash, clipped: [] });
        expect(await checks.overflowX(page)).toBeLessThanOrEqual(0);
        expect({ hash, axe: await checks.accessibilityProblems(page) }).toEqual({ hash, axe: [] });
        await openAll();
        expect({ hash, open: true, clipped: await checks.clipped(page) }).toEqual({
          hash,
          open: true,
          clipped: [],
        });
        expect(await checks.overflowX(page)).toBeLessThanOrEqual(0);
        expect({ hash, open: true, axe: await checks.accessibilityProblems(page) }).toEqual({
          hash,
          open: true,
          axe: [],
        });
        await page.screenshot({
          path: path.join(
            SHOTS,
            `plan-${hash.replace(/[#/]+/g, '-').replace(/^-/, '')}-${width}.png`,
          ),
          fullPage: true,
        });
      }
    });

  it('shows a stale plan’s refusal in words and stays on the plan', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/#/runs/run_plan`);
    posts.length = 0;
    await page.getByRole('button', { name: 'Activate' }).click();
    await poll(() => page.getByTestId('activate-refusal').textContent()).toContain(
      'The target changed since this plan was made; a new plan is needed.',
    );
    expect(await page.getByTestId('activate-refusal').textContent()).toContain('PLAN_STALE');
    expect(new URL(page.url()).hash).toBe('#/runs/run_plan');
    expect(posts).toEqual([
      { url: '/workflows/run_plan/activate', purpose: 'review the users plan', body: '{}' },
    ]);
    expect(await checks.clipped(page)).toEqual([]);
    expect(await checks.accessibilityProblems(page)).toEqual([]);
  });
});
