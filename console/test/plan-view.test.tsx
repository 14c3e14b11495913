// @vitest-environment happy-dom
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Approval, JsonObject, Run } from '../src/types.js';
import { GateDecision } from '../src/views/GateDecision.js';
import { RunView } from '../src/views/RunView.js';
import { ALICE, type Recorded, fakeServer, renderSignedIn, route } from './harness.js';
import { SAVED_PLAN } from './plan-fixture.js';

afterEach(cleanup);
beforeEach(() => {
  window.location.hash = '#/runs/run_plan';
});

const ID = 'run_plan';
const T = '2026-12-01T10:00:00.000Z';
const NO_TEMPORAL = { temporal_ui_url: null };

const decision = (o: JsonObject): JsonObject => ({
  type: 'decision',
  gate: 'plan_review',
  approval_id: 'approval_9',
  reviewer_id: 'actor_2',
  decision: 'approve',
  comment: null,
  at: T,
  ...o,
});

const SCOPE_APPROVED = decision({ gate: 'scope', approval_id: 'approval_8' });

/** A plan-only run: by default completed, its final gate (the plan review) approved. */
const planRun = (o: Partial<Run> = {}): Run => ({
  workflow_id: ID,
  definition: 'schema_change_plan',
  status: 'completed',
  stage: 'plan_approved',
  waiting_on: null,
  wake_at: null,
  context: {},
  artifacts: { intake: { scope: 'users' }, plan_brief: SAVED_PLAN },
  trace: [SCOPE_APPROVED, decision({})],
  error: null,
  created_at: T,
  updated_at: T,
  ...o,
});

const NEW_RUN: Run = {
  ...planRun(),
  workflow_id: 'run_activated',
  definition: 'plan_activation',
  status: 'waiting',
  stage: 'phase_backup',
  artifacts: {},
  trace: [],
  context: { plan_run_id: ID, plan_hash: 'e'.repeat(64) },
};

const status = (run: Run) => route('GET', `/workflows/${run.workflow_id}/status`, run);

/** Whether `el` is shown without opening anything: no closed <details> around it. */
const visible = (el: Element) => {
  for (let p = el.parentElement; p; p = p.parentElement)
    if (p.tagName === 'DETAILS' && !(p as HTMLDetailsElement).open && el.tagName !== 'SUMMARY')
      return false;
  return true;
};

