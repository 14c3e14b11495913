import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';

/** `countersign worker` and the Temporal settings fail clearly, with a code and no stack trace. */
const BIN = path.resolve('bin/countersign.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-temporal-cli-'));

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, [BIN, ...args], {
    env: {
      ...process.env,
      COUNTERSIGN_DATA_DIR: dir,
      COUNTERSIGN_DATABASE_URL: '',
      COUNTERSIGN_TEMPORAL_ADDRESS: '',
      COUNTERSIGN_SERVER: '',
      ...env,
    },
    encoding: 'utf8',
    timeout: 60_000,
  });

it('worker without COUNTERSIGN_TEMPORAL_ADDRESS exits 2 naming the variable', () => {
  const r = cli(['worker'], {});
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('error VALIDATION_FAILED');
  expect(r.stderr).toContain('COUNTERSIGN_TEMPORAL_ADDRESS');
  expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
});

it('an unreachable Temporal is ENGINE_UNAVAILABLE (exit 1) for the worker and for a workflow command', () => {
  for (const args of [['worker'], ['workflow', 'runs']]) {
    const r = cli(args, { COUNTERSIGN_TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(r.status, args.join(' ')).toBe(1);
    expect(r.stderr).toContain('error ENGINE_UNAVAILABLE');
    expect(r.stderr).toContain('127.0.0.1:1');
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
  }
}, 60_000);

it('a bad heartbeat timeout is refused before anything starts', () => {
  const r = cli(['worker'], {
    COUNTERSIGN_TEMPORAL_ADDRESS: '127.0.0.1:1',
    COUNTERSIGN_TEMPORAL_HEARTBEAT_TIMEOUT_MS: 'soon',
  });
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('COUNTERSIGN_TEMPORAL_HEARTBEAT_TIMEOUT_MS');
  expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
});

it('worker --help shows what it needs and an example', () => {
  const r = cli(['worker', '--help'], {});
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('COUNTERSIGN_TEMPORAL_ADDRESS');
  expect(r.stdout).toContain('Example:');
});
