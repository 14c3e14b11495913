/**
 * What Countersign creates in its data directory is private: directories 0700, files 0600,
 * whatever the umask. Checked with fs.statSync on a real SQLite store, the demo target's files
 * and the built `countersign` binary run under `umask 000` (run `npm run build` first).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createPrivateFile,
  makePrivateDir,
  writePrivateFile,
} from '../src/adapters/private-files.js';
import { openSqliteStore } from '../src/adapters/store/open-store.js';
import { createDemoTools } from '../src/adapters/tools/demo-tools.js';
import type { ToolContext } from '../src/core/ports/tools.js';

const POSIX = process.platform !== 'win32';
const BIN = path.resolve('bin/countersign.js');

const mode = (p: string) => fs.statSync(p).mode & 0o777;
const octal = (p: string) => `${path.basename(p)} ${mode(p).toString(8)}`;

const temps: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-perms-'));
  temps.push(d);
  return d;
}
afterAll(() => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

/** Every directory and file under `root`, as "name mode" lines, the root itself excluded. */
function modesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      out.push(`${path.relative(root, p)} ${mode(p).toString(8)}`);
      if (entry.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out.sort();
}

describe.runIf(POSIX)('private files under the most permissive umask', () => {
  let saved: number;
  beforeEach(() => {
    saved = process.umask(0o000);
  });
  afterEach(() => {
    process.umask(saved);
  });

  it('creates the data directory (and missing parents) 0700 and the database, -wal, -shm 0600', async () => {
    const base = tempDir();
    const dataDir = path.join(base, 'a', 'b', '.countersign');
    const file = path.join(dataDir, 'countersign.sqlite');
    const store = await openSqliteStore(file);
    try {
      // WAL: both side files exist while the store is open.
      expect([file, `${file}-wal`, `${file}-shm`].map(octal)).toEqual([
        'countersign.sqlite 600',
        'countersign.sqlite-wal 600',
        'countersign.sqlite-shm 600',
      ]);
      expect(['a', 'a/b', 'a/b/.countersign'].map((d) => octal(path.join(base, d)))).toEqual([
        'a 700',
        'b 700',
        '.countersign 700',
      ]);
    } finally {
      await store.close();
    }
    // The existing parent the user made is untouched.
    expect(mode(base)).toBe(0o700); // mkdtemp's own mode
  });

  it('leaves a directory the user made, and a database that exists, as they are', async () => {
    const dataDir = tempDir();
    fs.chmodSync(dataDir, 0o750);
    const file = path.join(dataDir, 'countersign.sqlite');
    const store = await openSqliteStore(file);
    await store.close();
    expect(mode(dataDir)).toBe(0o750);
    expect(mode(file)).toBe(0o600);
    // An existing database keeps the mode its owner gave it; SQLite gives -wal and -shm the same.
    fs.chmodSync(file, 0o640);
    const again = await openSqliteStore(file);
    try {
      expect([file, `${file}-wal`, `${file}-shm`].map(mode)).toEqual([0o640, 0o640, 0o640]);
    } finally {
      await again.close();
    }
  });

  it('makes the demo target’s directories, databases, backups and config files private', async () => {
    const dataDir = tempDir();
    const demo = createDemoTools({ dataDir });
    const ctx: ToolContext = {
      tenant_id: 'default',
      workflow_id: 'workflow_1',
      proposal_id: 'proposal_1',
      execution_id: 'execution_1',
      idempotency_key: 'default:proposal_1:v1',
      now: '2026-01-01T00:00:05.000Z',
    };
    const apply = async (name: string, params: unknown) => {
      const tool = demo.tools.find((t) => t.name === name)!;
      const v = tool.validate(params);
      if (!v.ok) throw new Error(JSON.stringify(v.issues));
      return tool.apply(v.value, ctx);
    };
    try {
      await apply('database_backup', { database: 'production', backup_type: 'full' });
      await apply('config_set', { service: 'checkout-api', key: 'pool', value: '20' });
      await apply('update_status', { status: 'planned' });
      const all = modesUnder(dataDir);
      expect(all).toEqual(
        expect.arrayContaining([
          'demo-target 700',
          'demo-target/backups 700',
          'demo-target/config 700',
          'demo-target/production.sqlite 600',
          'demo-target/ops.sqlite 600',
          'demo-target/backups/production-full-default-execution_1.sqlite 600',
          'demo-target/config/checkout-api.json 600',
        ]),
      );
      expect(all.filter((l) => !/ (600|700)$/.test(l))).toEqual([]);
    } finally {
      demo.close();
    }
  });

  it('creates files and directories exactly private, and leaves existing ones alone', () => {
    const base = tempDir();
    makePrivateDir(path.join(base, 'x', 'y'));
    expect([mode(path.join(base, 'x')), mode(path.join(base, 'x', 'y'))]).toEqual([0o700, 0o700]);
    fs.chmodSync(path.join(base, 'x'), 0o755);
    makePrivateDir(path.join(base, 'x', 'y'));
    expect(mode(path.join(base, 'x'))).toBe(0o755);

    const file = path.join(base, 'f');
    expect(createPrivateFile(file)).toBe(true);
    expect(mode(file)).toBe(0o600);
    fs.chmodSync(file, 0o644);
    expect(createPrivateFile(file)).toBe(false);
    expect(mode(file)).toBe(0o644);

    const written = path.join(base, 'w.json');
    fs.writeFileSync(written, 'old', { mode: 0o666 });
    writePrivateFile(written, 'new');
    expect([fs.readFileSync(written, 'utf8'), mode(written)]).toEqual(['new', 0o600]);
  });
});

describe.runIf(POSIX)('the countersign binary', () => {
  it('under umask 000 still creates its data directory 0700 and its files 0600', () => {
    const base = tempDir();
    const dataDir = path.join(base, 'fresh', '.countersign');
    const r = spawnSync(
      '/bin/sh',
      ['-c', 'umask 000 && exec "$0" "$@"', process.execPath, BIN, 'audit', 'verify'],
      {
        env: { ...process.env, COUNTERSIGN_DATA_DIR: dataDir, COUNTERSIGN_DATABASE_URL: '' },
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(mode(path.join(base, 'fresh'))).toBe(0o700);
    expect(mode(dataDir)).toBe(0o700);
    const entries = modesUnder(dataDir);
    expect(entries).toContain('countersign.sqlite 600');
    expect(entries.filter((l) => !/ (600|700)$/.test(l))).toEqual([]);
  });
});
