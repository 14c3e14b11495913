import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KyselyStore } from '../src/adapters/store/kysely-store.js';
import type { KnowledgeDocument } from '../src/core/ports/knowledge.js';
import { STORES } from './support/kernel-fixture.js';

const T = '2026-01-01T00:00:00.000Z';

function doc(id: string, over: Partial<KnowledgeDocument> = {}): KnowledgeDocument {
  return {
    tenant_id: 'default',
    id,
    title: 'Untitled',
    body: 'Nothing to see here.',
    tags: [],
    created_by: 'actor_1',
    created_at: T,
    ...over,
  };
}

const HOSTILE = [
  '"',
  '""',
  '*',
  'vacuum*',
  'NEAR(',
  'NEAR(vacuum replica, 2)',
  'AND OR',
  'AND',
  'OR',
  'NOT',
  '-vacuum',
  'title:vacuum',
  '{title body}: vacuum',
  '^vacuum',
  "'); DROP TABLE x; --",
  "'); DROP TABLE knowledge_documents; --",
  '!!! & | <-> :* ()',
  '🔥🚀',
  'vacuum 🔥',
  'e\u0301',
  '\u0301',
  '\u0000vacuum',
  '\ud800',
  'x'.repeat(5000),
  'vacuum '.repeat(715),
  Array.from({ length: 5000 }, (_, i) => String.fromCharCode(33 + (i % 94))).join(''),
  '',
  '   ',
  '\n\t ',
];

