import { useState } from 'react';
import { DecisionForm, type DecisionInput } from '../components/DecisionForm.js';
import { Decisions } from '../components/Decisions.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { ExecuteCall } from '../components/ExecuteCall.js';
import { Loading } from '../components/Loading.js';
import { ParamsDiff } from '../components/ParamsDiff.js';
import { ReadableJson } from '../components/ReadableJson.js';
import { RedactedJson } from '../components/RedactedJson.js';
import { eligibility } from '../eligibility.js';
import { useLoad } from '../hooks.js';
import { useSession } from '../session.js';
import type { PlanView, ProposalView } from '../types.js';
import { ActorName } from '../actors.js';

/** The decision view of a proposed tool call. */
export function ProposalDecision({ id }: { id: string }) {
  const { api, me, creds } = useSession();
  const view = useLoad(
    () => api.get<ProposalView>(`/proposals/${encodeURIComponent(id)}`),
    [api, id],
  );
  // Set once a call ran from this page: its result stays shown after the status moves on.
  const [ranHere, setRanHere] = useState(false);
  const plan = useLoad(
    () => api.get<PlanView>(`/proposals/${encodeURIComponent(id)}/plan`),
    [api, id, view.data?.final_tool_call.hash],
  );

  if (view.error && !view.data)
    return <ErrorNotice error={view.error} title={`Proposal ${id} could not be loaded`} />;
  if (!view.data) return <Loading what={`proposal ${id}`} />;
  const { proposal, final_tool_call: call, versions, decisions } = view.data;
  const first = versions[0];
  const edited = first && first.version !== call.version;
  const current = versions.find((v) => v.version === call.version);
  const can = eligibility(me, {
    requested_by: proposal.proposer_id,
    authors: [proposal.proposer_id, ...(current ? [current.author_id] : [])],
    required_roles: proposal.required_roles,
  });
  // An edit proposes a new version; only approvals of this version count.
  const received = decisions.filter(
    (d) => d.version === call.version && d.decision === 'approve',
  ).length;

  const decide = async (d: DecisionInput) => {
    await api.post(
      `/proposals/${encodeURIComponent(id)}/review`,
      {
        reviewer_id: me.actor_id,
        decision: d.decision,
        ...(d.comment.trim() ? { comment: d.comment.trim() } : {}),
        ...(d.decision === 'edit' ? { edits: { params: d.params ?? {} } } : {}),
      },
      d.purpose,
    );
    view.reload();
  };

  return (
    <article aria-labelledby="proposal-title" className="decision-view">
      <p>
        <a href="#/">← Inbox</a>
      </p>
      <h1 id="proposal-title">
        {proposal.tool}: {proposal.reason}
      </h1>
      <p className="meta">
        <span className={`tag status-${proposal.status}`} data-testid="proposal-status">
          {proposal.status}
        </span>
        <span>{proposal.id}</span>
        <span>
          workflow <a href={`#/workflows/${proposal.workflow_id}`}>{proposal.workflow_id}</a>
        </span>
        <span>
          proposed by <ActorName id={proposal.proposer_id} />
        </span>
        <span>version {call.version}</span>
      </p>
      <div className="grid">
        <section className="card" aria-labelledby="context-title">
          <h2 id="context-title">Context</h2>
          <dl>
            <dt>Why</dt>
            <dd>{proposal.reason}</dd>
            <dt>Proposed by</dt>
            <dd>
              <ActorName id={proposal.proposer_id} />
            </dd>
            <dt>Workflow</dt>
            <dd>{proposal.workflow_id}</dd>
          </dl>
        </section>
        <section className="card" aria-labelledby="risk-title">
          <h2 id="risk-title">Risk assessment</h2>
          <dl>
            <dt>Risk class of {call.tool}</dt>
            <dd>
              <span className={`tag risk risk-${plan.data?.risk ?? 'unknown'}`}>
                {plan.data?.risk ?? '…'}
              </span>
            </dd>
            <dt>Approvals</dt>
            <dd>
              {received} of {proposal.required_approvals} for this version
            </dd>
            <dt>Reviewer roles</dt>
            <dd>
              {proposal.required_roles.length
                ? proposal.required_roles.join(' or ')
                : 'any reviewer but the proposer'}
            </dd>
          </dl>
        </section>
      </div>
      <section className="card" aria-labelledby="call-title">
        <h2 id="call-title">The exact call that will run</h2>
        <p>
          <code>{call.tool}</code> version {call.version}, hash{' '}
          <code className="hash" data-testid="call-hash">
            {call.hash}
          </code>
        </p>
        {call.description && (
          // Plain text, never markup: the sentence is built from the call's parameters.
          <p data-testid="call-description">
            <span className="muted">The tool describes this call as:</span> {call.description}
          </p>
        )}
        <p className="muted small">
          An approval binds to this hash; any change to the call needs a new decision.
          {call.description &&
            ' The description is the tool’s summary: the parameters below are what runs.'}
        </p>
        <RedactedJson value={call.params} label="Parameters of the call" />
      </section>
      {edited && first && (
        <section className="card" aria-labelledby="diff-title">
          <h2 id="diff-title">
            Edited: version {first.version} → {call.version}
          </h2>
          <ParamsDiff before={first.params} after={call.params} label="Changes to the parameters" />
        </section>
      )}
      <section className="card" aria-labelledby="plan-title">
        <h2 id="plan-title">Dry-run plan</h2>
        <p className="muted small">What the tool says it would change; nothing has run.</p>
        <ErrorNotice error={plan.error} title="No dry-run plan" />
        {plan.data ? (
          <ReadableJson value={plan.data.plan} label="Dry-run plan of the call" />
        ) : (
          !plan.error && <Loading what="the plan" />
        )}
      </section>
      <Decisions decisions={decisions} />
      {proposal.status === 'pending' ? (
        <DecisionForm
          eligibility={can}
          allowEdit
          defaultPurpose={creds.purpose}
          onDecide={decide}
        />
      ) : (
        <p className="notice" role="status">
          This call is {proposal.status}; nothing is waiting for a decision.
        </p>
      )}
      {(proposal.status === 'approved' || ranHere) && (
        <ExecuteCall
          api={api}
          me={me}
          proposalId={proposal.id}
          hash={call.hash}
          purpose={creds.purpose}
          onExecuted={() => {
            setRanHere(true);
            view.reload();
          }}
        />
      )}
    </article>
  );
}
