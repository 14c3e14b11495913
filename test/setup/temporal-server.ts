/**
 * A Temporal dev server for tests and benchmarks: `temporal server start-dev` (the Temporal CLI)
 * on a free port of 127.0.0.1, in memory and headless, stopped again by `stop()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Connection } from '@temporalio/client';

const START_TIMEOUT_MS = 60_000;

export function findTemporalCli(): string | undefined {
  const candidates = [
    process.env.TEMPORAL_CLI,
    ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'temporal')),
    process.env.GOBIN && join(process.env.GOBIN, 'temporal'),
    process.env.GOPATH && join(process.env.GOPATH, 'bin', 'temporal'),
    join(homedir(), 'go', 'bin', 'temporal'),
    join(homedir(), '.temporalio', 'bin', 'temporal'),
  ];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

/** Starts `temporal server start-dev` on a free port of 127.0.0.1 (in memory, headless). */
export async function startTemporalDevServer(): Promise<{
  address: string;
  stop: () => Promise<void>;
}> {
  const cli = findTemporalCli();
  if (!cli)
    throw new Error(
      'The Temporal CLI is required for the Temporal tests: `go install github.com/temporalio/cli/cmd/temporal@v1.5.1` (what .ci/run does), or see the README; or set COUNTERSIGN_TEST_TEMPORAL_ADDRESS to a running server.',
    );
  const port = await freePort();
  const child = spawn(
    cli,
    [
      'server',
      'start-dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--headless',
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const address = `127.0.0.1:${port}`;
  try {
    await waitReachable(address, START_TIMEOUT_MS, child);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(
      `temporal server start-dev did not come up: ${(e as Error).message}\n${stderr}`,
      { cause: e },
    );
  }
  return { address, stop: () => stop(child) };
}

export async function waitReachable(address: string, timeoutMs: number, child?: ChildProcess) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
    try {
      const c = await Connection.connect({ address, connectTimeout: 2_000 });
      await c.workflowService.getSystemInfo({});
      await c.close();
      return;
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`not reachable at ${address}: ${String(last)}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
