/**
 * What each demo write tool's call does, in one sentence a reviewer reads before its JSON
 * (`describe(params)`, at most 300 characters). Values are quoted and cut, never interpreted.
 */
const cut = (s: string, n = 80) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const q = (s: string) => `"${cut(s)}"`;
/** The database a migration changes when it names none. */
export const DEFAULT_DATABASE = 'production';

export function describeBackup(p: { database: string; backup_type: string }): string {
  return `Back up the ${p.database} database (${p.backup_type}) to a new file under backups/.`;
}

export function describeMigration(
  p:
    | {
        table: string;
        operation: string;
        column_name: string;
        column_type?: string;
        default_value?: string | number | boolean | undefined;
        value?: string | number | boolean | undefined;
        database?: string | undefined;
      }
    | {
        version: string;
        rollback_plan: string;
        maintenance_window?: string | undefined;
        database?: string | undefined;
      },
): string {
  const db = p.database ?? DEFAULT_DATABASE;
  if ('table' in p && p.operation === 'drop_column')
    return `Drop the column ${p.column_name} from ${p.table} in the ${db} database.`;
  if ('table' in p && p.operation === 'backfill_column')
    return `Set ${p.column_name} to ${q(String(p.value))} on the rows of ${p.table} where it is empty (NULL), in the ${db} database.`;
  if ('table' in p)
    return (
      `Add the column ${p.column_name} (${p.column_type ?? 'text'}) to ${p.table} in the ${db} database` +
      (p.default_value === undefined ? '.' : `, default ${q(String(p.default_value))}.`)
    );
  return (
    `Apply catalog migration ${p.version} to the ${db} database, rollback ${p.rollback_plan}` +
    (p.maintenance_window ? `, in the window ${q(p.maintenance_window)}.` : '.')
  );
}

export function describeNotification(p: {
  message: string;
  recipient?: string | undefined;
  channel?: string | undefined;
}): string {
  const to = [p.channel, p.recipient].filter((x) => x !== undefined).join(' / ');
  return `Send ${q(p.message)} to ${to}.`;
}

export function describeStatus(p: { status: string; note?: string | undefined }): string {
  return `Record this workflow's status as ${q(p.status)}${p.note ? ` with the note ${q(p.note)}` : ''}.`;
}

export function describeConfig(p: {
  service: string;
  key: string;
  value: string;
  expect_previous?: string | null | undefined;
}): string {
  const guard =
    p.expect_previous === undefined
      ? ''
      : p.expect_previous === null
        ? ' (only if it is unset now)'
        : ` (only if it is ${q(p.expect_previous)} now)`;
  return `Set ${p.key} of ${p.service} to ${q(p.value)}${guard}.`;
}
