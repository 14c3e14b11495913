import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_DIR } from '../src/adapters/policy/cedar-policy-engine.js';
import { openSqliteStore } from '../src/adapters/store/open-store.js';
import { operatorContext } from '../src/core/context.js';
import { isCountersignError } from '../src/core/errors.js';
import type { LedgerEvent } from '../src/core/model.js';
import { configFromEnv } from '../src/main/config.js';
import { callRemote } from '../src/main/remote.js';
import { startServer } from '../src/main/serve.js';
import { operation } from '../src/surfaces/operations.js';
import { errorCode } from './support/mcp-client.js';
import {
  ADMIN_TOKEN_STEP,
  type Driver,
  type Outcome,
  PARITY_STEPS,
  runParity,
} from './support/parity-scenario.js';

const BIN = path.resolve('bin/countersign.js');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** The default policies plus the scenario's denial, in a fresh directory. */
function policyDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-parity-pol-'));
  dirs.push(dir);
  for (const f of fs.readdirSync(DEFAULT_POLICY_DIR))
    fs.copyFileSync(path.join(DEFAULT_POLICY_DIR, f), path.join(dir, `00-${f}`));
  fs.copyFileSync('test/fixtures/parity-policies/10-deny.cedar', path.join(dir, '10-deny.cedar'));
  return dir;
}

function freshEnv() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-parity-'));
  dirs.push(dataDir);
  const env = { COUNTERSIGN_DATA_DIR: dataDir, COUNTERSIGN_POLICY_DIR: policyDir() };
  return { dataDir, env, config: configFromEnv({ ...env }) };
}

/** Tokens minted during the scenario, by the actor they act as. */
function tokenBook(adminToken: string | null) {
  const tokens = new Map<string, string>();
  if (adminToken) tokens.set('operator', adminToken);
  return {
    get(as: string) {
      const t = tokens.get(as);
      if (!t) throw new Error(`no token for ${as}`);
      return t;
    },
    note(op: string, outcome: Outcome) {
      if (op === 'create_token' && outcome.ok)
        tokens.set(String(outcome.result.actor_id), String(outcome.result.token));
    },
  };
}

function mcpOutcome(r: CallToolResult): Outcome {
  if (r.isError) return { ok: false, code: errorCode(r) ?? 'UNKNOWN' };
  return { ok: true, result: r.structuredContent as Record<string, unknown> };
}

