import { redacted } from '../redact.js';
import type { Json } from '../types.js';
import { JsonView } from './JsonView.js';
import { RedactionNote } from './RedactedJson.js';

/** Keys whose text is SQL: shown as code, one statement per line. */
const SQL_KEY = /(^|_)(sql|statements?|query)$/i;
const MAX_DEPTH = 4;

type JsonObj = { [key: string]: Json };

const isObject = (v: Json): v is JsonObj =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

const label = (key: string) => key.replace(/_/g, ' ');

/**
 * JSON a tool or an agent wrote (a dry-run plan, a gate's packet), in a form a reviewer reads:
 * facts as a list, lists of records as tables, SQL as code, warnings called out; with the raw
 * JSON one click away. Secrets and personal data are redacted first, as everywhere.
 */
export function ReadableJson({ value, label: name }: { value: Json; label: string }) {
  const r = redacted(value);
  return (
    <div className="readable" aria-label={name} role="group">
      <Value value={r.value} depth={0} name="" />
      <RedactionNote count={r.count} />
      <details>
        <summary>Raw JSON</summary>
        <JsonView value={r.value} label={`${name} (raw JSON)`} />
      </details>
    </div>
  );
}

function Value({ value, depth, name }: { value: Json; depth: number; name: string }) {
  if (value === null) return <span className="muted">none</span>;
  if (typeof value === 'string') {
    if (SQL_KEY.test(name) || value.includes('\n'))
      return (
        <pre className="sql" tabIndex={0}>
          <code>{value}</code>
        </pre>
      );
    return <span>{value}</span>;
  }
  if (typeof value !== 'object') return <span>{String(value)}</span>;
  if (depth >= MAX_DEPTH) return <JsonView value={value} label={label(name) || 'value'} />;
  if (Array.isArray(value)) return <List items={value} depth={depth} name={name} />;
  const entries = Object.entries(value);
  if (entries.length === 0) return <span className="muted">nothing</span>;
  return (
    <dl>
      {entries.map(([k, v]) => (
        <div key={k} className="dl-row">
          <dt>{label(k)}</dt>
          <dd
            className={/warning|would_fail|error/i.test(k) && v !== null ? 'warn-text' : undefined}
          >
            <Value value={v} depth={depth + 1} name={k} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

function List({ items, depth, name }: { items: Json[]; depth: number; name: string }) {
  if (items.length === 0) return <span className="muted">none</span>;
  if (items.every((i) => typeof i === 'string') && SQL_KEY.test(name))
    return (
      <pre className="sql" tabIndex={0}>
        <code>{items.join(';\n') + ';'}</code>
      </pre>
    );
  if (items.every((i) => i === null || typeof i !== 'object'))
    return (
      <ul className="plain">
        {items.map((i, n) => (
          <li key={n}>{i === null ? 'none' : String(i)}</li>
        ))}
      </ul>
    );
  if (items.every(isObject)) {
    const columns = [...new Set(items.flatMap((i) => Object.keys(i)))];
    const flat = items.every((i) =>
      Object.values(i).every((v) => v === null || typeof v !== 'object'),
    );
    if (flat && columns.length <= 8)
      return (
        <table className="records">
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c} scope="col">
                  {label(c)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {items.map((row, n) => (
              <tr key={n}>
                {columns.map((c) => (
                  <td key={c}>{cell(row[c])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      );
  }
  return (
    <ol className="plain">
      {items.map((i, n) => (
        <li key={n}>
          <Value value={i} depth={depth + 1} name={name} />
        </li>
      ))}
    </ol>
  );
}

/** A scalar table cell (rows with nested values are not shown as tables). */
function cell(v: Json | undefined): string {
  if (v === undefined || v === null) return '—';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
