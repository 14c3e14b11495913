/**
 * Counts the statements and transactions a piece of code sends to the database, by wrapping
 * the drivers' own entry points for the whole process: better-sqlite3's Statement
 * (run/get/all/iterate: Kysely's SQLite driver, LangGraph's saver and raw better-sqlite3 all
 * execute through it) and pg's Client#query. Benchmarks only: it changes global prototypes.
 *
 *   const counter = installSqlCounter();
 *   const before = counter.snapshot();
 *   ...work...
 *   const { statements, transactions } = counter.since(before);
 */
import Database from 'better-sqlite3';
import pg from 'pg';

export interface SqlCounts {
  statements: number;
  transactions: number;
}

export interface SqlCounter {
  snapshot(): SqlCounts;
  since(before: SqlCounts): SqlCounts;
}

let installed: SqlCounter | undefined;

const BEGIN = /^\s*begin\b/i;

export function installSqlCounter(): SqlCounter {
  if (installed) return installed;
  const counts: SqlCounts = { statements: 0, transactions: 0 };
  const note = (sqlText: string) => {
    counts.statements += 1;
    if (BEGIN.test(sqlText)) counts.transactions += 1;
  };

  const probe = new Database(':memory:');
  const statementProto = Object.getPrototypeOf(probe.prepare('select 1')) as Record<
    string,
    (...args: unknown[]) => unknown
  >;
  probe.close();
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = statementProto[method]!;
    statementProto[method] = function (this: { source: string }, ...args: unknown[]) {
      note(this.source);
      return original.apply(this, args);
    };
  }

  const clientProto = pg.Client.prototype as unknown as Record<
    string,
    (...args: unknown[]) => unknown
  >;
  const query = clientProto.query!;
  clientProto.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0];
    const text =
      typeof first === 'string' ? first : ((first as { text?: string } | null)?.text ?? '');
    note(text);
    return query.apply(this, args);
  };

  installed = {
    snapshot: () => ({ ...counts }),
    since: (before) => ({
      statements: counts.statements - before.statements,
      transactions: counts.transactions - before.transactions,
    }),
  };
  return installed;
}
