import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createDemoTools } from '../src/adapters/tools/demo-tools.js';
import type { JsonObject } from '../src/core/model.js';
import type { ToolContext, ToolDefinition } from '../src/core/ports/tools.js';

const ctx: ToolContext = {
  tenant_id: 'default',
  workflow_id: 'workflow_1',
  proposal_id: 'proposal_1',
  execution_id: 'execution_1',
  idempotency_key: 'default:proposal_1:v1',
  now: '2026-01-01T00:00:05.000Z',
};

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cs-tools-'));
}

/** Demo tools over a fresh temp dir; `use` gets the tool by name. */
async function withTools(
  fn: (t: { dir: string; tool: (name: string) => ToolDefinition }) => Promise<void>,
  options: { webhookUrl?: string } = {},
): Promise<void> {
  const dir = tempDir();
  const demo = createDemoTools({ dataDir: dir, ...options });
  const tool = (name: string) => {
    const t = demo.tools.find((x) => x.name === name);
    if (!t) throw new Error(`no tool ${name}`);
    return t;
  };
  try {
    await fn({ dir, tool });
  } finally {
    demo.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Validates like the kernel does, then plans or applies. */
async function run(
  tool: ToolDefinition,
  mode: 'plan' | 'apply',
  params: unknown,
  c: ToolContext = ctx,
) {
  const v = tool.validate(params);
  if (!v.ok) throw new Error(`invalid params: ${JSON.stringify(v.issues)}`);
  return mode === 'plan' ? tool.plan(v.value, c) : tool.apply(v.value, c);
}

function readOnly<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function columns(file: string, table: string): { name: string; type: string }[] {
  return readOnly(
    file,
    (db) =>
      db.prepare('SELECT name, type FROM pragma_table_info(?)').all(table) as {
        name: string;
        type: string;
      }[],
  );
}

async function withServer(
  status: number,
  fn: (url: string, bodies: JsonObject[], headers: http.IncomingHttpHeaders[]) => Promise<void>,
): Promise<void> {
  const bodies: JsonObject[] = [];
  const headers: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (data += chunk));
    req.on('end', () => {
      bodies.push(JSON.parse(data) as JsonObject);
      headers.push(req.headers);
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'ok' : 'boom');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await fn(`http://127.0.0.1:${port}/hook`, bodies, headers);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('database_backup', () => {
  it('plans without touching the disk, then writes a real SQLite backup', async () => {
    await withTools(async ({ dir, tool }) => {
      const backup = tool('database_backup');
      const plan = await run(backup, 'plan', { database: 'production', backup_type: 'full' });
      expect(plan.database_exists).toBe(false);
      expect(plan.tables).toEqual([
        { name: 'schema_migrations', rows: 0 },
        { name: 'users', rows: 3 },
      ]);
      expect(fs.existsSync(path.join(dir, 'demo-target'))).toBe(false);

      const out = await run(backup, 'apply', { database: 'production', backup_type: 'full' });
      const file = path.join(
        dir,
        'demo-target',
        'backups',
        'production-full-default-execution_1.sqlite',
      );
      expect(out.backup_file).toBe(file);
      expect(out.bytes).toBe(fs.statSync(file).size);
      expect(out.bytes).toBeGreaterThan(0);
      expect(out.tables).toEqual(plan.tables);
      expect(fs.existsSync(`${file}.partial`)).toBe(false);
      const users = readOnly(file, (db) => db.prepare('SELECT email FROM users ORDER BY id').all());
      expect(users).toEqual([
        { email: 'alice@example.com' },
        { email: 'bob@example.com' },
        { email: 'carol@example.com' },
      ]);
    });
  });

  it('takes incremental as a full copy and says so', async () => {
    await withTools(async ({ tool }) => {
      const out = await run(tool('database_backup'), 'apply', {
        database: 'staging',
        backup_type: 'incremental',
      });
      expect(out.note).toBe('incremental is taken as a full copy in the demo target');
      expect(out.backup_file).toMatch(/staging-incremental-default-execution_1\.sqlite$/);
    });
  });
});

describe('database_migration (inline)', () => {
  const addActive = {
    table: 'users',
    operation: 'add_column',
    column_name: 'is_active',
    column_type: 'boolean',
    default_value: true,
  };

  it('plan changes nothing; apply adds the column', async () => {
    await withTools(async ({ dir, tool }) => {
      const db = path.join(dir, 'demo-target', 'production.sqlite');
      await run(tool('database_backup'), 'apply', { database: 'production', backup_type: 'full' }); // creates it
      const migration = tool('database_migration');

      const plan = await run(migration, 'plan', addActive);
      expect(plan).toMatchObject({
        shape: 'inline',
        database: 'production',
        statements: ['ALTER TABLE "users" ADD COLUMN "is_active" INTEGER DEFAULT 1'],
        checks: { table_exists: true, column_exists: false, row_count: 3, trial_run: 'ok' },
      });
      expect(plan.would_fail).toBeUndefined();
      expect(columns(db, 'users').map((c) => c.name)).not.toContain('is_active');

      const out = await run(migration, 'apply', addActive);
      expect(out.applied_statements).toEqual(plan.statements);
      expect(columns(db, 'users')).toContainEqual({ name: 'is_active', type: 'INTEGER' });
      const values = readOnly(db, (d) =>
        d.prepare('SELECT DISTINCT is_active AS v FROM users').all(),
      );
      expect(values).toEqual([{ v: 1 }]);

      const again = await run(migration, 'plan', addActive);
      expect(again.would_fail).toMatch(/column "is_active" already exists/);
      await expect(run(migration, 'apply', addActive)).rejects.toThrow(/already exists/);
    });
  });

  it('reports a missing table in the plan and throws on apply', async () => {
    await withTools(async ({ tool }) => {
      const migration = tool('database_migration');
      const params = { ...addActive, table: 'orders' };
      const plan = await run(migration, 'plan', params);
      expect(plan.would_fail).toMatch(/table "orders" does not exist in database "production"/);
      await expect(run(migration, 'apply', params)).rejects.toThrow(
        /table "orders" does not exist/,
      );
    });
  });

  it('adds a timestamp with CURRENT_TIMESTAMP by backfilling existing rows', async () => {
    await withTools(async ({ dir, tool }) => {
      const migration = tool('database_migration');
      const params = {
        table: 'users',
        operation: 'add_column',
        column_name: 'verified_at',
        column_type: 'timestamp',
        default_value: 'CURRENT_TIMESTAMP',
      };
      const plan = await run(migration, 'plan', params);
      expect(plan.statements).toEqual([
        'ALTER TABLE "users" ADD COLUMN "verified_at" TEXT',
        'UPDATE "users" SET "verified_at" = CURRENT_TIMESTAMP',
      ]);
      expect(JSON.stringify(plan.notes)).toMatch(/backfill/);
      expect(plan.database_exists).toBe(false);
      expect(fs.existsSync(path.join(dir, 'demo-target'))).toBe(false);

      const out = await run(migration, 'apply', params);
      expect(out.rows_backfilled).toBe(3);
      const db = path.join(dir, 'demo-target', 'production.sqlite');
      const rows = readOnly(
        db,
        (d) => d.prepare('SELECT verified_at FROM users').all() as { verified_at: string | null }[],
      );
      expect(rows).toHaveLength(3);
      for (const r of rows) expect(r.verified_at).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    });
  });
});

describe('database_migration (versioned)', () => {
  const params = {
    version: '2.1.0',
    rollback_plan: 'enabled',
    maintenance_window: '2:00-4:00 AM UTC',
    notification_channels: ['slack', 'email'],
  };

  it('applies 2.1.0 once and records it; a second apply throws "already applied"', async () => {
    await withTools(async ({ dir, tool }) => {
      const migration = tool('database_migration');
      const plan = await run(migration, 'plan', params);
      expect(plan).toMatchObject({
        shape: 'versioned',
        version: '2.1.0',
        checks: { already_applied: false, trial_run: 'ok' },
      });
      expect(plan.would_fail).toBeUndefined();

      const out = await run(migration, 'apply', params);
      expect(out).toMatchObject({
        shape: 'versioned',
        database: 'production',
        version: '2.1.0',
        rollback_available: true,
      });
      expect(out.applied_statements).toEqual(plan.statements);

      const db = path.join(dir, 'demo-target', 'production.sqlite');
      expect(columns(db, 'users').map((c) => c.name)).toContain('last_login');
      expect(columns(db, 'feature_flags').length).toBeGreaterThan(0);
      const row = readOnly(db, (d) =>
        d.prepare('SELECT * FROM schema_migrations WHERE version = ?').get('2.1.0'),
      ) as Record<string, string | null>;
      expect(row.maintenance_window).toBe('2:00-4:00 AM UTC');
      expect(JSON.parse(row.notification_channels ?? 'null')).toEqual(['slack', 'email']);
      expect(row.rollback_sql).toMatch(/DROP TABLE feature_flags/);

      const again = await run(migration, 'plan', params);
      expect(again.would_fail).toMatch(/already applied/);
      await expect(run(migration, 'apply', params)).rejects.toThrow(/already applied/);
    });
  });

  it('trial-runs the migration on a copy and reports what would fail', async () => {
    await withTools(async ({ tool }) => {
      const migration = tool('database_migration');
      await run(migration, 'apply', {
        table: 'users',
        operation: 'add_column',
        column_name: 'last_login',
        column_type: 'text',
      });
      const plan = await run(migration, 'plan', params);
      expect(plan.checks).toMatchObject({ already_applied: false, trial_run: 'failed' });
      expect(plan.would_fail).toMatch(/duplicate column name: last_login/);
      await expect(run(migration, 'apply', params)).rejects.toThrow(/duplicate column name/);
      expect(await run(migration, 'plan', params)).toMatchObject({
        checks: { applied_versions: [] },
      });
    });
  });

  it('records no rollback SQL when rollback_plan is disabled', async () => {
    await withTools(async ({ tool }) => {
      const out = await run(tool('database_migration'), 'apply', {
        version: '2.0.0',
        rollback_plan: 'disabled',
      });
      expect(out.rollback_available).toBe(false);
    });
  });

  it('names the known versions for an unknown one', async () => {
    await withTools(async ({ tool }) => {
      const migration = tool('database_migration');
      const p = { version: '9.9.9', rollback_plan: 'enabled' };
      const plan = await run(migration, 'plan', p);
      expect(plan.would_fail).toMatch(
        /unknown migration version "9\.9\.9"; known versions: 2\.0\.0, 2\.1\.0/,
      );
      await expect(run(migration, 'apply', p)).rejects.toThrow(/known versions: 2\.0\.0, 2\.1\.0/);
    });
  });
});

describe('send_notification', () => {
  it('queues one outbox row per idempotency key and POSTs it to the webhook', async () => {
    await withServer(200, async (url, bodies, headers) => {
      await withTools(
        async ({ dir, tool }) => {
          const send = tool('send_notification');
          const params = { channel: 'slack', message: 'Database migration starting in 5 minutes' };
          const plan = await run(send, 'plan', params);
          expect(plan.already_queued).toBeNull();
          expect(plan.webhook).toMatchObject({ configured: true, would_post: true });
          expect(bodies).toHaveLength(0);

          const out = await run(send, 'apply', params);
          expect(out).toMatchObject({ delivered: true, webhook_status: 200, repeated: false });
          expect(bodies).toEqual([
            {
              channel: 'slack',
              recipient: null,
              message: 'Database migration starting in 5 minutes',
              idempotency_key: 'default:proposal_1:v1',
              workflow_id: 'workflow_1',
              proposal_id: 'proposal_1',
            },
          ]);
          expect(headers[0]?.['content-type']).toBe('application/json');

          const repeat = await run(send, 'apply', params);
          expect(repeat).toMatchObject({
            outbox_id: out.outbox_id,
            delivered: true,
            repeated: true,
          });
          expect(bodies).toHaveLength(1);

          const ops = path.join(dir, 'demo-target', 'ops.sqlite');
          const rows = readOnly(ops, (d) => d.prepare('SELECT * FROM outbox').all()) as Record<
            string,
            unknown
          >[];
          expect(rows).toHaveLength(1);
          expect(rows[0]).toMatchObject({
            idempotency_key: 'default:proposal_1:v1',
            channel: 'slack',
            delivery_status: 'delivered',
          });

          await run(send, 'apply', params, { ...ctx, idempotency_key: 'default:proposal_2:v1' });
          expect(readOnly(ops, (d) => d.prepare('SELECT COUNT(*) AS n FROM outbox').get())).toEqual(
            { n: 2 },
          );
        },
        { webhookUrl: url },
      );
    });
  });

  it('reports delivered:false when the webhook answers 500, and keeps the outbox row', async () => {
    await withServer(500, async (url, bodies) => {
      await withTools(
        async ({ dir, tool }) => {
          const out = await run(tool('send_notification'), 'apply', {
            recipient: 'oncall@example.com',
            message: 'hi',
          });
          expect(out).toMatchObject({
            delivered: false,
            webhook_status: 500,
            delivery_status: 'failed: HTTP 500',
          });
          expect(bodies).toHaveLength(1);
          const ops = path.join(dir, 'demo-target', 'ops.sqlite');
          expect(
            readOnly(ops, (d) =>
              d.prepare('SELECT delivery_status, delivered_at FROM outbox').all(),
            ),
          ).toEqual([{ delivery_status: 'failed: HTTP 500', delivered_at: null }]);
        },
        { webhookUrl: url },
      );
    });
  });

  it('reports delivered:false when the injected fetch fails, and retries on a repeat', async () => {
    const dir = tempDir();
    let calls = 0;
    const demo = createDemoTools({
      dataDir: dir,
      webhookUrl: 'https://hooks.example.com/secret-token',
      fetch: () => {
        calls += 1;
        return Promise.reject(
          new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') }),
        );
      },
    });
    try {
      const send = demo.tools.find((t) => t.name === 'send_notification')!;
      const out = await run(send, 'apply', { channel: 'pagerduty', message: 'down' });
      expect(out).toMatchObject({ delivered: false, webhook_status: null });
      expect(out.delivery_status).toBe('failed: fetch failed (connect ECONNREFUSED)');
      const repeat = await run(send, 'apply', { channel: 'pagerduty', message: 'down' });
      expect(repeat).toMatchObject({ outbox_id: out.outbox_id, delivered: false, repeated: true });
      expect(calls).toBe(2);
    } finally {
      demo.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without a webhook, queues only and reports delivered:null', async () => {
    await withTools(async ({ tool }) => {
      const out = await run(tool('send_notification'), 'apply', {
        channel: 'email',
        message: 'hi',
      });
      expect(out).toMatchObject({
        delivered: null,
        webhook_status: null,
        delivery_status: 'queued',
      });
    });
  });
});

describe('update_status', () => {
  it('upserts the workflow status and returns the previous one', async () => {
    await withTools(async ({ tool }) => {
      const update = tool('update_status');
      expect(await run(update, 'plan', { status: 'in_progress' })).toMatchObject({
        from: null,
        to: 'in_progress',
        would_change: true,
      });
      expect(await run(update, 'apply', { status: 'in_progress' })).toMatchObject({
        workflow_id: 'workflow_1',
        status: 'in_progress',
        previous_status: null,
      });
      expect(await run(update, 'plan', { status: 'done', note: 'all good' })).toMatchObject({
        from: 'in_progress',
        to: 'done',
      });
      expect(await run(update, 'apply', { status: 'done', note: 'all good' })).toMatchObject({
        status: 'done',
        previous_status: 'in_progress',
      });
      expect(update.idempotent).toBe(true);
    });
  });
});

describe('config_set', () => {
  const pool = { service: 'checkout-api', key: 'db.pool_size' };
  const configFile = (dir: string, service = 'checkout-api') =>
    path.join(dir, 'demo-target', 'config', `${service}.json`);

  it('plans without writing, then writes the file and reports the previous value', async () => {
    await withTools(async ({ dir, tool }) => {
      const set = tool('config_set');
      expect(set.risk).toBe('write');
      expect(set.idempotent).toBe(false);
      const plan = await run(set, 'plan', { ...pool, value: '20' });
      expect(plan).toEqual({
        ...pool,
        current: null,
        value: '20',
        would_change: true,
        file: configFile(dir),
        file_exists: false,
      });
      expect(fs.existsSync(path.join(dir, 'demo-target'))).toBe(false);

      const out = await run(set, 'apply', { ...pool, value: '20' });
      expect(out).toEqual({
        ...pool,
        previous: null,
        value: '20',
        file: configFile(dir),
        changed_at: ctx.now,
      });
      const second = await run(set, 'apply', { ...pool, value: '30', expect_previous: '20' });
      expect(second.previous).toBe('20');
      await run(set, 'apply', { service: 'checkout-api', key: 'a.first', value: 'x' });
      expect(fs.readFileSync(configFile(dir), 'utf8')).toBe(
        '{\n  "a.first": "x",\n  "db.pool_size": "30"\n}\n',
      );
      expect(fs.readdirSync(path.dirname(configFile(dir)))).toEqual(['checkout-api.json']);
      expect(await run(set, 'plan', { ...pool, value: '30' })).toMatchObject({
        current: '30',
        would_change: false,
        file_exists: true,
      });
    });
  });

  it('refuses a stale expect_previous with a readable message and changes nothing', async () => {
    await withTools(async ({ dir, tool }) => {
      const set = tool('config_set');
      await run(set, 'apply', { ...pool, value: '20' });
      const before = fs.readFileSync(configFile(dir), 'utf8');
      const stale = { ...pool, value: '40', expect_previous: '10' };
      const message =
        'config checkout-api.db.pool_size: expected previous value "10", actual "20"; nothing was changed';
      await expect(run(set, 'apply', stale)).rejects.toThrow(message);
      expect(fs.readFileSync(configFile(dir), 'utf8')).toBe(before);
      const plan = await run(set, 'plan', stale);
      expect(plan).toMatchObject({ current: '20', expect_previous: '10', would_fail: message });
    });
  });

  it('takes a null expectation as "must be unset"', async () => {
    await withTools(async ({ tool }) => {
      const set = tool('config_set');
      const flag = { service: 'search', key: 'feature.fuzzy', value: 'on', expect_previous: null };
      expect((await run(set, 'plan', flag)).would_fail).toBeUndefined();
      expect(await run(set, 'apply', flag)).toMatchObject({ previous: null, value: 'on' });
      const again = { ...flag, value: 'off' };
      expect((await run(set, 'plan', again)).would_fail).toMatch(
        /expected previous value unset, actual "on"/,
      );
      await expect(run(set, 'apply', again)).rejects.toThrow(
        /config search\.feature\.fuzzy: expected previous value unset, actual "on"/,
      );
    });
  });

  it('stores keys such as __proto__ as plain data', async () => {
    await withTools(async ({ dir, tool }) => {
      const set = tool('config_set');
      await run(set, 'apply', { service: 'edge', key: '__proto__', value: 'x' });
      expect(
        await run(set, 'plan', { service: 'edge', key: 'constructor', value: 'y' }),
      ).toMatchObject({
        current: null,
      });
      const stored = JSON.parse(fs.readFileSync(configFile(dir, 'edge'), 'utf8')) as object;
      expect(Object.getOwnPropertyDescriptor(stored, '__proto__')?.value).toBe('x');
    });
  });

  it('reports a corrupt config file in the plan and throws on apply', async () => {
    await withTools(async ({ dir, tool }) => {
      fs.mkdirSync(path.dirname(configFile(dir)), { recursive: true });
      fs.writeFileSync(configFile(dir), '{"db.pool_size": 20}');
      const set = tool('config_set');
      expect((await run(set, 'plan', { ...pool, value: '1' })).would_fail).toMatch(
        /the value of "db\.pool_size" is not a string/,
      );
      await expect(run(set, 'apply', { ...pool, value: '1' })).rejects.toThrow(/not a string/);
      fs.writeFileSync(configFile(dir), '{oops');
      await expect(run(set, 'apply', { ...pool, value: '1' })).rejects.toThrow(/not valid JSON/);
      expect(fs.readFileSync(configFile(dir), 'utf8')).toBe('{oops');
    });
  });
});

describe('validate()', () => {
  const tools = createDemoTools({ dataDir: path.join(os.tmpdir(), 'cs-tools-never-created') });
  const tool = (name: string) => tools.tools.find((t) => t.name === name)!;
  afterAll(() => tools.close());
  const paths = (name: string, params: unknown) => {
    const v = tool(name).validate(params);
    return v.ok ? [] : v.issues.map((i) => i.path);
  };

  it('names the bad fields of each shape', () => {
    expect(
      paths('database_migration', {
        table: 'users',
        operation: 'add_column',
        column_name: 'x',
        column_type: 'bool',
      }),
    ).toEqual(['column_type']);
    expect(
      paths('database_migration', {
        table: 'users; DROP TABLE users',
        operation: 'add_column',
        column_name: 'x',
        column_type: 'text',
      }),
    ).toEqual(['table']);
    expect(
      paths('database_migration', {
        table: 'users',
        operation: 'add_column',
        column_name: 'x',
        column_type: 'integer',
        default_value: 'abc',
      }),
    ).toEqual(['default_value']);
    expect(paths('database_migration', { version: '2.1', rollback_plan: 'maybe' })).toEqual([
      'version',
      'rollback_plan',
    ]);
    expect(
      paths('database_migration', {
        version: '2.1.0',
        rollback_plan: 'enabled',
        notification_channels: ['sms'],
      }),
    ).toEqual(['notification_channels.0']);
    expect(
      paths('database_backup', { database: '../etc', backup_type: 'full', extra: 1 }).sort(),
    ).toEqual(['', 'database']);
    expect(paths('send_notification', { message: 'hi' })).toEqual(['recipient']);
    expect(paths('update_status', { status: '' })).toEqual(['status']);
    expect(
      paths('config_set', {
        service: 'Checkout API',
        key: 'a/b',
        value: 'x'.repeat(2001),
        extra: 1,
      }).sort(),
    ).toEqual(['', 'key', 'service', 'value']);
    expect(paths('config_set', { service: 'api', key: 'k' })).toEqual(['value']);
    expect(
      paths('config_set', { service: 'api', key: 'k', value: 'v', expect_previous: 5 }),
    ).toEqual(['expect_previous']);
    expect(
      paths('config_set', { service: 'api', key: 'k', value: '', expect_previous: null }),
    ).toEqual([]);
  });

  it('explains a call that mixes or misses both migration shapes', () => {
    const mixed = tool('database_migration').validate({ table: 'users', version: '2.1.0' });
    expect(mixed.ok).toBe(false);
    if (!mixed.ok)
      expect(mixed.issues[0]?.message).toMatch(
        /mixes the inline shape \(table\) with the versioned shape \(version\)/,
      );
    const neither = tool('database_migration').validate({});
    if (!neither.ok) expect(neither.issues[0]?.message).toMatch(/rollback_plan/);
    expect(fs.existsSync(path.join(os.tmpdir(), 'cs-tools-never-created'))).toBe(false);
  });

  it('publishes every migration shape as JSON Schema', () => {
    const schema = tool('database_migration').inputSchema as { anyOf?: { required?: string[] }[] };
    expect(schema.anyOf?.map((s) => s.required)).toEqual([
      ['table', 'operation', 'column_name', 'column_type'],
      ['table', 'operation', 'column_name', 'column_type', 'value'],
      ['table', 'operation', 'column_name'],
      ['version', 'rollback_plan'],
    ]);
  });
});

describe('database_migration: backfill_column and drop_column', () => {
  it('backfills only NULL rows, trial-running first; running it again changes nothing', () =>
    withTools(async ({ dir, tool }) => {
      const migration = tool('database_migration');
      await run(migration, 'apply', {
        table: 'users',
        operation: 'add_column',
        column_name: 'email_verified',
        column_type: 'boolean',
      });
      const backfill = {
        table: 'users',
        operation: 'backfill_column',
        column_name: 'email_verified',
        column_type: 'boolean',
        value: false,
      };
      const plan = await run(migration, 'plan', backfill);
      expect(plan).toMatchObject({
        statements: ['UPDATE "users" SET "email_verified" = 0 WHERE "email_verified" IS NULL'],
        checks: { column_exists: true, rows_to_backfill: 3, trial_run: 'ok' },
      });
      expect(plan.would_fail).toBeUndefined();
      const file = path.join(dir, 'demo-target', 'production.sqlite');
      const nulls = () =>
        readOnly(
          file,
          (db) =>
            (
              db.prepare('SELECT COUNT(*) AS n FROM users WHERE email_verified IS NULL').get() as {
                n: number;
              }
            ).n,
        );
      expect(nulls()).toBe(3);
      expect(await run(migration, 'apply', backfill)).toMatchObject({ rows_backfilled: 3 });
      expect(nulls()).toBe(0);
      expect(await run(migration, 'apply', backfill)).toMatchObject({ rows_backfilled: 0 });
      // A value that does not fit the column type is refused before anything runs.
      const bad = migration.validate({ ...backfill, value: 'maybe' });
      expect(bad.ok).toBe(false);
    }));

  it('plans a backfill of a missing column as would_fail, not a throw', () =>
    withTools(async ({ tool }) => {
      const plan = await run(tool('database_migration'), 'plan', {
        table: 'users',
        operation: 'backfill_column',
        column_name: 'nope',
        column_type: 'integer',
        value: 1,
      });
      expect(plan.would_fail).toContain('column "nope" does not exist');
    }));

  it('answers WRITE_NOT_IMPLEMENTED for a column drop: the plan says so, apply refuses, nothing changes', () =>
    withTools(async ({ dir, tool }) => {
      const migration = tool('database_migration');
      const drop = { table: 'users', operation: 'drop_column', column_name: 'email' };
      const plan = await run(migration, 'plan', drop);
      expect(plan).toMatchObject({
        code: 'WRITE_NOT_IMPLEMENTED',
        operation: 'drop_column',
        checks: { table_exists: true, column_exists: true },
      });
      expect(plan.deferred_to).toEqual(expect.stringContaining('drop columns'));
      await expect(run(migration, 'apply', drop)).rejects.toMatchObject({
        code: 'WRITE_NOT_IMPLEMENTED',
      });
      const file = path.join(dir, 'demo-target', 'production.sqlite');
      if (fs.existsSync(file)) expect(columns(file, 'users').map((c) => c.name)).toContain('email');
      // A drop never carries an add's fields.
      expect(migration.validate({ ...drop, column_type: 'text' }).ok).toBe(false);
    }));
});
