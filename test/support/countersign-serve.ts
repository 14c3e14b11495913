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

export async function serveWithActors(prefix: string): Promise<Served> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
    env: {
      PATH: process.env.PATH,
      COUNTERSIGN_DATA_DIR: dir,
      COUNTERSIGN_TEMPORAL_ADDRESS: '',
      PORT: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!/Operator token \(shown once\): \S+/.test(out) || !/listening on http/.test(out)) {
    if (child.exitCode !== null) throw new Error(`serve exited early:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`serve printed no banner in 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
  const operator = createClient({
    baseUrl: url,
    token: /Operator token \(shown once\): (\S+)/.exec(out)![1]!,
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
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
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
