/**
 * A tenant-scoped knowledge base with full-text search: documents are added by operators
 * (CLI or API) and retrieved by workflows' `retrieve` steps. Implemented on SQLite (FTS5) and
 * Postgres (tsvector) by the store adapter.
 */
export interface KnowledgeDocument {
  readonly tenant_id: string;
  /** `document_<n>`, counted per tenant. */
  readonly id: string;
  readonly title: string;
  readonly body: string;
  /** Free-form labels, e.g. `["runbook", "postgres"]`. */
  readonly tags: readonly string[];
  readonly created_by: string;
  readonly created_at: string;
}

export interface KnowledgeHit {
  readonly id: string;
  readonly title: string;
  /** A short excerpt around the matched terms. */
  readonly snippet: string;
  /** Higher is better; comparable only within one result list. */
  readonly score: number;
  readonly tags: readonly string[];
}

/** The knowledge base, read only (`tx.knowledge` of a read). */
export interface KnowledgeReader {
  getDocument(tenant_id: string, id: string): Promise<KnowledgeDocument | undefined>;
  /**
   * Full-text search within one tenant, best first. `query` is plain user text (words, not a
   * query language): the adapter escapes it, so no input can cause a syntax error.
   */
  searchDocuments(tenant_id: string, query: string, limit: number): Promise<KnowledgeHit[]>;
  countDocuments(tenant_id: string): Promise<number>;
}

/** The knowledge base's part of a store transaction (`tx.knowledge`). */
export interface KnowledgeTx extends KnowledgeReader {
  insertDocument(doc: KnowledgeDocument): Promise<void>;
}
