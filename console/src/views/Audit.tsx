import { Fragment, useState } from 'react';
import type { Api } from '../api.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { JsonView } from '../components/JsonView.js';
import { Empty, Loading } from '../components/Loading.js';
import { shortHash } from '../format.js';
import { useLoad } from '../hooks.js';
import { useSession } from '../session.js';
import type { LedgerEntry, VerifyReport } from '../types.js';
import { ActorName } from '../actors.js';

const PAGE = 200;

/** All of a scope's ledger events: one workflow's audit log, or the tenant's ledger page by page. */
export async function fetchLedger(
  api: Api,
  workflowId: string | undefined,
): Promise<LedgerEntry[]> {
  if (workflowId)
    return (
      await api.get<{ entries: LedgerEntry[] }>(
        `/workflows/${encodeURIComponent(workflowId)}/audit-log`,
      )
    ).entries;
  const all: LedgerEntry[] = [];
  let after: number | null = 0;
  while (after !== null) {
    const page: { entries: LedgerEntry[]; next_after_seq: number | null } = await api.get(
      '/audit/ledger',
      {
        after_seq: after,
        limit: 1000,
      },
    );
    all.push(...page.entries);
    after = page.next_after_seq;
  }
  return all;
}

/** The events as JSON lines: one canonical event per line, as the ledger holds them. */
export function toJsonLines(entries: readonly LedgerEntry[]): string {
  return entries.map((e) => JSON.stringify(e)).join('\n') + (entries.length ? '\n' : '');
}

/** The ledger of a workflow or of the tenant, the chain's verification and a JSON-lines export. */
export function Audit({ workflowId }: { workflowId?: string }) {
  const { api } = useSession();
  const [scope, setScope] = useState(workflowId ?? '');
  const [verify, setVerify] = useState<VerifyReport>();
  const [verifyError, setVerifyError] = useState<unknown>();
  const [shown, setShown] = useState(PAGE);
  const [opened, setOpened] = useState<number>();
  const ledger = useLoad(() => fetchLedger(api, scope || undefined), [api, scope]);

  const runVerify = async () => {
    setVerifyError(undefined);
    setVerify(undefined);
    try {
      setVerify(await api.get<VerifyReport>('/audit/verify'));
    } catch (e) {
      setVerifyError(e);
    }
  };

  const exportLines = () => {
    const entries = ledger.data ?? [];
    const blob = new Blob([toJsonLines(entries)], { type: 'application/x-ndjson' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `countersign-ledger-${scope || 'tenant'}.jsonl`;
    a.click();
    URL.revokeObjectURL(a.href);
  };

  const entries = ledger.data ?? [];
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const v = new FormData(e.currentTarget).get('scope');
          setScope(typeof v === 'string' ? v.trim() : '');
          setShown(PAGE);
        }}
      >
        <label>
          Workflow or run ID (empty for the whole tenant)
          <input name="scope" defaultValue={scope} placeholder="workflow_1 or run_…" />
        </label>
        <button type="submit">Show</button>
      </form>
      <div className="card" aria-labelledby="verify-title">
        <h2 id="verify-title">Chain verification</h2>
        <p className="muted small">Recomputes every event’s hash over the tenant’s whole chain.</p>
        <div className="actions">
          <button type="button" className="primary" onClick={() => void runVerify()}>
            Verify the chain
          </button>
          <button type="button" onClick={exportLines} disabled={!ledger.data}>
            Export JSON lines
          </button>
        </div>
        {verify && (
          <p
            className={`notice ${verify.ok ? 'notice-ok' : 'notice-error'}`}
            role="status"
            data-testid="verify-result"
          >
            {verify.ok
              ? `Chain intact: ${verify.events} events verified.`
              : `Chain broken at event ${String(verify.first_broken_seq)}: ${JSON.stringify(verify.problem)}`}
          </p>
        )}
        <ErrorNotice error={verifyError} title="Verification could not run" />
      </div>
      <h2>{scope ? `Ledger of ${scope}` : 'Ledger of the tenant'}</h2>
      <ErrorNotice error={ledger.error} title="The ledger could not be loaded" />
      {ledger.loading && !ledger.data && <Loading what="the ledger" />}
      {ledger.data && entries.length === 0 && <Empty>No events in this scope.</Empty>}
      {entries.length > 0 && (
        <div className="table-wrap" tabIndex={0} aria-label="Ledger events">
          <table className="ledger">
            <thead>
              <tr>
                <th scope="col">seq</th>
                <th scope="col">time</th>
                <th scope="col">type</th>
                <th scope="col">actor</th>
                <th scope="col">workflow</th>
                <th scope="col">hash</th>
              </tr>
            </thead>
            <tbody>
              {entries.slice(0, shown).map((e) => (
                <LedgerRow
                  key={e.seq}
                  entry={e}
                  open={opened === e.seq}
                  onToggle={() => setOpened(opened === e.seq ? undefined : e.seq)}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {entries.length > shown && (
        <button type="button" onClick={() => setShown(shown + PAGE)}>
          Show {Math.min(PAGE, entries.length - shown)} more of {entries.length - shown}
        </button>
      )}
    </section>
  );
}

/** One event: its summary, and on demand all of it (data, both hashes, who, which token). */
function LedgerRow({
  entry: e,
  open,
  onToggle,
}: {
  entry: LedgerEntry;
  open: boolean;
  onToggle: () => void;
}) {
  const token = typeof e.data.token === 'string' ? e.data.token : null;
  return (
    <Fragment>
      <tr>
        <td>
          <button
            type="button"
            className="link"
            aria-expanded={open}
            aria-label={`Event ${e.seq}: ${open ? 'hide' : 'show'} all of it`}
            onClick={onToggle}
          >
            {e.seq}
          </button>
        </td>
        <td>
          <time dateTime={e.time}>{new Date(e.time).toLocaleString()}</time>
        </td>
        <td>{e.type}</td>
        <td>
          <ActorName id={e.actor} />
        </td>
        <td>{e.workflow_id ?? '—'}</td>
        <td>
          <code title={e.hash}>{shortHash(e.hash)}</code>
        </td>
      </tr>
      {open && (
        <tr className="ledger-detail" data-testid={`event-${e.seq}`}>
          <td colSpan={6}>
            <dl>
              <dt>Recorded</dt>
              <dd>
                <time dateTime={e.time}>{e.time}</time> by <ActorName id={e.actor} />
                {token ? ` with token ${token}` : ''}
              </dd>
              <dt>Hash</dt>
              <dd>
                <code className="wrap">{e.hash}</code>
              </dd>
              <dt>Previous hash</dt>
              <dd>
                <code className="wrap">{e.prev_hash}</code>
              </dd>
            </dl>
            <JsonView value={e.data as never} label={`Data of event ${e.seq}`} />
          </td>
        </tr>
      )}
    </Fragment>
  );
}
