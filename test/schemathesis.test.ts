/**
 * The HTTP API against its own OpenAPI document, checked by a schema fuzzer: Schemathesis runs
 * every phase (examples, coverage, fuzzing, stateful) with every check against a real
 * `countersign serve` on a fresh data directory, once with an operator token and once with an
 * actor's, and must find nothing. Seeded and bounded by example counts, so a run is repeatable.
 *
 * Schemathesis is a Python program: `.ci/run` installs it (pinned) into a virtualenv at
 * ~/.cache/countersign/schemathesis-venv, where this test looks for it unless SCHEMATHESIS_BIN
 * names another `st`. Without it the test fails and says how to install it; it never skips.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = path.resolve('bin/countersign.js');
const HERE = path.resolve('test/schemathesis');
const SCHEMATHESIS_VERSION = '4.32.5';
const DEFAULT_ST = path.join(os.homedir(), '.cache/countersign/schemathesis-venv/bin/st');
/** Per operation and phase; with the coverage phase's own cases, ~30 s a run on 2 cores. */
const MAX_EXAMPLES = 10;
const SEED = 20261202;

function findSchemathesis(): string {
  const st = process.env.SCHEMATHESIS_BIN || DEFAULT_ST;
  if (fs.existsSync(st)) return st;
  throw new Error(
    `Schemathesis (the \`st\` command) is needed for this test and was not found at ${st}. ` +
      `Install it as .ci/run does:\n` +
      `  python3 -m venv ~/.cache/countersign/schemathesis-venv\n` +
      `  ~/.cache/countersign/schemathesis-venv/bin/pip install schemathesis==${SCHEMATHESIS_VERSION}\n` +
      `or set SCHEMATHESIS_BIN to an \`st\` of version ${SCHEMATHESIS_VERSION}.`,
  );
}

interface Server {
  readonly url: string;
  readonly operatorToken: string;
  readonly output: () => string;
  stop(): Promise<void>;
}

/** The built `countersign serve --port 0`, its URL and first operator token read from its banner. */
async function serve(dataDir: string): Promise<Server> {
  if (!fs.existsSync(path.resolve('dist/src/main/cli.js')))
    throw new Error('dist/ is missing: run `npm run build` first (npm test does).');
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
    env: { ...process.env, COUNTERSIGN_DATA_DIR: dataDir, PORT: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!/Operator token \(shown once\): cs_\S+/.test(out)) {
    if (child.exitCode !== null) throw new Error(`serve exited early:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`serve printed no banner in 30 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: /Countersign listening on (http:\/\/\S+)/.exec(out)![1]!,
    operatorToken: /Operator token \(shown once\): (cs_\S+)/.exec(out)![1]!,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

async function post(server: Server, url: string, body: unknown): Promise<Record<string, string>> {
  const res = await fetch(`${server.url}${url}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${server.operatorToken}`,
      'content-type': 'application/json',
      'x-purpose': 'schemathesis setup',
    },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as Record<string, string>;
  expect(res.status, JSON.stringify(answer)).toBe(200);
  return answer;
}

/** One `st run` with every phase and check; its exit code and output. */
function schemathesis(
  st: string,
  server: Server,
  token: string,
  spareTokenId: string,
): Promise<{ code: number | null; output: string }> {
  const args = [
    '--config-file',
    path.join(HERE, 'schemathesis.toml'),
    '--no-color',
    'run',
    `${server.url}/openapi.json`,
    '--phases',
    'examples,coverage,fuzzing,stateful',
    '--checks',
    'all',
    '--max-examples',
    String(MAX_EXAMPLES),
    '--seed',
    String(SEED),
    '--generation-database',
    'none',
    '--workers',
    '1',
    '--request-timeout',
    '10',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(st, args, {
      // Reports and Hypothesis' files go to a temporary directory, not the checkout.
      cwd: fs.mkdtempSync(path.join(os.tmpdir(), 'cs-schemathesis-run-')),
      env: {
        ...process.env,
        SCHEMATHESIS_HOOKS: path.join(HERE, 'hooks.py'),
        COUNTERSIGN_FUZZ_TOKEN: token,
        COUNTERSIGN_SPARE_TOKEN_ID: spareTokenId,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('the HTTP API against its OpenAPI document (Schemathesis)', () => {
  let st: string;
  let dir: string;
  let server: Server | undefined;

  beforeAll(async () => {
    st = findSchemathesis();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-schemathesis-'));
    server = await serve(dir);
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds no failure in any phase, as the operator and as an actor', async () => {
    const s = server!;
    // Actors to act as and to name; for each token a spare one of the same principal, which the
    // fuzzer's DELETE /tokens/{token_id} revokes instead of the token it runs with (hooks.py).
    await post(s, '/actors', { name: 'Alice', role: 'Developer', kind: 'agent' });
    await post(s, '/actors', { name: 'Bob', role: 'Senior Developer' });
    const operatorSpare = await post(s, '/tokens', { actor_id: 'operator', name: 'spare' });
    const actor = await post(s, '/tokens', { actor_id: 'actor_1', name: 'fuzz' });
    const actorSpare = await post(s, '/tokens', { actor_id: 'actor_1', name: 'spare' });

    for (const [who, token, spare] of [
      ['operator', s.operatorToken, operatorSpare.token_id!],
      ['actor', actor.token!, actorSpare.token_id!],
    ] as const) {
      const { code, output } = await schemathesis(st, s, token, spare);
      const summary = output.slice(output.lastIndexOf('SUMMARY'));
      expect(summary, `${who}:\n${output}`).toMatch(/Test cases:\s+\d+ generated, \d+ passed/);
      expect(code, `${who}: st run failed:\n${output}`).toBe(0);
      for (const phase of ['Coverage', 'Fuzzing', 'Stateful'])
        expect(output, `${who}: ${phase}`).toMatch(new RegExp(`✅\\s+${phase} \\(in`));
    }
    // Nothing the fuzzer sent made the server fail inside (5xx would also fail a check).
    expect(s.output()).not.toMatch(/^error /m);
  }, 240_000);
});