/** The CLI on a local data directory: every step is a spawned `countersign … --json`. */
function cliArgs(op: string, i: Record<string, unknown>): string[] {
  const s = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  switch (op) {
    case 'register_actor':
      return ['actor', 'register', '--name', s(i.name), '--role', s(i.role)];
    case 'create_token':
      return ['token', 'create', '--actor', s(i.actor_id), '--name', s(i.name)];
    case 'start_workflow':
      return ['workflow', 'start', '--title', s(i.title)];
    case 'propose_action':
      return [
        'propose',
        '--workflow',
        s(i.workflow_id),
        '--actor',
        s(i.actor_id),
        '--tool',
        s(i.tool),
        '--params',
        s(i.params),
        '--reason',
        s(i.reason),
      ];
    case 'review_action':
      return [
        'review',
        s(i.proposal_id),
        '--reviewer',
        s(i.reviewer_id),
        '--decision',
        s(i.decision),
        ...(i.edits ? ['--edits', s(i.edits)] : []),
      ];
    case 'execute_action':
      return ['execute', s(i.proposal_id), ...(i.dry_run ? ['--dry-run'] : [])];
    case 'execute_parallel':
      return ['execute-parallel', '--calls', s(i.calls)];
    case 'get_audit_log':
      return ['audit', 'log', s(i.workflow_id)];
    case 'verify_audit':
      return ['audit', 'verify'];
    default:
      throw new Error(`no CLI mapping for ${op}`);
  }
}

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '--json', '--purpose', 'parity', ...args], {
      env: { ...process.env, ...env },
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

async function ledgerOf(dataDir: string): Promise<LedgerEvent[]> {
  const store = await openSqliteStore(path.join(dataDir, 'countersign.sqlite'));
  try {
    return await store.transaction((tx) => tx.listLedger('default', {}));
  } finally {
    await store.close();
  }
}

/** Everything but times (wherever they appear), hashes and the free-text purpose, with paths masked. */
/**
 * A ledger as every door must leave it. Purposes differ by door, and so does the token a call
 * was made with (none on the local doors): both are compared elsewhere.
 */
function comparable(events: LedgerEvent[], dataDir: string) {
  return events.map((e) => {
    const { purpose: _purpose, token: _token, token_id: _tokenId, ...data } = e.data;
    const text = JSON.stringify({
      seq: e.seq,
      type: e.type,
      actor: e.actor,
      workflow_id: e.workflow_id,
      data,
    });
    const masked = text
      .split(dataDir)
      .join('<data>')
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<time>');
    return JSON.parse(masked) as unknown;
  });
}

const ledgers: Record<string, unknown[]> = {};
const rawLedgers: Record<string, unknown[]> = {};

describe('one scenario through every front door', () => {
  it('CLI on the local data directory', async () => {
    const { dataDir, env } = freshEnv();
    const driver: Driver = {
      async call(op, input) {
        const r = await runCli(cliArgs(op, input), env);
        if (r.code === 0)
          return { ok: true, result: JSON.parse(r.stdout) as Record<string, unknown> };
        // execute-parallel prints every result, then exits as its first refused call does
        // (the other doors answer 200 with the same results): compare the results.
        if (op === 'execute_parallel' && r.stdout.trim() !== '') {
          expect(r.code).toBe(3);
          expect(r.stderr).toContain('"code":"REVIEW_REQUIRED"');
          return { ok: true, result: JSON.parse(r.stdout) as Record<string, unknown> };
        }
        const err = JSON.parse(r.stderr.trim().split('\n').pop() ?? '{}') as {
          error?: { code?: string };
        };
        return { ok: false, code: err.error?.code ?? `exit ${r.code}` };
      },
    };
    await runParity(driver, [ADMIN_TOKEN_STEP, ...PARITY_STEPS]);
    rawLedgers.cli = await ledgerOf(dataDir);
    ledgers.cli = comparable(rawLedgers.cli as LedgerEvent[], dataDir);
  }, 240_000); // a spawned CLI per step: slow on a loaded machine

  it('MCP over stdio (`countersign mcp --operator`)', async () => {
    const { dataDir, env } = freshEnv();
    const client = new Client({ name: 'parity', version: '1' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [BIN, 'mcp', '--operator'],
        env: { ...process.env, ...env },
        stderr: 'ignore',
      }),
    );
    try {
      const driver: Driver = {
        async call(op, input) {
          return mcpOutcome(
            (await client.callTool({ name: op, arguments: input })) as CallToolResult,
          );
        },
      };
      await runParity(driver, [ADMIN_TOKEN_STEP, ...PARITY_STEPS]);
    } finally {
      await client.close();
    }
    rawLedgers.mcpStdio = await ledgerOf(dataDir);
    ledgers.mcpStdio = comparable(rawLedgers.mcpStdio as LedgerEvent[], dataDir);
  }, 60_000);

  it('MCP over Streamable HTTP (`countersign serve`, /mcp), each step as its token', async () => {
    const { dataDir, config } = freshEnv();
    const server = await startServer(config, { port: 0, log: () => undefined });
    const tokens = tokenBook(server.adminToken);
    const clients = new Map<string, Client>();
    try {
      const driver: Driver = {
        async call(op, input, as) {
          let client = clients.get(as);
          if (!client) {
            client = new Client({ name: `parity-${as}`, version: '1' });
            await client.connect(
              new StreamableHTTPClientTransport(new URL('/mcp', server.url), {
                requestInit: {
                  headers: { authorization: `Bearer ${tokens.get(as)}`, 'x-purpose': 'parity' },
                },
              }),
            );
            clients.set(as, client);
          }
          const outcome = mcpOutcome(
            (await client.callTool({ name: op, arguments: input })) as CallToolResult,
          );
          tokens.note(op, outcome);
          return outcome;
        },
      };
      await runParity(driver, PARITY_STEPS);
    } finally {
      for (const c of clients.values()) await c.close();
      await server.close();
    }
    rawLedgers.mcpHttp = await ledgerOf(dataDir);
    ledgers.mcpHttp = comparable(rawLedgers.mcpHttp as LedgerEvent[], dataDir);
  }, 60_000);

  it('the HTTP API, each step as its token', async () => {
    const { dataDir, config } = freshEnv();
    const server = await startServer(config, { port: 0, log: () => undefined });
    const tokens = tokenBook(server.adminToken);
    try {
      const driver: Driver = {
        async call(op, input, as) {
          let outcome: Outcome;
          try {
            const result = await callRemote(
              server.url,
              tokens.get(as),
              'parity',
              operation(op),
              input,
            );
            outcome = { ok: true, result: result as Record<string, unknown> };
          } catch (e) {
            if (!isCountersignError(e)) throw e;
            outcome = { ok: false, code: e.code };
          }
          tokens.note(op, outcome);
          return outcome;
        },
      };
      await runParity(driver, PARITY_STEPS);
    } finally {
      await server.close();
    }
    rawLedgers.http = await ledgerOf(dataDir);
    ledgers.http = comparable(rawLedgers.http as LedgerEvent[], dataDir);
  }, 60_000);

  it('leaves identical ledgers, times and hashes aside', () => {
    expect(Object.keys(ledgers).sort()).toEqual(['cli', 'http', 'mcpHttp', 'mcpStdio']);
    const types = (ledgers.cli as { type: string }[]).map((e) => e.type);
    for (const t of [
      'TOKEN_CREATED',
      'OPERATION_REFUSED',
      'APPROVAL_DECISION',
      'TOOL_INVOKE',
      'PARALLEL_EXECUTED',
      'AUDIT_LOG_READ',
    ])
      expect(types).toContain(t);
    expect(ledgers.mcpStdio).toEqual(ledgers.cli);
    // Local doors decide without a token; token doors record the token and who minted it.
    const decisions = (tokens: unknown[]) =>
      (tokens as { type: string; data: { token?: unknown } }[])
        .filter((e) => e.type === 'APPROVAL_DECISION')
        .map((e) => e.data.token);
    expect(decisions(rawLedgers.cli!)).toEqual([null, null, null]);
    for (const door of ['http', 'mcpHttp'])
      expect(decisions(rawLedgers[door]!)).toEqual([
        { id: 'token_3', minted_by: 'operator' },
        { id: 'token_4', minted_by: 'operator' },
        { id: 'token_3', minted_by: 'operator' },
      ]);
    expect(ledgers.mcpHttp).toEqual(ledgers.cli);
    expect(ledgers.http).toEqual(ledgers.cli);
  });
});

