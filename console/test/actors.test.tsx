// @vitest-environment happy-dom
import { cleanup, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { ActorsProvider } from '../src/actors.js';
import { ReportMarkdown } from '../src/components/ReportMarkdown.js';
import type { PendingItem } from '../src/types.js';
import { Inbox } from '../src/views/Inbox.js';
import { ALICE, fakeServer, renderSignedIn, route } from './harness.js';

afterEach(cleanup);

const T = new Date(Date.now() - 60_000).toISOString();
const item = (id: string, requested_by: string): PendingItem => ({
  kind: 'proposal',
  id,
  workflow_id: 'workflow_1',
  title: `title of ${id}`,
  requested_by,
  required_roles: [],
  approvals: { received: 0, required: 1 },
  waiting_since: T,
  due_at: null,
  tool: 'update_status',
  risk: 'write',
});
const ACTORS = {
  actors: [
    { actor_id: 'actor_1', name: 'Alice', role: 'Developer', kind: 'human', created_at: T },
    { actor_id: 'actor_5', name: 'Deploy bot', role: 'Agent', kind: 'agent', created_at: T },
  ],
};

describe('people by name', () => {
  it('shows actors by name and role, the ID on hover; an unknown ID and the operator as such', async () => {
    const server = fakeServer(
      route('GET', '/approvals/pending', {
        approvals: [
          item('proposal_1', 'actor_5'),
          item('proposal_2', 'actor_9'),
          item('approval_1', 'operator'),
        ],
      }),
      route('GET', '/actors', ACTORS),
    );
    renderSignedIn(
      <ActorsProvider>
        <Inbox pollMs={0} />
      </ActorsProvider>,
      server,
      ALICE,
    );
    const list = await screen.findByRole('list', { name: 'Pending approval requests' });
    await waitFor(() => expect(within(list).getByText('Deploy bot')).toBeTruthy());
    const bot = list.querySelector('[data-actor="actor_5"]')!;
    expect(bot.textContent).toBe('Deploy bot (Agent)');
    expect(bot.getAttribute('title')).toBe('actor_5 (agent)');
    expect(within(list).getByText('actor_9')).toBeTruthy();
    expect(within(list).getByText('the operator')).toBeTruthy();
  });

  it('falls back to IDs when the actors cannot be listed', async () => {
    const server = fakeServer(
      route('GET', '/approvals/pending', { approvals: [item('proposal_1', 'actor_5')] }),
      route('GET', '/actors', { error: { code: 'POLICY_DENIED', message: 'no' } }, 403),
    );
    renderSignedIn(
      <ActorsProvider>
        <Inbox pollMs={0} />
      </ActorsProvider>,
      server,
      ALICE,
    );
    const list = await screen.findByRole('list', { name: 'Pending approval requests' });
    await waitFor(() => expect(within(list).getByText('actor_5')).toBeTruthy());
  });

  it('names the people in a report’s tables; other cells stay as written', async () => {
    const report = [
      '| # | Reviewer | Comment |',
      '|---|---|---|',
      '| 1 | actor_1 | looks right to actor_5 |',
      '| 2 | operator | `actor_5` |',
    ].join('\n');
    renderSignedIn(
      <ActorsProvider>
        <ReportMarkdown>{report}</ReportMarkdown>
      </ActorsProvider>,
      fakeServer(route('GET', '/actors', ACTORS)),
      ALICE,
    );
    const table = await screen.findByRole('table');
    await waitFor(() => expect(table.querySelector('[data-actor="actor_1"]')).toBeTruthy());
    expect(table.querySelector('[data-actor="actor_1"]')!.textContent).toBe('Alice (Developer)');
    expect(within(table).getByText('the operator')).toBeTruthy();
    expect(within(table).getByText('looks right to actor_5')).toBeTruthy();
    expect(table.querySelectorAll('[data-actor]')).toHaveLength(1);
  });
});
