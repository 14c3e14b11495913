import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { steppingClock } from '../src/core/ports/clock.js';
import { configFromEnv } from '../src/main/config.js';
import { type DemoTranscript, runDemo } from '../src/main/demo.js';
import { freshPgDatabase } from './setup/pg.js';

const BIN = path.resolve('bin/countersign.js');

function cli(args: string[], dataDir: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...process.env, COUNTERSIGN_DATA_DIR: dataDir, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("seed 002's complete example, end to end", () => {
  let dir: string;
  let t: DemoTranscript;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-seed-'));
    t = await runDemo({ ...configFromEnv({}), dataDir: dir }, { clock: steppingClock() });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs every step of the seed verbatim with the seed IDs', () => {
    const ids = t.steps.filter((s) => s.operation === 'register_actor').map((s) => s.output);
    expect(ids).toEqual([
      { actor_id: 'actor_1' },
      { actor_id: 'actor_2' },
      { actor_id: 'actor_3' },
    ]);
    const edit = t.steps.find((s) => s.step.startsWith('7.'))!.output as {
      final_tool_call: { params: unknown };
    };
    expect(edit.final_tool_call.params).toEqual({
      version: '2.1.0',
      rollback_plan: 'enabled',
      maintenance_window: '2:00-4:00 AM UTC',
      notification_channels: ['slack', 'email'],
    });
    const parallel = t.steps.find((s) => s.step.startsWith('8.'))!.output as {
      results: { status: string; proposal_id: string | null; error: { code: string } | null }[];
    };
    // The migration runs under the edit's approval (matched by hash); the unapproved notification is refused.
    expect(parallel.results.map((r) => [r.status, r.proposal_id, r.error?.code ?? null])).toEqual([
      ['succeeded', 'proposal_2', null],
      ['refused', null, 'REVIEW_REQUIRED'],
    ]);
    expect(t.steps.every((s) => s.error === undefined || s.step.startsWith('8.'))).toBe(true);
  });

  it('has real effects on the demo target: a backup file, a migrated database, an outbox row', () => {
    const target = path.join(t.dataDir, 'demo-target');
    const backups = fs
      .readdirSync(path.join(target, 'backups'))
      .filter((f) => f.endsWith('.sqlite'));
    expect(backups).toEqual(['production-full-default-execution_1.sqlite']);
    const backup = new Database(path.join(target, 'backups', backups[0]!), { readonly: true });
    expect(backup.prepare('select count(*) n from users').get()).toEqual({ n: 3 });
    // The backup was taken before the migration, so it has no feature_flags table.
    expect(
      backup.prepare("select name from sqlite_master where name = 'feature_flags'").get(),
    ).toBeUndefined();
    backup.close();
    const prod = new Database(path.join(target, 'production.sqlite'), { readonly: true });
    expect(
      prod.prepare("select name from sqlite_master where name = 'feature_flags'").get(),
    ).toEqual({ name: 'feature_flags' });
    const m = prod
      .prepare(
        'select version, maintenance_window, notification_channels, rollback_sql from schema_migrations',
      )
      .all() as Record<string, string>[];
    expect(m).toHaveLength(1);
    expect(m[0]).toMatchObject({ version: '2.1.0', maintenance_window: '2:00-4:00 AM UTC' });
    expect(m[0]!.rollback_sql).toContain('DROP TABLE');
    prod.close();
    const ops = new Database(path.join(target, 'ops.sqlite'), { readonly: true });
    expect(ops.prepare('select channel, message from outbox').all()).toEqual([
      { channel: 'slack', message: 'Database migration starting in 5 minutes' },
    ]);
    ops.close();
  });

  it('leaves a ledger that verifies, and is byte-identical with the same clock', async () => {
    expect(t.verify).toMatchObject({ ok: true, first_broken_seq: null });
    const parallel = t.ledger.find((e) => e.type === 'PARALLEL_EXECUTED')!;
    expect(parallel.data.results).toMatchObject([
      { status: 'succeeded' },
      { status: 'refused', error_code: 'REVIEW_REQUIRED' },
    ]);
    const again = await runDemo({ ...configFromEnv({}), dataDir: dir }, { clock: steppingClock() });
    expect(again.ledger.map((e) => e.hash)).toEqual(t.ledger.map((e) => e.hash));
    expect(again.verify.head).toEqual(t.verify.head);
  });
});

