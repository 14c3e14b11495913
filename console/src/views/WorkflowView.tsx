import { ErrorNotice } from '../components/ErrorNotice.js';
import { Loading } from '../components/Loading.js';
import { useLoad } from '../hooks.js';
import { useSession } from '../session.js';

interface WorkflowAnswer {
  workflow: { id: string; title: string; status: string; created_at: string };
  proposals: { proposal_id: string; tool: string; status: string; version: number }[];
}

/** A plain workflow (the context of proposed calls): its proposals and a link to its ledger. */
export function WorkflowView({ id }: { id: string }) {
  const { api } = useSession();
  const w = useLoad(
    () => api.get<WorkflowAnswer>(`/workflows/${encodeURIComponent(id)}`),
    [api, id],
    5000,
  );
  if (w.error && !w.data)
    return <ErrorNotice error={w.error} title={`Workflow ${id} could not be loaded`} />;
  if (!w.data) return <Loading what={`workflow ${id}`} />;
  const { workflow, proposals } = w.data;
  return (
    <article aria-labelledby="workflow-title">
      <h1 id="workflow-title">{workflow.title}</h1>
      <p className="meta">
        <span className={`tag status-${workflow.status}`}>{workflow.status}</span>
        <span>{workflow.id}</span>
        <a href={`#/audit/${workflow.id}`}>Audit log</a>
      </p>
      <ul className="inbox" aria-label="Proposals of this workflow">
        {proposals.map((p) => (
          <li key={p.proposal_id} className="card inbox-item">
            <a href={`#/proposals/${p.proposal_id}`} className="inbox-title">
              {p.proposal_id}: {p.tool}
            </a>
            <div className="meta">
              <span className={`tag status-${p.status}`}>{p.status}</span>
              <span>version {p.version}</span>
            </div>
          </li>
        ))}
      </ul>
    </article>
  );
}
