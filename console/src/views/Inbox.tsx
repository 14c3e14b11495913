import { useState } from 'react';
import { describeMissing } from '../../../src/core/quorum.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { Empty, Loading } from '../components/Loading.js';
import { eligibility, waitingOnMe } from '../eligibility.js';
import { age, ageSeconds } from '../format.js';
import { FALLBACK_POLL_MS, useLiveReload, useLoad } from '../hooks.js';
import { useSession } from '../session.js';
import type { PendingItem } from '../types.js';
import { ActorName } from '../actors.js';

/**
 * The inbox reloads on every approval request and decision the server's event stream pushes;
 * only while the stream is down does it ask this often (and when the window regains focus).
 */
export const INBOX_POLL_MS = FALLBACK_POLL_MS;

const INBOX_EVENTS = { inbox: 'true' };

const AGES: readonly { label: string; seconds: number }[] = [
  { label: 'any age', seconds: 0 },
  { label: 'waiting 5 min or more', seconds: 300 },
  { label: 'waiting 1 hour or more', seconds: 3600 },
  { label: 'waiting 1 day or more', seconds: 86400 },
];

export function hrefOf(item: Pick<PendingItem, 'kind' | 'id'>): string {
  return item.kind === 'gate' ? `#/approvals/${item.id}` : `#/proposals/${item.id}`;
}

const distinct = (xs: (string | null)[]) =>
  [...new Set(xs.filter((x): x is string => x !== null))].sort();

/** Every pending approval request, newest first, with filters and the count waiting on me. */
export function Inbox({ pollMs = INBOX_POLL_MS }: { pollMs?: number }) {
  const { api, me } = useSession();
  const pending = useLoad(
    () => api.get<{ approvals: PendingItem[] }>('/approvals/pending', { limit: 500 }),
    [api],
  );
  useLiveReload(api, INBOX_EVENTS, pending.reload, pollMs);
  const [workflow, setWorkflow] = useState('');
  const [tool, setTool] = useState('');
  const [risk, setRisk] = useState('');
  const [minAge, setMinAge] = useState(0);

  const items = pending.data?.approvals ?? [];
  const shown = items.filter(
    (i) =>
      (!workflow || i.workflow_id === workflow) &&
      (!tool || i.tool === tool) &&
      (!risk || i.risk === risk) &&
      ageSeconds(i.waiting_since) >= minAge,
  );
  const mine = waitingOnMe(me, items);

  return (
    <section aria-labelledby="inbox-title">
      <div className="heading-row">
        <h1 id="inbox-title">Inbox</h1>
        <p className="badge" data-testid="waiting-count" aria-live="polite">
          {mine} waiting on you ({me.roles.join(', ')})
        </p>
      </div>
      <p className="muted">
        Proposed tool calls and workflow gates waiting for a human, newest first.{' '}
        {pending.data ? `${items.length} pending in all.` : ''}
      </p>
      <fieldset className="filters">
        <legend>Filter</legend>
        <label>
          Workflow
          <select value={workflow} onChange={(e) => setWorkflow(e.target.value)}>
            <option value="">all workflows</option>
            {distinct(items.map((i) => i.workflow_id)).map((w) => (
              <option key={w}>{w}</option>
            ))}
          </select>
        </label>
        <label>
          Tool
          <select value={tool} onChange={(e) => setTool(e.target.value)}>
            <option value="">all tools</option>
            {distinct(items.map((i) => i.tool)).map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Risk
          <select value={risk} onChange={(e) => setRisk(e.target.value)}>
            <option value="">any risk</option>
            {distinct(items.map((i) => i.risk)).map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <label>
          Age
          <select value={minAge} onChange={(e) => setMinAge(Number(e.target.value))}>
            {AGES.map((a) => (
              <option key={a.seconds} value={a.seconds}>
                {a.label}
              </option>
            ))}
          </select>
        </label>
      </fieldset>
      <ErrorNotice error={pending.error} title="The inbox could not be loaded" />
      {pending.loading && !pending.data && <Loading what="the inbox" />}
      {pending.data && items.length === 0 && (
        <Empty>Nothing is waiting for a decision. New requests appear here on their own.</Empty>
      )}
      {pending.data && items.length > 0 && shown.length === 0 && (
        <Empty>No pending request matches these filters.</Empty>
      )}
      <ul className="inbox" aria-label="Pending approval requests">
        {shown.map((i) => {
          const can = eligibility(me, i);
          return (
            <li key={`${i.kind}:${i.id}`} className="card inbox-item" data-testid="inbox-item">
              <a href={hrefOf(i)} className="inbox-title">
                {i.title}
              </a>
              <div className="meta">
                <span className={`tag tag-${i.kind}`}>
                  {i.kind === 'gate' ? 'workflow gate' : 'proposed call'}
                </span>
                {i.risk && <span className={`tag risk risk-${i.risk}`}>risk: {i.risk}</span>}
                {i.tool && <span className="tag">{i.tool}</span>}
                <span>{i.workflow_id}</span>
                <span>
                  {i.approvals.received} of {i.approvals.required} approvals
                </span>
                {i.missing && Object.keys(i.missing).length > 0 && (
                  <span className="tag" data-testid="inbox-needs">
                    needs: {describeMissing(i.missing)}
                  </span>
                )}
                <span>
                  by <ActorName id={i.requested_by} />
                </span>
                <span title={i.waiting_since}>waiting {age(i.waiting_since)}</span>
                {!can.ok && (
                  <span className="tag tag-muted">
                    {can.reason === 'self'
                      ? 'yours'
                      : can.reason === 'role'
                        ? 'other role'
                        : 'read only'}
                  </span>
                )}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
