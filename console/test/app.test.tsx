// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from '../src/App.js';
import { BOB, fakeServer, route } from './harness.js';

beforeEach(() => {
  window.sessionStorage.clear();
  window.location.hash = '';
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function serve() {
  const server = fakeServer(
    route('GET', '/me', BOB),
    route('GET', '/approvals/pending', { approvals: [] }),
    route('GET', '/workflows/definitions', { definitions: [{ runtime: 'embedded' }] }),
    route('GET', '/workflows/runs', { runs: [] }),
    route('GET', '/work-packages', { work_packages: [], next_after: null }),
  );
  vi.stubGlobal('fetch', server.fetch);
  return server;
}

async function signIn() {
  fireEvent.change(screen.getByLabelText('API token'), {
    target: { value: 'cs_bobs_token_0123456789' },
  });
  fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
  await screen.findByRole('heading', { name: 'Inbox' });
}

describe('App', () => {
  it('signs in, keeps the session for the tab, and signs out', async () => {
    serve();
    const first = render(<App />);
    await signIn();
    expect(screen.getByTestId('signed-in-as').textContent).toBe('Bob · Senior Developer · default');
    first.unmount();
    // A reload of the tab restores the session after checking the token again.
    render(<App />);
    expect(await screen.findByRole('heading', { name: 'Inbox' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Sign out' }));
    expect(await screen.findByLabelText('API token')).toBeTruthy();
    expect(window.sessionStorage.length).toBe(0);
  });

  it('routes by the hash, moves focus to the new page and explains an unknown address', async () => {
    serve();
    render(<App />);
    await signIn();
    window.location.hash = '#/runs';
    // A loaded machine can take more than the default second to deliver the hashchange.
    const slow = { timeout: 5000 };
    expect(await screen.findByRole('heading', { name: 'Runs' }, slow)).toBeTruthy();
    expect(await screen.findByText('No workflow run yet.', {}, slow)).toBeTruthy();
    await waitFor(() => expect(document.activeElement?.id).toBe('main'));
    expect(screen.getByRole('link', { name: 'Runs' }).getAttribute('aria-current')).toBe('page');
    window.location.hash = '#/nowhere';
    expect((await screen.findByRole('alert', {}, slow)).textContent).toContain(
      'No page at #/nowhere',
    );
  });

  it('routes #/work to the Work board, and marks Work in the navigation only on its own pages', async () => {
    serve();
    render(<App />);
    await signIn();
    const slow = { timeout: 5000 };
    window.location.hash = '#/work';
    expect(await screen.findByRole('heading', { name: 'Work' }, slow)).toBeTruthy();
    expect(await screen.findByText('No work package booked yet.', {}, slow)).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Work' }).getAttribute('aria-current')).toBe('page');
    // A workflow's page is not a Work page, though its address starts alike.
    window.location.hash = '#/workflows/workflow_1';
    await waitFor(
      () =>
        expect(screen.getByRole('link', { name: 'Work' }).getAttribute('aria-current')).toBeNull(),
      slow,
    );
  });

  it('lands on the sign-in form when a stored token no longer works', async () => {
    window.sessionStorage.setItem(
      'countersign.console.session',
      JSON.stringify({ token: 'cs_revoked_token_0123456789', purpose: 'p' }),
    );
    vi.stubGlobal(
      'fetch',
      fakeServer(
        route(
          'GET',
          '/me',
          { error: { code: 'UNAUTHENTICATED', message: 'Missing, unknown or revoked API token.' } },
          401,
        ),
      ).fetch,
    );
    render(<App />);
    expect((await screen.findAllByRole('alert'))[0]?.textContent).toContain('UNAUTHENTICATED');
    expect(screen.getByLabelText('API token')).toBeTruthy();
  });
});
