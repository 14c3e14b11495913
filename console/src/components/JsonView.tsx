import type { Json } from '../types.js';

/** JSON shown as it is, in a scrollable, labelled block. */
export function JsonView({ value, label }: { value: Json | undefined; label: string }) {
  return (
    <pre className="json" aria-label={label} tabIndex={0}>
      {JSON.stringify(value ?? null, null, 2)}
    </pre>
  );
}
