import {
  type Compilable,
  type CompiledQuery,
  type Kysely,
  type RootOperationNode,
  createQueryId,
} from 'kysely';

/** Stands for the i-th argument while a fixed query is built. */
export type Slot = (i: number) => never;

const MARK = '\u0000countersign-slot:';
const slot: Slot = (i) => `${MARK}${i}` as never;

interface Template {
  readonly sql: string;
  readonly query: RootOperationNode;
  /** Per parameter: the argument it takes, or the constant the builder put there. */
  readonly parameters: readonly ({ arg: number } | { value: unknown })[];
}

/**
 * A query whose shape never changes, built and compiled once per dialect and then run with
 * new arguments. Kysely otherwise builds an immutable tree and compiles it to SQL on every
 * call, which costs more than SQLite takes to run the statement; the kernel's hot path is a
 * few dozen such statements per operation. (The SQLite driver keeps the prepared statements.)
 *
 * @example
 * const getActor = new FixedQuery((db, $) =>
 *   db.selectFrom('actors').selectAll().where('tenant_id', '=', $(0)).where('id', '=', $(1)),
 * );
 * const rows = await getActor.run(db, 'sqlite', ['default', 'actor_1']);
 */
export class FixedQuery<DB, O> {
  private readonly templates = new Map<string, Template>();

  constructor(private readonly build: (db: Kysely<DB>, $: Slot) => Compilable<O>) {}

  async run(db: Kysely<DB>, dialect: string, args: readonly unknown[]): Promise<O[]> {
    const result = await db.executeQuery(this.bind(db, dialect, args));
    return result.rows;
  }

  /** The statement for `args`. */
  bind(db: Kysely<DB>, dialect: string, args: readonly unknown[]): CompiledQuery<O> {
    let t = this.templates.get(dialect);
    if (!t) {
      t = compileTemplate(this.build(db, slot));
      this.templates.set(dialect, t);
    }
    return {
      sql: t.sql,
      query: t.query,
      queryId: createQueryId(),
      parameters: t.parameters.map((p) => ('arg' in p ? args[p.arg] : p.value)),
    };
  }
}

function compileTemplate(q: Compilable<unknown>): Template {
  const compiled = q.compile();
  return {
    sql: compiled.sql,
    query: compiled.query,
    parameters: compiled.parameters.map((v) =>
      typeof v === 'string' && v.startsWith(MARK)
        ? { arg: Number(v.slice(MARK.length)) }
        : { value: v },
    ),
  };
}

/**
 * Inserts of one row into a table, one fixed query per set of columns (the keys of the row
 * object, in its order): the rows the kernel inserts always have the same keys.
 */
export class FixedInserts<DB> {
  private readonly byColumns = new Map<string, FixedQuery<DB, unknown>>();
  private readonly table: string;

  constructor(table: keyof DB & string) {
    this.table = table;
  }

  async run(db: Kysely<DB>, dialect: string, row: Readonly<Record<string, unknown>>) {
    // As Kysely does, a column whose value is undefined is left out.
    const columns = Object.keys(row).filter((c) => row[c] !== undefined);
    const key = columns.join(',');
    let q = this.byColumns.get(key);
    if (!q) {
      q = new FixedQuery<DB, unknown>((k, $) =>
        (k as unknown as Kysely<Record<string, Record<string, unknown>>>)
          .insertInto(this.table)
          .values(Object.fromEntries(columns.map((c, i) => [c, $(i)]))),
      );
      this.byColumns.set(key, q);
    }
    await db.executeQuery(
      q.bind(
        db,
        dialect,
        columns.map((c) => row[c]),
      ),
    );
  }
}

/**
 * Updates of rows of a table found by equality on `where` columns, one fixed query per set of
 * updated columns.
 */
export class FixedUpdates<DB> {
  private readonly byColumns = new Map<string, FixedQuery<DB, unknown>>();
  private readonly table: string;

  constructor(
    table: keyof DB & string,
    private readonly where: readonly string[],
  ) {
    this.table = table;
  }

  async run(
    db: Kysely<DB>,
    dialect: string,
    set: Readonly<Record<string, unknown>>,
    where: readonly unknown[],
  ) {
    const columns = Object.keys(set).filter((c) => set[c] !== undefined);
    const key = columns.join(',');
    let q = this.byColumns.get(key);
    if (!q) {
      q = new FixedQuery<DB, unknown>((k, $) => {
        let u = (k as unknown as Kysely<Record<string, Record<string, unknown>>>)
          .updateTable(this.table)
          .set(Object.fromEntries(columns.map((c, i) => [c, $(i)])));
        this.where.forEach((c, i) => (u = u.where(c, '=', $(columns.length + i))));
        return u;
      });
      this.byColumns.set(key, q);
    }
    await db.executeQuery(q.bind(db, dialect, [...columns.map((c) => set[c]), ...where]));
  }
}
