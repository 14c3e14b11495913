import { useState } from 'react';
import { ActorName } from '../actors.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { Empty, Loading } from '../components/Loading.js';
import { age } from '../format.js';
import { useLoad } from '../hooks.js';
import { useSession } from '../session.js';
import { type WorkPackagePage, type WorkPackageSummary, boardOf } from '../work.js';

/** How many packages one request asks for; the board pages on with `next_after`. */
export const WORK_PAGE = 100;

/**
 * The tenant's work packages as a board: one column per stretch of the lifecycle (booked,
 * scope, executing, review, done, ended, held), each card with its id, title, role, claimant
 * and last change. Filtered by role on the server.
 */
export function Work({ pollMs = 10_000 }: { pollMs?: number }) {
  const { api } = useSession();
  const [role, setRole] = useState('');
  const [typed, setTyped] = useState('');
  // Later pages, for the role they were loaded under: another role never shows them, and a
  // refresh of the first page keeps them.
  const [more, setMore] = useState<{
    role: string;
    items: WorkPackageSummary[];
    next: string | null;
  } | null>(null);
  const [moreError, setMoreError] = useState<unknown>();
  const first = useLoad(
    () =>
      api.get<WorkPackagePage>('/work-packages', {
        limit: WORK_PAGE,
        ...(role ? { role } : {}),
      }),
    [api, role],
    pollMs,
  );
  const extra = more?.role === role ? more : null;
  const nextAfter = extra ? extra.next : (first.data?.next_after ?? null);

  const loadMore = async () => {
    if (!nextAfter) return;
    try {
      const page = await api.get<WorkPackagePage>('/work-packages', {
        limit: WORK_PAGE,
        after: nextAfter,
        ...(role ? { role } : {}),
      });
      setMore({
        role,
        items: [...(extra?.items ?? []), ...page.work_packages],
        next: page.next_after,
      });
      setMoreError(undefined);
    } catch (e) {
      setMoreError(e);
    }
  };

  const firstPage = first.data?.work_packages ?? [];
  const seen = new Set(firstPage.map((p) => p.id));
  const all = [...firstPage, ...(extra?.items ?? []).filter((p) => !seen.has(p.id))];
  const columns = boardOf(all);
  return (
    <section aria-labelledby="work-title">
      <h1 id="work-title">Work</h1>
      <form
        className="filters"
        aria-label="Filter work packages"
        onSubmit={(e) => {
          e.preventDefault();
          setRole(typed.trim());
          setMore(null);
          setMoreError(undefined);
        }}
      >
        <label>
          Role
          <input
            value={typed}
            maxLength={100}
            placeholder="any role"
            onChange={(e) => setTyped(e.target.value)}
          />
        </label>
        <button type="submit">Filter</button>
        {role && (
          <button
            type="button"
            onClick={() => {
              setTyped('');
              setRole('');
              setMore(null);
              setMoreError(undefined);
            }}
          >
            Show every role
          </button>
        )}
      </form>
      <ErrorNotice error={first.error} title="The work packages could not be loaded" />
      {first.loading && !first.data && <Loading what="work packages" />}
      {first.data && all.length === 0 && (
        <Empty>
          {role ? (
            <>
              No work package for the role <strong>{role}</strong>.
            </>
          ) : (
            'No work package booked yet.'
          )}
        </Empty>
      )}
      {all.length > 0 && (
        <div className="board" data-testid="work-board">
          {columns.map((c) => (
            <section
              key={c.name}
              className="board-column"
              aria-labelledby={`column-${c.name}`}
              data-testid={`column-${c.name}`}
            >
              <h2 id={`column-${c.name}`}>
                {c.name} <span className="muted small">({c.packages.length})</span>
              </h2>
              <ul className="plain" aria-label={`${c.name} packages`}>
                {c.packages.map((p) => (
                  <WorkCard key={p.id} wp={p} />
                ))}
              </ul>
            </section>
          ))}
        </div>
      )}
      <ErrorNotice error={moreError} title="The next packages could not be loaded" />
      {nextAfter && (
        <div className="actions">
          <button type="button" onClick={() => void loadMore()}>
            Load more packages
          </button>
        </div>
      )}
    </section>
  );
}

function WorkCard({ wp }: { wp: WorkPackageSummary }) {
  return (
    <li className="card work-card" data-testid="work-card" data-wp={wp.id}>
      <a href={`#/work/${encodeURIComponent(wp.id)}`} className="inbox-title">
        {wp.title}
      </a>
      <div className="meta">
        <span>{wp.id}</span>
        <span className={`tag wp-${wp.state}`}>{wp.state.replace(/_/g, ' ')}</span>
        <span>role {wp.role}</span>
        <span>
          {wp.claimed_by ? (
            <>
              claimed by <ActorName id={wp.claimed_by} />
            </>
          ) : (
            'not claimed'
          )}
        </span>
        <span title={wp.updated_at}>updated {age(wp.updated_at)} ago</span>
      </div>
    </li>
  );
}
