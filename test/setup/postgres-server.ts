/**
 * A throwaway PostgreSQL server for tests and benchmarks: initdb into a fresh temp dir, started on
 * a free port of 127.0.0.1 (trust auth, fsync off), removed again by `stop()`. As root, every
 * PostgreSQL binary runs as the `postgres` system user via runuser.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import pg from 'pg';

export const TEST_DATABASE = 'countersign_test';
const START_TIMEOUT_MS = 30_000;
const NOT_INSTALLED =
  'PostgreSQL is required for the store tests: install it (apt-get install postgresql) or set COUNTERSIGN_TEST_DATABASE_URL';

interface RunAs {
  /** Prefix that runs a command as the server's OS user (empty when not root). */
  prefix: string[];
  uid: number;
  gid: number;
}

export function findPgBinDir(): string | undefined {
  const has = (dir: string): boolean =>
    !!dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
  const pgBin = process.env.PG_BIN;
  if (pgBin) {
    if (has(pgBin)) return pgBin;
    throw new Error(`PG_BIN=${pgBin} does not contain initdb and postgres`);
  }
  const fromPgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const configured = fromPgConfig.status === 0 ? fromPgConfig.stdout.trim() : '';
  if (has(configured)) return configured;
  // Debian/Ubuntu: pg_config (libpq-dev) may be absent or point elsewhere; pick the newest server.
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((v) => has(join(debian, v, 'bin')))
      .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
    if (versions[0]) return join(debian, versions[0], 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (has(dir)) return dir;
  return undefined;
}

function resolveRunAs(): RunAs {
  const uid = process.getuid?.() ?? -1;
  if (uid !== 0) return { prefix: [], uid, gid: process.getgid?.() ?? -1 };
  // PostgreSQL refuses to run as root: use the postgres system user.
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const u = id('-u');
  const g = id('-g');
  if (u.status !== 0 || g.status !== 0) {
    throw new Error(
      'Running as root, but there is no `postgres` OS user to run the test server as',
    );
  }
  return {
    prefix: ['runuser', '-u', 'postgres', '--'],
    uid: Number(u.stdout),
    gid: Number(g.stdout),
  };
}

/** The environment without PG* variables (PGDATA, PGPORT, PGHOST... must not leak in). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { LC_ALL: 'C' };
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('PG') && k !== 'LC_ALL') env[k] = v;
  return env;
}

function spawnAs(runAs: RunAs, cwd: string, cmd: string, args: string[], timeoutMs: number) {
  const [file, ...rest] = [...runAs.prefix, cmd, ...args] as [string, ...string[]];
  return spawnSync(file, rest, { cwd, env: cleanEnv(), encoding: 'utf8', timeout: timeoutMs });
}

function run(runAs: RunAs, cwd: string, cmd: string, args: string[], timeoutMs = 60_000): string {
  const r = spawnAs(runAs, cwd, cmd, args, timeoutMs);
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit ${r.status}${r.signal ? ` (${r.signal})` : ''}`;
    throw new Error(
      `${cmd} ${args.join(' ')} failed: ${why}\n${r.stdout ?? ''}${r.stderr ?? ''}`.trim(),
    );
  }
  return r.stdout;
}

/** os.tmpdir(), unless the server's user cannot traverse it (e.g. TMPDIR=/root/tmp as root). */
function reachableTmpdir(runAs: RunAs): string {
  const dir = tmpdir();
  if (!runAs.prefix.length) return dir;
  return spawnAs(runAs, '/', 'test', ['-x', dir], 10_000).status === 0 ? dir : '/tmp';
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

async function waitForConnection(url: string, deadline: number): Promise<void> {
  let last: unknown;
  while (Date.now() < deadline) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query('select 1');
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.end().catch(() => {});
    }
  }
  throw new Error(
    `PostgreSQL did not accept connections within ${START_TIMEOUT_MS} ms: ${String(last)}`,
  );
}

export async function startThrowawayServer(): Promise<{ url: string; stop: () => Promise<void> }> {
  const started = Date.now();
  const bin = findPgBinDir();
  if (!bin) throw new Error(NOT_INSTALLED);
  const runAs = resolveRunAs();

  // <tmp>/countersign-pg-XXXX/{data,server.log,.s.PGSQL.*}, all owned by the server's user.
  const base = mkdtempSync(join(reachableTmpdir(runAs), 'countersign-pg-'));
  const data = join(base, 'data');
  const log = join(base, 'server.log');
  mkdirSync(data, { mode: 0o700 });
  if (runAs.prefix.length) {
    chmodSync(base, 0o755);
    chownSync(base, runAs.uid, runAs.gid);
    chownSync(data, runAs.uid, runAs.gid);
  }

  let running = false;
  const stopSync = () => {
    if (running) {
      const args = ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop'];
      const r = spawnAs(runAs, base, join(bin, 'pg_ctl'), args, 40_000);
      if (r.status !== 0) killFromPidFile(data);
      running = false;
    }
    rmSync(base, { recursive: true, force: true });
  };
  // Safety net if vitest exits without calling the teardown (e.g. a crash in another hook).
  process.once('exit', stopSync);

  try {
    run(runAs, base, join(bin, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    // Trust only the unix socket and 127.0.0.1 (initdb's default also trusts ::1 and replication).
    const hba = join(data, 'pg_hba.conf');
    writeFileSync(hba, 'local all all trust\nhost all all 127.0.0.1/32 trust\n', { mode: 0o600 });
    if (runAs.prefix.length) chownSync(hba, runAs.uid, runAs.gid);

    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const opts = [
        `-p ${port}`,
        `-k '${base}'`,
        '-c listen_addresses=127.0.0.1',
        '-c fsync=off',
        '-c full_page_writes=off',
        '-c synchronous_commit=off',
        '-c max_connections=200',
      ].join(' ');
      try {
        run(
          runAs,
          base,
          join(bin, 'pg_ctl'),
          ['-D', data, '-l', log, '-o', opts, '-w', '-t', String(START_TIMEOUT_MS / 1000), 'start'],
          START_TIMEOUT_MS + 10_000,
        );
        running = true;
        break;
      } catch (err) {
        running = existsSync(join(data, 'postmaster.pid'));
        if (running) throw err;
        // Most likely somebody grabbed the port in between: try another one.
        if (attempt >= 3) {
          const tail = existsSync(log)
            ? readFileSync(log, 'utf8').split('\n').slice(-20).join('\n')
            : '';
          throw new Error(`${(err as Error).message}\nserver log:\n${tail}`, { cause: err });
        }
      }
    }

    const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    await waitForConnection(adminUrl, Date.now() + START_TIMEOUT_MS);
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${TEST_DATABASE}`);
    } finally {
      await admin.end();
    }
    console.log(
      `[postgres] throwaway server on 127.0.0.1:${port} (${bin}) ready in ${((Date.now() - started) / 1000).toFixed(2)} s`,
    );

    return {
      url: `postgres://postgres@127.0.0.1:${port}/${TEST_DATABASE}`,
      stop: () => {
        process.removeListener('exit', stopSync);
        stopSync();
        return Promise.resolve();
      },
    };
  } catch (err) {
    process.removeListener('exit', stopSync);
    stopSync();
    throw err;
  }
}

function killFromPidFile(data: string): void {
  let pid: number;
  try {
    pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0) return; // never signal a process group
    process.kill(pid, 'SIGQUIT');
  } catch {
    return; // no pid file or already gone
  }
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 50; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    Atomics.wait(sleeper, 0, 0, 100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}
