import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type CountersignClient, createClient } from '../../src/client/index.js';

const BIN = path.resolve('bin/countersign.js');

/** `countersign serve` as a real process (the built CLI) with an agent and two human reviewers. */
export interface Served {
  readonly url: string;
  readonly operator: CountersignClient;
  readonly agentToken: string;
  readonly agent: CountersignClient;
  /** A Senior Developer: may approve the demo tools. */
  readonly bob: CountersignClient;
  /** Another Senior Developer: approves what Bob edited (an edit is the editor's own version). */
  readonly carol: CountersignClient;
  newWorkflow(title: string): Promise<string>;
  stop(): Promise<void>;
}

/** A `countersign serve` process, once it listens. */
export interface ServeProcess {
  readonly child: ChildProcess;
  readonly url: string;
  /** The operator token the first start prints ('' on a later start of the same data). */
  readonly operatorToken: string;
  /** What it printed so far, stdout and stderr. */
  output(): string;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts `countersign serve --port 0` (the built CLI) with exactly `env` (plus PORT unset) and
 * waits for its banner: the URL, and the operator token unless `firstStart` is false.
 */
export async function spawnServe(
  env: NodeJS.ProcessEnv,
  { firstStart = true, timeoutMs = 60_000 } = {},
): Promise<ServeProcess> {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
    env: { ...env, PORT: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + timeoutMs;
  const TOKEN = /Operator token \(shown once\): (\S+)/;
  const URL_LINE = /listening on (http:\/\/\S+)/;
  while (!URL_LINE.test(out) || (firstStart && !TOKEN.test(out))) {
    if (child.exitCode !== null) throw new Error(`serve exited early:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`serve printed no banner in ${timeoutMs / 1000} s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    url: URL_LINE.exec(out)![1]!,
    operatorToken: TOKEN.exec(out)?.[1] ?? '',
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function serveWithActors(prefix: string): Promise<Served> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const server = await spawnServe({
    PATH: process.env.PATH,
    COUNTERSIGN_DATA_DIR: dir,
    COUNTERSIGN_TEMPORAL_ADDRESS: '',
  });
  const url = server.url;
  const operator = createClient({
    baseUrl: url,
    token: server.operatorToken,
    purpose: 'test setup',
  });
  const mint = async (name: string, role: string, kind: 'human' | 'agent') => {
    const { actor_id } = await operator.registerActor({ name, role, kind });
    const { token } = await operator.createToken({ actor_id, name });
    return token!;
  };
  const agentToken = await mint('Ops bot', 'Developer', 'agent');
  const bobToken = await mint('Bob', 'Senior Developer', 'human');
  const carolToken = await mint('Carol', 'Senior Developer', 'human');
  return {
    url,
    operator,
    agentToken,
    agent: createClient({ baseUrl: url, token: agentToken }),
    bob: createClient({ baseUrl: url, token: bobToken, purpose: 'change review' }),
    carol: createClient({ baseUrl: url, token: carolToken, purpose: 'change review' }),
    newWorkflow: async (title) => (await operator.startWorkflow({ title })).workflow_id,
    stop: async () => {
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until a reviewer's inbox shows a pending call of `tool` in the workflow; its proposal ID. */
export async function pendingProposal(
  reviewer: CountersignClient,
  workflowId: string,
  tool: string,
  timeoutMs = 30_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const inbox = JSON.stringify(
      await reviewer.listPendingReviews({ workflow_id: workflowId, tool }),
    );
    const id = /"(proposal_\d+)"/.exec(inbox)?.[1];
    if (id) return id;
    if (Date.now() > deadline) throw new Error(`no pending ${tool} in ${workflowId}: ${inbox}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A script run as its own process (the examples as a user runs them); kill() ends it. */
export function runScript(file: string, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [file, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    output: () => out,
    exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