describe('the plan of a plan-only run', () => {
  it('reads as a plan: PLAN ONLY, phases in order with status, risk, type, calls, rollback and criteria', async () => {
    renderSignedIn(
      <RunView id={ID} runtime="embedded" config={NO_TEMPORAL} pollMs={0} />,
      fakeServer(status(planRun())),
    );
    const plan = await screen.findByTestId('plan-brief');
    expect(within(plan).getByTestId('plan-only').textContent).toBe(
      'PLAN ONLY — nothing in this plan has been executed.',
    );
    expect(
      within(plan).getByRole('heading', {
        name: 'Add email_verified to users and retire legacy_flag',
      }),
    ).toBeTruthy();
    expect(
      within(plan).getByText(/Add a NOT NULL column email_verified/, { selector: 'p.lead' })
        .textContent,
    ).toContain('[REDACTED:email]');
    expect(document.body.textContent).not.toContain('dana@example.com');
    expect(within(plan).getByTestId('plan-count').textContent).toContain(
      '3 phases: 2 proposed, 1 blocked.',
    );

    const phases = within(within(plan).getByRole('list', { name: 'Phases in order' }))
      .getAllByRole('listitem')
      .filter((li) => li.classList.contains('phase'));
    expect(phases.map((p) => p.getAttribute('data-testid'))).toEqual([
      'phase-backup',
      'phase-change',
      'phase-drop_legacy',
    ]);
    expect(phases.map((p) => within(p).getByTestId('phase-status').textContent)).toEqual([
      'proposed',
      'proposed',
      'blocked',
    ]);
    const change = phases[1]!;
    expect(within(change).getByText('medium risk')).toBeTruthy();
    expect(within(change).getByText('migration')).toBeTruthy();
    expect(within(change).getByText('database_migration', { selector: 'code' })).toBeTruthy();
    // The call's parameters in words: the SQL as code, not a JSON string.
    const params = within(change).getByRole('group', {
      name: 'Parameters of database_migration in change',
    });
    expect(
      within(params).getByText(/ALTER TABLE users ADD COLUMN/, { selector: 'code' }),
    ).toBeTruthy();
    expect(within(change).getByText('Drop the new column email_verified.')).toBeTruthy();
    expect(
      within(within(change).getByRole('list', { name: 'Acceptance criteria of change' }))
        .getAllByRole('listitem')
        .map((li) => li.textContent),
    ).toEqual(['users has the column email_verified', 'No row is lost']);
    expect(within(phases[0]!).queryByTestId('phase-blocked')).toBeNull();

    expect(
      within(within(plan).getByRole('list', { name: 'Risks' })).getByText(
        'The backfill locks users for a few seconds',
      ),
    ).toBeTruthy();
    expect(
      within(within(plan).getByRole('list', { name: 'Assumptions' })).getByText(
        'Nothing reads legacy_flag any more',
      ),
    ).toBeTruthy();
    expect(within(plan).getByTestId('plan-next-step').textContent).toContain(
      'Approve the plan, then activate it',
    );
  });

  it('shows each phase’s checks: the criterion, then the read, path, op and value in one line', async () => {
    renderSignedIn(
      <RunView id={ID} runtime="embedded" config={NO_TEMPORAL} pollMs={0} />,
      fakeServer(status(planRun())),
    );
    const change = await screen.findByTestId('phase-change');
    const checks = within(change).getByRole('list', { name: 'Checks of change' });
    expect(
      within(checks)
        .getAllByRole('listitem')
        .map((li) => [li.firstChild?.textContent, li.querySelector('code')?.textContent]),
    ).toEqual([
      [
        'users has the column email_verified',
        'get_table_schema {"database":"app","table":"users"} → columns.*.name contains "email_verified"',
      ],
      [
        'No row is lost',
        'read_row_counts {"database":"app","tables":["users"]} → counts.0.rows gte 1200',
      ],
    ]);
    expect(visible(checks)).toBe(true);
    const backup = screen.getByTestId('phase-backup');
    expect(within(backup).queryByTestId('phase-checks')).toBeNull();
    expect(backup.textContent).toContain('None: the criteria are in words only.');
  });

  it('shows an activation’s acceptance checks with a passed or failed badge each', async () => {
    const assurance: JsonObject = {
      phase_id: 'change',
      criteria: [
        {
          criterion: 'users has the column email_verified',
          checked: true,
          passed: true,
          tool: 'get_table_schema',
          path: 'columns.*.name',
          op: 'contains',
          expected: '"email_verified"',
          found: ['id', 'email_verified'],
        },
        {
          criterion: 'No row is lost',
          checked: true,
          passed: false,
          tool: 'read_row_counts',
          path: 'counts.0.rows',
          op: 'gte',
          expected: '1200',
          found: 3,
          why: '"counts.0.rows" is 3, not >= 1200',
        },
        { criterion: 'in words', checked: false, note: 'stated in words' },
      ],
    };
    renderSignedIn(
      <RunView id="run_activated" runtime="embedded" config={NO_TEMPORAL} pollMs={0} />,
      fakeServer(
        status({
          ...NEW_RUN,
          status: 'failed',
          artifacts: { 'phase.change.assurance': assurance },
        }),
      ),
    );
    const list = await screen.findByRole('list', {
      name: 'Acceptance checks of phase.change.assurance',
    });
    const items = within(list).getAllByTestId('acceptance-check');
    expect(items.map((li) => li.querySelector('.tag')?.textContent)).toEqual(['passed', 'failed']);
    expect(items[0]!.querySelector('.tag')!.className).toContain('status-completed');
    expect(items[1]!.querySelector('.tag')!.className).toContain('status-failed');
    expect(items[1]!.textContent).toContain('read_row_counts → counts.0.rows gte 1200');
    expect(items[1]!.textContent).toContain('is 3, not >= 1200');
    expect(list.textContent).not.toContain('in words');
  });

  it('shows a blocked phase with its reason and what it waits for, without expanding anything', async () => {
    renderSignedIn(
      <RunView id={ID} runtime="embedded" config={NO_TEMPORAL} pollMs={0} />,
      fakeServer(status(planRun())),
    );
    const drop = await screen.findByTestId('phase-drop_legacy');
    const block = within(drop).getByTestId('phase-blocked');
    expect(block.textContent).toContain('Blocked: this phase will not run.');
    expect(block.textContent).toContain(
      'database_migration cannot drop a column on this target (WRITE_NOT_IMPLEMENTED).',
    );
    expect(block.textContent).toContain('Deferred to: an adapter that can drop columns');
    expect(visible(block)).toBe(true);
    expect(visible(drop)).toBe(true);
    // Its call is still listed, as what it would do.
    expect(drop.textContent).toContain('Would call database_migration');
    expect(drop.textContent).toContain('Restore the column from the backup.');
  });

  it('shows the read digest shortened (in full on hover) and the reads behind it', async () => {
    renderSignedIn(
      <RunView id={ID} runtime="embedded" config={NO_TEMPORAL} pollMs={0} />,
      fakeServer(status(planRun())),
    );
    const digest = within(await screen.findByTestId('plan-read-digest')).getByText(/…/, {
      selector: 'code',
    });
    expect(digest.textContent).toBe('3f9a1c0e5b7d…f0a1');
    expect(digest.getAttribute('title')).toBe(SAVED_PLAN.plan.read_digest);
    const reads = screen.getByRole('list', { name: 'Reads behind the digest' });
    const items = within(reads)
      .getAllByRole('listitem')
      .filter((li) => li.parentElement === reads);
    expect(items.map((li) => li.querySelector(':scope > code')?.textContent)).toEqual([
      'list_tables',
      'get_table_schema',
      'read_row_counts',
    ]);
    expect(
      within(items[1]!).getByRole('group', { name: 'Parameters of read 2 (get_table_schema)' })
        .textContent,
    ).toContain('users');
  });

  it('keeps the raw JSON one click away and does not list the plan again as a JSON artifact', async () => {
    renderSignedIn(
      <RunView id={ID} runtime="embedded" config={NO_TEMPORAL} pollMs={0} />,
      fakeServer(status(planRun())),
    );
    const raw = await screen.findByLabelText('The saved plan (raw JSON)');
    expect(visible(raw)).toBe(false);
    const details = raw.closest('details')!;
    expect(within(details).getByText('Raw JSON of the plan', { selector: 'summary' })).toBeTruthy();
    expect(JSON.parse(raw.textContent ?? '')).toMatchObject({
      plan: {
        phases: [{ phase_id: 'backup' }, { phase_id: 'change' }, { phase_id: 'drop_legacy' }],
      },
      reads: SAVED_PLAN.reads,
    });
    expect(raw.textContent).not.toContain('dana@example.com');
    expect(screen.queryByText('plan brief', { selector: 'summary' })).toBeNull();
    expect(screen.getByText('intake', { selector: 'summary' })).toBeTruthy();
  });

  it('shows an artifact named plan_brief that is not a saved plan as JSON, never hiding it', async () => {
    const odd = planRun({ artifacts: { plan_brief: { note: 'not a plan' } } });
    renderSignedIn(
      <RunView id={ID} runtime="embedded" config={NO_TEMPORAL} pollMs={0} />,
      fakeServer(status(odd)),
    );
    expect(await screen.findByText('plan brief', { selector: 'summary' })).toBeTruthy();
    expect(screen.getByLabelText('Artifact plan_brief').textContent).toContain('not a plan');
    expect(screen.queryByTestId('plan-brief')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Activate' })).toBeNull();
  });

  it('never shows a phase the plan does not call proposed as proposed, and renders its text as text', async () => {
    const forged = structuredClone(SAVED_PLAN) as unknown as {
      plan: { title: string; phases: JsonObject[] };
    };
    forged.plan.title = '<img src=x onerror=alert(1)> Plan';
    forged.plan.phases[0] = { ...forged.plan.phases[0]!, status: 'executed' };
    renderSignedIn(
      <RunView id={ID} runtime="embedded" config={NO_TEMPORAL} pollMs={0} />,
      fakeServer(status(planRun({ artifacts: { plan_brief: forged as unknown as JsonObject } }))),
    );
    const backup = await screen.findByTestId('phase-backup');
    expect(within(backup).getByTestId('phase-status').textContent).toBe('blocked');
    expect(within(backup).getByTestId('phase-blocked').textContent).toContain(
      'The plan gives this phase the status "executed".',
    );
    expect(screen.getByRole('heading', { name: /<img src=x/ })).toBeTruthy();
    expect(document.querySelector('[data-testid=plan-brief] img')).toBeNull();
  });
});

describe('activating an approved plan', () => {
  it('offers Activate on a completed run whose final gate was approved, and opens the new run', async () => {
    const server = fakeServer(
      status(planRun()),
      route('POST', `/workflows/${ID}/activate`, NEW_RUN),
    );
    renderSignedIn(
      <RunView id={ID} runtime="embedded" config={NO_TEMPORAL} pollMs={0} />,
      server,
      ALICE,
      'carry out the users change',
    );
    fireEvent.click(await screen.findByRole('button', { name: 'Activate' }));
    await waitFor(() => expect(window.location.hash).toBe('#/runs/run_activated'));
    const posts = server.requests.filter((r: Recorded) => r.method === 'POST');
    expect(posts).toHaveLength(1);
    expect(posts[0]!.url).toBe(`/workflows/${ID}/activate`);
    // The console hashes nothing itself: the server binds the run to the saved plan's hash.
    expect(posts[0]!.body).toEqual({});
    expect(posts[0]!.headers['x-purpose']).toBe('carry out the users change');
    expect(posts[0]!.headers.authorization).toBe('Bearer cs_test_token_0123456789');
  });

  it('does not offer Activate while the plan waits for its review', async () => {
    const waiting = planRun({
      status: 'waiting',
      stage: 'plan_review',
      waiting_on: { kind: 'approval', approval_id: 'approval_9' },
      trace: [SCOPE_APPROVED],
    });
    renderSignedIn(
      <RunView id={ID} runtime="embedded" config={NO_TEMPORAL} pollMs={0} />,
      fakeServer(status(waiting)),
    );
    await screen.findByTestId('plan-brief');
    expect(screen.queryByRole('button', { name: 'Activate' })).toBeNull();
  });

  it('does not offer Activate when the final gate rejected the plan, even after an approved scope', async () => {
    const rejected = planRun({
      stage: 'rejected',
      trace: [SCOPE_APPROVED, decision({ decision: 'reject', comment: 'too risky' })],
    });
    renderSignedIn(
      <RunView id={ID} runtime="embedded" config={NO_TEMPORAL} pollMs={0} />,
      fakeServer(status(rejected)),
    );
    await screen.findByTestId('plan-brief');
    expect(screen.queryByRole('button', { name: 'Activate' })).toBeNull();
  });

  it('does not offer Activate when one reviewer of a quorum approved and another rejected', async () => {
    const split = planRun({
      stage: 'rejected',
      trace: [
        SCOPE_APPROVED,
        decision({}),
        decision({ reviewer_id: 'actor_3', decision: 'reject' }),
      ],
    });
    renderSignedIn(
      <RunView id={ID} runtime="embedded" config={NO_TEMPORAL} pollMs={0} />,
      fakeServer(status(split)),
    );
    await screen.findByTestId('plan-brief');
    expect(screen.queryByRole('button', { name: 'Activate' })).toBeNull();
  });

  it('does not offer Activate on a failed run or a run without decisions', async () => {
    for (const run of [planRun({ status: 'failed' }), planRun({ trace: [] })]) {
      renderSignedIn(
        <RunView id={ID} runtime="embedded" config={NO_TEMPORAL} pollMs={0} />,
        fakeServer(status(run)),
      );
      await screen.findByTestId('plan-brief');
      expect(screen.queryByRole('button', { name: 'Activate' })).toBeNull();
      cleanup();
    }
  });

  it('says a stale plan needs a new plan, with the code, and changes nothing', async () => {
    const server = fakeServer(
      status(planRun()),
      route(
        'POST',
        `/workflows/${ID}/activate`,
        {
          error: {
            code: 'PLAN_STALE',
            message: 'The reads of plan run_plan answer differently now (digest 9b1c… ≠ 3f9a…).',
          },
        },
        409,
      ),
    );
    renderSignedIn(
      <RunView id={ID} runtime="embedded" config={NO_TEMPORAL} pollMs={0} />,
      server,
      ALICE,
    );
    const button = await screen.findByRole('button', { name: 'Activate' });
    fireEvent.click(button);
    const refusal = await screen.findByTestId('activate-refusal');
    expect(refusal.getAttribute('role')).toBe('alert');
    expect(refusal.textContent).toContain(
      'The target changed since this plan was made; a new plan is needed.',
    );
    expect(within(refusal).getByText('PLAN_STALE', { selector: 'code' })).toBeTruthy();
    expect(refusal.textContent).toContain('answer differently now');
    // Nothing else changed: same page, same plan, the button still there for a later try.
    expect(window.location.hash).toBe('#/runs/run_plan');
    expect(screen.getByTestId('plan-brief')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Activate' }).hasAttribute('disabled')).toBe(false);
    expect(server.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('does not offer Activate to a caller the server says may not activate, and says who may', async () => {
    const server = fakeServer(
      status(planRun()),
      route('POST', `/workflows/${ID}/activate`, NEW_RUN),
    );
    // A reviewer who may start runs but not activate plans (policy forbids plan.activate).
    const reviewer = { ...ALICE, roles: ['reviewer'], may: ['start_workflow_run' as const] };
    renderSignedIn(
      <RunView id={ID} runtime="embedded" config={NO_TEMPORAL} pollMs={0} />,
      server,
      reviewer,
    );
    const card = await screen.findByTestId('activate-plan');
    expect(within(card).getByTestId('activate-not-allowed').textContent).toBe(
      'Activating this plan needs permission to activate plans; ask an admin or the operator.',
    );
    expect(screen.queryByRole('button', { name: 'Activate' })).toBeNull();
    expect(server.requests.filter((r) => r.method === 'POST')).toEqual([]);
    cleanup();
    // The same plan, for a caller who may: the button, and no note.
    renderSignedIn(
      <RunView id={ID} runtime="embedded" config={NO_TEMPORAL} pollMs={0} />,
      fakeServer(status(planRun())),
      { ...reviewer, may: ['start_workflow_run', 'activate_plan'] },
    );
    expect(await screen.findByRole('button', { name: 'Activate' })).toBeTruthy();
    expect(screen.queryByTestId('activate-not-allowed')).toBeNull();
  });

  it('shows the server refusing someone policy does not let activate, and does not move', async () => {
    const server = fakeServer(
      status(planRun()),
      route(
        'POST',
        `/workflows/${ID}/activate`,
        { error: { code: 'POLICY_DENIED', message: 'Denied: actor_1 may not activate plans.' } },
        403,
      ),
    );
    renderSignedIn(
      <RunView id={ID} runtime="embedded" config={NO_TEMPORAL} pollMs={0} />,
      server,
      ALICE,
    );
    fireEvent.click(await screen.findByRole('button', { name: 'Activate' }));
    const refusal = await screen.findByTestId('activate-refusal');
    expect(refusal.textContent).toContain('Policy does not let you activate this plan.');
    expect(refusal.textContent).toContain('POLICY_DENIED');
    expect(refusal.textContent).toContain('Denied: actor_1 may not activate plans.');
    expect(window.location.hash).toBe('#/runs/run_plan');
  });

  it('links an activated run back to its plan run and shows the plan hash the server bound', async () => {
    renderSignedIn(
      <RunView id="run_activated" runtime="embedded" config={NO_TEMPORAL} pollMs={0} />,
      fakeServer(status(NEW_RUN)),
    );
    const note = await screen.findByTestId('run-activation');
    expect(within(note).getByRole('link', { name: ID }).getAttribute('href')).toBe(`#/runs/${ID}`);
    expect(within(note).getByTitle('e'.repeat(64)).textContent).toBe('eeeeeeeeeeee…eeee');
  });
});

describe('the plan at its review gate', () => {
  const gate = (o: Partial<Approval> = {}): Approval => ({
    id: 'approval_9',
    workflow_id: ID,
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
    ...o,
  });
  const waitingOn = (approval_id: string) =>
    planRun({
      status: 'waiting',
      stage: 'plan_review',
      waiting_on: { kind: 'approval', approval_id },
      trace: [SCOPE_APPROVED],
    });

  it('shows the run’s saved plan where the reviewer approves it, without an Activate button', async () => {
    renderSignedIn(
      <GateDecision id="approval_9" />,
      fakeServer(
        route('GET', '/approvals/approval_9', { approval: gate(), decisions: [] }),
        status(waitingOn('approval_9')),
      ),
    );
    const plan = await screen.findByTestId('plan-brief');
    expect(within(plan).getByTestId('plan-only')).toBeTruthy();
    expect(visible(within(plan).getByTestId('phase-blocked'))).toBe(true);
    expect(screen.getByRole('button', { name: 'Approve' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Activate' })).toBeNull();
  });

  it('does not show the plan at an earlier gate of the same run (the scope)', async () => {
    const server = fakeServer(
      route('GET', '/approvals/approval_8', {
        approval: gate({ id: 'approval_8', request_key: 'scope', status: 'approved' }),
        decisions: [],
      }),
      status(waitingOn('approval_9')),
    );
    renderSignedIn(<GateDecision id="approval_8" />, server);
    await screen.findByRole('heading', { name: /Plan review/ });
    // The run was loaded and answered; the plan is still not shown at this gate.
    await waitFor(() =>
      expect(server.requests.some((r) => r.url === `/workflows/${ID}/status`)).toBe(true),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(screen.queryByTestId('plan-brief')).toBeNull();
    expect(document.body.textContent).not.toContain('PLAN ONLY');
  });

  it('after the run, shows the plan at the gate that approved it and not at the scope gate', async () => {
    const server = () =>
      fakeServer(
        route('GET', '/approvals/approval_9', {
          approval: gate({ status: 'approved' }),
          decisions: [],
        }),
        route('GET', '/approvals/approval_8', {
          approval: gate({ id: 'approval_8', request_key: 'scope', status: 'approved' }),
          decisions: [],
        }),
        status(planRun()),
      );
    renderSignedIn(<GateDecision id="approval_9" />, server());
    expect(
      within(await screen.findByTestId('plan-brief')).getAllByTestId('phase-status'),
    ).toHaveLength(3);
    expect(screen.queryByRole('button', { name: 'Activate' })).toBeNull();
    cleanup();
    const scope = server();
    renderSignedIn(<GateDecision id="approval_8" />, scope);
    await screen.findByRole('heading', { name: /Plan review/ });
    await waitFor(() =>
      expect(scope.requests.some((r) => r.url === `/workflows/${ID}/status`)).toBe(true),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(screen.queryByTestId('plan-brief')).toBeNull();
  });

  it('reads a plan the gate’s packet carries as a plan, not again in the context summary', async () => {
    renderSignedIn(
      <GateDecision id="approval_9" />,
      fakeServer(
        route('GET', '/approvals/approval_9', {
          approval: gate({ packet: { summary: 'Review it.', plan_brief: SAVED_PLAN } }),
          decisions: [],
        }),
      ),
    );
    const plan = await screen.findByTestId('plan-brief');
    expect(within(plan).getAllByTestId('phase-status')).toHaveLength(3);
    expect(screen.getByRole('group', { name: 'Context summary' }).textContent).not.toContain(
      'legacy_flag',
    );
  });
});
