import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorContext } from '../src/core/context.js';
import { configFromEnv } from '../src/main/config.js';
import { type RunningServer, startServer } from '../src/main/serve.js';

const BIN = path.resolve('bin/countersign.js');
/** The CLI's own data directory: remote mode must never touch it. */
const LOCAL = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-remote-local-'));

function cli(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        ...process.env,
        COUNTERSIGN_DATA_DIR: LOCAL,
        COUNTERSIGN_SERVER: '',
        COUNTERSIGN_TOKEN: '',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the CLI against a running server (--server, --token)', () => {
  let dir: string;
  let server: RunningServer;
  let remote: Record<string, string>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-remote-'));
    server = await startServer(configFromEnv({ COUNTERSIGN_DATA_DIR: dir }), {
      port: 0,
      log: () => undefined,
    });
    remote = { COUNTERSIGN_SERVER: server.url, COUNTERSIGN_TOKEN: server.adminToken! };
  });
  afterAll(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(LOCAL, { recursive: true, force: true });
  });

  it('runs operations through the HTTP API as the token principal', async () => {
    expect(
      (await cli(['actor', 'register', '--name', 'Alice', '--role', 'Developer'], remote)).code,
    ).toBe(0);
    expect(
      (await cli(['actor', 'register', '--name', 'Bob', '--role', 'Senior Developer'], remote))
        .code,
    ).toBe(0);
    expect((await cli(['workflow', 'start', '--title', 'Remote'], remote)).code).toBe(0);
    const mint = async (actor: string, ...more: string[]) =>
      JSON.parse(
        (
          await cli(
            ['--json', 'token', 'create', '--actor', actor, '--name', actor, ...more],
            remote,
          )
        ).stdout,
      ) as { token: string; token_id: string; expires_at: string | null };
    const alice = await mint('actor_1', '--expires-in', '12h');
    expect(Date.parse(alice.expires_at!) - Date.now()).toBeGreaterThan(11.9 * 3600_000);
    const asAlice = { ...remote, COUNTERSIGN_TOKEN: alice.token };
    const proposeArgs = [
      '--json',
      '--purpose',
      'ticket 42',
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
    ];
    // The operator token administers; it never proposes or reviews as anyone.
    const asOperator = await cli(proposeArgs, remote);
    expect(asOperator.code).toBe(3);
    expect(asOperator.stderr).toContain('never acts as an actor');
    const p = await cli(
      [
        '--json',
        '--purpose',
        'ticket 42',
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
      asAlice,
    );
    expect(p.code).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ proposal_id: 'proposal_1', status: 'pending' });
    const pending = await cli(['pending'], remote);
    expect(pending.stdout).toMatch(/proposal_1\s+workflow_1\s+update_status/);
    // Bob's own token may review as Bob, and only as Bob.
    const bob = await mint('actor_2');
    const asBob = { ...remote, COUNTERSIGN_TOKEN: bob.token };
    const operatorReview = await cli(
      ['review', 'proposal_1', '--reviewer', 'actor_2', '--decision', 'approve'],
      remote,
    );
    expect(operatorReview.code).toBe(3);
    expect(operatorReview.stderr).toContain('error POLICY_DENIED');
    const impersonate = await cli(
      ['review', 'proposal_1', '--reviewer', 'actor_1', '--decision', 'approve'],
      asBob,
    );
    expect(impersonate.code).toBe(3);
    expect(impersonate.stderr).toContain('error POLICY_DENIED');
    expect(
      (await cli(['review', 'proposal_1', '--reviewer', 'actor_2', '--decision', 'approve'], asBob))
        .code,
    ).toBe(0);
    const ex = await cli(['--json', 'execute', 'proposal_1'], remote);
    expect(JSON.parse(ex.stdout)).toMatchObject({
      execution_id: 'execution_1',
      result: { status: 'succeeded' },
    });
    // Tokens: listed with who minted them and their last use; a revoked one fails next time.
    const list = await cli(['token', 'list'], remote);
    expect(list.stdout).toMatch(/token_\d+\s+actor_2\s+active\s+actor_2\s+minted by operator/);
    expect((await cli(['token', 'revoke', bob.token_id], remote)).code).toBe(0);
    const revoked = await cli(['pending'], asBob);
    expect(revoked.code).toBe(3);
    expect(revoked.stderr).toContain('error UNAUTHENTICATED');
    expect((await cli(['token', 'list'], remote)).stdout).toMatch(/actor_2\s+revoked/);
    // Remote mode never opens the CLI's own data directory.
    expect(fs.readdirSync(LOCAL)).toEqual([]);
    const verify = await cli(['audit', 'verify'], remote);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain('ledger intact');
  }, 90_000); // about twenty CLI processes, each a Node start: slow on a loaded machine

  it("decides as the token's actor without --reviewer, and execute-parallel fails when a call did not run", async () => {
    const op = operatorContext('cli defaults test');
    const k = server.kernel;
    const carol = await k.registerActor(op, { name: 'Carol', role: 'Developer' });
    const dave = await k.registerActor(op, { name: 'Dave', role: 'Senior Developer' });
    const { workflow_id } = await k.startWorkflow(op, { title: 'defaults' });
    const { proposal_id } = await k.proposeAction(op, {
      workflow_id,
      actor_id: carol.actor_id,
      tool: 'update_status',
      params: { status: 'reviewed' },
      reason: 'r',
    });
    const tokenOf = async (actor_id: string) =>
      (await k.createToken(op, { actor_id, name: `${actor_id}-cli` })).token;
    const asCarol = { ...remote, COUNTERSIGN_TOKEN: await tokenOf(carol.actor_id) };
    const asDave = { ...remote, COUNTERSIGN_TOKEN: await tokenOf(dave.actor_id) };
    // The proposer's own token, no --reviewer: still the proposer, still refused.
    const self = await cli(['review', proposal_id, '--decision', 'approve'], asCarol);
    expect(self.code).toBe(3);
    expect(self.stderr).toContain('error SELF_APPROVAL');
    const approved = await cli(['--json', 'review', proposal_id, '--decision', 'approve'], asDave);
    expect(approved.code).toBe(0);
    expect((await k.getProposal(op, { proposal_id })).decisions).toMatchObject([
      { reviewer_id: dave.actor_id, decision: 'approve' },
    ]);
    // Locally there is no token to say who decides: a clear usage error, nothing decided.
    const local = await cli(['review', proposal_id, '--decision', 'approve']);
    expect(local.code).toBe(2);
    expect(local.stderr).toContain('--reviewer is required');
    // One approved call and one never proposed: every result printed, then exit 3 (refused).
    const calls = JSON.stringify([
      { tool: 'update_status', params: { status: 'reviewed' }, proposal_id },
      { tool: 'send_notification', params: { channel: 'ops', message: 'unreviewed' } },
    ]);
    const parallel = await cli(['--json', 'execute-parallel', '--calls', calls], remote);
    expect(parallel.code).toBe(3);
    expect(
      (JSON.parse(parallel.stdout) as { results: { status: string }[] }).results.map(
        (r) => r.status,
      ),
    ).toEqual(['succeeded', 'refused']);
    expect(parallel.stderr).toContain('1 of 2 calls did not run');
    const again = await cli(
      [
        'execute-parallel',
        '--calls',
        JSON.stringify([{ tool: 'update_status', params: { status: 'reviewed' }, proposal_id }]),
      ],
      remote,
    );
    expect(again.code).toBe(0);
  }, 90_000);

  it('maps remote errors to the same exit codes, without a stack trace', async () => {
    const badToken = await cli(['pending'], {
      ...remote,
      COUNTERSIGN_TOKEN: 'cs_not_a_real_token_at_all',
    });
    expect(badToken.code).toBe(3);
    expect(badToken.stderr).toContain('error UNAUTHENTICATED');
    const noToken = await cli(['--server', server.url, 'pending']);
    expect(noToken.code).toBe(3);
    expect(noToken.stderr).toContain('needs an API token');
    expect((await cli(['proposal', 'proposal_99'], remote)).code).toBe(4);
    const bad = await cli(
      [
        'propose',
        '--workflow',
        'workflow_1',
        '--actor',
        'actor_1',
        '--tool',
        'nope',
        '--params',
        '{}',
        '--reason',
        'r',
      ],
      {
        ...remote,
        COUNTERSIGN_TOKEN: (
          await server.kernel.createToken(operatorContext('test'), {
            actor_id: 'actor_1',
            name: 'alice-2',
          })
        ).token,
      },
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('error UNKNOWN_TOOL');
    const down = await cli(['pending'], { ...remote, COUNTERSIGN_SERVER: 'http://127.0.0.1:9' });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('Cannot reach the Countersign server');
    for (const r of [badToken, noToken, bad, down]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
