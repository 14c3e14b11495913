import { useState } from 'react';
import { DecisionForm, type DecisionInput } from '../components/DecisionForm.js';
import { Decisions } from '../components/Decisions.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { Loading } from '../components/Loading.js';
import { ReadableJson } from '../components/ReadableJson.js';
import { RedactedJson } from '../components/RedactedJson.js';
import { eligibility } from '../eligibility.js';
import { shortHash } from '../format.js';
import { redacted } from '../redact.js';
import { useLoad } from '../hooks.js';
import { useSession } from '../session.js';
import type { Approval, GateDecision as Decision, JsonObject, PlanView, Run } from '../types.js';
import { ActorName } from '../actors.js';

/** The decision view of a workflow gate (a risk review, a plan approval). */
export function GateDecision({ id }: { id: string }) {
  const { api, me, creds } = useSession();
  const view = useLoad(
    () =>
      api.get<{ approval: Approval; decisions: Decision[] }>(
        `/approvals/${encodeURIComponent(id)}`,
      ),
    [api, id],
  );
  const [lastRun, setLastRun] = useState<Run>();

  if (view.error && !view.data)
    return <ErrorNotice error={view.error} title={`Request ${id} could not be loaded`} />;
  if (!view.data) return <Loading what={`request ${id}`} />;
  const { approval, decisions } = view.data;
  const { risk, warnings, ...context } = approval.packet;
  const warned = Array.isArray(warnings)
    ? warnings.filter((w): w is string => typeof w === 'string' && w.trim() !== '')
    : [];
  const tier = typeof context.risk_tier === 'string' ? context.risk_tier : null;
  const can = eligibility(me, approval);

  const decide = async (d: DecisionInput) => {
    const answer = await api.post<{ run: Run }>(
      `/approvals/${encodeURIComponent(id)}/decision`,
      {
        reviewer_id: me.actor_id,
        decision: d.decision,
        ...(d.comment.trim() ? { comment: d.comment.trim() } : {}),
      },
      d.purpose,
    );
    setLastRun(answer.run);
    view.reload();
  };

  return (
    <article aria-labelledby="gate-title" className="decision-view">
      <p>
        <a href="#/">← Inbox</a>
      </p>
      <h1 id="gate-title">{approval.title}</h1>
      <p className="meta">
        <span className={`tag status-${approval.status}`} data-testid="approval-status">
          {approval.status}
        </span>
        <span>{approval.id}</span>
        <span>
          run <a href={`#/runs/${approval.workflow_id}`}>{approval.workflow_id}</a>
        </span>
        <span>
          requested by <ActorName id={approval.requested_by} />
        </span>
        {approval.due_at && <span>due {new Date(approval.due_at).toLocaleString()}</span>}
      </p>
      {warned.length > 0 && (
        <div className="notice notice-warn" role="note" data-testid="gate-warnings">
          <strong>
            {warned.length === 1 ? 'One warning' : `${warned.length} warnings`} for this request
          </strong>
          <ul>
            {warned.map((w) => (
              <li key={w}>{redacted(w).value as string}</li>
            ))}
          </ul>
        </div>
      )}
      <div className="grid">
        <section className="card" aria-labelledby="context-title">
          <h2 id="context-title">Context summary</h2>
          {typeof context.summary === 'string' && (
            <p className="lead">{redacted(context.summary).value as string}</p>
          )}
          <ReadableJson value={context} label="Context summary" />
        </section>
        <section className="card" aria-labelledby="risk-title">
          <h2 id="risk-title">Risk assessment</h2>
          {risk && typeof risk === 'object' && !Array.isArray(risk) ? (
            <RiskSummary risk={risk} />
          ) : tier ? (
            <p data-testid="risk-tier">
              Risk tier <strong className={`tag risk-${tier}`}>{tier}</strong>, as assessed earlier
              in this run.
            </p>
          ) : (
            <p className="muted">This request carries no risk assessment.</p>
          )}
          <p>
            Needs {approval.required_approvals} approval
            {approval.required_approvals === 1 ? '' : 's'} from{' '}
            {approval.required_roles.length
              ? approval.required_roles.join(' or ')
              : 'any reviewer but the requester'}
            .
          </p>
        </section>
      </div>
      {approval.proposals.length > 0 && (
        <section className="card" aria-labelledby="calls-title">
          <h2 id="calls-title">The calls an approval binds to</h2>
          <ol className="calls">
            {approval.proposals.map((p) => (
              <BoundCall key={p.proposal_id} proposalId={p.proposal_id} hash={p.hash} />
            ))}
          </ol>
        </section>
      )}
      <Decisions decisions={decisions} />
      {lastRun && (
        <p className="notice notice-ok" role="status" data-testid="run-after-decision">
          The run is now <strong>{lastRun.status}</strong> at stage <strong>{lastRun.stage}</strong>
          . <a href={`#/runs/${lastRun.workflow_id}`}>Open the run</a>
        </p>
      )}
      {approval.status === 'pending' ? (
        <DecisionForm
          eligibility={can}
          allowEdit={false}
          defaultPurpose={creds.purpose}
          onDecide={decide}
        />
      ) : (
        <p className="notice" role="status">
          This request is {approval.status}; nothing is waiting for a decision.
        </p>
      )}
    </article>
  );
}

function RiskSummary({ risk }: { risk: JsonObject }) {
  const scalar = Object.entries(risk).filter(([, v]) => v === null || typeof v !== 'object');
  const nested = Object.entries(risk).filter(([, v]) => v !== null && typeof v === 'object');
  return (
    <>
      <dl>
        {scalar.map(([k, v]) => (
          <div key={k} className="dl-row">
            <dt>{k.replace(/_/g, ' ')}</dt>
            <dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd>
          </div>
        ))}
      </dl>
      {nested.length > 0 && (
        <RedactedJson value={Object.fromEntries(nested)} label="Risk factors" />
      )}
    </>
  );
}

/** A bound call: its hash and its dry-run plan. */
function BoundCall({ proposalId, hash }: { proposalId: string; hash: string }) {
  const { api } = useSession();
  const plan = useLoad(
    () => api.get<PlanView>(`/proposals/${encodeURIComponent(proposalId)}/plan`),
    [api, proposalId],
  );
  return (
    <li>
      <p>
        <a href={`#/proposals/${proposalId}`}>{proposalId}</a>{' '}
        {plan.data && <code>{plan.data.tool}</code>} hash{' '}
        <code title={hash}>{shortHash(hash)}</code>
      </p>
      <ErrorNotice error={plan.error} title="No dry-run plan" />
      {plan.data && (
        <details>
          <summary>Dry-run plan</summary>
          <ReadableJson value={plan.data.plan} label={`Dry-run plan of ${proposalId}`} />
        </details>
      )}
    </li>
  );
}
