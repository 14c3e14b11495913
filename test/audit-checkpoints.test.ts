import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KyselyStore } from '../src/adapters/store/kysely-store.js';
import { openSqliteStore } from '../src/adapters/store/open-store.js';
import type { Checkpoint } from '../src/core/audit/checkpoint.js';
import { operatorContext } from '../src/core/context.js';
import { openCore } from '../src/main/compose.js';
import { configFromEnv } from '../src/main/config.js';
import { startServer } from '../src/main/serve.js';
import { cutTail, rewriteHistory } from './support/ledger-forgery.js';

/**
 * Signed checkpoints end to end: the built CLI on a real SQLite file in a temp directory, a
 * database writer forging history behind it, and an auditor holding material the writer never
 * had (a copy of the checkpoint log and the public key).
 */

const BIN = path.resolve('bin/countersign.js');
const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-checkpoints-'));
afterAll(() => fs.rmSync(ROOT, { recursive: true, force: true }));

function cli(dataDir: string, args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: {
        ...process.env,
        COUNTERSIGN_DATA_DIR: dataDir,
        COUNTERSIGN_SERVER: '',
        COUNTERSIGN_TOKEN: '',
        COUNTERSIGN_SIGNING_KEY_FILE: '',
        COUNTERSIGN_CHECKPOINT_WEBHOOK: '',
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

const mode = (file: string) => fs.statSync(file).mode & 0o777;
const logOf = (dir: string) => path.join(dir, 'checkpoints.jsonl');

/** A data directory with a few events and one checkpoint, plus the auditor's copies. */
async function anchoredLedger(name: string) {
  const dir = path.join(ROOT, name);
  // The events come in-process (the CLI is slow to start on a loaded machine); the audit
  // commands below are the real binary.
  const core = await openCore(configFromEnv({ COUNTERSIGN_DATA_DIR: dir }));
  try {
    const ctx = operatorContext('test');
    await core.kernel.registerActor(ctx, { name: 'Alice', role: 'Developer' });
    await core.kernel.registerActor(ctx, { name: 'Bob', role: 'Senior Developer' });
    await core.kernel.startWorkflow(ctx, { title: 'Migration' });
  } finally {
    await core.close();
  }
  const cp = await cli(dir, ['audit', 'checkpoint']);
  expect(cp.code, cp.stderr).toBe(0);
  expect(cp.stdout).toMatch(/checkpoint signed: tenant default, seq 3, root [0-9a-f]{12}…/);
  // What the auditor received: the log as it was sent, and the public key.
  const auditor = path.join(ROOT, `${name}-auditor`);
  fs.mkdirSync(auditor);
  fs.copyFileSync(logOf(dir), path.join(auditor, 'checkpoints.jsonl'));
  fs.writeFileSync(
    path.join(auditor, 'countersign.pub'),
    (await cli(dir, ['audit', 'key'])).stdout,
  );
  return {
    dir,
    auditorArgs: [
      '--checkpoints',
      path.join(auditor, 'checkpoints.jsonl'),
      '--public-key',
      path.join(auditor, 'countersign.pub'),
    ],
  };
}

/** Opens the data directory's database the way an attacker with file access would. */
async function forge(dir: string, work: (store: KyselyStore) => Promise<void>) {
  const store = await openSqliteStore(path.join(dir, 'countersign.sqlite'));
  try {
    await work(store);
  } finally {
    await store.close();
  }
}

describe('countersign audit key, checkpoint and verify', () => {
  it('keeps the key and the log outside the database, mode 0600, and verifies against them', async () => {
    const dir = path.join(ROOT, 'files');
    expect((await cli(dir, ['workflow', 'start', '--title', 'T'])).code).toBe(0);
    const key = await cli(dir, ['audit', 'key']);
    expect(key.code).toBe(0);
    expect(key.stdout).toMatch(
      /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n$/,
    );
    expect(mode(path.join(dir, 'signing-key.pem'))).toBe(0o600);
    const info = JSON.parse((await cli(dir, ['--json', 'audit', 'key'])).stdout) as {
      key_id: string;
      public_key_pem: string;
      public_key_base64: string;
      created: boolean;
    };
    expect(info).toMatchObject({ created: false, public_key_pem: key.stdout });
    expect(Buffer.from(info.public_key_base64, 'base64')).toHaveLength(32);

    const cp = await cli(dir, ['--json', 'audit', 'checkpoint']);
    expect(cp.code).toBe(0);
    const written = JSON.parse(cp.stdout) as { status: string; checkpoint: Checkpoint };
    expect(written).toMatchObject({
      status: 'written',
      checkpoint: { tenant_id: 'default', seq: 1, key_id: info.key_id },
    });
    expect(mode(logOf(dir))).toBe(0o600);
    expect(JSON.parse(fs.readFileSync(logOf(dir), 'utf8'))).toEqual(written.checkpoint);

    const verify = await cli(dir, ['audit', 'verify']);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain('ledger intact: 1 events');
    expect(verify.stdout).toMatch(/checkpoints: 1 in .*checkpoints\.jsonl hold \(newest: seq 1/);
    expect(JSON.parse((await cli(dir, ['--json', 'audit', 'verify'])).stdout)).toMatchObject({
      ok: true,
      first_broken_seq: null,
      checkpoints: { ok: true, checked: 1, problem: null },
    });

    // COUNTERSIGN_SIGNING_KEY_FILE puts the key elsewhere (created there, 0600 too).
    const elsewhere = path.join(ROOT, 'keys', 'countersign.pem');
    const other = await cli(dir, ['--json', 'audit', 'key'], {
      COUNTERSIGN_SIGNING_KEY_FILE: elsewhere,
    });
    expect(JSON.parse(other.stdout)).toMatchObject({ key_file: elsewhere, created: true });
    expect(mode(elsewhere)).toBe(0o600);
    // Checkpoints signed with the data directory's key do not pass under another key.
    const wrongKey = await cli(dir, ['audit', 'verify'], {
      COUNTERSIGN_SIGNING_KEY_FILE: elsewhere,
    });
    expect(wrongKey.code).toBe(5);
    expect(wrongKey.stdout).toMatch(/LEDGER BROKEN: checkpoint at line 1 of .* names key/);
  }, 120_000);

  it('catches history rewritten with recomputed hashes and a fixed ledger_heads (and cannot without checkpoints)', async () => {
    const { dir, auditorArgs } = await anchoredLedger('rewrite');
    await forge(dir, (store) =>
      rewriteHistory(store, 'default', 2, { actor_id: 'actor_2', name: 'Bob', role: 'Admin' }),
    );
    const bad = await cli(dir, ['audit', 'verify']);
    expect(bad.code).toBe(5);
    expect(bad.stdout).toContain(
      `LEDGER BROKEN: checkpoint at line 1 of ${logOf(dir)} (seq 3, signed `,
    );
    expect(bad.stdout).toContain('history was rewritten');
    expect(bad.stdout).not.toContain('ledger intact');
    // The auditor's copy and pinned key say the same.
    const audited = await cli(dir, ['audit', 'verify', ...auditorArgs]);
    expect(audited.code).toBe(5);
    expect(audited.stdout).toContain('history was rewritten');
    // Nothing new is signed over the forgery.
    const refused = await cli(dir, ['audit', 'checkpoint']);
    expect(refused.code).toBe(5);
    expect(refused.stdout).toMatch(/LEDGER BROKEN, nothing signed: .*history was rewritten/);
    // Without the checkpoint log the forgery passes: the checkpoints are what caught it.
    fs.renameSync(logOf(dir), `${logOf(dir)}.aside`);
    const blind = await cli(dir, ['audit', 'verify']);
    expect(blind.code).toBe(0);
    expect(blind.stdout).toContain('ledger intact: 3 events');
  }, 120_000);

  it('catches a cut tail with a fixed ledger_heads (and cannot without checkpoints)', async () => {
    const { dir, auditorArgs } = await anchoredLedger('cut');
    await forge(dir, (store) => cutTail(store, 'default', 1));
    const bad = await cli(dir, ['--json', 'audit', 'verify']);
    expect(bad.code).toBe(5);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      ok: false,
      events: 1,
      first_broken_seq: null,
      checkpoints: { ok: false, problem: { line: 1, kind: 'tail_cut', seq: 3 } },
    });
    const audited = await cli(dir, ['audit', 'verify', ...auditorArgs]);
    expect(audited.code).toBe(5);
    expect(audited.stdout).toMatch(/it has 1 events, the checkpoint signed 3 \(the tail was cut\)/);
    const blind = await cli(dir, [
      'audit',
      'verify',
      '--checkpoints',
      path.join(ROOT, 'none.jsonl'),
    ]);
    expect(blind.code).toBe(4);
    fs.rmSync(logOf(dir));
    expect((await cli(dir, ['audit', 'verify'])).stdout).toContain('ledger intact: 1 events');
  }, 120_000);

  it("refuses a forged signature, and the auditor's pinned key sees through a re-signed log", async () => {
    const { dir, auditorArgs } = await anchoredLedger('resign');
    const genuine = JSON.parse(fs.readFileSync(logOf(dir), 'utf8')) as Checkpoint;
    // A line altered after signing.
    fs.appendFileSync(logOf(dir), `${JSON.stringify({ ...genuine, seq: 2 })}\n`);
    const forgedLine = await cli(dir, ['audit', 'verify']);
    expect(forgedLine.code).toBe(5);
    expect(forgedLine.stdout).toMatch(
      /LEDGER BROKEN: checkpoint at line 2 of .* \(seq 2, .*\): its signature does not verify/,
    );
    // A writer who also holds the key file: rewrites history, replaces key and log, re-signs.
    await forge(dir, (store) => rewriteHistory(store, 'default', 1, { forged: true }));
    fs.rmSync(logOf(dir));
    fs.rmSync(path.join(dir, 'signing-key.pem'));
    expect((await cli(dir, ['audit', 'checkpoint'])).code).toBe(0);
    // Locally that is undetectable (the README says so)...
    expect((await cli(dir, ['audit', 'verify'])).code).toBe(0);
    // ...but not to an auditor with the checkpoints they received and the key they pinned.
    const audited = await cli(dir, ['audit', 'verify', ...auditorArgs]);
    expect(audited.code).toBe(5);
    expect(audited.stdout).toContain('history was rewritten');
    const resigned = await cli(dir, [
      'audit',
      'verify',
      '--checkpoints',
      logOf(dir),
      '--public-key',
      auditorArgs[3]!,
    ]);
    expect(resigned.code).toBe(5);
    expect(resigned.stdout).toMatch(/names key [0-9a-f]{16}, not the verifying key/);
  }, 120_000);

  it('proves an event and checks the proof with the public key alone', async () => {
    const { dir, auditorArgs } = await anchoredLedger('prove');
    const proof = await cli(dir, ['audit', 'prove', '2']);
    expect(proof.code, proof.stderr).toBe(0);
    const p = JSON.parse(proof.stdout) as {
      leaf_index: number;
      tree_size: number;
      audit_path: string[];
      leaf_hash: string;
      event: { seq: number; data: Record<string, unknown> };
      checkpoint: Checkpoint;
    };
    expect(p).toMatchObject({ leaf_index: 1, tree_size: 3, event: { seq: 2 } });
    expect(p.audit_path).toHaveLength(2);
    const proofFile = path.join(ROOT, 'event-2.proof.json');
    fs.writeFileSync(proofFile, proof.stdout);
    // No database: a data directory that does not exist, and it stays that way.
    const nowhere = path.join(ROOT, 'no-data-here');
    const pub = auditorArgs[3]!;
    const ok = await cli(nowhere, [
      'audit',
      'check-proof',
      '--proof',
      proofFile,
      '--public-key',
      pub,
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(
      /^proof valid: event 2 \(ACTOR_REGISTERED by operator at .*\) is entry 2 of 3/,
    );
    expect(fs.existsSync(nowhere)).toBe(false);
    // The key may be given inline, as base64 raw bytes.
    const raw = (
      JSON.parse((await cli(dir, ['--json', 'audit', 'key'])).stdout) as {
        public_key_base64: string;
      }
    ).public_key_base64;
    expect(
      (await cli(nowhere, ['audit', 'check-proof', '--proof', proofFile, '--public-key', raw]))
        .code,
    ).toBe(0);

    const tampered = path.join(ROOT, 'tampered.proof.json');
    fs.writeFileSync(
      tampered,
      JSON.stringify({ ...p, event: { ...p.event, data: { ...p.event.data, role: 'Admin' } } }),
    );
    const bad = await cli(nowhere, [
      'audit',
      'check-proof',
      '--proof',
      tampered,
      '--public-key',
      pub,
    ]);
    expect(bad.code).toBe(5);
    expect(bad.stdout).toMatch(/^PROOF INVALID: .*altered/);
    fs.writeFileSync(
      tampered,
      JSON.stringify({ ...p, audit_path: [p.leaf_hash, p.audit_path[1]] }),
    );
    const badPath = await cli(nowhere, [
      '--json',
      'audit',
      'check-proof',
      '--proof',
      tampered,
      '--public-key',
      pub,
    ]);
    expect(badPath.code).toBe(5);
    expect(JSON.parse(badPath.stdout)).toMatchObject({
      valid: false,
      reason: expect.stringMatching(/Merkle root/) as unknown,
    });
    const otherKey = (await cli(path.join(ROOT, 'other-key'), ['audit', 'key'])).stdout;
    const wrongKey = await cli(nowhere, [
      'audit',
      'check-proof',
      '--proof',
      proofFile,
      '--public-key',
      otherKey,
    ]);
    expect(wrongKey.code).toBe(5);
    expect(wrongKey.stdout).toMatch(/PROOF INVALID: the checkpoint is refused: it names key/);

    expect((await cli(dir, ['audit', 'prove', '9'])).code).toBe(4);
    await forge(dir, (store) => rewriteHistory(store, 'default', 3, { forged: true }));
    const refused = await cli(dir, ['audit', 'prove', '2']);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('LEDGER BROKEN, no proof');
  }, 120_000);

  it('keeps checkpoints local: with --server the flags and commands are a usage error', async () => {
    const remote = { COUNTERSIGN_SERVER: 'http://127.0.0.1:9', COUNTERSIGN_TOKEN: 'cs_x' };
    const dir = path.join(ROOT, 'remote');
    const verify = await cli(dir, ['audit', 'verify', '--checkpoints', 'x.jsonl'], remote);
    expect(verify.code).toBe(2);
    expect(verify.stderr).toContain('leave out --server');
    expect((await cli(dir, ['audit', 'checkpoint'], remote)).code).toBe(2);
    expect((await cli(dir, ['audit', 'prove', '1'], remote)).code).toBe(2);
    expect(fs.existsSync(dir)).toBe(false);
    expect((await cli(dir, ['audit', 'verify', '--help'])).stdout).toContain(
      'Checkpoints are checked only locally',
    );
  }, 60_000);
});

describe('countersign serve checkpoints on a schedule', () => {
  let received: unknown[];
  let receiver: http.Server;
  let receiverUrl: string;

  beforeAll(async () => {
    received = [];
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.writeHead(req.url?.startsWith('/fail') ? 500 : 204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => receiver.close(() => r())));

  const serve = (dir: string, env: Record<string, string>, log: string[]) =>
    startServer(configFromEnv({ COUNTERSIGN_DATA_DIR: dir, ...env }), {
      port: 0,
      log: (line) => log.push(line),
    });

  // The complete lines only: the server may be between creating the file and writing a line.
  const lines = (dir: string) => {
    if (!fs.existsSync(logOf(dir))) return [];
    const text = fs.readFileSync(logOf(dir), 'utf8');
    return text
      .slice(0, text.lastIndexOf('\n') + 1)
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Checkpoint);
  };

  it('anchors a moved head at start, on each tick and on stop, and sends each to the webhook', async () => {
    const dir = path.join(ROOT, 'serve');
    const log: string[] = [];
    const server = await serve(
      dir,
      { COUNTERSIGN_CHECKPOINT_INTERVAL_SECONDS: '1', COUNTERSIGN_CHECKPOINT_WEBHOOK: receiverUrl },
      log,
    );
    try {
      const until = async (n: number) => {
        for (let i = 0; i < 200 && lines(dir).length < n; i++)
          await new Promise((r) => setTimeout(r, 50));
        expect(lines(dir)).toHaveLength(n);
      };
      // The first start's admin token is the ledger's first event.
      await until(1);
      await server.kernel.registerActor(operatorContext('test'), { name: 'A', role: 'Developer' });
      await until(2);
      // Quiet ticks write nothing.
      await new Promise((r) => setTimeout(r, 1500));
      expect(lines(dir)).toHaveLength(2);
      await server.kernel.registerActor(operatorContext('test'), { name: 'B', role: 'Developer' });
    } finally {
      await server.close();
    }
    // The last event made it in through the stop (or a tick just before it).
    const written = lines(dir);
    expect(written.at(-1)).toMatchObject({ seq: 3 });
    expect(received).toEqual(written);
    expect(mode(logOf(dir))).toBe(0o600);
    // Routine checkpoints stay out of the server log (it is for what needs a human).
    expect(log).toEqual([]);
    const verify = await cli(dir, ['audit', 'verify']);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/checkpoints: \d in .* hold \(newest: seq 3/);
  }, 60_000);

  it('logs a failing webhook and keeps the checkpoint; interval 0 turns the schedule off', async () => {
    const dir = path.join(ROOT, 'serve-webhook-down');
    const log: string[] = [];
    const server = await serve(
      dir,
      { COUNTERSIGN_CHECKPOINT_WEBHOOK: `${receiverUrl}/fail?secret=s3cret` },
      log,
    );
    await server.close();
    expect(lines(dir)).toHaveLength(1);
    const warning = log.find((l) => l.includes('was not sent'));
    expect(warning).toMatch(
      /warning: checkpoint of default at seq 1 was not sent to .*\/fail: HTTP 500/,
    );
    expect(warning).not.toContain('s3cret');

    const off = path.join(ROOT, 'serve-off');
    await (await serve(off, { COUNTERSIGN_CHECKPOINT_INTERVAL_SECONDS: '0' }, [])).close();
    expect(fs.existsSync(logOf(off))).toBe(false);
    expect(fs.existsSync(path.join(off, 'signing-key.pem'))).toBe(false);
    expect(() => configFromEnv({ COUNTERSIGN_CHECKPOINT_INTERVAL_SECONDS: 'soon' })).toThrow(
      /whole number of seconds/,
    );
  }, 60_000);
});
