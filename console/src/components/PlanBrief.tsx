import { useId } from 'react';
import { shortHash } from '../format.js';
import { type PlanPhase, type SavedPlan, callParams, checkLine } from '../plan.js';
import { redacted } from '../redact.js';
import type { Json } from '../types.js';
import { JsonView } from './JsonView.js';
import { ReadableJson } from './ReadableJson.js';
import { RedactionNote } from './RedactedJson.js';

/**
 * A plan-only run's plan, read as a plan: what it proposes phase by phase, what it cannot do
 * (blocked phases, always shown with why and what they wait for), its risks, the next step, and
 * the reads its digest stands for; the saved JSON one click away. Everything is redacted first,
 * as everywhere in the console. Nothing in it has run, and it says so first.
 */
export function PlanBrief({
  saved,
  raw,
  headingLevel = 2,
}: {
  /** The plan as parsed from `raw` (savedPlanOf). */
  saved: SavedPlan;
  /** The artifact as saved, shown as JSON behind a click. */
  raw: Json;
  headingLevel?: 2 | 3;
}) {
  const uid = useId();
  const r = redacted(raw);
  // Redact what is shown the same way as the raw JSON (personal data may be in any text).
  const show = (text: string) => redacted(text).value as string;
  const { plan, reads } = saved;
  const H = headingLevel === 2 ? 'h2' : 'h3';
  const Sub = headingLevel === 2 ? 'h3' : 'h4';
  const blocked = plan.phases.filter((p) => p.status === 'blocked').length;
  const n = plan.phases.length;
  return (
    <section className="card plan" aria-labelledby={`${uid}-plan`} data-testid="plan-brief">
      <p className="notice notice-warn plan-only" role="note" data-testid="plan-only">
        <strong>PLAN ONLY — nothing in this plan has been executed.</strong>
      </p>
      <H id={`${uid}-plan`}>{show(plan.title) || 'Plan'}</H>
      {plan.summary && <p className="lead">{show(plan.summary)}</p>}
      <p className="muted small" data-testid="plan-count">
        {n} phase{n === 1 ? '' : 's'}: {n - blocked} proposed, {blocked} blocked.
        {plan.proposal_id && <> Plan {show(plan.proposal_id)}.</>}
      </p>
      <ol className="phases" aria-label="Phases in order">
        {plan.phases.map((phase, i) => (
          <Phase
            key={`${phase.phase_id}-${i}`}
            id={`${uid}-phase-${i}`}
            phase={phase}
            Sub={Sub}
            show={show}
          />
        ))}
      </ol>
      <div className="grid plan-lists">
        <div>
          <Sub>Risks</Sub>
          <TextList items={plan.risks.map(show)} empty="The plan names no risks." label="Risks" />
        </div>
        <div>
          <Sub>Assumptions</Sub>
          <TextList
            items={plan.assumptions.map(show)}
            empty="The plan states no assumptions."
            label="Assumptions"
          />
        </div>
      </div>
      <Sub>Next step</Sub>
      <p data-testid="plan-next-step">
        {plan.next_step.instructions ? show(plan.next_step.instructions) : 'None given.'}
        {plan.next_step.requires_human_approval && (
          <span className="muted"> It needs a person’s approval.</span>
        )}
      </p>
      <Sub>What the plan read</Sub>
      <p data-testid="plan-read-digest">
        Read digest{' '}
        {plan.read_digest ? (
          <code className="wrap" title={plan.read_digest}>
            {shortHash(plan.read_digest)}
          </code>
        ) : (
          <span className="muted">none recorded</span>
        )}
        <span className="muted small">
          {' '}
          — what these reads returned when the plan was made. Activating the plan makes them again
          and refuses if the answers changed.
        </span>
      </p>
      {reads.length === 0 ? (
        <p className="muted">
          {plan.read_digest ? 'The reads are listed on the run’s page.' : 'The plan read nothing.'}
        </p>
      ) : (
        <ol className="plain reads" aria-label="Reads behind the digest">
          {reads.map((read, i) => (
            <li key={i}>
              <code>{read.tool}</code>
              <ReadableJson
                value={read.params}
                label={`Parameters of read ${i + 1} (${read.tool})`}
              />
            </li>
          ))}
        </ol>
      )}
      <RedactionNote count={r.count} />
      <details>
        <summary>Raw JSON of the plan</summary>
        <JsonView value={r.value} label="The saved plan (raw JSON)" />
      </details>
    </section>
  );
}

