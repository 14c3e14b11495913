import { type FormEvent, useState } from 'react';
import { ActorName } from '../actors.js';
import { ApiError } from '../api.js';
import { ErrorNotice } from '../components/ErrorNotice.js';
import { Loading } from '../components/Loading.js';
import { ReportMarkdown } from '../components/ReportMarkdown.js';
import { shortHash } from '../format.js';
import { useLoad } from '../hooks.js';
import { useSession } from '../session.js';
import {
  MOVE_LABEL,
  type WorkPackage,
  type WpMove,
  isVerdict,
  moveNeeds,
  peopleMoves,
  workEligibility,
} from '../work.js';

/**
 * A work package: its state, who booked and who claimed it, its version, its sections as the
 * worker reads them (the server's Markdown), and the moves a person may make from here.
 */
export function WorkPackageView({ id, pollMs = 10_000 }: { id: string; pollMs?: number }) {
  const { api } = useSession();
  const wp = useLoad(
    () => api.get<WorkPackage>(`/work-packages/${encodeURIComponent(id)}`),
    [api, id],
    pollMs,
  );
  if (wp.error && !wp.data)
    return <ErrorNotice error={wp.error} title={`Work package ${id} could not be loaded`} />;
  if (!wp.data) return <Loading what={`work package ${id}`} />;
  const w = wp.data;
  return (
    <article aria-labelledby="wp-title" className="wp-view">
      <p>
        <a href="#/work">← Work</a>
      </p>
      <h1 id="wp-title">
        {w.title} <span className="muted">{w.id}</span>
      </h1>
      <p className="meta">
        <span className={`tag wp-${w.state}`} data-testid="wp-state">
          {w.state}
        </span>
        {w.state === 'held' && w.held_from && <span>held from {w.held_from}</span>}
        <span>role {w.role}</span>
        <span data-testid="wp-version">version {w.version}</span>
        <span>
          booked by <ActorName id={w.booked_by} />
        </span>
        <span data-testid="wp-claimed-by">
          {w.claimed_by ? (
            <>
              claimed by <ActorName id={w.claimed_by} />
            </>
          ) : (
            'not claimed yet'
          )}
        </span>
        <span title={w.updated_at}>updated {new Date(w.updated_at).toLocaleString()}</span>
        <span>
          spec hash <code title={w.spec_hash}>{shortHash(w.spec_hash)}</code>
        </span>
      </p>
      <WorkMoves wp={w} onMoved={wp.reload} />
      {[...(w.returns ?? [])].reverse().map((r) => (
        <section
          key={r.n}
          className="card report"
          aria-label={`${r.kind === 'scope' ? 'Scope confirmation' : 'Return'} ${r.n}`}
          data-testid="wp-return"
        >
          <h2>
            {r.kind === 'scope' ? 'Scope confirmation' : 'Return'} {r.n}
          </h2>
          <p className="meta">
            by <ActorName id={r.returned_by} /> ·{' '}
            <span title={r.returned_at}>{new Date(r.returned_at).toLocaleString()}</span> · version{' '}
            {r.wp_version} · hash <code title={r.hash}>{shortHash(r.hash)}</code>
          </p>
          <ReportMarkdown>{sectionsOf(r.markdown)}</ReportMarkdown>
        </section>
      ))}
      <section className="card report" aria-label="The package" data-testid="wp-markdown">
        <ReportMarkdown>{sectionsOf(w.markdown)}</ReportMarkdown>
      </section>
    </article>
  );
}