/** A work package's scenario: who (a person or the agent) calls which operation with what. */
const WP_STEPS: { as: 'person' | 'agent'; op: string; input: Record<string, unknown> }[] = [
  {
    as: 'person',
    op: 'book_work_package',
    input: {
      spec: {
        title: 'Fix the login timeout',
        objective: 'Sessions last 30 minutes.',
        role: 'coder',
        owned_surfaces: ['src/auth/**'],
        evidence_tier: 'local_command_proof',
      },
    },
  },
  { as: 'agent', op: 'list_work_packages', input: { state: 'booked', role: 'coder' } },
  { as: 'agent', op: 'move_work_package', input: { wp_id: 'wp_1', move: 'claim' } },
  { as: 'agent', op: 'move_work_package', input: { wp_id: 'wp_1', move: 'go' } },
  {
    as: 'agent',
    op: 'move_work_package',
    input: { wp_id: 'wp_1', move: 'return_scope', scope: 'src/auth/session.ts' },
  },
  {
    as: 'person',
    op: 'move_work_package',
    input: { wp_id: 'wp_1', move: 'revise_scope', findings: ['name the setting'] },
  },
  { as: 'agent', op: 'move_work_package', input: { wp_id: 'wp_1', move: 'start' } },
  {
    as: 'agent',
    op: 'move_work_package',
    input: {
      wp_id: 'wp_1',
      move: 'return_scope',
      scope: 'the session setting in src/auth/session.ts',
    },
  },
  { as: 'person', op: 'move_work_package', input: { wp_id: 'wp_1', move: 'go' } },
  { as: 'agent', op: 'move_work_package', input: { wp_id: 'wp_1', move: 'start' } },
  {
    as: 'agent',
    op: 'move_work_package',
    input: {
      wp_id: 'wp_1',
      move: 'return',
      artifact: {
        summary: 'Sessions last 30 minutes.',
        changed: [{ path: 'src/auth/session.ts', what: 'reads the timeout setting' }],
        validated: [{ how: 'unit tests', command: 'npm test', result: 'pass' }],
        not_touched: ['src/auth/login.ts'],
        evidence: [
          {
            claim: 'the tests pass',
            class: 'local_command_proof',
            pointer: { kind: 'command', ref: 'npm test' },
          },
        ],
        non_claims: [],
        risks: [],
        next_gate: 'review',
      },
    },
  },
  { as: 'person', op: 'move_work_package', input: { wp_id: 'wp_1', move: 'open_review' } },
  { as: 'agent', op: 'move_work_package', input: { wp_id: 'wp_1', move: 'accept' } },
  // Below the tier (no runner record yet): refused, then accepted with an override.
  { as: 'person', op: 'move_work_package', input: { wp_id: 'wp_1', move: 'accept' } },
  {
    as: 'person',
    op: 'move_work_package',
    input: { wp_id: 'wp_1', move: 'accept', override_reason: 'ran npm test myself' },
  },
  { as: 'agent', op: 'get_work_package', input: { wp_id: 'wp_1' } },
];

