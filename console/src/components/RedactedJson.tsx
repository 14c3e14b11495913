import { redacted } from '../redact.js';
import type { Json } from '../types.js';
import { JsonView } from './JsonView.js';

/** JSON with secrets and personal data redacted, saying how many values were hidden. */
export function RedactedJson({ value, label }: { value: Json; label: string }) {
  const r = redacted(value);
  return (
    <>
      <JsonView value={r.value} label={label} />
      <RedactionNote count={r.count} />
    </>
  );
}

/** How many values were hidden from what is shown, when any were. */
export function RedactionNote({ count }: { count: number }) {
  if (count === 0) return null;
  return (
    <p className="muted small">
      {count} sensitive value{count === 1 ? '' : 's'} redacted for display.
    </p>
  );
}
