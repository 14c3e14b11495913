/**
 * The demo target's read tools on a real demo-target directory made by the write tools: what each
 * reads on a known schema, the errors, the attacks (SQL in a table name, a path in a database
 * name), that they never create or change a file, and one call through the kernel with the
 * default policy and with a policy that lets reads run without review.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CedarPolicyEngine } from '../src/adapters/policy/cedar-policy-engine.js';
import { openSqliteStore } from '../src/adapters/store/open-store.js';
import { MAX_COUNTED_TABLES, createDemoReadTools } from '../src/adapters/tools/demo-read-tools.js';
import { createDemoTools } from '../src/adapters/tools/demo-tools.js';
import { Kernel } from '../src/core/kernel.js';
import type { JsonObject } from '../src/core/model.js';
import { steppingClock } from '../src/core/ports/clock.js';
import type { ToolContext, ToolDefinition } from '../src/core/ports/tools.js';
import { staticToolRegistry } from '../src/core/ports/tools.js';
import { openCore } from '../src/main/compose.js';
import { configFromEnv } from '../src/main/config.js';
import { ctx as operator, expectCode, seedActors } from './support/kernel-fixture.js';

const toolCtx = (over: Partial<ToolContext> = {}): ToolContext => ({
  tenant_id: 'default',
  workflow_id: 'workflow_1',
  proposal_id: 'proposal_1',
  execution_id: 'execution_1',
  idempotency_key: 'default:proposal_1:v1',
  now: '2026-01-01T00:00:05.000Z',
  ...over,
});

let dir: string;
let target: string;
let tools: ToolDefinition[];
const tool = (name: string) => {
  const t = tools.find((x) => x.name === name);
  if (!t) throw new Error(`no tool ${name}`);
  return t;
};

/** Validates like the kernel does, then plans or applies. */
async function run(
  name: string,
  mode: 'plan' | 'apply',
  params: unknown,
  c: ToolContext = toolCtx(),
): Promise<JsonObject> {
  const t = tool(name);
  const v = t.validate(params);
  if (!v.ok) throw new Error(`invalid params: ${JSON.stringify(v.issues)}`);
  return mode === 'plan' ? t.plan(v.value, c) : t.apply(v.value, c);
}

const issuePaths = (name: string, params: unknown) => {
  const v = tool(name).validate(params);
  return v.ok ? [] : v.issues.map((i) => i.path);
};

/** Every file under the demo target with its size, mtime and a hash of its bytes. */
function snapshot(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = fs.statSync(p);
        const sha = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
        out.set(path.relative(target, p), `${st.size}:${st.mtimeMs}:${sha}`);
      }
    }
  };
  walk(target);
  return out;
}

