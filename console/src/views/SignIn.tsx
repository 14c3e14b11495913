import { type FormEvent, useState } from 'react';
import { ApiError, type Credentials, createApi } from '../api.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import type { Me } from '../types.js';

/** Sign-in with an API token; the purpose is sent as X-Purpose with every request. */
export function SignIn({ onSignedIn }: { onSignedIn: (c: Credentials, me: Me) => void }) {
  const [token, setToken] = useState('');
  const [purpose, setPurpose] = useState('Reviewing pending approvals');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    if (purpose.trim() === '') {
      setError(
        new ApiError(
          0,
          'PURPOSE_REQUIRED',
          'Say why you are signing in; it is recorded with every action.',
        ),
      );
      return;
    }
    setBusy(true);
    const creds = { token: token.trim(), purpose: purpose.trim() };
    try {
      const me = await createApi(creds).get<Me>('/me');
      onSignedIn(creds, me);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin" aria-labelledby="signin-title">
      <h1 id="signin-title">Countersign</h1>
      <p className="muted">Sign in with an API token to review what agents want to do.</p>
      <form onSubmit={(e) => void submit(e)} className="card">
        <label htmlFor="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          required
          value={token}
          onChange={(e) => setToken(e.target.value)}
          placeholder="cs_…"
        />
        <label htmlFor="purpose">Purpose (recorded with every action)</label>
        <input
          id="purpose"
          name="purpose"
          required
          maxLength={500}
          value={purpose}
          onChange={(e) => setPurpose(e.target.value)}
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <ErrorNotice error={error} title="Sign-in failed" />
      </form>
    </main>
  );
}
