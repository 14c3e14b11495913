import { ActivatePlan } from '../components/ActivatePlan.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { JsonView } from '../components/JsonView.js';
import { Loading } from '../components/Loading.js';
import { PlanBrief } from '../components/PlanBrief.js';
import { RedactedJson } from '../components/RedactedJson.js';
import { ReportMarkdown } from '../components/ReportMarkdown.js';
import { shortHash } from '../format.js';
import { FALLBACK_POLL_MS, useLiveReload, useLoad } from '../hooks.js';
import {
  PLAN_ARTIFACT,
  activationOf,
  checkedCriteriaOf,
  planApproved,
  savedPlanOf,
} from '../plan.js';
import { redacted } from '../redact.js';
import { useSession } from '../session.js';
import { timeline } from '../stages.js';
import type { Json, Run } from '../types.js';
import { ActorName } from '../actors.js';

/** A run reloads on each of its events the stream pushes; this often only while the stream is down. */
export const RUN_POLL_MS = FALLBACK_POLL_MS;

export interface ConsoleConfig {
  /** e.g. `http://localhost:8233/namespaces/default/workflows/{workflow_id}`; null when unset. */
  readonly temporal_ui_url: string | null;
}

/** A run: its stage timeline, what it waits on, its artifacts (the audit report rendered), its trace. */
export function RunView({
  id,
  runtime,
  config,
  pollMs = RUN_POLL_MS,
}: {
  id: string;
  runtime: string | undefined;
  config: ConsoleConfig;
  pollMs?: number;
}) {
  const { api } = useSession();
  const run = useLoad(() => api.get<Run>(`/workflows/${encodeURIComponent(id)}/status`), [api, id]);
  useLiveReload(api, { workflow_id: id }, run.reload, pollMs);
  if (run.error && !run.data)
    return <ErrorNotice error={run.error} title={`Run ${id} could not be loaded`} />;
  if (!run.data) return <Loading what={`run ${id}`} />;
  const r = run.data;
  const steps = timeline(r.definition, r.stage, r.status);
  const { audit_report, ...rest } = r.artifacts;
  const report = auditMarkdown(audit_report);
  // A saved plan is read as a plan (its JSON one click away inside it), not listed as JSON.
  const saved = savedPlanOf(rest[PLAN_ARTIFACT]);
  const artifacts = saved
    ? Object.fromEntries(Object.entries(rest).filter(([k]) => k !== PLAN_ARTIFACT))
    : rest;
  const activation = activationOf(r);
  const temporal =
    runtime === 'temporal' && config.temporal_ui_url
      ? config.temporal_ui_url.replace('{workflow_id}', encodeURIComponent(r.workflow_id))
      : null;
  const waitingOn = r.waiting_on as { kind?: string; approval_id?: string } | null;

  return (
    <article aria-labelledby="run-title" className="run-view">
      <p>
        <a href="#/runs">← Runs</a>
      </p>
      <h1 id="run-title">
        {r.definition} <span className="muted">{r.workflow_id}</span>
      </h1>
      <p className="meta">
        <span className={`tag status-${r.status}`} data-testid="run-status">
          {r.status}
        </span>
        <span>
          stage <strong data-testid="run-stage">{r.stage}</strong>
        </span>
        <span>started {new Date(r.created_at).toLocaleString()}</span>
        <a href={`#/audit/${r.workflow_id}`}>Audit log</a>
        {temporal && (
          <a href={temporal} target="_blank" rel="noreferrer">
            Open in the Temporal UI
          </a>
        )}
      </p>
      <section className="card" aria-labelledby="timeline-title">
        <h2 id="timeline-title">Stages</h2>
        <ol className="timeline" aria-label="Stage timeline">
          {steps.map((s) => (
            <li
              key={s.stage}
              className={`stage stage-${s.state}`}
              aria-current={s.state === 'current' ? 'step' : undefined}
            >
              <span className="dot" aria-hidden="true" />
              <span>{s.stage.replace(/_/g, ' ')}</span>
              <span className="visually-hidden"> ({s.state})</span>
            </li>
          ))}
        </ol>
        {waitingOn?.kind === 'approval' && waitingOn.approval_id && (
          <p className="notice" role="status">
            Waiting on a human:{' '}
            <a href={`#/approvals/${waitingOn.approval_id}`}>{waitingOn.approval_id}</a>
          </p>
        )}
        {r.error && <RedactedJson value={r.error} label="Run error" />}
      </section>
      {activation && (
        <p className="notice" role="note" data-testid="run-activation">
          This run carries out the approved plan of run{' '}
          <a href={`#/runs/${encodeURIComponent(activation.plan_run_id)}`}>
            {activation.plan_run_id}
          </a>
          {activation.plan_hash && (
            <>
              {' '}
              (plan hash{' '}
              <code className="wrap" title={activation.plan_hash}>
                {shortHash(activation.plan_hash)}
              </code>
              )
            </>
          )}
          .
        </p>
      )}
      {saved && <PlanBrief saved={saved} raw={rest[PLAN_ARTIFACT] ?? null} />}
      {saved && planApproved(r) && <ActivatePlan run={r} />}
      {report && (
        <section className="card report" aria-labelledby="report-title">
          <h2 id="report-title">Audit report</h2>
          <ReportMarkdown>{report}</ReportMarkdown>
        </section>
      )}
      <section className="card" aria-labelledby="artifacts-title">
        <h2 id="artifacts-title">Artifacts</h2>
        {Object.keys(artifacts).length === 0 ? (
          <p className="muted">No artifacts yet.</p>
        ) : (
          Object.entries(artifacts).map(([name, value]) => (
            <details key={name}>
              <summary>{name.replace(/_/g, ' ')}</summary>
              <AcceptanceChecks value={value} name={name} />
              <RedactedJson value={value} label={`Artifact ${name}`} />
            </details>
          ))
        )}
      </section>
      <section className="card" aria-labelledby="trace-title">
        <h2 id="trace-title">Trace</h2>
        {r.trace.length === 0 ? (
          <p className="muted">No decisions or tool write-backs yet.</p>
        ) : (
          <ol className="trace">
            {r.trace.map((t, i) => (
              <li key={i}>
                <TraceEntry entry={t} />
              </li>
            ))}
          </ol>
        )}
      </section>
    </article>
  );
}

