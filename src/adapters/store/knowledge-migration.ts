import { type Migration, sql } from 'kysely';

type Dialect = 'sqlite' | 'postgres';

/**
 * The knowledge base: one documents table per database plus its full-text index.
 *
 * - SQLite: an external-content FTS5 table over `title` and `body` (porter stemming on
 *   unicode61, diacritics folded), kept in step by triggers. `fts_rowid` is an explicit
 *   rowid alias because VACUUM may renumber an implicit rowid the index points at.
 * - Postgres: a stored generated `tsvector` (english; title weight A, body weight B) with a
 *   GIN index.
 */
export function knowledgeMigration(dialect: Dialect): Migration {
  return {
    async up(db) {
      if (dialect === 'sqlite') {
        await sql`
          CREATE TABLE knowledge_documents (
            fts_rowid INTEGER PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            id TEXT NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            tags TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            CONSTRAINT knowledge_documents_key UNIQUE (tenant_id, id)
          )`.execute(db);
        await sql`
          CREATE VIRTUAL TABLE knowledge_fts USING fts5(
            title, body,
            content = 'knowledge_documents', content_rowid = 'fts_rowid',
            tokenize = 'porter unicode61 remove_diacritics 2'
          )`.execute(db);
        await sql`
          CREATE TRIGGER knowledge_documents_ai AFTER INSERT ON knowledge_documents BEGIN
            INSERT INTO knowledge_fts (rowid, title, body)
              VALUES (new.fts_rowid, new.title, new.body);
          END`.execute(db);
        await sql`
          CREATE TRIGGER knowledge_documents_ad AFTER DELETE ON knowledge_documents BEGIN
            INSERT INTO knowledge_fts (knowledge_fts, rowid, title, body)
              VALUES ('delete', old.fts_rowid, old.title, old.body);
          END`.execute(db);
        await sql`
          CREATE TRIGGER knowledge_documents_au AFTER UPDATE ON knowledge_documents BEGIN
            INSERT INTO knowledge_fts (knowledge_fts, rowid, title, body)
              VALUES ('delete', old.fts_rowid, old.title, old.body);
            INSERT INTO knowledge_fts (rowid, title, body)
              VALUES (new.fts_rowid, new.title, new.body);
          END`.execute(db);
        return;
      }
      await sql`
        CREATE TABLE knowledge_documents (
          tenant_id text NOT NULL,
          id text NOT NULL,
          title text NOT NULL,
          body text NOT NULL,
          tags text NOT NULL,
          created_by text NOT NULL,
          created_at text NOT NULL,
          search tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('english', title), 'A') ||
            setweight(to_tsvector('english', body), 'B')
          ) STORED,
          CONSTRAINT knowledge_documents_pk PRIMARY KEY (tenant_id, id)
        )`.execute(db);
      await sql`
        CREATE INDEX knowledge_documents_search ON knowledge_documents USING gin (search)
      `.execute(db);
    },
  };
}
