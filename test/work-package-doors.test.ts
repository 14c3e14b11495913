/**
 * Work packages through the doors, over the real transports: HTTP routes and MCP tools on a
 * running `countersign serve` (each call as its own token), and `countersign wp …` spawned
 * against a data directory and against the server. An agent claims and returns, a person
 * decides; the agent deciding, an illegal move and bad input are refused with stable codes and
 * write nothing.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorContext } from '../src/core/context.js';
import { configFromEnv } from '../src/main/config.js';
import { type RunningServer, startServer } from '../src/main/serve.js';
import { callTool, fails, ok } from './support/mcp-client.js';

const BIN = path.resolve('bin/countersign.js');
const SPEC = {
  title: 'Fix the login timeout',
  objective: 'Sessions last 30 minutes, as the settings say.',
  role: 'coder',
  owned_surfaces: ['src/auth/**'],
  forbidden_surfaces: ['migrations/**'],
  evidence_tier: 'local_command_proof',
};
/** A return whose one claim waits for the runner's record: below the package's tier. */
const ARTIFACT = {
  summary: 'Sessions now last 30 minutes.',
  changed: [{ path: 'src/auth/session.ts', what: 'reads the timeout from the settings' }],
  validated: [{ how: 'unit tests', command: 'npm test', result: 'pass' }],
  not_touched: ['migrations/'],
  evidence: [
    {
      claim: 'the session tests pass',
      class: 'local_command_proof',
      pointer: { kind: 'command', ref: 'npm test' },
    },
  ],
  non_claims: ['no load test'],
  risks: [],
  next_gate: 'review by the auth owner',
};

const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
};

let server: RunningServer;
const tokens = { person: '', agent: '', otherAgent: '' };
const clients: Client[] = [];

