// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { eligibility } from '../src/eligibility.js';
import { SignIn } from '../src/views/SignIn.js';
import { ALICE, BOB } from './harness.js';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('SignIn', () => {
  it('checks the token with /me and hands over the credentials and the person', async () => {
    const seen: Request[] = [];
    vi.stubGlobal('fetch', (url: string, init: RequestInit) => {
      seen.push(new Request(`http://console.test${url}`, init));
      return Promise.resolve(new Response(JSON.stringify(BOB)));
    });
    const onSignedIn = vi.fn();
    render(<SignIn onSignedIn={onSignedIn} />);
    fireEvent.change(screen.getByLabelText('API token'), {
      target: { value: ' cs_bobs_token_0123456789 ' },
    });
    fireEvent.change(screen.getByLabelText(/^Purpose/), { target: { value: 'Weekly CAB' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(onSignedIn).toHaveBeenCalled());
    expect(onSignedIn).toHaveBeenCalledWith(
      { token: 'cs_bobs_token_0123456789', purpose: 'Weekly CAB' },
      BOB,
    );
    expect(new URL(seen[0]!.url).pathname).toBe('/me');
    expect(seen[0]!.headers.get('authorization')).toBe('Bearer cs_bobs_token_0123456789');
    expect(seen[0]!.headers.get('x-purpose')).toBe('Weekly CAB');
  });

  it('shows why a token was refused', async () => {
    vi.stubGlobal('fetch', () =>
      Promise.resolve(
        new Response(
          JSON.stringify({
            error: { code: 'UNAUTHENTICATED', message: 'Missing, unknown or revoked API token.' },
          }),
          { status: 401 },
        ),
      ),
    );
    const onSignedIn = vi.fn();
    render(<SignIn onSignedIn={onSignedIn} />);
    fireEvent.change(screen.getByLabelText('API token'), { target: { value: 'cs_wrong' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('UNAUTHENTICATED');
    expect(alert.textContent).toContain('revoked API token');
    expect(onSignedIn).not.toHaveBeenCalled();
  });

  it('asks for a purpose before calling the server', async () => {
    const fetchSpy = vi.fn();
    vi.stubGlobal('fetch', fetchSpy);
    render(<SignIn onSignedIn={vi.fn()} />);
    fireEvent.change(screen.getByLabelText('API token'), { target: { value: 'cs_x' } });
    fireEvent.change(screen.getByLabelText(/^Purpose/), { target: { value: '   ' } });
    fireEvent.submit(screen.getByRole('button', { name: 'Sign in' }).closest('form')!);
    expect((await screen.findByRole('alert')).textContent).toContain('PURPOSE_REQUIRED');
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

describe('eligibility', () => {
  it('refuses the operator, the requester and a reviewer without a required role', () => {
    const req = { requested_by: 'actor_1', required_roles: [] };
    expect(eligibility({ ...BOB, kind: 'operator', actor_id: 'operator' }, req)).toMatchObject({
      ok: false,
      reason: 'operator',
    });
    expect(eligibility(ALICE, req)).toMatchObject({ ok: false, reason: 'self' });
    expect(eligibility(BOB, { ...req, required_roles: ['DBA'] })).toMatchObject({
      ok: false,
      reason: 'role',
    });
    expect(eligibility(BOB, { ...req, required_roles: ['DBA', 'Senior Developer'] })).toEqual({
      ok: true,
    });
  });
});
