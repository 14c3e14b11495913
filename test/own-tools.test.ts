import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { CedarPolicyEngine } from '../src/adapters/policy/cedar-policy-engine.js';
import { openSqliteStore } from '../src/adapters/store/open-store.js';
import { callHash } from '../src/core/canonical.js';
import { defineTool } from '../src/core/define-tool.js';
import { Kernel } from '../src/core/kernel.js';
import { steppingClock } from '../src/core/ports/clock.js';
import { staticToolRegistry } from '../src/core/ports/tools.js';
import { STORES, ctx, seedActors } from './support/kernel-fixture.js';
import { callTool, ok } from './support/mcp-client.js';
import { type SignedRemote, startSignedRemote } from './support/signed-remote.js';
import { type ServeProcess, spawnServe } from './support/countersign-serve.js';

// The shipped example, run by the built CLI (`npm run build` first), as a user would run it.
const BIN = path.resolve('bin/countersign.js');
const EXAMPLE = path.resolve('examples/own-tools');
const TOOLS_MODULE = path.join(EXAMPLE, 'tools.js');
const PUBLIC_ENTRY = pathToFileURL(path.resolve('dist/src/tools.js')).href;
const SECRET = 'example-ops-secret-0123456789';

/** The example's http-tools.json, pointed at the fake ops service's port. */
function httpToolsFor(dir: string, remoteUrl: string): string {
  const text = fs
    .readFileSync(path.join(EXAMPLE, 'http-tools.json'), 'utf8')
    .replaceAll('http://127.0.0.1:8787', remoteUrl);
  const file = path.join(dir, 'http-tools.json');
  fs.writeFileSync(file, text);
  return file;
}

function run(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH, ...env },
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

type Served = ServeProcess;

const serve = (env: Record<string, string>) =>
  spawnServe({ PATH: process.env.PATH, ...env }, { timeoutMs: 30_000 });

