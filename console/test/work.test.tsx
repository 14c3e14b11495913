// @vitest-environment happy-dom
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { WP_STATES } from '../../src/core/work-packages/lifecycle.js';
import { ActorsProvider } from '../src/actors.js';
import type { Me } from '../src/types.js';
import { Work } from '../src/views/Work.js';
import { WorkPackageView } from '../src/views/WorkPackageView.js';
import {
  BOARD_COLUMNS,
  type WorkPackage,
  type WorkPackageSummary,
  type WpState,
  boardOf,
  peopleMoves,
} from '../src/work.js';
import { BOB, type Recorded, fakeServer, renderSignedIn, route } from './harness.js';

afterEach(cleanup);

const summary = (o: Partial<WorkPackageSummary> = {}): WorkPackageSummary => ({
  tenant_id: 'default',
  id: 'wp_1',
  version: 1,
  state: 'scope_returned',
  held_from: null,
  role: 'coder',
  title: 'Fix the login timeout',
  booked_by: 'actor_4',
  claimed_by: 'actor_5',
  created_at: '2026-12-01T10:00:00.000Z',
  updated_at: '2026-12-01T10:05:00.000Z',
  ...o,
});

const MARKDOWN = [
  '# Fix the login timeout',
  '',
  'Work package `wp_1`, version 1. Role: `coder`.',
  '',
  '## Objective',
  '',
  'Sessions last 30 minutes, as the settings say.',
  '',
  '## Owned surfaces',
  '',
  '- `src/auth/**`',
  '',
].join('\n');

const pkg = (o: Partial<WorkPackage> = {}): WorkPackage => ({
  ...summary(),
  spec: { stop_gate: true },
  spec_hash: 'a'.repeat(64),
  markdown: MARKDOWN,
  ...o,
});

const ACTORS = {
  actors: [
    { actor_id: 'actor_2', name: 'Bob', role: 'Senior Developer', kind: 'human' },
    { actor_id: 'actor_4', name: 'Dana', role: 'change_manager', kind: 'human' },
    { actor_id: 'actor_5', name: 'Coder', role: 'coder', kind: 'agent' },
  ],
};

const OPERATOR: Me = {
  tenant_id: 'default',
  kind: 'operator',
  principal_kind: 'operator',
  actor_id: 'operator',
  name: 'operator',
  roles: [],
  may: [],
};
const AGENT: Me = {
  ...BOB,
  principal_kind: 'agent',
  actor_id: 'actor_5',
  name: 'Coder',
  roles: ['coder'],
};
const PERSON: Me = { ...BOB, principal_kind: 'human' };

const moves = (server: ReturnType<typeof fakeServer>) =>
  server.requests.filter((r) => r.method === 'POST' && r.url === '/work-packages/wp_1/moves');

function showPackage(wp: WorkPackage, me: Me = PERSON, onMove?: (r: Recorded) => unknown) {
  let current = wp;
  const server = fakeServer(
    route('GET', '/actors', ACTORS),
    route('GET', '/work-packages/wp_1', () => current),
    (req) => {
      if (req.method !== 'POST' || req.url !== '/work-packages/wp_1/moves') return undefined;
      const answer = onMove?.(req);
      if (answer && typeof answer === 'object' && 'status' in answer)
        return answer as { status: number; body: unknown };
      current = { ...current, ...(answer as Partial<WorkPackage>) };
      return { body: current };
    },
  );
  renderSignedIn(
    <ActorsProvider>
      <WorkPackageView id="wp_1" pollMs={0} />
    </ActorsProvider>,
    server,
    me,
  );
  return server;
}