function auditMarkdown(report: Json | undefined): string | null {
  if (
    report &&
    typeof report === 'object' &&
    !Array.isArray(report) &&
    typeof report.markdown === 'string'
  )
    return report.markdown;
  return null;
}

function TraceEntry({ entry }: { entry: Record<string, Json> }) {
  if (entry.type === 'decision')
    return (
      <span>
        <strong>
          <ActorName id={text(entry.reviewer_id)} />
        </strong>{' '}
        {text(entry.decision)} at gate {text(entry.gate)}
        {entry.comment ? ` — “${text(entry.comment)}”` : ''}
      </span>
    );
  if (entry.type === 'tool' || entry.type === 'rollback')
    return (
      <span>
        {entry.type === 'rollback' ? 'rollback ' : ''}
        <code>{text(entry.tool)}</code> ({text(entry.step_id)}){' '}
        <strong>{text(entry.status)}</strong>
        {' — '}
        {text(entry.proposal_id)}, {text(entry.execution_id)}, hash{' '}
        <code title={text(entry.hash)}>{shortHash(text(entry.hash))}</code>
        {entry.error ? <> — error {text(entry.error)}</> : null}
      </span>
    );
  return <JsonView value={entry} label="Trace entry" />;
}

function text(v: Json | undefined): string {
  return typeof v === 'string' ? v : JSON.stringify(v ?? null);
}

/** The acceptance checks an assurance step recorded, each with a passed or failed badge. */
function AcceptanceChecks({ value, name }: { value: Json; name: string }) {
  const checks = checkedCriteriaOf(value);
  if (!checks) return null;
  const show = (text: string) => redacted(text).value as string;
  return (
    <ul className="plain checks" aria-label={`Acceptance checks of ${name}`}>
      {checks.map((c, i) => (
        <li key={i} data-testid="acceptance-check">
          <span className={`tag ${c.passed ? 'status-completed' : 'status-failed'}`}>
            {c.passed ? 'passed' : 'failed'}
          </span>{' '}
          {show(c.criterion)} <code className="wrap small">{show(c.line)}</code>
          {c.why && <span className="muted small"> — {show(c.why)}</span>}
        </li>
      ))}
    </ul>
  );
}