/** The database files only (WAL side files, which a reader may add, are left out). */
const databaseFiles = (snap: Map<string, string>) =>
  new Map([...snap].filter(([name]) => !/-(wal|shm)$/.test(name)));

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-read-tools-'));
  target = path.join(dir, 'demo-target');
  // The demo target as the write tools leave it: "production" seeded, migrated to 2.0.0, one
  // backup for this tenant and one for another tenant.
  const demo = createDemoTools({ dataDir: dir });
  const w = (name: string) => demo.tools.find((t) => t.name === name)!;
  try {
    const mig = w('database_migration');
    const params = { version: '2.0.0', rollback_plan: 'enabled', database: 'production' };
    const v = mig.validate(params);
    if (!v.ok) throw new Error('bad migration params');
    await mig.apply(v.value, toolCtx());
    const backup = w('database_backup');
    await backup.apply({ database: 'production', backup_type: 'full' }, toolCtx());
    await new Promise((r) => setTimeout(r, 30));
    await backup.apply(
      { database: 'production', backup_type: 'incremental' },
      toolCtx({ execution_id: 'execution_2' }),
    );
    await backup.apply(
      { database: 'production', backup_type: 'full' },
      toolCtx({ tenant_id: 'other', execution_id: 'execution_9' }),
    );
  } finally {
    demo.close();
  }
  // A second database with foreign keys, made outside the tools.
  const shop = new Database(path.join(target, 'shop.sqlite'));
  shop.exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);
    CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
      total INTEGER NOT NULL DEFAULT 0, note TEXT);
    CREATE INDEX orders_customer ON orders (customer_id);
    INSERT INTO customers (email) VALUES ('a@example.com'), ('b@example.com');
    INSERT INTO orders (customer_id, total) VALUES (1, 10), (1, 20), (2, 5);`);
  shop.close();
  tools = createDemoReadTools({ dataDir: dir });
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('demo read tools', () => {
  it('are read tools: risk read, idempotent, with a sentence for the reviewer', () => {
    expect(tools.map((t) => [t.name, t.risk, t.idempotent])).toEqual([
      ['list_tables', 'read', true],
      ['get_table_schema', 'read', true],
      ['read_row_counts', 'read', true],
      ['list_backups', 'read', true],
    ]);
    expect(tool('get_table_schema').describe!({ database: 'production', table: 'users' })).toBe(
      'Read the schema of table "users" in database "production".',
    );
  });

  it('list_tables: every table with its row and column counts; plan is the same read', async () => {
    const out = await run('list_tables', 'apply', { database: 'production' });
    expect(out).toEqual({
      database: 'production',
      tables: [
        { name: 'audit_log', rows: 0, columns: 4 },
        { name: 'schema_migrations', rows: 1, columns: 5 },
        { name: 'users', rows: 3, columns: 3 },
      ],
    });
    expect(await run('list_tables', 'plan', { database: 'production' })).toEqual(out);
  });

  it('get_table_schema: columns, indexes and foreign keys', async () => {
    const orders = await run('get_table_schema', 'apply', { database: 'shop', table: 'orders' });
    expect(orders).toEqual({
      database: 'shop',
      table: 'orders',
      columns: [
        { name: 'id', type: 'INTEGER', notnull: false, default: null, pk: 1 },
        { name: 'customer_id', type: 'INTEGER', notnull: true, default: null, pk: 0 },
        { name: 'total', type: 'INTEGER', notnull: true, default: '0', pk: 0 },
        { name: 'note', type: 'TEXT', notnull: false, default: null, pk: 0 },
      ],
      indexes: [
        {
          name: 'orders_customer',
          unique: false,
          origin: 'c',
          partial: false,
          columns: ['customer_id'],
        },
      ],
      foreign_keys: [
        {
          id: 0,
          seq: 0,
          from: 'customer_id',
          table: 'customers',
          to: 'id',
          on_update: 'NO ACTION',
          on_delete: 'CASCADE',
        },
      ],
    });
    // Names are matched as SQLite does (case-insensitively) and reported as stored.
    const audit = await run('get_table_schema', 'plan', {
      database: 'production',
      table: 'AUDIT_LOG',
    });
    expect(audit).toMatchObject({
      table: 'audit_log',
      indexes: [{ name: 'audit_log_created_at', unique: false, columns: ['created_at'] }],
      foreign_keys: [],
    });
    const customers = await run('get_table_schema', 'apply', {
      database: 'shop',
      table: 'customers',
    });
    expect(customers.indexes).toEqual([
      expect.objectContaining({ unique: true, origin: 'u', columns: ['email'] }),
    ]);
  });

  it('read_row_counts: exact counts of the named tables or of every table, at most 50', async () => {
    expect(
      await run('read_row_counts', 'apply', { database: 'shop', tables: ['orders', 'Orders'] }),
    ).toEqual({ database: 'shop', counts: [{ name: 'orders', rows: 3 }] });
    expect(await run('read_row_counts', 'plan', { database: 'shop' })).toEqual({
      database: 'shop',
      counts: [
        { name: 'customers', rows: 2 },
        { name: 'orders', rows: 3 },
      ],
    });
    const tooMany = Array.from({ length: MAX_COUNTED_TABLES + 1 }, (_, i) => `t${i}`);
    expect(issuePaths('read_row_counts', { database: 'shop', tables: tooMany })).toEqual([
      'tables',
    ]);
    expect(issuePaths('read_row_counts', { database: 'shop', tables: [] })).toEqual(['tables']);
  });

  it("list_backups: this tenant's backups, newest first, with size and time", async () => {
    const out = await run('list_backups', 'apply', {});
    const backups = out.backups as JsonObject[];
    expect(backups.map((b) => [b.name, b.database, b.type])).toEqual([
      ['production-incremental-default-execution_2.sqlite', 'production', 'incremental'],
      ['production-full-default-execution_1.sqlite', 'production', 'full'],
    ]);
    for (const b of backups) {
      const st = fs.statSync(path.join(target, 'backups', b.name as string));
      expect(b.bytes).toBe(st.size);
      expect(b.created_at).toBe(st.mtime.toISOString());
    }
    // Another tenant sees its own backup only.
    const other = await run('list_backups', 'plan', {}, toolCtx({ tenant_id: 'other' }));
    expect((other.backups as JsonObject[]).map((b) => b.name)).toEqual([
      'production-full-other-execution_9.sqlite',
    ]);
    expect(await run('list_backups', 'apply', { database: 'shop' })).toMatchObject({
      database: 'shop',
      backups: [],
    });
  });

  it('list_backups on a demo target with no backups directory lists nothing and creates nothing', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-read-tools-empty-'));
    try {
      const [, , , list] = createDemoReadTools({ dataDir: empty });
      expect(await list!.apply({}, toolCtx())).toMatchObject({ backups: [] });
      expect(fs.readdirSync(empty)).toEqual([]);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('a database that does not exist: plan says would_fail, apply throws, no file is created', async () => {
    const before = snapshot();
    for (const name of ['list_tables', 'get_table_schema', 'read_row_counts'] as const) {
      const params = {
        database: 'staging',
        ...(name === 'get_table_schema' ? { table: 'users' } : {}),
      };
      const plan = await run(name, 'plan', params);
      expect(plan.would_fail).toMatch(/database "staging" does not exist/);
      await expect(run(name, 'apply', params)).rejects.toThrow(/database "staging" does not exist/);
    }
    expect(fs.existsSync(path.join(target, 'staging.sqlite'))).toBe(false);
    expect(snapshot()).toEqual(before);
  });

  it('an unknown table: plan says would_fail, apply throws naming the tables there are', async () => {
    const params = { database: 'production', table: 'orders' };
    expect((await run('get_table_schema', 'plan', params)).would_fail).toBe(
      'table "orders" does not exist in database "production"; tables: audit_log, schema_migrations, users',
    );
    await expect(run('get_table_schema', 'apply', params)).rejects.toThrow(
      /table "orders" does not exist/,
    );
    await expect(
      run('read_row_counts', 'apply', { database: 'production', tables: ['users', 'nope'] }),
    ).rejects.toThrow(/table "nope" does not exist/);
  });

  it('attack: SQL in a table name is refused by the schema, before any SQL', async () => {
    const evil = 'x"; DROP TABLE users; --';
    expect(issuePaths('get_table_schema', { database: 'production', table: evil })).toEqual([
      'table',
    ]);
    expect(
      issuePaths('read_row_counts', { database: 'production', tables: ['users', evil] }),
    ).toEqual(['tables.1']);
    // Even if a caller skipped validation, the table is never found, so no SQL names it.
    const before = snapshot();
    await expect(
      tool('get_table_schema').apply({ database: 'production', table: evil }, toolCtx()),
    ).rejects.toThrow(/does not exist/);
    expect(databaseFiles(snapshot())).toEqual(databaseFiles(before));
    expect((await run('list_tables', 'apply', { database: 'production' })).tables).toContainEqual({
      name: 'users',
      rows: 3,
      columns: 3,
    });
  });

  it('attack: a database name with a path, or the reserved ops database, is refused', async () => {
    for (const database of [
      '../production',
      '../../etc/passwd',
      'a/b',
      'prod.sqlite',
      'ops',
      'OPS',
      '',
    ]) {
      for (const name of ['list_tables', 'get_table_schema', 'read_row_counts', 'list_backups'])
        expect(
          issuePaths(name, { database, table: 'users' }).length,
          `${name} ${database}`,
        ).toBeGreaterThan(0);
    }
    expect(issuePaths('list_tables', { database: 'production', extra: 1 })).toEqual(['']);
  });

  it('never change a database file: bytes and mtime are the same after every call', async () => {
    const before = databaseFiles(snapshot());
    expect([...before.keys()].sort()).toEqual([
      path.join('backups', 'production-full-default-execution_1.sqlite'),
      path.join('backups', 'production-full-other-execution_9.sqlite'),
      path.join('backups', 'production-incremental-default-execution_2.sqlite'),
      'production.sqlite',
      'shop.sqlite',
    ]);
    const calls: [string, JsonObject][] = [
      ['list_tables', { database: 'production' }],
      ['list_tables', { database: 'shop' }],
      ['get_table_schema', { database: 'production', table: 'users' }],
      ['get_table_schema', { database: 'shop', table: 'orders' }],
      ['read_row_counts', { database: 'production' }],
      ['read_row_counts', { database: 'shop', tables: ['customers'] }],
      ['list_backups', {}],
      ['list_backups', { database: 'production' }],
    ];
    for (const [name, params] of calls)
      for (const mode of ['plan', 'apply'] as const) {
        await run(name, mode, params);
        expect(databaseFiles(snapshot()), `${name} ${mode}`).toEqual(before);
      }
  });

  it('open the database read-only: committed changes still in the WAL are read, never written back', async () => {
    // A database left with commits only in its write-ahead log (as after a crash): a writable
    // connection would checkpoint them into the main file when it closes; a read-only one must not.
    const live = new Database(path.join(dir, 'live.sqlite'));
    try {
      live.pragma('journal_mode = WAL');
      live.pragma('wal_autocheckpoint = 0');
      live.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, what TEXT NOT NULL)');
      live.exec("INSERT INTO events (what) VALUES ('a'), ('b'), ('c'), ('d')");
      fs.copyFileSync(path.join(dir, 'live.sqlite'), path.join(target, 'crashed.sqlite'));
      fs.copyFileSync(path.join(dir, 'live.sqlite-wal'), path.join(target, 'crashed.sqlite-wal'));
    } finally {
      live.close();
    }
    const main = () => {
      const file = path.join(target, 'crashed.sqlite');
      return `${fs.statSync(file).mtimeMs}:${createHash('sha256').update(fs.readFileSync(file)).digest('hex')}`;
    };
    const before = main();
    expect(await run('read_row_counts', 'apply', { database: 'crashed' })).toEqual({
      database: 'crashed',
      counts: [{ name: 'events', rows: 4 }],
    });
    expect(
      await run('get_table_schema', 'plan', { database: 'crashed', table: 'events' }),
    ).toMatchObject({
      columns: [{ name: 'id' }, { name: 'what', notnull: true }],
    });
    expect(main()).toBe(before);
    expect(fs.statSync(path.join(target, 'crashed.sqlite-wal')).size).toBeGreaterThan(0);
    for (const f of ['crashed.sqlite', 'crashed.sqlite-wal', 'crashed.sqlite-shm'])
      fs.rmSync(path.join(target, f), { force: true });
  });
});

describe('a list_tables call through the kernel', () => {
  async function kernelWith(policy: CedarPolicyEngine) {
    const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-read-tools-kernel-'));
    const store = await openSqliteStore(path.join(storeDir, 'countersign.sqlite'));
    const demo = createDemoTools({ dataDir: dir });
    const kernel = new Kernel({
      store,
      policy,
      tools: staticToolRegistry([...demo.tools, ...createDemoReadTools({ dataDir: dir })]),
      clock: steppingClock(),
      newSecret: () => randomBytes(24).toString('base64url'),
    });
    await seedActors(kernel);
    return {
      kernel,
      async cleanup() {
        demo.close();
        await store.close();
        fs.rmSync(storeDir, { recursive: true, force: true });
      },
    };
  }
  const call = (over: Record<string, unknown> = {}) => ({
    workflow_id: 'workflow_1',
    actor_id: 'actor_1',
    tool: 'list_tables',
    params: { database: 'production' },
    reason: 'look before proposing a schema change',
    ...over,
  });
  const expectedTables = [
    { name: 'audit_log', rows: 0, columns: 4 },
    { name: 'schema_migrations', rows: 1, columns: 5 },
    { name: 'users', rows: 3, columns: 3 },
  ];

  it('default policy: a read call still needs one human approval, never from its proposer', async () => {
    const { kernel, cleanup } = await kernelWith(CedarPolicyEngine.fromDirectory());
    try {
      const p = await kernel.proposeAction(operator, call());
      expect(p).toMatchObject({ status: 'pending', required_approvals: 1 });
      await expectCode(
        kernel.executeAction(operator, { proposal_id: p.proposal_id }),
        'REVIEW_REQUIRED',
      );
      // The proposer approving its own read through this door is refused.
      await expectCode(
        kernel.reviewAction(operator, {
          proposal_id: p.proposal_id,
          reviewer_id: 'actor_1',
          decision: 'approve',
        }),
        'SELF_APPROVAL',
      );
      const r = await kernel.reviewAction(operator, {
        proposal_id: p.proposal_id,
        reviewer_id: 'actor_2',
        decision: 'approve',
      });
      expect(r.status).toBe('approved');
      const ex = await kernel.executeAction(operator, { proposal_id: p.proposal_id });
      expect(ex.result.status).toBe('succeeded');
      expect(ex.result.output).toEqual({ database: 'production', tables: expectedTables });
    } finally {
      await cleanup();
    }
  });

  it('a policy that lets reads run without review: approved by policy and run; writes still wait', async () => {
    const file = path.join(process.cwd(), 'policies', 'default', 'policies.cedar');
    const text = fs.readFileSync(file, 'utf8');
    const needsReview =
      '@id("calls-need-review")\n@approvals("1")\npermit (principal, action == Action::"proposal.create", resource)' +
      '\nunless {\n  context has workflow_archetype &&\n  context.workflow_archetype == "proposal_only" &&\n  context has agent_invocation_id &&\n  resource.risk == "read"\n};';
    expect(text).toContain(needsReview);
    const readsFree = text.replace(
      needsReview,
      `@id("calls-need-review")\n@approvals("1")\npermit (principal, action == Action::"proposal.create", resource)\nwhen { resource.risk != "read" };\n` +
        `@id("reads-run-free")\n@approvals("0")\npermit (principal, action == Action::"proposal.create", resource)\nwhen { resource.risk == "read" };`,
    );
    const { kernel, cleanup } = await kernelWith(
      CedarPolicyEngine.fromText([{ name: 'policies.cedar', text: readsFree }]),
    );
    try {
      const p = await kernel.proposeAction(operator, call());
      expect(p.status).toBe('approved');
      const view = await kernel.getProposal(operator, { proposal_id: p.proposal_id });
      expect(view.decisions[0]).toMatchObject({ reviewer_id: 'policy', decision: 'policy_allow' });
      const ex = await kernel.executeAction(operator, { proposal_id: p.proposal_id });
      expect(ex.result.output).toEqual({ database: 'production', tables: expectedTables });
      // A failed read (no such database) is an execution failure, and created nothing.
      const missing = await kernel.proposeAction(
        operator,
        call({ params: { database: 'staging' } }),
      );
      expect(missing.status).toBe('approved');
      const failed = await kernel
        .executeAction(operator, { proposal_id: missing.proposal_id })
        .then((x) => x.result.status)
        .catch((e: { code?: string }) => e.code);
      expect(failed).not.toBe('succeeded');
      expect(fs.existsSync(path.join(target, 'staging.sqlite'))).toBe(false);
      // The write tools are untouched by that policy.
      const write = await kernel.proposeAction(
        operator,
        call({ tool: 'database_backup', params: { database: 'production', backup_type: 'full' } }),
      );
      expect(write).toMatchObject({ status: 'pending', required_approvals: 1 });
    } finally {
      await cleanup();
    }
  });
});

describe('the composed application', () => {
  it('offers the read tools beside the write tools, and a read never seeds a database', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-read-tools-core-'));
    const core = await openCore(configFromEnv({ COUNTERSIGN_DATA_DIR: dataDir }));
    try {
      const byName = new Map(core.kernel.listTools().map((t) => [t.name, t]));
      for (const name of ['list_tables', 'get_table_schema', 'read_row_counts', 'list_backups'])
        expect(byName.get(name)?.risk, name).toBe('read');
      expect(byName.get('database_backup')?.risk).toBe('write');
      const list = byName.get('list_tables')!;
      const out = await list.plan({ database: 'production' }, toolCtx());
      expect(out.would_fail).toMatch(/database "production" does not exist/);
      expect(fs.existsSync(path.join(dataDir, 'demo-target', 'production.sqlite'))).toBe(false);
    } finally {
      await core.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
