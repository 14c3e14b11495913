import { useState } from 'react';
import { ApiError } from '../api.js';
import { mayCall, useSession } from '../session.js';
import type { Run } from '../types.js';

/** What a refusal to activate means, in the reviewer's words, for the codes that say more than their message. */
const REFUSAL_WORDS: Readonly<Record<string, string>> = {
  PLAN_STALE: 'The target changed since this plan was made; a new plan is needed.',
  POLICY_DENIED: 'Policy does not let you activate this plan.',
  NOT_FOUND: 'The server does not know this plan run.',
  VALIDATION_FAILED: 'The server does not accept this run as an approved plan.',
  NETWORK: 'The server could not be reached; nothing was activated.',
};

/**
 * Activates an approved plan: `POST /workflows/{id}/activate` starts a new run that carries the
 * plan out under policy and approvals, and the console opens it. The console does not hash the
 * plan itself: a completed run's saved plan no longer changes, and the server binds the new run
 * to its hash. The button is offered only when the server said the caller may activate plans
 * (`/me`'s `may`); others read who may. A refusal is still shown with its code and changes
 * nothing: the server decides.
 */
export function ActivatePlan({
  run,
  onActivated = (next) => {
    window.location.hash = `#/runs/${encodeURIComponent(next.workflow_id)}`;
  },
}: {
  run: Run;
  onActivated?: (next: Run) => void;
}) {
  const { api, me } = useSession();
  const allowed = mayCall(me, 'activate_plan');
  const [busy, setBusy] = useState(false);
  const [refusal, setRefusal] = useState<{ code: string; message: string }>();

  const activate = async () => {
    setBusy(true);
    setRefusal(undefined);
    try {
      const next = await api.post<Run>(
        `/workflows/${encodeURIComponent(run.workflow_id)}/activate`,
        {},
      );
      onActivated(next);
    } catch (e) {
      setRefusal(
        e instanceof ApiError
          ? { code: e.code, message: e.message }
          : { code: 'ERROR', message: e instanceof Error ? e.message : String(e) },
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="activate-title" data-testid="activate-plan">
      <h2 id="activate-title">Activate this plan</h2>
      <p className="muted small">
        The plan was approved. Activating it starts a new run that carries out its proposed phases
        in order, each call under policy and its own approval; blocked phases stay blocked. The
        plan’s reads are made again first, and a changed target refuses the activation.
      </p>
      {allowed ? (
        <div className="actions">
          <button type="button" className="primary" disabled={busy} onClick={() => void activate()}>
            {busy ? 'Activating…' : 'Activate'}
          </button>
        </div>
      ) : (
        <p className="notice" role="note" data-testid="activate-not-allowed">
          Activating this plan needs permission to activate plans; ask an admin or the operator.
        </p>
      )}
      {refusal && (
        <div className="notice notice-error" role="alert" data-testid="activate-refusal">
          <strong>Not activated.</strong>{' '}
          {REFUSAL_WORDS[refusal.code] ?? 'The server refused to activate this plan.'}{' '}
          <code>{refusal.code}</code>
          <p>{refusal.message}</p>
        </div>
      )}
    </section>
  );
}