describe('your own tools, from the shipped example, in a real `countersign serve`', () => {
  let dir: string;
  let remote: SignedRemote;
  let server: Served;
  let env: Record<string, string>;

  const call = async (token: string, method: string, route: string, body?: unknown) => {
    const res = await fetch(`${server.url}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'x-purpose': 'own tools test',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-own-tools-'));
    remote = await startSignedRemote(SECRET);
    env = {
      COUNTERSIGN_DATA_DIR: path.join(dir, 'data'),
      COUNTERSIGN_TOOLS: `examples/own-tools/tools.js,${httpToolsFor(dir, remote.url)}`,
      OPS_API_SECRET: SECRET,
    };
    server = await serve(env);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await remote?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an agent proposes restart_service over HTTP, a human reads its sentence and approves, and it runs once', async () => {
    const op = server.operatorToken;
    const agent = await call(op, 'POST', '/actors', {
      name: 'Deploy Bot',
      role: 'Developer',
      kind: 'agent',
    });
    const human = await call(op, 'POST', '/actors', { name: 'Bob', role: 'Senior Developer' });
    expect([agent.status, human.status]).toEqual([200, 200]);
    const agentId = agent.body.actor_id as string;
    const humanId = human.body.actor_id as string;
    const agentToken = (await call(op, 'POST', '/tokens', { actor_id: agentId, name: 'bot' })).body
      .token as string;
    const humanToken = (await call(op, 'POST', '/tokens', { actor_id: humanId, name: 'bob' })).body
      .token as string;

    const tools = await call(agentToken, 'GET', '/tools');
    const names = (tools.body.tools as { name: string }[]).map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining(['restart_service', 'scale_service', 'config_set']),
    );

    const wf = await call(agentToken, 'POST', '/workflows', { title: 'Checkout is slow' });
    const workflow_id = wf.body.workflow_id as string;
    const proposed = await call(agentToken, 'POST', '/proposals', {
      workflow_id,
      actor_id: agentId,
      tool: 'restart_service',
      params: { service: 'checkout-api', region: 'eu-west-1' },
      reason: 'p99 latency doubled after the deploy',
    });
    expect(proposed.status).toBe(200);
    expect(proposed.body.status).toBe('pending');
    const proposal_id = proposed.body.proposal_id as string;
    // The default is part of the call: the hash binds drain_seconds too.
    const params = { service: 'checkout-api', region: 'eu-west-1', drain_seconds: 30 };
    expect(proposed.body.hash).toBe(callHash('restart_service', params));

    // The reviewer reads the sentence beside the exact call and its hash.
    const pending = await call(humanToken, 'GET', '/reviews/pending');
    const review = (pending.body.reviews as Record<string, unknown>[]).find(
      (r) => r.proposal_id === proposal_id,
    );
    expect(review).toMatchObject({
      tool: 'restart_service',
      description: 'Restart checkout-api in eu-west-1, draining connections for 30 s first.',
      params,
      hash: proposed.body.hash as string,
    });
    const view = await call(humanToken, 'GET', `/proposals/${proposal_id}`);
    expect(view.body.final_tool_call).toEqual({
      tool: 'restart_service',
      params,
      hash: proposed.body.hash as string,
      version: 1,
      description: 'Restart checkout-api in eu-west-1, draining connections for 30 s first.',
    });

    // The CLI's review list prints the sentence with the exact call and its hash under it.
    const cli = await run(['pending', '--server', server.url, '--token', humanToken], {});
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(
      '  Restart checkout-api in eu-west-1, draining connections for 30 s first.\n' +
        `  call: ${JSON.stringify(params)} (hash ${(proposed.body.hash as string).slice(0, 12)}…)\n`,
    );

    // The agent cannot decide its own call (nor any call).
    const self = await call(agentToken, 'POST', `/proposals/${proposal_id}/review`, {
      reviewer_id: agentId,
      decision: 'approve',
    });
    expect(self.status).toBe(403);

    const approved = await call(humanToken, 'POST', `/proposals/${proposal_id}/review`, {
      reviewer_id: humanId,
      decision: 'approve',
    });
    expect(approved.body.status).toBe('approved');
    const executed = await call(agentToken, 'POST', `/proposals/${proposal_id}/execute`, {});
    expect(executed.body.result).toMatchObject({
      status: 'succeeded',
      output: { restarted: 'checkout-api', region: 'eu-west-1' },
    });
    const again = await call(agentToken, 'POST', `/proposals/${proposal_id}/execute`, {});
    expect(again.body.execution_id).toBe(executed.body.execution_id);

    const file = path.join(env.COUNTERSIGN_DATA_DIR!, 'example-restarts.jsonl');
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      service: 'checkout-api',
      region: 'eu-west-1',
      drain_seconds: 30,
      idempotency_key: `default:${proposal_id}:v1`,
    });

    // The HTTP tool of the example: signed, verified by the service, run once.
    const scale = await call(agentToken, 'POST', '/proposals', {
      workflow_id,
      actor_id: agentId,
      tool: 'scale_service',
      params: { service: 'checkout-api', replicas: 6 },
      reason: 'more capacity while it restarts',
    });
    const scaleId = scale.body.proposal_id as string;
    const [scaleReview] = (
      (await call(humanToken, 'GET', '/reviews/pending')).body.reviews as Record<string, unknown>[]
    ).filter((r) => r.proposal_id === scaleId);
    expect(scaleReview?.description).toBe('Scale checkout-api to 6 replicas.');
    await call(humanToken, 'POST', `/proposals/${scaleId}/review`, {
      reviewer_id: humanId,
      decision: 'approve',
    });
    const scaled = await call(agentToken, 'POST', `/proposals/${scaleId}/execute`, {});
    expect(scaled.body.result).toMatchObject({ status: 'succeeded', output: { done: true } });
    expect(remote.effects.map((r) => [r.path, r.body.params])).toEqual([
      ['/countersign/apply', { service: 'checkout-api', replicas: 6 }],
    ]);
  });

  it('lists the same tools over MCP stdio (`countersign mcp`)', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', '--operator'],
      env: { ...env, COUNTERSIGN_DATA_DIR: path.join(dir, 'mcp-data') },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'own-tools-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const listed = ok<{ tools: { name: string; description: string; risk: string }[] }>(
        await callTool(client, 'list_tools', {}),
      );
      expect(listed.tools.find((t) => t.name === 'restart_service')).toMatchObject({
        risk: 'write',
        description: expect.stringContaining('Restarts one service') as unknown,
      });
      expect(listed.tools.map((t) => t.name)).toContain('scale_service');
    } finally {
      await client.close();
    }
  }, 60_000);
});

describe('a tools module that cannot be used stops the start with a clear error', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-own-bad-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const tool = (name: string) =>
    `defineTool({ name: ${JSON.stringify(name)}, description: 'd', risk: 'write', input: z.object({}), plan: async () => ({}), apply: async () => ({}) })`;
  const module = (file: string, body: string) => {
    const full = path.join(dir, file);
    fs.writeFileSync(full, `import { defineTool, z } from '${PUBLIC_ENTRY}';\n${body}\n`);
    return full;
  };

  it.each([
    [
      'throws on import',
      () => module('throws.js', "throw new Error('cannot reach vault');"),
      /could not be loaded: cannot reach vault/,
    ],
    [
      'takes a built-in name',
      () => module('builtin.js', `export default [${tool('config_set')}];`),
      /"config_set" belongs to a built-in tool/,
    ],
    [
      'uses a name twice',
      () => module('twice.js', `export default [${tool('mine')}, ${tool('mine')}];`),
      /"mine" is used twice in this file/,
    ],
    [
      'breaks the tool-name rule',
      () => module('badname.js', `export default [${tool('drop everything')}];`),
      /not a tool name/,
    ],
    [
      'exports something else',
      () => module('shape.js', `export const helper = 42;`),
      /export helper is not a tool/,
    ],
    ['exports nothing', () => module('empty.js', ''), /exports no tools/],
    [
      'is not a module',
      () => {
        const f = path.join(dir, 'tools.yaml');
        fs.writeFileSync(f, 'x: 1');
        return f;
      },
      /must be an ES module/,
    ],
    ['does not exist', () => path.join(dir, 'missing.js'), /missing\.js does not exist/],
  ])(
    'refuses a tools module that %s (exit 2, VALIDATION_FAILED, no stack trace)',
    async (_what, make, message) => {
      const r = await run(['tools'], {
        COUNTERSIGN_DATA_DIR: path.join(dir, 'data'),
        COUNTERSIGN_TOOLS: make(),
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error VALIDATION_FAILED: /);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
    },
  );

  it('refuses the same name declared in a module and in a JSON file', async () => {
    const mod = module('one.js', `export const scale_service = ${tool('scale_service')};`);
    const r = await run(['tools'], {
      COUNTERSIGN_DATA_DIR: path.join(dir, 'data'),
      COUNTERSIGN_TOOLS: `${mod},${path.join(EXAMPLE, 'http-tools.json')}`,
      OPS_API_SECRET: SECRET,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"scale_service" is used twice \(also in .*one\.js\)/);
  });

  it('stops `serve` and `mcp` too, before they listen', async () => {
    const bad = module('serve-bad.js', `export default [${tool('database_backup')}];`);
    const e = { COUNTERSIGN_DATA_DIR: path.join(dir, 'data'), COUNTERSIGN_TOOLS: bad };
    for (const args of [
      ['serve', '--port', '0'],
      ['mcp', '--operator'],
    ]) {
      const r = await run(args, e);
      expect(r.code, args[0]).toBe(2);
      expect(r.stderr, args[0]).toMatch(
        /error VALIDATION_FAILED: .*"database_backup" belongs to a built-in tool/,
      );
      expect(r.stdout, args[0]).not.toMatch(/listening/);
    }
  });

  it('reads countersign.config.json in the working directory when COUNTERSIGN_TOOLS is unset', async () => {
    const cwd = fs.mkdtempSync(path.join(dir, 'project-'));
    fs.writeFileSync(
      path.join(cwd, 'countersign.config.json'),
      JSON.stringify({ tools: [TOOLS_MODULE] }),
    );
    const child = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const c = spawn(process.execPath, [BIN, 'tools'], {
        cwd,
        env: { PATH: process.env.PATH, COUNTERSIGN_DATA_DIR: path.join(cwd, 'data') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      c.on('close', (code) => resolve({ code, stdout }));
    });
    expect(child.code).toBe(0);
    expect(child.stdout).toMatch(/^restart_service\s+write/m);
  });
});

describe("a tool's describe() never stops a proposal", () => {
  const says = (name: string, describe: (p: { text: string }) => unknown) =>
    defineTool({
      name,
      description: name,
      risk: 'write',
      input: z.strictObject({ text: z.string() }),
      describe: describe as (p: { text: string }) => string,
      plan: async () => ({}),
      apply: async () => ({}),
    });

  it.each([
    [
      'throws',
      't_throws',
      () => {
        throw new Error('no such\nfield');
      },
      'Runs t_throws with the parameters shown (no description: its describe() failed: no such field).',
    ],
    [
      'answers a number',
      't_number',
      () => 42,
      'Runs t_number with the parameters shown (no description: its describe() returned no text).',
    ],
    [
      'answers a promise',
      't_promise',
      () => Promise.resolve('later'),
      'Runs t_promise with the parameters shown (no description: its describe() returned no text).',
    ],
    [
      'answers blank text',
      't_blank',
      () => ' \n ',
      'Runs t_blank with the parameters shown (no description: its describe() returned no text).',
    ],
    [
      'answers too much',
      't_long',
      () => 'x'.repeat(301),
      'Runs t_long with the parameters shown (no description: its describe() returned more than 300 characters).',
    ],
    [
      'hides text with control and bidi characters',
      't_clean',
      (p: { text: string }) => `Post ${p.text}.`,
      'Post hello world evil.',
    ],
  ])('when it %s', async (_what, name, describe, expected) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-describe-'));
    const store = await openSqliteStore(path.join(dir, 'countersign.sqlite'));
    try {
      const kernel = new Kernel({
        store,
        policy: CedarPolicyEngine.fromDirectory(),
        tools: staticToolRegistry([says(name, describe)]),
        clock: steppingClock(),
        newSecret: () => randomBytes(24).toString('base64url'),
      });
      await seedActors(kernel);
      const params = { text: 'hello\u202e\u0000world\nevil' };
      const p = await kernel.proposeAction(ctx, {
        workflow_id: 'workflow_1',
        actor_id: 'actor_1',
        tool: name,
        params,
        reason: 'r',
      });
      expect(p.status).toBe('pending');
      const [review] = (await kernel.listPendingReviews(ctx)).reviews;
      expect(review?.description).toBe(expected);
      // The call itself is kept exactly as proposed, beside the sentence.
      expect(review?.params).toEqual(params);
      expect(review?.hash).toBe(callHash(name, params));
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(STORES.map((f) => [f.name, f] as const))(
    'keeps the sentence with its version on %s, and leaves it out for tools without describe()',
    async (_name, factory) => {
      const { store, cleanup } = await factory.open();
      try {
        const plain = defineTool({
          name: 'plain',
          description: 'plain',
          risk: 'write',
          input: z.strictObject({}),
          plan: async () => ({}),
          apply: async () => ({}),
        });
        const kernel = new Kernel({
          store,
          policy: CedarPolicyEngine.fromDirectory(),
          tools: staticToolRegistry([says('said', (p) => `Say ${p.text}.`), plain]),
          clock: steppingClock(),
          newSecret: () => randomBytes(24).toString('base64url'),
        });
        await seedActors(kernel);
        const propose = (tool: string, params: Record<string, string>) =>
          kernel.proposeAction(ctx, {
            workflow_id: 'workflow_1',
            actor_id: 'actor_1',
            tool,
            params,
            reason: 'r',
          });
        const said = await propose('said', { text: 'hi' });
        const bare = await propose('plain', {});
        const a = await kernel.getProposal(ctx, { proposal_id: said.proposal_id });
        const b = await kernel.getProposal(ctx, { proposal_id: bare.proposal_id });
        expect(a.final_tool_call.description).toBe('Say hi.');
        expect(a.versions[0]?.description).toBe('Say hi.');
        expect(b.final_tool_call.description).toBeNull();
        expect(b.versions[0]).not.toHaveProperty('description');
        // The built-in shape of the ledger event is unchanged for a tool without describe().
        const log = await kernel.getAuditLog(ctx, { workflow_id: 'workflow_1' });
        const events = log.entries.filter((e) => e.type === 'ACTION_PROPOSED');
        expect(events.map((e) => 'description' in e.data)).toEqual([true, false]);
      } finally {
        await cleanup();
      }
    },
  );
});