describe('the work board', () => {
  it('puts every lifecycle state in exactly one column', () => {
    const placed = BOARD_COLUMNS.flatMap((c) => c.states);
    expect([...placed].sort()).toEqual([...WP_STATES].sort());
    const all = WP_STATES.map((state, i) => summary({ id: `wp_${i + 1}`, state }));
    const board = boardOf(all);
    expect(board.map((c) => [c.name, c.packages.map((p) => p.state)])).toEqual([
      ['Booked', ['booked']],
      ['Scope', ['claimed', 'scope_returned', 'scope_revision', 'go']],
      ['Executing', ['executing', 'revision_required']],
      ['Review', ['returned', 'in_review']],
      ['Done', ['accepted', 'merged']],
      ['Ended', ['rejected', 'stopped']],
      ['Held', ['held']],
    ]);
  });

  it('shows each package as a card in its column, with id, title, role, claimant and age', async () => {
    const server = fakeServer(
      route('GET', '/actors', ACTORS),
      route('GET', '/work-packages', {
        work_packages: [
          summary({ id: 'wp_1', state: 'booked', claimed_by: null, title: 'Book me' }),
          summary({ id: 'wp_2', state: 'scope_returned', title: 'Scope me' }),
          summary({ id: 'wp_3', state: 'held', held_from: 'executing', title: 'Hold me' }),
        ],
        next_after: null,
      }),
    );
    renderSignedIn(
      <ActorsProvider>
        <Work pollMs={0} />
      </ActorsProvider>,
      server,
    );
    const scope = await screen.findByTestId('column-Scope');
    const card = within(scope).getByTestId('work-card');
    expect(within(card).getByRole('link', { name: 'Scope me' }).getAttribute('href')).toBe(
      '#/work/wp_2',
    );
    await waitFor(() => expect(card.textContent).toContain('claimed by Coder (coder)'));
    expect(card.textContent).toMatch(/wp_2.*scope returned.*role coder.*updated .* ago/);
    expect(
      within(screen.getByTestId('column-Booked')).getByTestId('work-card').textContent,
    ).toContain('not claimed');
    expect(within(screen.getByTestId('column-Held')).getByText('Hold me')).toBeTruthy();
    expect(within(screen.getByTestId('column-Review')).queryAllByTestId('work-card')).toEqual([]);
  });

  it('filters by role on the server and pages on with next_after', async () => {
    const server = fakeServer(
      route('GET', '/work-packages', (req: Recorded) => {
        const q = new URL(req.url, 'http://x').searchParams;
        if (q.get('after') === 'wp_1')
          return {
            work_packages: [summary({ id: 'wp_2', state: 'executing', title: 'Second page' })],
            next_after: null,
          };
        return {
          work_packages: [
            summary({ id: 'wp_1', state: 'booked', title: `First of ${q.get('role') ?? 'all'}` }),
          ],
          next_after: 'wp_1',
        };
      }),
    );
    renderSignedIn(<Work pollMs={0} />, server);
    expect(await screen.findByText('First of all')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Load more packages' }));
    expect(
      await within(screen.getByTestId('column-Executing')).findByText('Second page'),
    ).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Load more packages' })).toBeNull();

    fireEvent.change(screen.getByLabelText('Role'), { target: { value: ' reviewer ' } });
    fireEvent.click(screen.getByRole('button', { name: 'Filter' }));
    expect(await screen.findByText('First of reviewer')).toBeTruthy();
    // The later pages of the other filter are gone.
    expect(screen.queryByText('Second page')).toBeNull();
    const last = server.requests.at(-1)!;
    expect(new URL(last.url, 'http://x').searchParams.get('role')).toBe('reviewer');
  });

  it('says so when nothing is booked', async () => {
    renderSignedIn(
      <Work pollMs={0} />,
      fakeServer(route('GET', '/work-packages', { work_packages: [], next_after: null })),
    );
    expect(await screen.findByText('No work package booked yet.')).toBeTruthy();
  });
});

describe('the package view', () => {
  it('shows the state, version, who booked and claimed it by name, and its sections', async () => {
    showPackage(pkg({ version: 2 }));
    expect((await screen.findByTestId('wp-state')).textContent).toBe('scope_returned');
    expect(screen.getByTestId('wp-version').textContent).toBe('version 2');
    await waitFor(() =>
      expect(screen.getByText(/booked by/).textContent).toBe('booked by Dana (change_manager)'),
    );
    expect(screen.getByTestId('wp-claimed-by').textContent).toBe('claimed by Coder (coder)');
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe(
      'Fix the login timeout wp_1',
    );
    // The Markdown's own title is the page's heading; its sections follow as headings.
    expect(screen.queryAllByRole('heading', { name: 'Fix the login timeout' })).toEqual([]);
    const sections = within(screen.getByTestId('wp-markdown'));
    expect(sections.getByRole('heading', { level: 2, name: 'Objective' })).toBeTruthy();
    expect(sections.getByText('src/auth/**', { selector: 'code' })).toBeTruthy();
  });

  it('shows what the agent handed back, newest first, above the package', async () => {
    const handed = (n: number, kind: 'scope' | 'return', body: string) => ({
      n,
      kind,
      wp_version: 1,
      hash: String(n).repeat(64),
      returned_by: 'actor_5',
      returned_at: '2026-12-03T10:00:00.000Z',
      markdown: `# ${kind} ${n} of wp_1\n\n${body}\n`,
    });
    showPackage(
      pkg({
        returns: [
          handed(1, 'scope', 'I will change src/auth/session.ts only.'),
          handed(2, 'return', 'Raised the timeout to 30 minutes.'),
        ],
      }),
    );
    await screen.findByTestId('wp-state');
    const returns = screen.getAllByTestId('wp-return');
    expect(returns.map((r) => within(r).getByRole('heading', { level: 2 }).textContent)).toEqual([
      'Return 2',
      'Scope confirmation 1',
    ]);
    expect(within(returns[0]!).getByText('Raised the timeout to 30 minutes.')).toBeTruthy();
    await waitFor(() => expect(returns[1]!.textContent).toContain('by Coder (coder)'));
  });

  it('offers a person the moves the lifecycle allows from where the package stands', async () => {
    showPackage(pkg());
    const box = within(await screen.findByTestId('wp-moves'));
    expect(box.getAllByRole('button').map((b) => b.textContent)).toEqual([
      'Go',
      'Revise the scope',
      'Hold',
      'Stop',
    ]);
    expect(peopleMoves(pkg({ state: 'in_review' }))).toEqual([
      'accept',
      'require_revision',
      'reject',
      'hold',
      'stop',
    ]);
    expect(peopleMoves(pkg({ state: 'held', held_from: 'executing' }))).toEqual([
      'release',
      'stop',
    ]);
    expect(peopleMoves(pkg({ state: 'accepted' }))).toEqual(['merge']);
    expect(peopleMoves(pkg({ state: 'merged' }))).toEqual([]);
  });

  it('says the agent moves next when no move is a person’s', async () => {
    showPackage(pkg({ state: 'booked', claimed_by: null }));
    const box = within(await screen.findByTestId('wp-moves'));
    // A booked package can still be held or stopped by a person.
    expect(box.getAllByRole('button').map((b) => b.textContent)).toEqual(['Hold', 'Stop']);
    cleanup();
    showPackage(pkg({ state: 'merged' }));
    expect((await screen.findByTestId('wp-no-moves')).textContent).toContain('merged');
  });

  it('sends Go and shows the state the server answers', async () => {
    const server = showPackage(pkg(), PERSON, () => ({ state: 'go' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Go' }));
    await waitFor(() => expect(screen.getByTestId('wp-state').textContent).toBe('go'));
    expect(moves(server).map((r) => r.body)).toEqual([{ move: 'go' }]);
    expect(screen.getByTestId('wp-moved').textContent).toContain('now go');
  });

  it('hides the moves from the operator, agents and whoever worked the package, saying why', async () => {
    for (const [me, wp, words] of [
      [OPERATOR, pkg(), 'you are signed in as the operator'],
      [AGENT, pkg({ claimed_by: 'actor_9' }), 'you are signed in as Coder, an agent'],
      [{ ...PERSON, actor_id: 'actor_5' }, pkg(), 'You worked this package'],
    ] as const) {
      showPackage(wp, me);
      const note = await screen.findByTestId('wp-ineligible');
      expect(note.textContent).toContain(words);
      expect(note.textContent).toContain(
        words === 'You worked this package'
          ? 'someone else must decide'
          : 'Work is decided by people',
      );
      expect(within(screen.getByTestId('wp-moves')).queryAllByRole('button')).toEqual([]);
      cleanup();
    }
  });

  it('asks for findings before revising a scope, and refuses blank ones without sending', async () => {
    const server = showPackage(pkg(), PERSON, () => ({ state: 'scope_revision' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Revise the scope' }));
    const form = within(screen.getByRole('form', { name: 'Revise the scope' }));
    const field = form.getByLabelText(/Findings/);
    fireEvent.change(field, { target: { value: '  \n   \n' } });
    fireEvent.click(form.getByRole('button', { name: 'Revise the scope' }));
    expect((await form.findByRole('alert')).textContent).toContain('FINDINGS_REQUIRED');
    expect(moves(server)).toEqual([]);

    fireEvent.change(field, {
      target: { value: 'Also cover the refresh token.\n\n  Leave the cookie name alone. ' },
    });
    fireEvent.click(form.getByRole('button', { name: 'Revise the scope' }));
    await waitFor(() => expect(screen.getByTestId('wp-state').textContent).toBe('scope_revision'));
    expect(moves(server).map((r) => r.body)).toEqual([
      {
        move: 'revise_scope',
        findings: ['Also cover the refresh token.', 'Leave the cookie name alone.'],
      },
    ]);
  });

  it('asks for a reason to reject and sends it', async () => {
    const server = showPackage(pkg({ state: 'in_review' }), PERSON, () => ({
      state: 'rejected',
    }));
    fireEvent.click(await screen.findByRole('button', { name: 'Reject' }));
    const form = within(screen.getByRole('form', { name: 'Reject' }));
    fireEvent.click(form.getByRole('button', { name: 'Reject' }));
    expect((await form.findByRole('alert')).textContent).toContain('REASON_REQUIRED');
    expect(moves(server)).toEqual([]);
    fireEvent.change(form.getByLabelText('Reason'), { target: { value: 'Out of scope.' } });
    fireEvent.click(form.getByRole('button', { name: 'Reject' }));
    await waitFor(() => expect(screen.getByTestId('wp-state').textContent).toBe('rejected'));
    expect(moves(server).map((r) => r.body)).toEqual([{ move: 'reject', reason: 'Out of scope.' }]);
  });

  it('shows the server’s refusal with its code and leaves the package as it was', async () => {
    showPackage(pkg(), PERSON, () => ({
      status: 409,
      body: {
        error: {
          code: 'INVALID_STATE',
          message: 'Cannot go wp_1: it is held; legal moves from held: release, stop.',
          details: { legal_moves: ['release', 'stop'] },
        },
      },
    }));
    fireEvent.click(await screen.findByRole('button', { name: 'Go' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('The server refused this move');
    expect(alert.textContent).toContain('INVALID_STATE');
    expect(alert.textContent).toContain('legal moves from held');
    expect(screen.getByTestId('wp-state').textContent).toBe('scope_returned' satisfies WpState);
  });
});
