import { useState } from 'react';
import type { Api } from '../api.js';
import type { JsonObject, Me } from '../types.js';
import { shortHash } from '../format.js';
import { ErrorNotice } from './ErrorNotice.js';
import { RedactedJson } from './RedactedJson.js';

interface ExecutionAnswer {
  execution_id: string;
  result: { status: string; output: JsonObject | null; error: JsonObject | null };
}

/**
 * Runs an approved call from the console: a rehearsal first (the tool's plan() under this
 * approval; nothing changes), then the call itself, bound to the approved hash. The operator
 * administers and never runs calls, so it is told so instead of being offered the buttons;
 * anyone else the policy refuses sees the server's refusal as it comes.
 */
export function ExecuteCall({
  api,
  me,
  proposalId,
  hash,
  purpose,
  onExecuted,
}: {
  api: Api;
  me: Me;
  proposalId: string;
  hash: string;
  purpose: string;
  onExecuted: () => void;
}) {
  const [rehearsal, setRehearsal] = useState<ExecutionAnswer>();
  const [done, setDone] = useState<ExecutionAnswer>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const path = `/proposals/${encodeURIComponent(proposalId)}/execute`;

  const run = async (dryRun: boolean) => {
    setError(undefined);
    setBusy(true);
    try {
      const answer = await api.post<ExecutionAnswer>(
        path,
        dryRun ? { dry_run: true } : {},
        purpose,
      );
      if (dryRun) setRehearsal(answer);
      else {
        setDone(answer);
        onExecuted();
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  if (me.principal_kind === 'operator')
    return (
      <section className="card" aria-labelledby="execute-title">
        <h2 id="execute-title">Run the approved call</h2>
        <p className="notice" role="note" data-testid="execute-operator">
          The operator administers and never runs calls: the agent that proposed it, or another
          actor, executes it.
        </p>
      </section>
    );

  const rehearsed = rehearsal?.result.status === 'simulated';
  return (
    <section className="card" aria-labelledby="execute-title">
      <h2 id="execute-title">Run the approved call</h2>
      <p className="muted small">
        Approved: it may run once, exactly as approved (hash{' '}
        <code title={hash}>{shortHash(hash)}</code>). Rehearse it first: the tool says what it would
        change and nothing changes. Then execute.
      </p>
      <div className="actions">
        <button type="button" disabled={busy || done !== undefined} onClick={() => void run(true)}>
          Rehearse (dry run)
        </button>
        <button
          type="button"
          className="primary"
          disabled={busy || !rehearsed || done !== undefined}
          onClick={() => void run(false)}
        >
          Execute
        </button>
      </div>
      {rehearsal && (
        <div data-testid="execute-rehearsal">
          <p>
            Rehearsal <strong>{rehearsal.result.status}</strong>
            {rehearsed ? ': this is what the call would do.' : '.'}
          </p>
          <RedactedJson
            value={rehearsal.result.output ?? rehearsal.result.error ?? {}}
            label="What the rehearsal says"
          />
        </div>
      )}
      {done && (
        <p
          className={`notice ${done.result.status === 'succeeded' ? 'notice-ok' : 'notice-error'}`}
          role="status"
          data-testid="execute-result"
        >
          {done.execution_id}: <strong>{done.result.status}</strong>
          {done.result.error ? ` (${JSON.stringify(done.result.error)})` : ''}
        </p>
      )}
      <ErrorNotice error={error} title="The server refused to run it" />
    </section>
  );
}
