import { type FormEvent, useState } from 'react';
import type { ActorInfo } from '../actors.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { Empty, Loading } from '../components/Loading.js';
import { useLoad } from '../hooks.js';
import { mayCall, useSession } from '../session.js';

interface TokenRow {
  token_id: string;
  actor_id: string;
  name: string;
  status: 'active' | 'expired' | 'revoked';
  created_by: string;
  created_at: string;
  expires_at: string | null;
  scope: string[] | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

const KINDS = ['human', 'agent', 'service'] as const;

/**
 * People and tokens, for whoever administers the tenant: the actors (add one, with its role and
 * kind) and the API tokens (list, mint, revoke). The server decides who may do what (an admin
 * registers actors and changes roles, only the operator mints tokens, an actor revokes its own):
 * each form is offered to those `/me`'s `may` lists, and the page shows any refusal as it comes.
 * A role change applies to decisions made after it: each decision keeps the role it was made
 * with. Nobody changes their own role, and an actor's kind never changes.
 */
export function People() {
  const { api, me } = useSession();
  const actors = useLoad(
    () => api.get<{ actors: (ActorInfo & { created_at: string })[] }>('/actors'),
    [api],
  );
  const tokens = useLoad(() => api.get<{ tokens: TokenRow[] }>('/tokens'), [api]);

  return (
    <section aria-labelledby="people-title">
      <h1 id="people-title">People and tokens</h1>
      <p className="muted small">
        A role change applies to decisions made after it: approvals already given keep the role they
        were given with. Nobody changes their own role, and an actor&rsquo;s kind never changes
        (register a new actor instead).
      </p>
      <h2>Actors</h2>
      <ErrorNotice error={actors.error} title="The actors could not be listed" />
      {actors.loading && !actors.data && <Loading what="the actors" />}
      {actors.data && actors.data.actors.length === 0 && <Empty>No actor yet.</Empty>}
      {actors.data && actors.data.actors.length > 0 && (
        <table className="records" aria-label="Actors">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Kind</th>
              <th scope="col">ID</th>
            </tr>
          </thead>
          <tbody>
            {actors.data.actors.map((a) => (
              <tr key={a.actor_id}>
                <td>{a.name}</td>
                <td>{a.role}</td>
                <td>{a.kind}</td>
                <td>
                  <code>{a.actor_id}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {mayCall(me, 'register_actor') ? (
        <RegisterActor onDone={actors.reload} />
      ) : (
        <p className="muted small" data-testid="register-not-allowed">
          Registering an actor needs permission to register actors; ask an admin or the operator.
        </p>
      )}
      {!mayCall(me, 'set_actor_role') ? (
        <p className="muted small" data-testid="set-role-not-allowed">
          Changing a role needs permission to change roles; ask an admin or the operator.
        </p>
      ) : (
        actors.data &&
        actors.data.actors.length > 0 && (
          <ChangeRole
            actors={actors.data.actors.filter((a) => a.actor_id !== me.actor_id)}
            onDone={actors.reload}
          />
        )
      )}
      <h2>API tokens</h2>
      <ErrorNotice error={tokens.error} title="The tokens could not be listed" />
      {tokens.loading && !tokens.data && <Loading what="the tokens" />}
      {tokens.data && tokens.data.tokens.length === 0 && <Empty>No token yet.</Empty>}
      {tokens.data && tokens.data.tokens.length > 0 && (
        <TokenTable tokens={tokens.data.tokens} onRevoked={tokens.reload} />
      )}
      {mayCall(me, 'create_token') ? (
        <MintToken onDone={tokens.reload} />
      ) : (
        <p className="muted small" data-testid="mint-operator-only">
          Only the operator mints tokens; you can revoke your own.
        </p>
      )}
    </section>
  );
}

function RegisterActor({ onDone }: { onDone: () => void }) {
  const { api } = useSession();
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    setError(undefined);
    setDone(undefined);
    try {
      const r = await api.post<{ actor_id: string }>('/actors', {
        name: field(f, 'name', '').trim(),
        role: field(f, 'role', '').trim(),
        kind: field(f, 'kind', 'human'),
      });
      setDone(`Registered ${r.actor_id}.`);
      form.reset();
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="card" aria-labelledby="register-title" onSubmit={(e) => void submit(e)}>
      <h3 id="register-title">Register an actor</h3>
      <label>
        Name <input name="name" required maxLength={200} />
      </label>
      <label>
        Role <input name="role" required maxLength={100} placeholder="e.g. security" />
      </label>
      <label>
        Kind{' '}
        <select name="kind" defaultValue="human">
          {KINDS.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
      </label>
      <div className="actions">
        <button type="submit" className="primary">
          Register
        </button>
      </div>
      {done && (
        <p className="notice notice-ok" role="status">
          {done}
        </p>
      )}
      <ErrorNotice error={error} title="The server refused to register it" />
    </form>
  );
}

function ChangeRole({ actors, onDone }: { actors: ActorInfo[]; onDone: () => void }) {
  const { api } = useSession();
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const actor_id = field(f, 'actor', '');
    setError(undefined);
    setDone(undefined);
    try {
      const r = await api.put<{ name: string; role: string; previous_role: string }>(
        `/actors/${encodeURIComponent(actor_id)}/role`,
        { role: field(f, 'new_role', '').trim() },
      );
      setDone(
        r.role === r.previous_role
          ? `${r.name} already holds the role ${r.role}; nothing changed.`
          : `${r.name} is now ${r.role} (was ${r.previous_role}).`,
      );
      form.reset();
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  if (actors.length === 0) return null;
  return (
    <form className="card" aria-labelledby="role-title" onSubmit={(e) => void submit(e)}>
      <h3 id="role-title">Change a role</h3>
      <label>
        Actor{' '}
        <select name="actor" required defaultValue={actors[0]?.actor_id}>
          {actors.map((a) => (
            <option key={a.actor_id} value={a.actor_id}>
              {a.name} ({a.role}, {a.kind})
            </option>
          ))}
        </select>
      </label>
      <label>
        New role <input name="new_role" required maxLength={100} placeholder="e.g. security" />
      </label>
      <div className="actions">
        <button type="submit" className="primary">
          Change role
        </button>
      </div>
      {done && (
        <p className="notice notice-ok" role="status">
          {done}
        </p>
      )}
      <ErrorNotice error={error} title="The server refused the change" />
    </form>
  );
}

function TokenTable({ tokens, onRevoked }: { tokens: TokenRow[]; onRevoked: () => void }) {
  const { api } = useSession();
  const [error, setError] = useState<unknown>();
  const revoke = async (t: TokenRow) => {
    setError(undefined);
    try {
      await api.delete(`/tokens/${encodeURIComponent(t.token_id)}`);
      onRevoked();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <>
      <table className="records" aria-label="API tokens">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Acts as</th>
            <th scope="col">Status</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">
              <span className="visually-hidden">Revoke</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {tokens.map((t) => (
            <tr key={t.token_id} data-testid={`token-${t.token_id}`}>
              <td>
                {t.name} <code className="muted">{t.token_id}</code>
              </td>
              <td>{t.actor_id}</td>
              <td>{t.status}</td>
              <td>{t.expires_at ?? 'never'}</td>
              <td>{t.last_used_at ?? '—'}</td>
              <td>
                {t.status === 'active' && (
                  <button type="button" className="danger" onClick={() => void revoke(t)}>
                    Revoke {t.name}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ErrorNotice error={error} title="The server refused to revoke it" />
    </>
  );
}

function MintToken({ onDone }: { onDone: () => void }) {
  const { api } = useSession();
  const [error, setError] = useState<unknown>();
  const [secret, setSecret] = useState<{ token: string; token_id: string }>();
  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    setError(undefined);
    setSecret(undefined);
    const days = Number(field(f, 'days', '0'));
    try {
      const r = await api.post<{ token: string; token_id: string }>('/tokens', {
        actor_id: field(f, 'actor_id', '').trim(),
        name: field(f, 'name', '').trim(),
        ...(days > 0 ? { expires_in_seconds: Math.round(days * 86_400) } : {}),
      });
      setSecret(r);
      form.reset();
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form className="card" aria-labelledby="mint-title" onSubmit={(e) => void submit(e)}>
      <h3 id="mint-title">Mint a token</h3>
      <label>
        Acts as (actor ID, or operator) <input name="actor_id" required placeholder="actor_1" />
      </label>
      <label>
        What it is for <input name="name" required maxLength={100} placeholder="ci" />
      </label>
      <label>
        Expires after (days, empty for never) <input name="days" type="number" min={1} max={3650} />
      </label>
      <div className="actions">
        <button type="submit" className="primary">
          Mint
        </button>
      </div>
      {secret && (
        <div className="notice notice-ok" role="status" data-testid="minted-secret">
          <p>{secret.token_id}: copy the secret now, it is shown once and stored only as a hash.</p>
          <pre className="json">
            <code>{secret.token}</code>
          </pre>
        </div>
      )}
      <ErrorNotice error={error} title="The server refused to mint it" />
    </form>
  );
}

/** A text field of a submitted form. */
function field(form: FormData, name: string, fallback: string): string {
  const v = form.get(name);
  return typeof v === 'string' ? v : fallback;
}
