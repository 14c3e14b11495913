import { type ReactNode, useState } from 'react';
import { DecisionForm, type DecisionInput } from '../components/DecisionForm.js';
import { Decisions } from '../components/Decisions.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { Loading } from '../components/Loading.js';
import { PlanBrief } from '../components/PlanBrief.js';
import { ReadableJson } from '../components/ReadableJson.js';
import { RedactedJson } from '../components/RedactedJson.js';
import { eligibility } from '../eligibility.js';
import { shortHash } from '../format.js';
import { PLAN_ARTIFACT, type SavedPlan, isPlanGate, packetPlan, savedPlanOf } from '../plan.js';
import { redacted } from '../redact.js';
import { useLoad } from '../hooks.js';
import { useSession } from '../session.js';
import type {
  Approval,
  GateDecision as Decision,
  Json,
  JsonObject,
  PlanView,
  ProposalView,
  Run,
} from '../types.js';
import { describeMissing } from '../../../src/core/quorum.js';
import { ActorName } from '../actors.js';

/** The decision view of a workflow gate (a risk review, a plan approval). */
export function GateDecision({ id }: { id: string }) {
  const { api, me, creds } = useSession();
  const view = useLoad(
    () =>
      api.get<{ approval: Approval; decisions: Decision[]; missing?: Record<string, number> }>(
        `/approvals/${encodeURIComponent(id)}`,
      ),
    [api, id],
  );
  const [lastRun, setLastRun] = useState<Run>();
  const workflowId = view.data?.approval.workflow_id;
  // The run, for the plan a plan-only run's final gate approves (the packet may not carry it).
  const run = useLoad(
    () =>
      workflowId
        ? api.get<Run>(`/workflows/${encodeURIComponent(workflowId)}/status`)
        : Promise.resolve(undefined),
    [api, workflowId],
  );

  if (view.error && !view.data)
    return <ErrorNotice error={view.error} title={`Request ${id} could not be loaded`} />;
  if (!view.data) return <Loading what={`request ${id}`} />;
  const { approval, decisions, missing } = view.data;
  const quorum = approval.role_quorum;
  const { risk, warnings, calls, ...packetContext } = approval.packet;
  const inPacket = packetPlan(packetContext);
  const context = inPacket
    ? Object.fromEntries(Object.entries(packetContext).filter(([k]) => k !== inPacket.key))
    : packetContext;
  const plan: { saved: SavedPlan; raw: Json } | null = inPacket
    ? { saved: inPacket.saved, raw: packetContext[inPacket.key] ?? null }
    : run.data && isPlanGate(run.data, approval.id)
      ? {
          saved: savedPlanOf(run.data.artifacts[PLAN_ARTIFACT])!,
          raw: run.data.artifacts[PLAN_ARTIFACT] ?? null,
        }
      : null;
  const steps = boundSteps(approval.proposals, calls);
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
          {quorum && Object.keys(quorum).length > 0 ? (
            <p data-testid="gate-quorum">
              Needs approvals from each of these roles: {describeMissing(quorum)}.
            </p>
          ) : (
            <p>
              Needs {approval.required_approvals} approval
              {approval.required_approvals === 1 ? '' : 's'} from{' '}
              {approval.required_roles.length
                ? approval.required_roles.join(' or ')
                : 'any reviewer but the requester'}
              .
            </p>
          )}
          {approval.status === 'pending' && missing && Object.keys(missing).length > 0 && (
            <p className="notice notice-warn" role="note" data-testid="gate-missing">
              Still needed: {describeMissing(missing)}.
            </p>
          )}
        </section>
      </div>
      {plan && <PlanBrief saved={plan.saved} raw={plan.raw} />}
      {approval.proposals.length > 0 && (
        <section className="card" aria-labelledby="calls-title">
          <h2 id="calls-title">The calls an approval binds to</h2>
          <p className="muted small" data-testid="calls-count">
            {describeSteps(steps)}
          </p>
          <ol className="calls">
            {steps.map((s) => (
              <BoundCall key={s.call.proposal_id} call={s.call}>
                {s.rollbacks.length > 0 && (
                  <ul
                    className="rollbacks"
                    aria-label={`Rollback of ${s.call.label ?? 'this step'}`}
                  >
                    {s.rollbacks.map((r) => (
                      <BoundCall key={r.proposal_id} call={r} />
                    ))}
                  </ul>
                )}
              </BoundCall>
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

interface BoundCallInfo {
  readonly proposal_id: string;
  readonly hash: string;
  readonly label?: string;
  readonly rollback_for?: string;
}

interface BoundStep {
  readonly call: BoundCallInfo;
  readonly rollbacks: BoundCallInfo[];
}

/**
 * The bound calls as the steps they belong to: each call, with the rollback calls that undo it
 * under it (the gate's packet says which is which; a call it does not describe stands alone).
 */
export function boundSteps(
  proposals: readonly { proposal_id: string; hash: string }[],
  described: Json | undefined,
): BoundStep[] {
  const info = new Map<string, { label?: string; rollback_for?: string }>();
  if (Array.isArray(described))
    for (const c of described)
      if (c && typeof c === 'object' && !Array.isArray(c) && typeof c.proposal_id === 'string')
        info.set(c.proposal_id, {
          ...(typeof c.label === 'string' ? { label: c.label } : {}),
          ...(typeof c.rollback_for === 'string' ? { rollback_for: c.rollback_for } : {}),
        });
  const calls: BoundCallInfo[] = proposals.map((p) => ({ ...p, ...info.get(p.proposal_id) }));
  const steps: BoundStep[] = [];
  const byLabel = new Map<string, BoundStep>();
  for (const c of calls.filter((c) => c.rollback_for === undefined)) {
    const step = { call: c, rollbacks: [] };
    steps.push(step);
    if (c.label !== undefined) byLabel.set(c.label, step);
  }
  for (const c of calls.filter((c) => c.rollback_for !== undefined)) {
    const owner = byLabel.get(c.rollback_for!);
    if (owner) owner.rollbacks.push(c);
    else steps.push({ call: c, rollbacks: [] });
  }
  return steps;
}

function describeSteps(steps: readonly BoundStep[]): string {
  const rollbacks = steps.reduce((n, s) => n + s.rollbacks.length, 0);
  const n = steps.length;
  return (
    `${n} call${n === 1 ? '' : 's'}` +
    (rollbacks
      ? `, with ${rollbacks} rollback call${rollbacks === 1 ? '' : 's'} that run only to undo them after a failure`
      : '') +
    '. An approval binds to every one of them by its hash.'
  );
}

/** A bound call: what it does in words, its hash, and its dry-run plan one click away. */
function BoundCall({ call, children }: { call: BoundCallInfo; children?: ReactNode }) {
  const { api } = useSession();
  const id = call.proposal_id;
  const plan = useLoad(
    () => api.get<PlanView>(`/proposals/${encodeURIComponent(id)}/plan`),
    [api, id],
  );
  const view = useLoad(
    () => api.get<ProposalView>(`/proposals/${encodeURIComponent(id)}`),
    [api, id],
  );
  const description = view.data?.final_tool_call.description;
  return (
    <li data-testid={`bound-${id}`}>
      <p>
        {call.rollback_for !== undefined && (
          <span className="tag tag-muted" data-testid="rollback-tag">
            rollback of {call.rollback_for}
          </span>
        )}{' '}
        {call.label && <strong>{call.label}</strong>} <a href={`#/proposals/${id}`}>{id}</a>{' '}
        {plan.data && <code>{plan.data.tool}</code>} hash{' '}
        <code title={call.hash}>{shortHash(call.hash)}</code>
      </p>
      {description && <p data-testid="bound-description">{description}</p>}
      <ErrorNotice error={plan.error} title="No dry-run plan" />
      {plan.data && (
        <details>
          <summary>Dry-run plan</summary>
          <ReadableJson value={plan.data.plan} label={`Dry-run plan of ${id}`} />
        </details>
      )}
      {children}
    </li>
  );
}