/** `countersign wp …` for a step (run with --server and the caller's token). */
function wpCliArgs(op: string, i: Record<string, unknown>): string[] {
  switch (op) {
    case 'book_work_package':
      return ['wp', 'book', '--spec', JSON.stringify(i.spec)];
    case 'list_work_packages':
      return ['wp', 'list', '--state', String(i.state), '--role', String(i.role)];
    case 'get_work_package':
      return ['wp', 'show', String(i.wp_id)];
    case 'move_work_package': {
      const findings = ((i.findings as string[] | undefined) ?? []).flatMap((f) => [
        '--finding',
        f,
      ]);
      const verdict = ['go', 'revise_scope', 'accept', 'require_revision', 'reject'].includes(
        String(i.move),
      );
      const extra = [
        ...(i.scope === undefined ? [] : ['--scope', i.scope as string]),
        ...(i.artifact === undefined ? [] : ['--artifact', JSON.stringify(i.artifact)]),
        ...(i.override_reason === undefined ? [] : ['--override', i.override_reason as string]),
      ];
      return verdict
        ? ['wp', 'verdict', String(i.wp_id), String(i.move), ...findings, ...extra]
        : ['wp', 'move', String(i.wp_id), String(i.move), ...findings, ...extra];
    }
    default:
      throw new Error(`no CLI mapping for ${op}`);
  }
}

/**
 * The work-package scenario through each door that binds a principal per call: HTTP, MCP over
 * Streamable HTTP and the CLI against the server, each as the step's token. (The local CLI and
 * `mcp --operator` act as the operator, who books and reads but makes no move.)
 */
