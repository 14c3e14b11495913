// @vitest-environment happy-dom
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { PendingItem } from '../src/types.js';
import { Inbox } from '../src/views/Inbox.js';
import { ALICE, fakeServer, renderSignedIn, route } from './harness.js';

afterEach(cleanup);

const now = Date.now();
const item = (o: Partial<PendingItem> & Pick<PendingItem, 'id'>): PendingItem => ({
  kind: 'proposal',
  workflow_id: 'workflow_1',
  title: `title of ${o.id}`,
  requested_by: 'actor_1',
  required_roles: [],
  approvals: { received: 0, required: 1 },
  waiting_since: new Date(now - 60_000).toISOString(),
  due_at: null,
  tool: 'update_status',
  risk: 'write',
  ...o,
});

const GATE = item({
  kind: 'gate',
  id: 'approval_1',
  workflow_id: 'run_aaaaaaaaaaaaaaaaaaaa',
  title: 'Risk review: tune the pool',
  requested_by: 'operator',
  tool: null,
  risk: 'low',
  waiting_since: new Date(now - 2 * 3600_000).toISOString(),
});
const MINE = item({
  id: 'proposal_1',
  title: 'database_migration: mine',
  tool: 'database_migration',
});
const ROLE = item({
  id: 'proposal_2',
  title: 'config_set: needs a DBA',
  requested_by: 'actor_3',
  required_roles: ['DBA'],
  tool: 'config_set',
  risk: 'irreversible',
});

describe('Inbox', () => {
  it('lists pending requests with links and counts those waiting on my roles', async () => {
    const server = fakeServer(
      route('GET', '/approvals/pending', { approvals: [MINE, ROLE, GATE] }),
    );
    renderSignedIn(<Inbox pollMs={0} />, server, ALICE);
    const list = await screen.findByRole('list', { name: 'Pending approval requests' });
    await waitFor(() => expect(within(list).getAllByRole('listitem')).toHaveLength(3));
    // Alice proposed proposal_1 and lacks the DBA role: only the gate waits on her.
    expect(screen.getByTestId('waiting-count').textContent).toBe('1 waiting on you (Developer)');
    expect(screen.getByRole('link', { name: GATE.title }).getAttribute('href')).toBe(
      '#/approvals/approval_1',
    );
    expect(screen.getByRole('link', { name: MINE.title }).getAttribute('href')).toBe(
      '#/proposals/proposal_1',
    );
    expect(server.requests[0]?.headers['x-purpose']).toBe('component test');
  });

  it('filters by tool, risk, workflow and age', async () => {
    const server = fakeServer(
      route('GET', '/approvals/pending', { approvals: [MINE, ROLE, GATE] }),
    );
    renderSignedIn(<Inbox pollMs={0} />, server, ALICE);
    await screen.findByRole('link', { name: GATE.title });
    const shown = () =>
      screen.getAllByTestId('inbox-item').map((li) => li.querySelector('a')?.textContent);

    fireEvent.change(screen.getByLabelText('Tool'), { target: { value: 'config_set' } });
    expect(shown()).toEqual([ROLE.title]);
    fireEvent.change(screen.getByLabelText('Tool'), { target: { value: '' } });
    fireEvent.change(screen.getByLabelText('Risk'), { target: { value: 'low' } });
    expect(shown()).toEqual([GATE.title]);
    fireEvent.change(screen.getByLabelText('Risk'), { target: { value: '' } });
    fireEvent.change(screen.getByLabelText('Workflow'), { target: { value: 'workflow_1' } });
    expect(shown()).toEqual([MINE.title, ROLE.title]);
    fireEvent.change(screen.getByLabelText('Workflow'), { target: { value: '' } });
    fireEvent.change(screen.getByLabelText('Age'), { target: { value: '3600' } });
    expect(shown()).toEqual([GATE.title]);
    fireEvent.change(screen.getByLabelText('Age'), { target: { value: '86400' } });
    expect(screen.getByText('No pending request matches these filters.')).toBeTruthy();
  });

  it('shows a new request on the next poll, without a reload', async () => {
    let calls = 0;
    const server = fakeServer(
      route('GET', '/approvals/pending', () => ({
        approvals: calls++ === 0 ? [GATE] : [MINE, GATE],
      })),
    );
    renderSignedIn(<Inbox pollMs={50} />, server, ALICE);
    await screen.findByRole('link', { name: GATE.title });
    await screen.findByRole('link', { name: MINE.title });
    expect(calls).toBeGreaterThanOrEqual(2);
  });

  it('says when nothing is waiting', async () => {
    renderSignedIn(
      <Inbox pollMs={0} />,
      fakeServer(route('GET', '/approvals/pending', { approvals: [] })),
    );
    expect(await screen.findByText(/Nothing is waiting for a decision/)).toBeTruthy();
    expect(screen.getByTestId('waiting-count').textContent).toContain('0 waiting on you');
  });

  it('shows the server’s error code when the inbox cannot load', async () => {
    const server = fakeServer(
      route(
        'GET',
        '/approvals/pending',
        { error: { code: 'POLICY_DENIED', message: 'Denied.' } },
        403,
      ),
    );
    renderSignedIn(<Inbox pollMs={0} />, server);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('POLICY_DENIED');
    expect(alert.textContent).toContain('Denied.');
  });

  it('shows what a quorum still needs: "needs: security"', async () => {
    const quorum = item({
      kind: 'gate',
      id: 'approval_7',
      title: 'Plan approval: PCI-DSS change',
      required_roles: ['change_manager', 'security'],
      approvals: { received: 2, required: 2 },
      missing: { security: 1 },
      tool: null,
    });
    const server = fakeServer(route('GET', '/approvals/pending', { approvals: [quorum, GATE] }));
    renderSignedIn(<Inbox pollMs={0} />, server, ALICE);
    const needs = await screen.findAllByTestId('inbox-needs');
    expect(needs.map((n) => n.textContent)).toEqual(['needs: security']);
  });
});
