import { redacted } from '../redact.js';
import type { Json } from '../types.js';
import { JsonView } from './JsonView.js';

/** JSON with secrets and personal data redacted, saying how many values were hidden. */
export function RedactedJson({ value, label }: { value: Json; label: string }) {
  const r = redacted(value);
  return (
    <>
      <JsonView value={r.value} label={label} />
      {r.count > 0 && (
        <p className="muted small">
          {r.count} sensitive value{r.count === 1 ? '' : 's'} redacted for display.
        </p>
      )}
    </>
  );
}
