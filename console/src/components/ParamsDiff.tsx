import { diffJson } from 'diff';
import type { JsonObject } from '../types.js';

/**
 * The change between two versions of a call's parameters, line by line: what a reviewer's
 * edit added (+) and removed (−).
 */
export function ParamsDiff({
  before,
  after,
  label,
}: {
  before: JsonObject;
  after: JsonObject;
  label: string;
}) {
  const parts = diffJson(before, after);
  return (
    <pre className="diff" aria-label={label} tabIndex={0}>
      {parts.flatMap((part, i) =>
        part.value
          .replace(/\n$/, '')
          .split('\n')
          .map((line, j) => {
            const kind = part.added ? 'add' : part.removed ? 'del' : 'same';
            const sign = part.added ? '+ ' : part.removed ? '− ' : '  ';
            return (
              <span key={`${i}-${j}`} className={`diff-${kind}`} data-diff={kind}>
                {sign}
                {line}
                {'\n'}
              </span>
            );
          }),
      )}
    </pre>
  );
}
