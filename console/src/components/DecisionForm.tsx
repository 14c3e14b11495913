import { type FormEvent, useState } from 'react';
import { ApiError } from '../api.js';
import type { Eligibility } from '../eligibility.js';
import type { JsonObject } from '../types.js';
import { ErrorNotice } from './ErrorNotice.js';

export type DecisionKind = 'approve' | 'reject' | 'request_more_info' | 'edit';

export interface DecisionInput {
  readonly decision: DecisionKind;
  readonly comment: string;
  readonly purpose: string;
  readonly params?: JsonObject;
}

const LABEL: Record<DecisionKind, string> = {
  approve: 'Approve',
  reject: 'Reject',
  request_more_info: 'Request more information',
  edit: 'Propose an edit',
};

/**
 * Approve / reject / request more information (and, for proposed calls, edit) with a comment
 * and the purpose recorded with the decision. Why the signed-in person cannot decide is said
 * up front, and the buttons are then disabled; a mistake caught here is shown as not sent, and
 * the server's own refusal as it comes.
 */
export function DecisionForm({
  eligibility,
  allowEdit,
  defaultPurpose,
  onDecide,
}: {
  eligibility: Eligibility;
  allowEdit: boolean;
  defaultPurpose: string;
  onDecide: (d: DecisionInput) => Promise<void>;
}) {
  const [comment, setComment] = useState('');
  const [purpose, setPurpose] = useState(defaultPurpose);
  const [edits, setEdits] = useState('{\n  \n}');
  const [error, setError] = useState<unknown>();
  /** A mistake caught here, before anything was sent. */
  const [unsent, setUnsent] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const [busy, setBusy] = useState(false);

  // Nobody is offered a button the rules would refuse: the reason is said above them.
  const blocked = busy || !eligibility.ok;

  const decide = async (decision: DecisionKind, e?: FormEvent) => {
    e?.preventDefault();
    if (!eligibility.ok) return;
    setError(undefined);
    setUnsent(undefined);
    setDone(undefined);
    let params: JsonObject | undefined;
    if (decision === 'edit') {
      try {
        const v: unknown = JSON.parse(edits);
        if (typeof v !== 'object' || v === null || Array.isArray(v))
          throw new Error('not an object');
        params = v as JsonObject;
      } catch {
        setUnsent(
          new ApiError(
            0,
            'VALIDATION_FAILED',
            'The edited parameters must be a JSON object, e.g. {"maintenance_window": "2:00-4:00 AM UTC"}.',
          ),
        );
        return;
      }
    }
    if (purpose.trim() === '') {
      setUnsent(
        new ApiError(
          0,
          'PURPOSE_REQUIRED',
          'Say why you decide; the purpose is recorded in the ledger.',
        ),
      );
      return;
    }
    setBusy(true);
    try {
      await onDecide({ decision, comment, purpose, ...(params ? { params } : {}) });
      setDone(`Recorded: ${LABEL[decision].toLowerCase()}.`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="card decision-form"
      aria-labelledby="decide-title"
      onSubmit={(e) => void decide('approve', e)}
    >
      <h2 id="decide-title">Your decision</h2>
      {!eligibility.ok && (
        <div className="notice notice-warn" role="note" data-testid="ineligible">
          <strong>You cannot decide this.</strong> <p>{eligibility.message}</p>
        </div>
      )}
      <label htmlFor="decision-comment">Comment</label>
      <textarea
        id="decision-comment"
        value={comment}
        maxLength={2000}
        rows={3}
        onChange={(e) => setComment(e.target.value)}
      />
      <label htmlFor="decision-purpose">Purpose (sent as X-Purpose, recorded)</label>
      <input
        id="decision-purpose"
        value={purpose}
        maxLength={500}
        onChange={(e) => setPurpose(e.target.value)}
      />
      {allowEdit && (
        <>
          <label htmlFor="decision-edits">
            Edited parameters (JSON, merged into the call; “Propose an edit” makes a new version
            that someone other than you and the proposer must approve)
          </label>
          <textarea
            id="decision-edits"
            className="mono"
            rows={4}
            value={edits}
            onChange={(e) => setEdits(e.target.value)}
          />
        </>
      )}
      <div className="actions">
        <button type="submit" disabled={blocked} className="primary">
          {LABEL.approve}
        </button>
        <button
          type="button"
          disabled={blocked}
          className="danger"
          onClick={() => void decide('reject')}
        >
          {LABEL.reject}
        </button>
        <button type="button" disabled={blocked} onClick={() => void decide('request_more_info')}>
          {LABEL.request_more_info}
        </button>
        {allowEdit && (
          <button type="button" disabled={blocked} onClick={() => void decide('edit')}>
            {LABEL.edit}
          </button>
        )}
      </div>
      {done && (
        <p className="notice notice-ok" role="status">
          {done}
        </p>
      )}
      <ErrorNotice error={unsent} title="Nothing was sent" />
      <ErrorNotice error={error} title="The server refused this decision" />
    </form>
  );
}