function Phase({
  id,
  phase,
  Sub,
  show,
}: {
  id: string;
  phase: PlanPhase;
  Sub: 'h3' | 'h4';
  show: (text: string) => string;
}) {
  return (
    <li
      className={`phase phase-${phase.status}`}
      aria-labelledby={`${id}-title`}
      data-testid={`phase-${phase.phase_id}`}
    >
      <Sub id={`${id}-title`}>
        {show(phase.title)} <span className="muted small">{phase.phase_id}</span>
      </Sub>
      <p className="meta">
        <span className={`tag phase-status-${phase.status}`} data-testid="phase-status">
          {phase.status}
        </span>
        <span className={`tag risk-${phase.risk_level}`}>{phase.risk_level} risk</span>
        {phase.phase_type && <span className="tag tag-muted">{show(phase.phase_type)}</span>}
      </p>
      {phase.status === 'blocked' && (
        <div className="notice notice-error" role="note" data-testid="phase-blocked">
          <strong>Blocked: this phase will not run.</strong>
          <p>{phase.blocked_reason ? show(phase.blocked_reason) : 'No reason was given.'}</p>
          <p>
            Deferred to: <strong>{phase.deferred_to ? show(phase.deferred_to) : 'not said'}</strong>
          </p>
        </div>
      )}
      {phase.calls.length === 0 ? (
        <p className="muted">No calls.</p>
      ) : (
        <ol className="plain calls" aria-label={`Calls of ${phase.phase_id}`}>
          {phase.calls.map((call, i) => (
            <li key={i}>
              <p>
                {phase.status === 'blocked' ? 'Would call' : 'Calls'} <code>{call.tool}</code>
              </p>
              <ReadableJson
                value={callParams(call.params)}
                label={`Parameters of ${call.tool} in ${phase.phase_id}`}
              />
            </li>
          ))}
        </ol>
      )}
      <dl>
        <div className="dl-row">
          <dt>Rollback</dt>
          <dd>{phase.rollback_note ? show(phase.rollback_note) : 'None given.'}</dd>
        </div>
        <div className="dl-row">
          <dt>Acceptance criteria</dt>
          <dd>
            <TextList
              items={phase.acceptance_criteria.map(show)}
              empty="None given."
              label={`Acceptance criteria of ${phase.phase_id}`}
            />
          </dd>
        </div>
        <div className="dl-row">
          <dt>Checks</dt>
          <dd>
            {phase.checks.length === 0 ? (
              <span className="muted">None: the criteria are in words only.</span>
            ) : (
              <ul
                className="plain checks"
                aria-label={`Checks of ${phase.phase_id}`}
                data-testid="phase-checks"
              >
                {phase.checks.map((check, i) => (
                  <li key={i}>
                    {show(check.criterion)}
                    <br />
                    <code className="wrap small">{show(checkLine(check))}</code>
                  </li>
                ))}
              </ul>
            )}
          </dd>
        </div>
      </dl>
    </li>
  );
}

function TextList({ items, empty, label }: { items: string[]; empty: string; label: string }) {
  if (items.length === 0) return <span className="muted">{empty}</span>;
  return (
    <ul className="plain" aria-label={label}>
      {items.map((t, i) => (
        <li key={i}>{t}</li>
      ))}
    </ul>
  );
}