async function http(
  as: keyof typeof tokens,
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${tokens[as]}`,
    'x-purpose': 'wp doors',
  };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}${url}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function mcp(as: keyof typeof tokens): Promise<Client> {
  const client = new Client({ name: `wp-${as}`, version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL('/mcp', server.url), {
      requestInit: { headers: { authorization: `Bearer ${tokens[as]}` } },
    }),
  );
  clients.push(client);
  return client;
}

const ledgerLength = async () =>
  (await server.kernel.verifyAudit(operatorContext('wp doors'))).events;

const errorOf = (body: Record<string, unknown>) =>
  body.error as { code: string; details: Record<string, unknown> };

beforeAll(async () => {
  const dir = tempDir('cs-wp-doors-');
  server = await startServer(configFromEnv({ COUNTERSIGN_DATA_DIR: dir }), {
    port: 0,
    log: () => undefined,
  });
  const op = operatorContext('wp doors setup');
  const reg = async (name: string, role: string, kind: 'human' | 'agent') =>
    (await server.kernel.registerActor(op, { name, role, kind })).actor_id;
  const token = async (actor_id: string) =>
    (await server.kernel.createToken(op, { actor_id, name: 'wp doors' })).token;
  tokens.person = await token(await reg('Alice', 'reviewer', 'human'));
  tokens.agent = await token(await reg('Coder bot', 'coder', 'agent'));
  tokens.otherAgent = await token(await reg('Other bot', 'coder', 'agent'));
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('work packages over HTTP and MCP', () => {
  it('lets a person book, an agent claim and return, and only a person decide', async () => {
    const agentMcp = await mcp('agent');
    const personMcp = await mcp('person');

    // An agent does not book work for itself.
    const before = await ledgerLength();
    const refused = await http('agent', 'POST', '/work-packages', { spec: SPEC });
    expect(refused.status).toBe(403);
    expect(errorOf(refused.body).code).toBe('POLICY_DENIED');

    const booked = await http('person', 'POST', '/work-packages', { spec: SPEC });
    expect(booked.status, JSON.stringify(booked.body)).toBe(200);
    expect(booked.body).toMatchObject({ id: 'wp_1', state: 'booked', claimed_by: null });
    expect(booked.body.spec).toMatchObject({ ...SPEC, stop_gate: true, tools: [] });
    expect(String(booked.body.markdown)).toContain('# Fix the login timeout');
    expect(await ledgerLength()).toBeGreaterThan(before);

    // The agent finds it among booked work of its role and claims it.
    const found = await http('agent', 'GET', '/work-packages?state=booked&role=coder&limit=10');
    expect(found.status).toBe(200);
    expect(found.body).toMatchObject({ work_packages: [{ id: 'wp_1' }], next_after: null });
    const claimed = await http('agent', 'POST', '/work-packages/wp_1/moves', { move: 'claim' });
    expect(claimed.status, JSON.stringify(claimed.body)).toBe(200);
    expect(claimed.body).toMatchObject({ state: 'claimed', claimed_by: 'actor_2' });

    // Deciding its own scope is not the agent's, by either door.
    const selfGo = await http('agent', 'POST', '/work-packages/wp_1/moves', { move: 'go' });
    expect(selfGo.status).toBe(403);
    expect(errorOf(selfGo.body).code).toBe('POLICY_DENIED');
    fails(
      await callTool(agentMcp, 'move_work_package', { wp_id: 'wp_1', move: 'go', purpose: 't' }),
      'POLICY_DENIED',
    );
    // Another agent of the role cannot work a package it did not claim.
    const poach = await http('otherAgent', 'POST', '/work-packages/wp_1/moves', {
      move: 'return_scope',
      scope: 'everything',
    });
    expect([poach.status, errorOf(poach.body).code]).toEqual([403, 'POLICY_DENIED']);

    // An illegal move names the legal ones.
    const early = await http('agent', 'POST', '/work-packages/wp_1/moves', {
      move: 'return',
      artifact: ARTIFACT,
    });
    expect(early.status).toBe(409);
    expect(errorOf(early.body).code).toBe('INVALID_STATE');
    expect(errorOf(early.body).details.legal_moves).toEqual(['return_scope', 'hold', 'stop']);

    const move = async (client: Client, m: string, extra: Record<string, unknown> = {}) =>
      ok(
        await callTool(client, 'move_work_package', {
          wp_id: 'wp_1',
          move: m,
          purpose: 'wp doors',
          ...extra,
        }),
      );
    expect(await move(agentMcp, 'return_scope', { scope: 'src/auth/session.ts' })).toMatchObject({
      state: 'scope_returned',
    });
    expect(await move(personMcp, 'go')).toMatchObject({ state: 'go' });
    expect(await move(agentMcp, 'start')).toMatchObject({ state: 'executing' });
    fails(
      await callTool(agentMcp, 'move_work_package', {
        wp_id: 'wp_1',
        move: 'return',
        purpose: 'wp doors',
      }),
      'VALIDATION_FAILED',
    );
    expect(await move(agentMcp, 'return', { artifact: ARTIFACT })).toMatchObject({
      state: 'returned',
    });
    const review = await http('person', 'POST', '/work-packages/wp_1/moves', {
      move: 'open_review',
    });
    expect(review.body).toMatchObject({ state: 'in_review' });
    fails(
      await callTool(agentMcp, 'move_work_package', {
        wp_id: 'wp_1',
        move: 'accept',
        purpose: 'wp doors',
      }),
      'POLICY_DENIED',
    );
    const accept = await http('agent', 'POST', '/work-packages/wp_1/moves', { move: 'accept' });
    expect([accept.status, errorOf(accept.body).code]).toEqual([403, 'POLICY_DENIED']);
    // The return does not reach the tier: refused by both doors until the person overrides.
    const below = await http('person', 'POST', '/work-packages/wp_1/moves', { move: 'accept' });
    expect([below.status, errorOf(below.body).code]).toEqual([409, 'EVIDENCE_BELOW_TIER']);
    expect(errorOf(below.body).details).toMatchObject({
      required: 'local_command_proof',
      reached: 'not_proven',
      unverified: [{ class: 'local_command_proof', why: 'no runner record yet' }],
    });
    fails(
      await callTool(personMcp, 'move_work_package', {
        wp_id: 'wp_1',
        move: 'accept',
        purpose: 'wp doors',
      }),
      'EVIDENCE_BELOW_TIER',
    );
    expect(
      await move(personMcp, 'accept', { override_reason: 'ran the session tests myself' }),
    ).toMatchObject({ state: 'accepted' });

    const read = ok(await callTool(agentMcp, 'get_work_package', { wp_id: 'wp_1' }));
    expect(read).toMatchObject({
      state: 'accepted',
      claimed_by: 'actor_2',
      booked_by: 'actor_1',
      returns: [
        { n: 1, kind: 'scope', scope: 'src/auth/session.ts', artifact: null },
        { n: 2, kind: 'return', scope: null, artifact: ARTIFACT },
      ],
    });
    const moves = (await server.kernel.verifyAudit(operatorContext('wp doors'))).events;
    expect(moves).toBeGreaterThan(before + 7);
  });

  it('refuses bad input with 400 and writes nothing', async () => {
    const before = await ledgerLength();
    const list = async () =>
      (
        (await http('person', 'GET', '/work-packages')).body.work_packages as {
          id: string;
          state: string;
        }[]
      ).map((w) => `${w.id} ${w.state}`);
    const packages = await list();
    const bad: [string, string, unknown][] = [
      ['POST', '/work-packages', { spec: { ...SPEC, role: undefined } }],
      ['POST', '/work-packages', { spec: { ...SPEC, owned_surfaces: ['../etc/**'] } }],
      ['POST', '/work-packages', { spec: { ...SPEC, owned_surfaces: ['a/**', 'a/**'] } }],
      ['POST', '/work-packages', { spec: SPEC, extra: 1 }],
      ['POST', '/work-packages/wp_1/moves', { move: 'teleport' }],
      ['POST', '/work-packages/wp_1/moves', { move: 'hold' }], // a hold needs a reason
      ['POST', '/work-packages/wp_1/moves', { move: 'merge', merge_proof: 'not a sha' }],
      ['POST', '/work-packages/wp_1/moves', { move: 'return', artifact: { summary: 'x' } }],
      ['POST', '/work-packages/wp_1/moves', { move: 'hold', reason: 'x', override_reason: 'y' }],
      ['POST', '/work-packages/nope/moves', { move: 'claim' }],
      ['GET', '/work-packages?limit=0', undefined],
      ['GET', '/work-packages?state=lost', undefined],
      ['GET', '/work-packages/wp_1?version=zero', undefined],
    ];
    for (const [method, url, body] of bad) {
      const r = await http('person', method, url, body);
      expect([url, r.status, errorOf(r.body).code]).toEqual([url, 400, 'VALIDATION_FAILED']);
    }
    const missing = await http('person', 'GET', '/work-packages/wp_99');
    expect([missing.status, errorOf(missing.body).code]).toEqual([404, 'NOT_FOUND']);
    const mcpBad = await mcp('person');
    fails(
      await callTool(mcpBad, 'move_work_package', {
        wp_id: 'wp_1',
        move: 'merge',
        purpose: 'wp doors',
      }),
      'VALIDATION_FAILED',
    );
    expect(await list()).toEqual(packages);
    expect(await ledgerLength()).toBe(before);
  });
});

function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
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

describe('countersign wp', () => {
  it('books, lists and shows against a data directory, where the operator moves nothing', async () => {
    const env = { COUNTERSIGN_DATA_DIR: tempDir('cs-wp-cli-') };
    const specFile = path.join(tempDir('cs-wp-spec-'), 'package.json');
    fs.writeFileSync(specFile, JSON.stringify(SPEC));

    const book = await cli(['--json', 'wp', 'book', '--spec', `@${specFile}`], env);
    expect(book.code, book.stderr).toBe(0);
    expect(JSON.parse(book.stdout)).toMatchObject({ id: 'wp_1', state: 'booked' });
    // Flags alone, and flags over a spec.
    const flags = await cli(
      [
        'wp',
        'book',
        '--title',
        'Tidy the docs',
        '--objective',
        'Docs build without warnings.',
        '--role',
        'writer',
        '--owned',
        'docs/**',
        '--owned',
        'README.md',
        '--evidence-tier',
        'source_trace',
        '--no-stop-gate',
      ],
      env,
    );
    expect(flags.code, flags.stderr).toBe(0);
    expect(flags.stdout).toMatch(/^wp_2\s+booked\s+writer\s+Tidy the docs/);

    const list = await cli(['wp', 'list', '--role', 'writer'], env);
    expect([list.code, list.stdout.trim().split('\n')]).toEqual([
      0,
      [expect.stringMatching(/^wp_2\s+booked\s+writer/)],
    ]);
    const shown = await cli(['--json', 'wp', 'show', 'wp_2'], env);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      spec: { owned_surfaces: ['docs/**', 'README.md'], stop_gate: false },
    });
    const md = await cli(['wp', 'show', 'wp_1', '--markdown'], env);
    expect(md.code).toBe(0);
    expect(md.stdout).toMatch(/^# Fix the login timeout\n/);
    expect(md.stdout).toContain('migrations/**');

    // The operator books and reads; a move is an actor's.
    const claim = await cli(['--json', 'wp', 'move', 'wp_1', 'claim'], env);
    expect(claim.code).toBe(3);
    expect(claim.stderr).toContain('"code":"POLICY_DENIED"');
    const missing = await cli(['wp', 'show', 'wp_9'], env);
    expect([missing.code, missing.stderr]).toEqual([4, expect.stringMatching(/^error NOT_FOUND/)]);
    const badSpec = await cli(['wp', 'book', '--spec', '{"title":"x"}'], env);
    expect(badSpec.code).toBe(2);
    expect(badSpec.stderr).toMatch(/^error VALIDATION_FAILED/);
    expect(badSpec.stderr).not.toMatch(/\n\s+at /);
    const notVerdict = await cli(['wp', 'verdict', 'wp_1', 'merge'], env);
    expect([notVerdict.code, notVerdict.stderr]).toEqual([
      2,
      expect.stringContaining('other moves go through countersign wp move'),
    ]);
    const after = await cli(['--json', 'wp', 'list'], env);
    expect(
      (JSON.parse(after.stdout) as { work_packages: { id: string; state: string }[] })
        .work_packages,
    ).toMatchObject([
      { id: 'wp_1', state: 'booked' },
      { id: 'wp_2', state: 'booked' },
    ]);
  }, 60_000);

  it('moves and gives verdicts against a server as the token’s actor', async () => {
    const as = (who: keyof typeof tokens) => ({
      COUNTERSIGN_SERVER: server.url,
      COUNTERSIGN_TOKEN: tokens[who],
    });
    const specFile = path.join(tempDir('cs-wp-spec-'), 'package.json');
    fs.writeFileSync(specFile, JSON.stringify(SPEC));
    const book = await cli(['--json', 'wp', 'book', '--spec', `@${specFile}`], as('person'));
    expect(book.code, book.stderr).toBe(0);
    const id = (JSON.parse(book.stdout) as { id: string }).id;

    const step = async (who: keyof typeof tokens, args: string[]) => {
      const r = await cli(['--json', 'wp', ...args], as(who));
      return { code: r.code, out: r.code === 0 ? (JSON.parse(r.stdout) as object) : r.stderr };
    };
    expect(await step('agent', ['move', id, 'claim'])).toMatchObject({
      code: 0,
      out: { state: 'claimed' },
    });
    const noScope = await step('agent', ['move', id, 'return_scope']);
    expect(noScope.code).toBe(2);
    expect(
      await step('agent', ['move', id, 'return_scope', '--scope', 'src/auth/**']),
    ).toMatchObject({
      code: 0,
      out: { state: 'scope_returned' },
    });
    const selfVerdict = await step('agent', ['verdict', id, 'go']);
    expect(selfVerdict.code).toBe(3);
    expect(selfVerdict.out).toContain('"code":"POLICY_DENIED"');
    const noFindings = await step('person', ['verdict', id, 'revise_scope']);
    expect(noFindings.code).toBe(2);
    expect(
      await step('person', [
        'verdict',
        id,
        'revise_scope',
        '--finding',
        'name the session setting',
        '--finding',
        'leave the login form alone',
      ]),
    ).toMatchObject({ code: 0, out: { state: 'scope_revision' } });
    const illegal = await step('agent', ['move', id, 'start']);
    expect(illegal.code).toBe(4);
    expect(illegal.out).toContain('"legal_moves":["return_scope","hold","stop"]');
    expect(
      await step('agent', ['move', id, 'return_scope', '--scope', 'src/auth/session.ts only']),
    ).toMatchObject({ code: 0 });
    expect(await step('person', ['verdict', id, 'go'])).toMatchObject({
      code: 0,
      out: { state: 'go' },
    });
    const shown = await cli(['wp', 'show', id], as('agent'));
    expect(shown.stdout).toMatch(new RegExp(`^${id}\\s+go\\s+coder\\s+.*claimed by actor_2`));

    expect(await step('agent', ['move', id, 'start'])).toMatchObject({ code: 0 });
    const artifactFile = path.join(tempDir('cs-wp-return-'), 'return.json');
    fs.writeFileSync(artifactFile, JSON.stringify(ARTIFACT));
    expect(
      await step('agent', ['move', id, 'return', '--artifact', `@${artifactFile}`]),
    ).toMatchObject({
      code: 0,
      out: { state: 'returned' },
    });
    expect(await step('person', ['move', id, 'open_review'])).toMatchObject({ code: 0 });
    const below = await step('person', ['verdict', id, 'accept']);
    expect(below.code).toBe(4);
    expect(below.out).toContain('"code":"EVIDENCE_BELOW_TIER"');
    expect(
      await step('person', ['verdict', id, 'accept', '--override', 'ran the tests myself']),
    ).toMatchObject({ code: 0, out: { state: 'accepted' } });
    const md = await cli(['wp', 'show', id, '--markdown'], as('agent'));
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).toMatch(/^# Fix the login timeout\n/);
    expect(md.stdout).toContain('# Return 3 of `' + id + '`');
    expect(md.stdout).toContain('## Evidence register');
    expect(md.stdout).toContain('the session tests pass');
  }, 60_000);
});