/** The package's Markdown under the page's own heading: its title line is that heading already. */
export function sectionsOf(markdown: string): string {
  return markdown.replace(/^# [^\n]*\n+/, '');
}

/**
 * The moves of the review authority that the lifecycle allows from where the package stands,
 * each a button; one that must carry findings, a reason or the merge commit opens a form that
 * asks for it. Hidden, with the reason said, for the operator, agents and whoever worked the
 * package. The server decides each move and its refusal is shown as it comes.
 */
export function WorkMoves({ wp, onMoved }: { wp: WorkPackage; onMoved: () => void }) {
  const { api, me } = useSession();
  const [open, setOpen] = useState<WpMove | null>(null);
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const moves = peopleMoves(wp);
  const can = workEligibility(me, wp);

  const send = async (move: WpMove, carried: Record<string, unknown> = {}) => {
    setBusy(true);
    setRefusal(undefined);
    setDone(undefined);
    try {
      const moved = await api.post<WorkPackage>(
        `/work-packages/${encodeURIComponent(wp.id)}/moves`,
        { move, ...carried },
      );
      setOpen(null);
      setDone(`Recorded: ${MOVE_LABEL[move].toLowerCase()}. The package is now ${moved.state}.`);
      onMoved();
    } catch (e) {
      setRefusal(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="wp-moves-title" data-testid="wp-moves">
      <h2 id="wp-moves-title">Decide</h2>
      {moves.length === 0 ? (
        <p className="muted" data-testid="wp-no-moves">
          {wp.state === 'rejected' || wp.state === 'stopped' || wp.state === 'merged'
            ? `This package is ${wp.state}: nothing more happens to it.`
            : `Nothing waits on a person while the package is ${wp.state.replace(/_/g, ' ')}: the agent moves next.`}
        </p>
      ) : !can.ok ? (
        <div className="notice notice-warn" role="note" data-testid="wp-ineligible">
          <strong>You cannot move this package.</strong> <p>{can.message}</p>
        </div>
      ) : (
        <>
          <div className="actions">
            {moves.map((m) => (
              <button
                key={m}
                type="button"
                disabled={busy}
                aria-expanded={moveNeeds(m) ? open === m : undefined}
                className={
                  m === 'go' || m === 'accept'
                    ? 'primary'
                    : m === 'reject' || m === 'stop'
                      ? 'danger'
                      : undefined
                }
                onClick={() => {
                  if (moveNeeds(m)) setOpen(open === m ? null : m);
                  else void send(m);
                }}
              >
                {MOVE_LABEL[m]}
              </button>
            ))}
          </div>
          {open && (
            <MoveForm
              key={open}
              move={open}
              busy={busy}
              onSend={(carried) => send(open, carried)}
              onCancel={() => setOpen(null)}
            />
          )}
        </>
      )}
      {done && (
        <p className="notice notice-ok" role="status" data-testid="wp-moved">
          {done}
        </p>
      )}
      <ErrorNotice error={refusal} title="The server refused this move" />
    </section>
  );
}

const ASK: Record<'reason' | 'findings' | 'merge_proof', string> = {
  findings: 'Findings: what must change, one per line',
  reason: 'Reason',
  merge_proof: 'Merge commit (hex)',
};

/** Asks for what a move must carry; blank is refused here, before anything is sent. */
export function MoveForm({
  move,
  busy,
  onSend,
  onCancel,
}: {
  move: WpMove;
  busy: boolean;
  onSend: (carried: Record<string, unknown>) => Promise<void>;
  onCancel: () => void;
}) {
  const needs = moveNeeds(move) ?? 'reason';
  const [value, setValue] = useState('');
  const [unsent, setUnsent] = useState<unknown>();
  const fieldId = `wp-move-${needs}`;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setUnsent(undefined);
    if (needs === 'findings') {
      const findings = value
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      if (findings.length === 0)
        return setUnsent(
          new ApiError(
            0,
            'FINDINGS_REQUIRED',
            `${MOVE_LABEL[move]} needs findings: say what must change.`,
          ),
        );
      return void onSend({ findings });
    }
    const v = value.trim();
    if (v === '')
      return setUnsent(
        new ApiError(
          0,
          needs === 'reason' ? 'REASON_REQUIRED' : 'MERGE_PROOF_REQUIRED',
          needs === 'reason'
            ? `${MOVE_LABEL[move]} needs a reason; it is recorded with the move.`
            : 'Marking a package merged needs the merge commit.',
        ),
      );
    void onSend(needs === 'reason' ? { reason: v } : { merge_proof: v });
  };

  return (
    <form className="move-form" aria-label={MOVE_LABEL[move]} onSubmit={submit} noValidate>
      <label htmlFor={fieldId}>{ASK[needs]}</label>
      {needs === 'merge_proof' ? (
        <input
          id={fieldId}
          className="mono"
          value={value}
          maxLength={64}
          onChange={(e) => setValue(e.target.value)}
        />
      ) : (
        <textarea
          id={fieldId}
          value={value}
          rows={3}
          maxLength={needs === 'reason' ? 4000 : 20000}
          onChange={(e) => setValue(e.target.value)}
        />
      )}
      {isVerdict(move) && (
        <p className="muted small">A verdict is recorded for good, with your name and purpose.</p>
      )}
      <div className="actions">
        <button
          type="submit"
          disabled={busy}
          className={move === 'reject' || move === 'stop' ? 'danger' : 'primary'}
        >
          {MOVE_LABEL[move]}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
      <ErrorNotice error={unsent} title="Nothing was sent" />
    </form>
  );
}
