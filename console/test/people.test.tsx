// @vitest-environment happy-dom
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { Me } from '../src/types.js';
import { People } from '../src/views/People.js';
import { BOB, type Recorded, fakeServer, renderSignedIn, route } from './harness.js';

afterEach(cleanup);

const T = '2026-12-01T10:00:00.000Z';
const OPERATOR = {
  ...BOB,
  kind: 'operator' as const,
  actor_id: 'operator',
  name: 'operator',
  roles: ['operator'],
  principal_kind: 'operator' as const,
  may: [
    'start_workflow_run',
    'activate_plan',
    'register_actor',
    'set_actor_role',
    'set_policy',
    'create_token',
  ] as Me['may'],
};
/** An admin under the default policies: registers actors and changes roles, mints no token. */
const ADMIN: Me = {
  ...BOB,
  roles: ['admin'],
  may: ['start_workflow_run', 'activate_plan', 'register_actor', 'set_actor_role', 'set_policy'],
};
const token = (token_id: string, status: 'active' | 'revoked', actor_id = 'actor_2') => ({
  token_id,
  actor_id,
  name: `${token_id}-name`,
  status,
  created_by: 'operator',
  created_at: T,
  expires_at: null,
  scope: null,
  revoked_at: status === 'revoked' ? T : null,
  last_used_at: null,
});