describe('one work-package scenario through every front door', () => {
  const wpLedgers: Record<string, unknown[]> = {};
  const outcomes: Record<string, string[]> = {};
  const summary = (o: Outcome): string => {
    if (!o.ok) return o.code;
    const list = o.result.work_packages;
    return `ok ${Array.isArray(list) ? list.length : typeof o.result.state === 'string' ? o.result.state : '?'}`;
  };

  async function scenario(
    door: string,
    call: (
      url: string,
      token: string,
      op: string,
      input: Record<string, unknown>,
    ) => Promise<Outcome>,
    close: () => Promise<void> = () => Promise.resolve(),
  ) {
    const { dataDir, config } = freshEnv();
    const server = await startServer(config, { port: 0, log: () => undefined });
    try {
      const op = operatorContext('parity setup');
      const reg = async (name: string, role: string, kind: 'human' | 'agent') =>
        (await server.kernel.registerActor(op, { name, role, kind })).actor_id;
      const token = async (actor_id: string) =>
        (await server.kernel.createToken(op, { actor_id, name: 'parity' })).token;
      const tokens = {
        person: await token(await reg('Alice', 'reviewer', 'human')),
        agent: await token(await reg('Coder bot', 'coder', 'agent')),
      };
      outcomes[door] = [];
      for (const s of WP_STEPS)
        outcomes[door].push(summary(await call(server.url, tokens[s.as], s.op, s.input)));
    } finally {
      await close();
      await server.close();
    }
    wpLedgers[door] = comparable(await ledgerOf(dataDir), dataDir);
  }

  it('the HTTP API', async () => {
    await scenario('http', async (url, token, op, input) => {
      try {
        const result = await callRemote(url, token, 'parity', operation(op), input);
        return { ok: true, result: result as Record<string, unknown> };
      } catch (e) {
        if (!isCountersignError(e)) throw e;
        return { ok: false, code: e.code };
      }
    });
  }, 60_000);

  it('MCP over Streamable HTTP', async () => {
    const clients = new Map<string, Client>();
    await scenario(
      'mcpHttp',
      async (url, token, op, input) => {
        let client = clients.get(token);
        if (!client) {
          client = new Client({ name: 'parity-wp', version: '1' });
          await client.connect(
            new StreamableHTTPClientTransport(new URL('/mcp', url), {
              requestInit: {
                headers: { authorization: `Bearer ${token}`, 'x-purpose': 'parity' },
              },
            }),
          );
          clients.set(token, client);
        }
        return mcpOutcome(
          (await client.callTool({ name: op, arguments: input })) as CallToolResult,
        );
      },
      async () => {
        for (const c of clients.values()) await c.close();
      },
    );
  }, 60_000);

  it('the CLI against the server', async () => {
    await scenario('cli', async (url, token, op, input) => {
      const r = await runCli(wpCliArgs(op, input), {
        COUNTERSIGN_SERVER: url,
        COUNTERSIGN_TOKEN: token,
      });
      if (r.code === 0)
        return { ok: true, result: JSON.parse(r.stdout) as Record<string, unknown> };
      const err = JSON.parse(r.stderr.trim().split('\n').pop() ?? '{}') as {
        error?: { code?: string };
      };
      return { ok: false, code: err.error?.code ?? `exit ${r.code}` };
    });
  }, 120_000);

  it('answers alike and leaves identical ledgers, times and hashes aside', () => {
    expect(Object.keys(wpLedgers).sort()).toEqual(['cli', 'http', 'mcpHttp']);
    expect(outcomes.http).toEqual([
      'ok booked',
      'ok 1',
      'ok claimed',
      'POLICY_DENIED',
      'ok scope_returned',
      'ok scope_revision',
      'INVALID_STATE',
      'ok scope_returned',
      'ok go',
      'ok executing',
      'ok returned',
      'ok in_review',
      'POLICY_DENIED',
      'EVIDENCE_BELOW_TIER',
      'ok accepted',
      'ok accepted',
    ]);
    expect(outcomes.mcpHttp).toEqual(outcomes.http);
    expect(outcomes.cli).toEqual(outcomes.http);
    const types = (wpLedgers.http as { type: string }[]).map((e) => e.type);
    expect(types.filter((t) => t === 'WP_MOVED')).toHaveLength(9);
    expect(types).toContain('WP_BOOKED');
    expect(types).toContain('OPERATION_REFUSED');
    const refused = (wpLedgers.http as { type: string; data: { code?: string } }[])
      .filter((e) => e.type === 'OPERATION_REFUSED')
      .map((e) => e.data.code);
    expect(refused).toContain('EVIDENCE_BELOW_TIER');
    expect(wpLedgers.mcpHttp).toEqual(wpLedgers.http);
    expect(wpLedgers.cli).toEqual(wpLedgers.http);
  });
});
