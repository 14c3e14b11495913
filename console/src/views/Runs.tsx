import { ErrorNotice } from '../components/ErrorNotice.js';
import { Empty, Loading } from '../components/Loading.js';
import { age } from '../format.js';
import { useLoad } from '../hooks.js';
import { useSession } from '../session.js';
import type { Run } from '../types.js';

/** The tenant's workflow runs, newest first. */
export function Runs({ pollMs = 5000 }: { pollMs?: number }) {
  const { api } = useSession();
  const runs = useLoad(
    () => api.get<{ runs: Run[] }>('/workflows/runs', { limit: 100 }),
    [api],
    pollMs,
  );
  return (
    <section aria-labelledby="runs-title">
      <h1 id="runs-title">Runs</h1>
      <ErrorNotice error={runs.error} title="The runs could not be loaded" />
      {runs.loading && !runs.data && <Loading what="runs" />}
      {runs.data && runs.data.runs.length === 0 && <Empty>No workflow run yet.</Empty>}
      <ul className="inbox" aria-label="Workflow runs">
        {runs.data?.runs.map((r) => (
          <li key={r.workflow_id} className="card inbox-item">
            <a href={`#/runs/${r.workflow_id}`} className="inbox-title">
              {r.definition} · {r.workflow_id}
            </a>
            <div className="meta">
              <span className={`tag status-${r.status}`}>{r.status}</span>
              <span>stage {r.stage}</span>
              <span title={r.updated_at}>updated {age(r.updated_at)} ago</span>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
