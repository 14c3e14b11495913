import { type Kysely, sql } from 'kysely';
import type {
  KnowledgeDocument,
  KnowledgeHit,
  KnowledgeReader,
  KnowledgeTx,
} from '../../core/ports/knowledge.js';

/** Table shape as stored: tags as JSON text; the full-text columns are the database's own. */
export interface KnowledgeTables {
  knowledge_documents: {
    tenant_id: string;
    id: string;
    title: string;
    body: string;
    tags: string;
    created_by: string;
    created_at: string;
  };
}

type Db = Kysely<KnowledgeTables>;

/** Matched terms in snippets are wrapped in these on both databases. */
export const SNIPPET_MARK = '**';
/** Snippet length in tokens (FTS5) or words (Postgres). */
const SNIPPET_WORDS = 12;
/** Longer queries keep their first distinct words only. */
const MAX_TERMS = 32;
/** SQLite: bm25 column weights (title, body), so a title match outranks a body mention. */
const BM25_WEIGHTS = sql.raw('5.0, 1.0');
const HEADLINE_OPTIONS =
  `StartSel=${SNIPPET_MARK}, StopSel=${SNIPPET_MARK}, MaxWords=${SNIPPET_WORDS}, ` +
  'MinWords=4, ShortWord=2, MaxFragments=1, FragmentDelimiter=" … "';

/**
 * The words of a plain-text query: runs of Unicode letters, digits and combining marks,
 * lower-cased, distinct, at most MAX_TERMS. Everything else (quotes, operators,
 * punctuation, emoji) separates words and never reaches a query parser as syntax.
 */
function searchTerms(query: string): string[] {
  const terms = new Set<string>();
  for (const [word] of query.matchAll(/[\p{L}\p{N}\p{M}]+/gu)) {
    const w = word.toLowerCase();
    if (STOP_WORDS.has(w)) continue;
    terms.add(w);
    if (terms.size === MAX_TERMS) break;
  }
  return [...terms];
}

/**
 * English function words, dropped from queries on both databases (Postgres's english
 * configuration ignores them anyway): OR-ing "the" or "how" would match nearly every document.
 */
const STOP_WORDS = new Set(
  (
    'a an and are as at be but by can could did do does for from had has have how i if in into ' +
    'is it its me my no not of on or our so than that the their them then there these they ' +
    'this to was we were what when where which who why will with would you your'
  ).split(' '),
);

/** FTS5: each word as a quoted string (quotes doubled), joined with OR. */
function fts5Match(terms: readonly string[]): string {
  return terms.map((t) => `"${t.replaceAll('"', '""')}"`).join(' OR ');
}

/**
 * Postgres: the words joined with ` or ` for `websearch_to_tsquery`, which never raises a
 * syntax error. The word "or" itself is dropped: it is an english stop word, and kept it
 * would read as the operator.
 */
function websearchOr(terms: readonly string[]): string {
  return terms.filter((t) => t !== 'or').join(' or ');
}

interface HitRow {
  id: string;
  title: string;
  tags: string;
  snippet: string | null;
  score: number | string;
}

/**
 * The knowledge base over Kysely: FTS5 with bm25 on SQLite, a weighted tsvector with
 * `ts_rank_cd` on Postgres. Scores are higher-is-better on both; ties go to the lower id.
 */
export class KyselyKnowledgeReader implements KnowledgeReader {
  protected readonly db: Db;

  /** `db` is the store's transaction handle; these tables are typed here, not in schema.ts. */
  constructor(
    db: object,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {
    this.db = db as Db;
  }

  async getDocument(tenant_id: string, id: string): Promise<KnowledgeDocument | undefined> {
    const row = await this.db
      .selectFrom('knowledge_documents')
      .select(['tenant_id', 'id', 'title', 'body', 'tags', 'created_by', 'created_at'])
      .where('tenant_id', '=', tenant_id)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && { ...row, tags: JSON.parse(row.tags) as string[] };
  }

  async searchDocuments(tenant_id: string, query: string, limit: number): Promise<KnowledgeHit[]> {
    const n = Math.floor(limit);
    const terms = searchTerms(query);
    if (!Number.isSafeInteger(n) || n < 1 || terms.length === 0) return [];
    const rows =
      this.dialect === 'sqlite'
        ? this.searchSqlite(tenant_id, terms, n)
        : this.searchPostgres(tenant_id, terms, n);
    return (await rows).map((r) => ({
      id: r.id,
      title: r.title,
      snippet: r.snippet ?? '',
      score: Number(r.score),
      tags: JSON.parse(r.tags) as string[],
    }));
  }

  async countDocuments(tenant_id: string): Promise<number> {
    const row = await this.db
      .selectFrom('knowledge_documents')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('tenant_id', '=', tenant_id)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  private async searchSqlite(tenant_id: string, terms: string[], limit: number) {
    const { rows } = await sql<HitRow>`
      SELECT d.id, d.title, d.tags,
        -bm25(knowledge_fts, ${BM25_WEIGHTS}) AS score,
        snippet(knowledge_fts, -1, ${SNIPPET_MARK}, ${SNIPPET_MARK}, '…', ${SNIPPET_WORDS}) AS snippet
      FROM knowledge_fts
      JOIN knowledge_documents d ON d.fts_rowid = knowledge_fts.rowid
      WHERE knowledge_fts MATCH ${fts5Match(terms)} AND d.tenant_id = ${tenant_id}
      ORDER BY score DESC, d.id
      LIMIT ${limit}`.execute(this.db);
    return rows;
  }

  private async searchPostgres(tenant_id: string, terms: string[], limit: number) {
    // Rank and limit first, so ts_headline only reparses the documents returned. The snippet
    // comes from the body when the body matches, else from the title.
    const { rows } = await sql<HitRow>`
      WITH query AS (SELECT websearch_to_tsquery('english', ${websearchOr(terms)}) AS tsq),
      top AS (
        SELECT d.id, d.title, d.body, d.tags, ts_filter(d.search, '{b}') @@ query.tsq AS in_body,
          ts_rank_cd(d.search, query.tsq)::float8 AS score
        FROM knowledge_documents d, query
        WHERE d.tenant_id = ${tenant_id} AND d.search @@ query.tsq
        ORDER BY score DESC, d.id COLLATE "C"
        LIMIT ${limit}
      )
      SELECT top.id, top.title, top.tags, top.score,
        ts_headline('english', CASE WHEN top.in_body THEN top.body ELSE top.title END, query.tsq,
          ${HEADLINE_OPTIONS}) AS snippet
      FROM top, query
      ORDER BY top.score DESC, top.id COLLATE "C"`.execute(this.db);
    return rows;
  }
}

/** The same, with the writes (the view a write transaction hands out). */
export class KyselyKnowledgeTx extends KyselyKnowledgeReader implements KnowledgeTx {
  async insertDocument(doc: KnowledgeDocument): Promise<void> {
    await this.db
      .insertInto('knowledge_documents')
      .values({
        tenant_id: doc.tenant_id,
        id: doc.id,
        title: doc.title,
        body: doc.body,
        tags: JSON.stringify(doc.tags),
        created_by: doc.created_by,
        created_at: doc.created_at,
      })
      .execute();
  }
}
