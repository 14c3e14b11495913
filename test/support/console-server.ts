import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve('bin/countersign.js');

export interface DemoServer {
  readonly url: string;
  /** Token per demo person's name (Alice, Bob, Carol, Dana) and "operator". */
  readonly tokens: Readonly<Record<string, string>>;
  readonly output: () => string;
  stop(): Promise<void>;
}

/**
 * Spawns the built `countersign serve --demo --port 0` on a data directory and reads the URL
 * and the demo people's tokens from its banner. Run `npm run build` first.
 */
export async function startDemoServer(dataDir: string): Promise<DemoServer> {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--demo', '--port', '0'], {
    env: { ...process.env, COUNTERSIGN_DATA_DIR: dataDir, PORT: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!/Waiting: proposal/.test(out)) {
    if (child.exitCode !== null) throw new Error(`serve --demo exited early:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`serve --demo printed no banner in 30 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = /Countersign listening on (http:\/\/\S+)/.exec(out)?.[1];
  if (!url) throw new Error(`no URL in the banner:\n${out}`);
  const tokens: Record<string, string> = {};
  for (const m of out.matchAll(/^ {2}(\w+) \([^)]*\)\s+(cs_\S+)$/gm)) tokens[m[1]!] = m[2]!;
  return {
    url,
    tokens,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