describe.each(STORES)('knowledge store on $name', (factory) => {
  let store: KyselyStore;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await factory.open());
  });
  afterEach(async () => cleanup());

  const insert = (...docs: KnowledgeDocument[]) =>
    store.transaction(async (tx) => {
      for (const d of docs) await tx.knowledge.insertDocument(d);
    });
  const search = (query: string, limit = 10, tenant = 'default') =>
    store.transaction((tx) => tx.knowledge.searchDocuments(tenant, query, limit));

  async function seedRunbooks() {
    await insert(
      doc('document_1', {
        title: 'Postgres vacuum runbook',
        body: 'Run VACUUM ANALYZE on the replica after a bulk load, then check bloat.',
        tags: ['runbook', 'postgres'],
      }),
      doc('document_2', {
        title: 'Incident review',
        body: 'The outage started when autovacuum fell behind; a manual vacuum fixed it.',
        tags: ['incident'],
      }),
      doc('document_3', {
        title: 'Kubernetes rollout checklist',
        body: 'Drain the node, roll the deployment, watch the pods become ready.',
        tags: ['runbook', 'k8s'],
      }),
    );
  }

  it('round-trips a document exactly, tags included', async () => {
    const d = doc('document_1', {
      title: 'Über café: naïve résumé',
      body: 'Line one.\nLine "two" with \'quotes\' and emoji 🔥.',
      tags: ['runbook', 'unicode ✓', ''],
    });
    await insert(d);
    await store.transaction(async (tx) => {
      expect(await tx.knowledge.getDocument('default', 'document_1')).toEqual(d);
      expect(await tx.knowledge.getDocument('default', 'document_2')).toBeUndefined();
      expect(await tx.knowledge.getDocument('acme', 'document_1')).toBeUndefined();
    });
  });

  it('finds a document by a body word and returns its tags and a marked snippet', async () => {
    await seedRunbooks();
    const hits = await search('bloat');
    expect(hits.map((h) => h.id)).toEqual(['document_1']);
    expect(hits[0]).toMatchObject({
      title: 'Postgres vacuum runbook',
      tags: ['runbook', 'postgres'],
    });
    expect(hits[0]!.snippet).toContain('**bloat**');
    expect(hits[0]!.score).toBeGreaterThan(0);
  });

  it('finds a document by a title word, case-insensitively', async () => {
    await seedRunbooks();
    const hits = await search('KUBERNETES');
    expect(hits.map((h) => h.id)).toEqual(['document_3']);
    expect(hits[0]!.snippet.toLowerCase()).toContain('kubernetes');
  });

  it('ranks a title match above a body-only mention', async () => {
    await seedRunbooks();
    const hits = await search('vacuum');
    expect(hits.map((h) => h.id)).toEqual(['document_1', 'document_2']);
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
    expect(hits[1]!.snippet).toContain('**vacuum**');
  });

  it('weights the title above the body: one title match beats two body mentions', async () => {
    await insert(
      doc('document_1', {
        title: 'Notes from the quarterly review',
        body: 'Failover drill went well; failover took ninety seconds end to end.',
      }),
      doc('document_2', {
        title: 'Failover procedure',
        body: 'Promote the standby, repoint the service, and verify writes succeed.',
      }),
      doc('document_3', { title: 'Unrelated', body: 'Padding so the word is not everywhere.' }),
      doc('document_4', { title: 'Unrelated too', body: 'More padding for the statistics.' }),
    );
    expect((await search('failover')).map((h) => h.id)).toEqual(['document_2', 'document_1']);
  });

  it('ranks a document matching more of the words first, and still returns partial matches', async () => {
    await seedRunbooks();
    const hits = await search('drain pods; deployment? bulk');
    expect(hits.map((h) => h.id)).toEqual(['document_3', 'document_1']);
  });

  it('breaks score ties by id', async () => {
    await insert(
      doc('document_3', { title: 'Same', body: 'identical text about failover' }),
      doc('document_1', { title: 'Same', body: 'identical text about failover' }),
      doc('document_2', { title: 'Same', body: 'identical text about failover' }),
    );
    const hits = await search('failover');
    expect(hits.map((h) => h.id)).toEqual(['document_1', 'document_2', 'document_3']);
    expect(new Set(hits.map((h) => h.score)).size).toBe(1);
  });

  it("never returns another tenant's documents", async () => {
    await seedRunbooks();
    await insert(
      doc('document_1', {
        tenant_id: 'acme',
        title: 'Acme vacuum secrets',
        body: 'vacuum vacuum vacuum bloat',
      }),
    );
    const mine = await search('vacuum bloat secrets acme');
    expect(mine.map((h) => h.id)).toEqual(['document_1', 'document_2']);
    expect(mine[0]!.title).toBe('Postgres vacuum runbook');
    const theirs = await search('vacuum bloat', 10, 'acme');
    expect(theirs.map((h) => [h.id, h.title])).toEqual([['document_1', 'Acme vacuum secrets']]);
    expect(await search('kubernetes', 10, 'acme')).toEqual([]);
    expect(await search('vacuum', 10, 'nobody')).toEqual([]);
  });

  it('treats hostile or empty queries as plain words and never throws', async () => {
    await seedRunbooks();
    for (const q of HOSTILE) {
      const hits = await search(q);
      expect(Array.isArray(hits), JSON.stringify(q.slice(0, 40))).toBe(true);
    }
    expect(await search('')).toEqual([]);
    expect(await search(' \n\t ')).toEqual([]);
    expect(await search('🔥🚀')).toEqual([]);
    expect((await search('NEAR(vacuum')).map((h) => h.id)).toEqual(['document_1', 'document_2']);
    expect((await search('vacuum*')).map((h) => h.id)).toEqual(['document_1', 'document_2']);
    expect((await search('"bloat')).map((h) => h.id)).toEqual(['document_1']);
    // The table the injection names is still there.
    expect(await store.transaction((tx) => tx.knowledge.countDocuments('default'))).toBe(3);
  });

  it('respects the limit', async () => {
    await insert(
      ...Array.from({ length: 7 }, (_, i) =>
        doc(`document_${i + 1}`, { title: `Note ${i + 1}`, body: `replica lag note ${i + 1}` }),
      ),
    );
    expect(await search('replica', 3)).toHaveLength(3);
    expect(await search('replica', 1)).toHaveLength(1);
    expect(await search('replica', 50)).toHaveLength(7);
    expect(await search('replica', 0)).toEqual([]);
  });

  it('counts documents per tenant', async () => {
    await seedRunbooks();
    await insert(doc('document_1', { tenant_id: 'acme' }));
    await store.transaction(async (tx) => {
      expect(await tx.knowledge.countDocuments('default')).toBe(3);
      expect(await tx.knowledge.countDocuments('acme')).toBe(1);
      expect(await tx.knowledge.countDocuments('nobody')).toBe(0);
    });
  });

  it('leaves no document behind when the transaction rolls back', async () => {
    await expect(
      store.transaction(async (tx) => {
        await tx.knowledge.insertDocument(doc('document_1', { title: 'Ghost', body: 'phantom' }));
        expect(await tx.knowledge.countDocuments('default')).toBe(1);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    await store.transaction(async (tx) => {
      expect(await tx.knowledge.countDocuments('default')).toBe(0);
      expect(await tx.knowledge.getDocument('default', 'document_1')).toBeUndefined();
      expect(await tx.knowledge.searchDocuments('default', 'phantom ghost', 10)).toEqual([]);
    });
  });

  it('rejects a second document with the same id in the same tenant', async () => {
    await insert(doc('document_1'));
    await expect(insert(doc('document_1'))).rejects.toMatchObject({ code: 'CONFLICT' });
    await insert(doc('document_1', { tenant_id: 'acme' }));
  });
});