// Each test spawns the binary several times in a row (about a dozen processes, each opening the
// store); on a loaded machine that alone passes the default 30 s.
describe('the countersign binary', { timeout: 120_000 }, () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-cli-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs the demo and prints decisions, results and a verified ledger', () => {
    const r = cli(['demo'], dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('refused REVIEW_REQUIRED');
    expect(r.stdout).toContain('execution_2 succeeded');
    expect(r.stdout).toMatch(/ledger intact: \d+ events/);
  });

  it('drives the operations and maps errors to exit codes without a stack trace', () => {
    const data = path.join(dir, 'ops');
    expect(cli(['actor', 'register', '--name', 'Alice', '--role', 'Developer'], data).code).toBe(0);
    expect(
      cli(['actor', 'register', '--name', 'Bob', '--role', 'Senior Developer'], data).code,
    ).toBe(0);
    expect(cli(['workflow', 'start', '--title', 'T'], data).code).toBe(0);
    const propose = cli(
      [
        '--json',
        'propose',
        '--workflow',
        'workflow_1',
        '--actor',
        'actor_1',
        '--tool',
        'update_status',
        '--params',
        '{"status":"in_progress"}',
        '--reason',
        'r',
      ],
      data,
    );
    expect(propose.code).toBe(0);
    expect(JSON.parse(propose.stdout)).toMatchObject({
      proposal_id: 'proposal_1',
      status: 'pending',
    });

    const self = cli(
      ['review', 'proposal_1', '--reviewer', 'actor_1', '--decision', 'approve'],
      data,
    );
    expect(self.code).toBe(3);
    expect(self.stderr).toContain('error SELF_APPROVAL');
    expect(self.stderr).not.toMatch(/\bat .*\.js:\d+/);

    const badJson = cli(
      [
        'propose',
        '--workflow',
        'workflow_1',
        '--actor',
        'actor_1',
        '--tool',
        'update_status',
        '--params',
        '{oops',
        '--reason',
        'r',
      ],
      data,
    );
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain('--params is not valid JSON');
    expect(
      cli(['review', 'proposal_9', '--reviewer', 'actor_2', '--decision', 'approve'], data).code,
    ).toBe(4);
    expect(
      cli(['review', 'proposal_1', '--reviewer', 'actor_2', '--decision', 'maybe'], data).code,
    ).toBe(2);
    expect(cli(['frobnicate'], data).code).toBe(2);

    expect(
      cli(['review', 'proposal_1', '--reviewer', 'actor_2', '--decision', 'approve'], data).code,
    ).toBe(0);
    const ex = cli(['--json', 'execute', 'proposal_1'], data);
    expect(ex.code).toBe(0);
    expect(JSON.parse(ex.stdout)).toMatchObject({
      execution_id: 'execution_1',
      result: { status: 'succeeded' },
    });
    expect(
      (
        JSON.parse(cli(['--json', 'execute', 'proposal_1'], data).stdout) as {
          execution_id: string;
        }
      ).execution_id,
    ).toBe('execution_1');
    const help = cli(['review', '--help'], data);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Examples?:/);
    // About twenty CLI processes in a row: give a loaded machine time.
  }, 90_000);

  it('audit verify exits 5 naming the first broken seq after tampering', () => {
    const data = path.join(dir, 'tamper');
    expect(cli(['actor', 'register', '--name', 'A', '--role', 'r'], data).code).toBe(0);
    expect(cli(['workflow', 'start', '--title', 'T'], data).code).toBe(0);
    const ok = cli(['audit', 'verify'], data);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('ledger intact: 2 events');
    const db = new Database(path.join(data, 'countersign.sqlite'));
    db.exec('DROP TRIGGER ledger_events_no_update');
    db.prepare("UPDATE ledger_events SET actor = 'mallory' WHERE seq = 1").run();
    db.close();
    const bad = cli(['audit', 'verify'], data);
    expect(bad.code).toBe(5);
    expect(bad.stdout).toContain('LEDGER BROKEN at seq 1');
  });
});

describe('the countersign binary on Postgres', () => {
  it('keeps its state in the database named by COUNTERSIGN_DATABASE_URL, not the data directory', async () => {
    const db = await freshPgDatabase(inject('pgUrl'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-cli-pg-'));
    try {
      const env = { COUNTERSIGN_DATABASE_URL: db.url };
      expect(
        cli(['actor', 'register', '--name', 'Alice', '--role', 'Developer'], dir, env).code,
      ).toBe(0);
      expect(cli(['workflow', 'start', '--title', 'On Postgres'], dir, env).code).toBe(0);
      const show = cli(['--json', 'workflow', 'show', 'workflow_1'], dir, env);
      expect(show.code).toBe(0);
      expect(JSON.parse(show.stdout)).toMatchObject({ workflow: { title: 'On Postgres' } });
      expect(cli(['audit', 'verify'], dir, env).stdout).toContain('ledger intact: 2 events');
      expect(fs.existsSync(path.join(dir, 'countersign.sqlite'))).toBe(false);
      // The same data directory without the URL is a different, empty store.
      expect(cli(['workflow', 'show', 'workflow_1'], dir).code).toBe(4);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  }, 90_000); // several CLI processes, each a Node start: slow on a loaded machine
});