describe('People', () => {
  it('lists actors and tokens, registers an actor, mints a token shown once and revokes one', async () => {
    const actors = [
      { actor_id: 'actor_1', name: 'Alice', role: 'Developer', kind: 'human', created_at: T },
    ];
    const tokens = [token('token_1', 'active'), token('token_2', 'revoked')];
    const server = fakeServer(
      route('GET', '/actors', () => ({ actors })),
      route('GET', '/tokens', () => ({ tokens })),
      route('POST', '/actors', (req: Recorded) => {
        const b = req.body as { name: string; role: string; kind: string };
        actors.push({ actor_id: 'actor_2', ...b, created_at: T });
        return { actor_id: 'actor_2' };
      }),
      route('POST', '/tokens', () => {
        tokens.push(token('token_3', 'active', 'actor_2'));
        return { token_id: 'token_3', token: 'cs_secret_shown_once_0123456789' };
      }),
      route('DELETE', '/tokens/token_1', () => {
        tokens[0] = token('token_1', 'revoked');
        return { token_id: 'token_1', actor_id: 'actor_2', revoked_at: T, already_revoked: false };
      }),
    );
    renderSignedIn(<People />, server, OPERATOR);
    const table = await screen.findByRole('table', { name: 'Actors' });
    expect(within(table).getByText('Alice')).toBeTruthy();
    // Register Sam, security, a person.
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Sam' } });
    fireEvent.change(screen.getByLabelText('Role'), { target: { value: 'security' } });
    fireEvent.click(screen.getByRole('button', { name: 'Register' }));
    expect((await screen.findByText('Registered actor_2.')).textContent).toBeTruthy();
    await waitFor(() => expect(within(table).getByText('Sam')).toBeTruthy());
    expect(server.requests.find((r) => r.method === 'POST' && r.url === '/actors')?.body).toEqual({
      name: 'Sam',
      role: 'security',
      kind: 'human',
    });
    // Revoke the active token; a revoked one offers no button.
    const tokenTable = screen.getByRole('table', { name: 'API tokens' });
    expect(within(tokenTable).queryByRole('button', { name: 'Revoke token_2-name' })).toBeNull();
    fireEvent.click(within(tokenTable).getByRole('button', { name: 'Revoke token_1-name' }));
    await waitFor(() =>
      expect(within(screen.getByTestId('token-token_1')).getByText('revoked')).toBeTruthy(),
    );
    expect(server.requests.some((r) => r.method === 'DELETE' && r.url === '/tokens/token_1')).toBe(
      true,
    );
    // Mint one for Sam: the secret is shown once.
    fireEvent.change(screen.getByLabelText(/Acts as/), { target: { value: 'actor_2' } });
    fireEvent.change(screen.getByLabelText('What it is for'), { target: { value: 'laptop' } });
    fireEvent.click(screen.getByRole('button', { name: 'Mint' }));
    expect((await screen.findByTestId('minted-secret')).textContent).toContain(
      'cs_secret_shown_once_0123456789',
    );
  });

  it('offers an actor without the permissions no form to register, change a role or mint, and says who may', async () => {
    const server = fakeServer(
      route('GET', '/actors', {
        actors: [
          { actor_id: 'actor_1', name: 'Alice', role: 'Developer', kind: 'human', created_at: T },
        ],
      }),
      route('GET', '/tokens', { tokens: [token('token_5', 'active')] }),
    );
    renderSignedIn(<People />, server, BOB);
    await screen.findByRole('table', { name: 'Actors' });
    expect(screen.getByTestId('register-not-allowed').textContent).toContain(
      'Registering an actor needs permission',
    );
    expect(screen.getByTestId('set-role-not-allowed').textContent).toContain(
      'Changing a role needs permission',
    );
    expect(screen.getByTestId('mint-operator-only').textContent).toContain(
      'Only the operator mints tokens',
    );
    for (const name of ['Register', 'Change role', 'Mint'])
      expect(screen.queryByRole('button', { name })).toBeNull();
    expect(screen.queryByRole('form', { name: 'Change a role' })).toBeNull();
    // Revoking its own token stays offered: the server lets an actor revoke its own.
    expect(screen.getByRole('button', { name: 'Revoke token_5-name' })).toBeTruthy();
    expect(server.requests.every((r) => r.method === 'GET')).toBe(true);
  });

  it('offers an admin no minting, and shows the server refusing a registration', async () => {
    const server = fakeServer(
      route('GET', '/actors', { actors: [] }),
      route('GET', '/tokens', { tokens: [token('token_5', 'active')] }),
      route(
        'POST',
        '/actors',
        { error: { code: 'POLICY_DENIED', message: 'Policy denies actor.register.' } },
        403,
      ),
    );
    // The session said the admin may register; the policy has changed since, and the server refuses.
    renderSignedIn(<People />, server, ADMIN);
    expect((await screen.findByTestId('mint-operator-only')).textContent).toContain(
      'Only the operator mints tokens',
    );
    expect(screen.queryByRole('button', { name: 'Mint' })).toBeNull();
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Eve' } });
    fireEvent.change(screen.getByLabelText('Role'), { target: { value: 'security' } });
    fireEvent.click(screen.getByRole('button', { name: 'Register' }));
    const refusal = await screen.findByRole('alert');
    expect(refusal.textContent).toContain('POLICY_DENIED');
  });

  it('changes another actor’s role, never offers your own, and shows a refusal', async () => {
    const actors = [
      { actor_id: 'actor_1', name: 'Alice', role: 'Developer', kind: 'human', created_at: T },
      { actor_id: BOB.actor_id, name: BOB.name, role: 'admin', kind: 'human', created_at: T },
    ];
    let refuse = false;
    const server = fakeServer(
      route('GET', '/actors', () => ({ actors })),
      route('GET', '/tokens', { tokens: [] }),
      (req: Recorded) => {
        if (req.method !== 'PUT' || req.url !== '/actors/actor_1/role') return undefined;
        if (refuse)
          return {
            status: 403,
            body: { error: { code: 'POLICY_DENIED', message: 'Policy denies actor.set_role.' } },
          };
        const role = (req.body as { role: string }).role;
        const previous_role = actors[0]!.role;
        actors[0] = { ...actors[0]!, role };
        return {
          status: 200,
          body: { actor_id: 'actor_1', name: 'Alice', kind: 'human', role, previous_role },
        };
      },
    );
    renderSignedIn(<People />, server, ADMIN);
    const form = await screen.findByRole('form', { name: 'Change a role' });
    const select = within(form).getByLabelText<HTMLSelectElement>('Actor');
    expect([...select.options].map((o) => o.value)).toEqual(['actor_1']);
    fireEvent.change(within(form).getByLabelText('New role'), { target: { value: 'security' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Change role' }));
    expect((await within(form).findByRole('status')).textContent).toBe(
      'Alice is now security (was Developer).',
    );
    const table = screen.getByRole('table', { name: 'Actors' });
    await waitFor(() => expect(within(table).getByText('security')).toBeTruthy());
    expect(server.requests.find((r) => r.method === 'PUT')?.body).toEqual({ role: 'security' });
    refuse = true;
    fireEvent.change(within(form).getByLabelText('New role'), { target: { value: 'admin' } });
    fireEvent.click(within(form).getByRole('button', { name: 'Change role' }));
    expect((await within(form).findByRole('alert')).textContent).toContain('POLICY_DENIED');
  });
});
