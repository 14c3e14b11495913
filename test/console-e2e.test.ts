/**
 * The approval console end to end in a real browser: playwright-core drives Debian's chromium
 * (/usr/bin/chromium, installed by .ci/run; no browser is downloaded) against the built
 * `countersign serve --demo` on 127.0.0.1. Screenshots of the inbox, decision views and a run
 * timeline go to .test-results/screenshots (not committed). Run `npm run build` first.
 * Work packages are booked and worked through the API (an agent registered with the CLI on the
 * demo's data directory) and decided in the browser.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as checks from './support/browser-checks.js';
import { type DemoServer, startDemoServer } from './support/console-server.js';
import { SCHEMA_PLAN_REQUEST, seedPlanTarget } from './support/schema-plan-fixture.js';

const SHOTS = path.resolve('.test-results/screenshots');
const STEP_TIMEOUT = 15_000;

let dir: string;
let profile: string;
let server: DemoServer;
let context: BrowserContext;
let page: Page;
/** Chromium's reports of Content-Security-Policy violations, over the whole session. */
const cspViolations: string[] = [];
/** A server elsewhere that a report's image points at; it must never be asked. */
let elsewhere: http.Server;
let elsewhereUrl: string;
const elsewhereHits: string[] = [];
/** The plan run the plan test makes, and its plan gate, for the phone-width sweep. */
let planRun = '';
let planGate = '';

/** Tokens minted during the run, beside the demo's (an agent's). */
const moreTokens: Record<string, string> = {};

/** Calls the API as a demo person, the way an agent or another client would. */
async function api(who: string, method: string, url: string, body?: unknown) {
  const res = await fetch(`${server.url}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${server.tokens[who] ?? moreTokens[who]}`,
      'x-purpose': 'console e2e setup',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function signIn(who: string, purpose = `e2e review by ${who}`) {
  await page.goto(`${server.url}/#/`);
  await page.getByLabel('API token').fill(server.tokens[who]!);
  await page.getByLabel('Purpose (recorded with every action)').fill(purpose);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await poll(() => page.getByTestId('signed-in-as').textContent()).toContain(who);
}

async function signOut() {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API token').waitFor();
}

async function shot(name: string) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

const text = (testId: string) => page.getByTestId(testId).textContent();

/** Waits for a browser-side condition; vitest's default of one second is short for a page. */
const poll = <T>(fn: () => T | Promise<T>, o: { timeout?: number } = {}) =>
  expect.poll(fn, { timeout: o.timeout ?? STEP_TIMEOUT, interval: 100 });

beforeAll(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-console-e2e-'));
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-chromium-'));
  server = await startDemoServer(dir);
  elsewhere = http.createServer((req, res) => {
    elsewhereHits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'image/gif' }).end();
  });
  await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
  elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
  ({ context, page } = await checks.launchChromium(profile));
  page.setDefaultTimeout(STEP_TIMEOUT);
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
}, 60_000);

