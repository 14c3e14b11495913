import { ActorName } from '../actors.js';
import { DECISION_LABEL } from '../format.js';

export interface DecisionRow {
  readonly id: string;
  readonly reviewer_id: string;
  readonly decision: string;
  readonly comment: string | null;
  readonly created_at: string;
  readonly version?: number;
}

/** Earlier decisions on a request, oldest first. */
export function Decisions({ decisions }: { decisions: readonly DecisionRow[] }) {
  return (
    <section className="card" aria-labelledby="decisions-title">
      <h2 id="decisions-title">Earlier decisions</h2>
      {decisions.length === 0 ? (
        <p className="muted">No decision yet.</p>
      ) : (
        <ol className="decisions">
          {decisions.map((d) => (
            <li key={d.id}>
              <strong>
                <ActorName id={d.reviewer_id} />
              </strong>{' '}
              {DECISION_LABEL[d.decision] ?? d.decision}
              {d.version !== undefined && <> version {d.version}</>}{' '}
              <time dateTime={d.created_at}>{new Date(d.created_at).toLocaleString()}</time>
              {d.comment && <blockquote>{d.comment}</blockquote>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