afterAll(async () => {
  await context?.close();
  await server?.stop();
  elsewhere?.closeAllConnections();
  await new Promise((r) => (elsewhere ? elsewhere.close(r) : r(undefined)));
  for (const d of [dir, profile]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

describe(
  'the approval console in chromium against countersign serve --demo',
  { timeout: 120_000 },
  () => {
    it('refuses a wrong token with the server’s reason', async () => {
      await page.goto(`${server.url}/`);
      await page.getByLabel('API token').fill('cs_not_a_real_token_at_all_0000');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await poll(() => page.getByRole('alert').textContent()).toContain('UNAUTHENTICATED');
      expect(await checks.accessibilityProblems(page)).toEqual([]);
    });

    it('signs in, lists the demo requests and shows a new proposal without a reload', async () => {
      await signIn('Alice');
      const items = page.getByTestId('inbox-item');
      await poll(() => items.count()).toBe(2);
      // Alice proposed the migration herself: only the risk gate waits on her.
      expect(await text('waiting-count')).toContain('1 waiting on you');
      await page.evaluate('window.marker = 42');
      await api('Alice', 'POST', '/proposals', {
        workflow_id: 'workflow_1',
        actor_id: 'actor_1',
        tool: 'update_status',
        params: { status: 'migration_scheduled' },
        reason: 'Record that the migration is scheduled',
      });
      await poll(() => items.count()).toBe(3);
      await poll(() => items.first().textContent()).toContain('Record that the migration');
      // Same document: the marker set before the proposal is still there.
      expect(await page.evaluate<number>('window.marker')).toBe(42);
      expect(await checks.accessibilityProblems(page)).toEqual([]);
      await shot('inbox-1280');
    });

    it('explains why Alice cannot approve her own proposal, and offers her no decision', async () => {
      await page.getByRole('link', { name: /database_migration: Applying schema changes/ }).click();
      await poll(() => text('ineligible')).toContain('Separation of duties');
      expect(await text('call-hash')).toMatch(/^[0-9a-f]{64}$/);
      await poll(() =>
        page.getByLabel('Dry-run plan of the call', { exact: true }).textContent(),
      ).toContain('feature_flags');
      for (const name of ['Approve', 'Reject', 'Request more information', 'Propose an edit'])
        expect(await page.getByRole('button', { name, exact: true }).isDisabled()).toBe(true);
      expect(await text('proposal-status')).toBe('pending');
      expect(await checks.accessibilityProblems(page)).toEqual([]);
      await shot('decision-self-approval');
      await signOut();
    });

    it('approves the risk gate as Bob and watches the run move on to its next stages', async () => {
      await signIn('Bob', 'CAB review of CHG-1042');
      await page.getByRole('link', { name: /Risk review: Raise checkout-api/ }).click();
      await poll(() => page.getByRole('heading', { name: 'Risk assessment' }).count()).toBe(1);
      // The intake's warning is shown as a warning, without expanding anything.
      expect(await page.getByTestId('gate-warnings').isVisible()).toBe(true);
      expect(await text('gate-warnings')).toMatch(/warning/i);
      await page.getByLabel('Comment').fill('Low risk, staging only.');
      await page.getByRole('button', { name: 'Approve', exact: true }).click();
      await poll(() => text('approval-status')).toBe('approved');
      expect(await checks.overflowX(page)).toBeLessThanOrEqual(0);
      expect(await checks.accessibilityProblems(page)).toEqual([]);
      await shot('decision-risk-gate');
      // The run went on to plan approval: open it and approve the plan too.
      await page.getByTestId('run-after-decision').getByRole('link').click();
      await poll(() => text('run-stage')).toBe('risk_review');
      await poll(() => page.getByText(/Waiting on a human/).count()).toBe(1);
      await shot('run-waiting');
      await page.getByRole('link', { name: /approval_2/ }).click();
      await poll(() => page.getByRole('heading', { name: /Plan approval/ }).count()).toBe(1);
      await poll(() => page.getByText(/The calls an approval binds to/).count()).toBe(1);
      // Each call in words, each rollback labelled under the step it undoes.
      expect(await text('calls-count')).toMatch(/^\d+ calls, with \d+ rollback call/);
      const rollback = page.getByTestId('rollback-tag').first();
      expect(await rollback.isVisible()).toBe(true);
      expect(await rollback.textContent()).toMatch(/^rollback of s\d+-[a-z0-9-]+$/);
      await poll(() => page.getByTestId('bound-description').count()).toBeGreaterThan(2);
      expect(await page.getByTestId('bound-description').first().isVisible()).toBe(true);
      expect(await page.getByTestId('bound-description').allTextContents()).toEqual(
        expect.arrayContaining([expect.stringMatching(/^Set \S+ of checkout-api to "/)]),
      );
      expect(await checks.accessibilityProblems(page)).toEqual([]);
      await shot('decision-plan-gate');
      await page.getByRole('button', { name: 'Approve', exact: true }).click();
      await poll(() => text('approval-status')).toBe('approved');
      await page.getByTestId('run-after-decision').getByRole('link').click();
      // The window is open: the plan runs and the run closes, with its audit report rendered.
      await poll(() => text('run-stage'), { timeout: 30_000 }).toBe('closed');
      expect(await text('run-status')).toBe('completed');
      const timeline = page.getByRole('list', { name: 'Stage timeline' });
      expect(await timeline.textContent()).toMatch(
        /intake.*risk review.*plan approved.*execution.*closed/,
      );
      await poll(() => page.locator('.report h1, .report h2, .report p').count()).toBeGreaterThan(
        0,
      );
      // People by name and role, the ID on hover.
      const bob = page.locator('.trace [data-actor="actor_2"]').first();
      expect(await bob.textContent()).toMatch(/^Bob \(.+\)$/);
      expect(await bob.getAttribute('title')).toContain('actor_2');
      expect(
        await page.getByText(/Bob \(.+\)\s*approve at gate risk_review/).count(),
      ).toBeGreaterThan(0);
      expect(await page.getByRole('table').count()).toBeGreaterThan(0); // markdown tables rendered
      expect(await checks.overflowX(page)).toBeLessThanOrEqual(0);
      expect(await checks.accessibilityProblems(page)).toEqual([]);
      await shot('run-timeline');
    });

    it('approves Alice’s migration as Bob', async () => {
      await page.goto(`${server.url}/#/proposals/proposal_1`);
      await poll(() => text('proposal-status')).toBe('pending');
      await page.getByRole('button', { name: 'Approve', exact: true }).click();
      await poll(() => text('proposal-status')).toBe('approved');
      expect(await page.getByText(/Bob \(.+\)\s*approved version 1/).count()).toBe(1);
    });

    it('rejects another proposal with a comment', async () => {
      await page.goto(`${server.url}/#/`);
      await page.getByRole('link', { name: /Record that the migration is scheduled/ }).click();
      await page.getByLabel('Comment').fill('Not until the migration has run.');
      await page.getByRole('button', { name: 'Reject' }).click();
      await poll(() => text('proposal-status')).toBe('rejected');
      expect(await page.getByText('Not until the migration has run.').count()).toBeGreaterThan(0);
    });

    it('edits a third proposal and shows the diff', async () => {
      const made = await api('Alice', 'POST', '/proposals', {
        workflow_id: 'workflow_1',
        actor_id: 'actor_1',
        tool: 'database_migration',
        params: { version: '2.1.0', rollback_plan: 'enabled' },
        reason: 'Rerun the schema change on the replica',
      });
      await page.goto(`${server.url}/#/`);
      await page.getByRole('link', { name: /Rerun the schema change/ }).click();
      await page
        .getByLabel(/Edited parameters/)
        .fill('{"maintenance_window": "2:00-4:00 AM UTC", "rollback_plan": "disabled"}');
      await page.getByLabel('Comment').fill('Only inside the window.');
      await page.getByRole('button', { name: 'Propose an edit' }).click();
      // The edit is a new version: Bob, its editor, may not approve it; someone else must.
      await poll(() => text('proposal-status')).toBe('pending');
      await poll(() => text('ineligible')).toContain('You edited this version');
      await api('Carol', 'POST', `/proposals/${String(made.proposal_id)}/review`, {
        reviewer_id: 'actor_3',
        decision: 'approve',
      });
      await page.reload();
      await poll(() => text('proposal-status')).toBe('approved');
      const diff = page.getByLabel('Changes to the parameters');
      await poll(() => diff.locator('[data-diff=add]').allTextContents()).toEqual(
        expect.arrayContaining([
          expect.stringContaining('"maintenance_window": "2:00-4:00 AM UTC"'),
        ]),
      );
      expect(await diff.locator('[data-diff=del]').allTextContents()).toEqual(
        expect.arrayContaining([expect.stringContaining('"rollback_plan": "enabled"')]),
      );
      expect(page.url()).toContain(`#/proposals/${String(made.proposal_id)}`);
      expect(await checks.accessibilityProblems(page)).toEqual([]);
      await shot('decision-edit-diff');
    });

    it('executes the approved call from the console, after a rehearsal', async () => {
      // Still on the approved, edited proposal: Bob may run it (policy lets actors execute).
      const execute = page.getByRole('button', { name: 'Execute', exact: true });
      expect(await execute.isDisabled()).toBe(true);
      await page.getByRole('button', { name: 'Rehearse (dry run)' }).click();
      await poll(() => text('execute-rehearsal')).toContain('simulated');
      await poll(() => execute.isDisabled()).toBe(false);
      await execute.click();
      await poll(() => text('execute-result')).toContain('succeeded');
      await poll(() => text('proposal-status')).toBe('executed');
      expect(await checks.accessibilityProblems(page)).toEqual([]);
      await shot('decision-executed');
    });

    it('verifies the chain on the audit page', async () => {
      await page.getByRole('link', { name: 'Audit', exact: true }).click();
      await poll(() => page.getByRole('table').count()).toBe(1);
      await page.getByRole('button', { name: 'Verify the chain' }).click();
      await poll(() => text('verify-result')).toMatch(/^Chain intact: \d+ events verified\.$/);
      const types = await page.locator('table.ledger td:nth-child(3)').allTextContents();
      expect(types).toEqual(
        expect.arrayContaining(['APPROVAL_DECISION', 'WORKFLOW_COMPLETED', 'ACTION_EXECUTED']),
      );
      // A row opens to its whole event.
      await page.getByRole('button', { name: 'Event 1: show all of it' }).click();
      await poll(() => page.getByLabel('Data of event 1').textContent()).toContain('{');
      expect(await checks.accessibilityProblems(page)).toEqual([]);
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: 'Export JSON lines' }).click(),
      ]);
      expect(download.suggestedFilename()).toBe('countersign-ledger-tenant.jsonl');
      const lines = fs
        .readFileSync(await download.path(), 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { seq: number; hash: string; prev_hash: string });
      expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i + 1));
      for (let i = 1; i < lines.length; i++) expect(lines[i]!.prev_hash).toBe(lines[i - 1]!.hash);
    });

    it('can be driven with the keyboard alone', async () => {
      await api('Alice', 'POST', '/proposals', {
        workflow_id: 'workflow_1',
        actor_id: 'actor_1',
        tool: 'update_status',
        params: { status: 'keyboard' },
        reason: 'Keyboard walk-through',
      });
      await page.goto(`${server.url}/#/`);
      await page.reload(); // a fresh document: focus starts at the top
      await page.getByRole('link', { name: /Keyboard walk-through/ }).waitFor();
      await page.keyboard.press('Tab');
      expect(await page.evaluate<string>('document.activeElement.textContent')).toBe(
        'Skip to content',
      );
      let reached = false;
      for (let i = 0; i < 30 && !reached; i++) {
        await page.keyboard.press('Tab');
        reached = (
          await page.evaluate<string>('document.activeElement.textContent || ""')
        ).includes('Keyboard walk-through');
      }
      expect(reached).toBe(true);
      await page.keyboard.press('Enter');
      await poll(() => text('proposal-status')).toBe('pending');
      await page.getByLabel('Comment').focus();
      await page.keyboard.type('Rejected from the keyboard.');
      for (let i = 0; i < 10; i++) {
        await page.keyboard.press('Tab');
        if ((await page.evaluate<string>('document.activeElement.textContent')) === 'Reject') break;
      }
      await page.keyboard.press('Enter');
      await poll(() => text('proposal-status')).toBe('rejected');
    });

    it('tries a call against a candidate policy and replays recent calls under it', async () => {
      await signOut();
      await signIn('operator', 'policy review');
      await page.getByRole('link', { name: 'Policy', exact: true }).click();
      await page.getByLabel('Tool').fill('database_migration');
      await page.getByLabel('Proposer').fill('actor_1');
      await page.getByLabel('Workflow').fill('workflow_1');
      await page
        .getByLabel('Parameters (JSON)')
        .fill('{"version": "2.1.0", "rollback_plan": "enabled"}');
      // The candidate: today's policies plus one that forbids migrations.
      const today = fs
        .readdirSync('policies/default')
        .filter((f) => f.endsWith('.cedar'))
        .map((f) => fs.readFileSync(path.join('policies/default', f), 'utf8'))
        .join('\n');
      await page
        .getByLabel('Candidate policy (Cedar, optional)')
        .fill(
          `${today}\n@id("no-migrations") forbid (principal, action == Action::"proposal.create", resource == Tool::"database_migration");`,
        );
      await page.getByRole('button', { name: 'Test the call' }).click();
      await poll(() => text('changed')).toBe('The candidate decides differently.');
      expect(await text('verdict-Candidate')).toContain('no-migrations');
      expect(await text('verdict-Current')).not.toContain('no-migrations');
      await page.getByRole('button', { name: /^Replay last/ }).click();
      await poll(() => text('replay-summary')).toMatch(/: [1-9]\d* would change/);
      expect(await checks.accessibilityProblems(page)).toEqual([]);
      await shot('policy-1280');
    });

    it('lists people and tokens for the operator', async () => {
      await page.getByRole('link', { name: 'People', exact: true }).click();
      const actors = page.getByRole('table', { name: 'Actors' });
      await poll(() => actors.textContent()).toContain('Dana');
      expect(await actors.textContent()).toContain('change_manager');
      await poll(() => page.getByRole('table', { name: 'API tokens' }).textContent()).toContain(
        'demo operator (read only)',
      );
      // The demo operator token is read only: the server says it may change nothing here, so
      // no form is offered, and asked directly the server refuses it.
      await poll(() => page.getByTestId('register-not-allowed').count()).toBe(1);
      expect(await page.getByTestId('set-role-not-allowed').count()).toBe(1);
      for (const name of ['Register', 'Change role', 'Mint'])
        expect(await page.getByRole('button', { name }).count()).toBe(0);
      await expect(
        api('operator', 'POST', '/actors', { name: 'Eve', role: 'security' }),
      ).rejects.toThrow(/403.*POLICY_DENIED.*scope/);
      expect(await checks.accessibilityProblems(page)).toEqual([]);
      await shot('people-1280');
      await signOut();
      await signIn('Bob', 'CAB review of CHG-1042');
    });

    it('shows a plan as a plan at its gate, then activates the approved plan', async () => {
      seedPlanTarget(dir, 'plan_e2e');
      // Alice asks for a plan; Bob confirms its scope through the API.
      const started = (await api('Alice', 'POST', '/workflows/start', {
        definition: 'schema_change_plan',
        idempotency_key: 'e2e-plan',
        input: { ...SCHEMA_PLAN_REQUEST, database: 'plan_e2e' },
      })) as { workflow_id: string; waiting_on: { approval_id: string } };
      planRun = started.workflow_id;
      const scope = started.waiting_on.approval_id;
      const afterScope = (await api('Bob', 'POST', `/approvals/${scope}/decision`, {
        reviewer_id: 'actor_2',
        decision: 'approve',
      })) as { run: { waiting_on: { approval_id: string } } };
      planGate = afterScope.run.waiting_on.approval_id;

      // Bob is signed in after the tests before; alone, this test signs him in.
      await page.goto(`${server.url}/#/`);
      if (await page.getByLabel('API token').count()) await signIn('Bob');
      await page.goto(`${server.url}/#/approvals/${planGate}`);
      await poll(() => page.getByTestId('plan-brief').count()).toBe(1);
      // PLAN ONLY, every phase with its status, the blocked one with why, without expanding.
      expect(await text('plan-only')).toContain('PLAN ONLY');
      const blocked = page.getByTestId('phase-drop_users_legacy_flag');
      expect(await blocked.getByTestId('phase-status').textContent()).toMatch(/blocked/);
      const why = blocked.getByTestId('phase-blocked');
      expect(await why.isVisible()).toBe(true);
      expect(await why.textContent()).toContain('WRITE_NOT_IMPLEMENTED');
      expect(await page.getByTestId('phase-status').allTextContents()).toEqual([
        expect.stringMatching(/proposed/),
        expect.stringMatching(/proposed/),
        expect.stringMatching(/proposed/),
        expect.stringMatching(/blocked/),
        expect.stringMatching(/proposed/),
      ]);
      expect(await page.getByTestId('plan-read-digest').textContent()).toMatch(/[0-9a-f]{12}/);
      expect(await page.getByRole('button', { name: 'Activate' }).count()).toBe(0);
      expect(await checks.accessibilityProblems(page)).toEqual([]);
      await shot('plan-gate');
      await page.getByRole('button', { name: 'Approve', exact: true }).click();
      await poll(() => text('approval-status')).toBe('approved');

      // The approved plan offers Activate; activating opens the new run, linked to the plan.
      await page.goto(`${server.url}/#/runs/${planRun}`);
      await poll(() => text('run-status')).toBe('completed');
      await poll(() => page.getByRole('button', { name: 'Activate' }).count()).toBe(1);
      expect(await checks.accessibilityProblems(page)).toEqual([]);
      await shot('plan-run');
      await page.getByRole('button', { name: 'Activate' }).click();
      await poll(() => page.url()).not.toContain(planRun);
      await poll(() => page.getByTestId('run-activation').count()).toBe(1);
      expect(await text('run-activation')).toContain(planRun);
      await poll(() => text('run-stage')).toBe('phase backup');
      // Neither Alice, who asked for the plan, nor Bob, who activated it, may approve a phase.
      const activated = page.url().split('#/runs/')[1]!;
      const status = (await api('Carol', 'GET', `/workflows/${activated}/status`)) as {
        waiting_on: { approval_id: string };
      };
      const phaseGate = (await api(
        'Carol',
        'GET',
        `/approvals/${status.waiting_on.approval_id}`,
      )) as {
        approval: { requested_by: string; authors: string[] };
      };
      expect(phaseGate.approval).toMatchObject({ requested_by: 'actor_2', authors: ['actor_1'] });
      await shot('plan-activated');
    });

    it('works at phone width', async () => {
      await api('Carol', 'POST', '/proposals', {
        workflow_id: 'workflow_1',
        actor_id: 'actor_3',
        tool: 'send_notification',
        params: { channel: 'slack', message: 'Migration finished' },
        reason: 'Tell the team the migration is done',
      });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${server.url}/#/`);
      await poll(() => text('waiting-count')).toBe('1 waiting on you (Senior Developer)');
      expect(await checks.overflowX(page)).toBeLessThanOrEqual(0);
      await shot('inbox-phone');
      await page.getByRole('link', { name: /Tell the team the migration is done/ }).click();
      await poll(() => text('proposal-status')).toBe('pending');
      expect(await checks.overflowX(page)).toBeLessThanOrEqual(0);
      await shot('decision-phone');
      // Every view, at 390 px: nothing sticks out that cannot be scrolled to.
      const views: [string, () => Promise<unknown>][] = [
        ['#/', () => poll(() => text('waiting-count')).toContain('waiting')],
        ['#/proposals/proposal_1', () => poll(() => text('proposal-status')).toMatch(/\w/)],
        ['#/approvals/approval_2', () => poll(() => text('approval-status')).toMatch(/\w/)],
        [
          '#/runs',
          () => poll(() => page.getByRole('link', { name: /run_/ }).count()).toBeGreaterThan(0),
        ],
        ['#/audit', () => poll(() => page.getByRole('table').count()).toBe(1)],
        [
          '#/workflows/workflow_1',
          () => poll(() => page.getByRole('heading').count()).toBeGreaterThan(0),
        ],
        [
          '#/policy',
          () => poll(() => page.getByRole('heading', { name: 'Policy' }).count()).toBe(1),
        ],
        [
          '#/people',
          () =>
            poll(() => page.getByRole('heading', { name: 'People and tokens' }).count()).toBe(1),
        ],
        [`#/runs/${planRun}`, () => poll(() => page.getByTestId('plan-brief').count()).toBe(1)],
        [
          `#/approvals/${planGate}`,
          () => poll(() => page.getByTestId('plan-brief').count()).toBe(1),
        ],
      ];
      for (const [hash, ready] of views) {
        await page.goto(`${server.url}/${hash}`);
        await ready();
        expect({
          hash,
          overflow: await checks.overflowX(page),
          clipped: await checks.clipped(page),
        }).toEqual({
          hash,
          overflow: expect.any(Number) as number,
          clipped: [],
        });
        expect(await checks.overflowX(page)).toBeLessThanOrEqual(0);
        await shot(`phone-${hash.replace(/[#/]+/g, '-').replace(/^-|-$/g, '') || 'inbox'}`);
      }
      // The run with its report and its plan.
      await page.goto(`${server.url}/#/runs`);
      await page.getByRole('link', { name: /run_/ }).first().click();
      await poll(() => text('run-status')).toBeTruthy();
      expect(await checks.clipped(page)).toEqual([]);
      expect(await checks.overflowX(page)).toBeLessThanOrEqual(0);
      await shot('phone-run');
    });

    it('shows a remote image in a run’s report as text and never fetches it', async () => {
      await page.setViewportSize({ width: 1280, height: 900 });
      const pixel = `${elsewhereUrl}/pixel.gif?d=context-leak`;
      const requested: string[] = [];
      const onRequest = (r: { url(): string }) => requested.push(r.url());
      page.on('request', onRequest);
      const now = Date.now();
      const started = await api('Dana', 'POST', '/workflows/start', {
        definition: 'ops_change_control',
        idempotency_key: 'e2e-remote-image',
        input: {
          change_request: {
            title: 'Rotate the cache keys',
            summary: `Rotate keys. ![status](${pixel})`,
            change_type: 'configuration',
            requested_by: 'dana@example.com',
            ticket: 'CHG-2001',
          },
          impacted_systems: [
            { name: 'cache', criticality: 'low', environment: 'staging', owner: 'platform-team' },
          ],
          requirements: { compliance: [] },
          change_window: {
            start: new Date(now - 3_600_000).toISOString(),
            end: new Date(now + 86_400_000).toISOString(),
          },
          parameters: {
            config_changes: [{ service: 'cache', key: 'key_version', from: null, to: '2' }],
          },
        },
      });
      const runId = String(started.workflow_id);
      const gate = (started.waiting_on as { approval_id: string }).approval_id;
      await api('Bob', 'POST', `/approvals/${gate}/decision`, {
        reviewer_id: 'actor_2',
        decision: 'reject',
        comment: 'Not this week.',
      });
      await page.goto(`${server.url}/#/runs/${runId}`);
      await poll(() => text('run-stage'), { timeout: 30_000 }).toBe('rejected');
      const blocked = page.locator('.report [data-testid=blocked-image]');
      await poll(() => blocked.textContent()).toBe(`[image not loaded: status — ${pixel}]`);
      expect(await page.locator('.report img').count()).toBe(0);
      page.off('request', onRequest);
      expect(requested.filter((u) => u.startsWith(elsewhereUrl))).toEqual([]);
      expect(elsewhereHits).toEqual([]);
      expect(await checks.accessibilityProblems(page)).toEqual([]);
      await shot('run-report-remote-image');
    });

    it('shows a returned scope on the Work board and lets a person give it a go', async () => {
      await page.setViewportSize({ width: 1280, height: 900 });
      // An agent of the role "coder", registered and given a token by the operator's CLI on the
      // demo's data directory (the demo's operator token is read only).
      const cli = (...args: string[]) => {
        const r = spawnSync(
          process.execPath,
          [path.resolve('bin/countersign.js'), ...args, '--json'],
          {
            env: { ...process.env, COUNTERSIGN_DATA_DIR: path.join(dir, 'console-demo') },
            encoding: 'utf8',
          },
        );
        if (r.status !== 0)
          throw new Error(`countersign ${args.join(' ')}: ${r.stdout}${r.stderr}`);
        return JSON.parse(r.stdout) as Record<string, string>;
      };
      const { actor_id: coder } = cli(
        'actor',
        'register',
        '--name',
        'Coder',
        '--role',
        'coder',
        '--kind',
        'agent',
      );
      const { token } = cli('token', 'create', '--actor', coder!, '--name', 'coder e2e');
      moreTokens.Coder = token!;
      const booked = await api('Dana', 'POST', '/work-packages', {
        spec: {
          title: 'Fix the login timeout',
          objective: 'Sessions last 30 minutes, as the settings say.',
          role: 'coder',
          owned_surfaces: ['src/auth/**'],
          forbidden_surfaces: ['migrations/**'],
          evidence_tier: 'local_command_proof',
        },
      });
      const wp = String(booked.id);
      await api('Coder', 'POST', `/work-packages/${wp}/moves`, { move: 'claim' });
      await api('Coder', 'POST', `/work-packages/${wp}/moves`, {
        move: 'return_scope',
        scope: 'I will change src/auth/session.ts only, and touch no migration.',
      });

      await page.goto(`${server.url}/#/`);
      // A fresh document: the console loads the actors (the new agent among them) once a minute.
      await page.reload();
      if (await page.getByLabel('API token').count()) await signIn('Bob');
      await page.getByRole('link', { name: 'Work', exact: true }).click();
      const scope = page.getByTestId('column-Scope');
      const card = scope.locator(`[data-wp="${wp}"]`);
      await poll(() => card.count()).toBe(1);
      await poll(() => card.textContent()).toContain('claimed by Coder (coder)');
      expect(await card.textContent()).toContain('scope returned');
      expect(await checks.overflowX(page)).toBeLessThanOrEqual(0);
      expect(await checks.clipped(page)).toEqual([]);
      expect(await checks.accessibilityProblems(page)).toEqual([]);
      await shot('work-board');

      await card.getByRole('link', { name: 'Fix the login timeout' }).click();
      await poll(() => text('wp-state')).toBe('scope_returned');
      expect(await text('wp-claimed-by')).toBe('claimed by Coder (coder)');
      // What the agent handed back is on the page, above the package.
      const handed = page.getByTestId('wp-return');
      expect(await handed.getByRole('heading', { level: 2 }).allTextContents()).toEqual([
        'Scope confirmation 1',
      ]);
      expect(await handed.textContent()).toContain('I will change src/auth/session.ts only');
      expect(
        await page
          .getByTestId('wp-markdown')
          .getByRole('heading', { name: 'Owned surfaces' })
          .count(),
      ).toBe(1);
      expect(await checks.overflowX(page)).toBeLessThanOrEqual(0);
      expect(await checks.clipped(page)).toEqual([]);
      expect(await checks.accessibilityProblems(page)).toEqual([]);
      await shot('work-package');
      await page.getByRole('button', { name: 'Go', exact: true }).click();
      await poll(() => text('wp-state')).toBe('go');
      expect(await text('wp-moved')).toContain('now go');
      // From go the agent starts; a person may only hold or stop it, and the server agrees.
      await poll(() => page.getByTestId('wp-moves').getByRole('button').allTextContents()).toEqual([
        'Hold',
        'Stop',
      ]);
      expect((await api('Carol', 'GET', `/work-packages/${wp}`)).state).toBe('go');
      expect(await checks.accessibilityProblems(page)).toEqual([]);

      // At phone width, the board and the package fit.
      await page.setViewportSize({ width: 390, height: 844 });
      for (const hash of ['#/work', `#/work/${wp}`]) {
        await page.goto(`${server.url}/${hash}`);
        await poll(() => page.getByRole('heading', { level: 1 }).count()).toBe(1);
        await poll(() =>
          page.locator('[data-testid=work-card], [data-testid=wp-state]').count(),
        ).toBeGreaterThan(0);
        expect({ hash, clipped: await checks.clipped(page) }).toEqual({ hash, clipped: [] });
        expect(await checks.overflowX(page)).toBeLessThanOrEqual(0);
        await shot(`phone-${hash.replace(/[#/]+/g, '-').replace(/^-|-$/g, '')}`);
      }
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    it('runs under its Content-Security-Policy without a single violation, and the policy holds', async () => {
      expect(cspViolations).toEqual([]);
      // An image from elsewhere, put in the page by hand, is refused by the policy itself.
      await page.evaluate(
        `(() => { const i = document.createElement('img'); i.alt = ''; i.src = ${JSON.stringify(`${elsewhereUrl}/injected.gif`)}; document.body.append(i); })()`,
      );
      await poll(() => cspViolations.join('\n')).toMatch(/img-src 'self'/);
      expect(elsewhereHits).toEqual([]);
    });
  },
);
