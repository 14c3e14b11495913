import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CallToolResultSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { OPERATIONS } from '../src/surfaces/operations.js';
import { freshPgDatabase } from './setup/pg.js';
import { callTool, fails, ok } from './support/mcp-client.js';

const CLI = path.resolve('bin/countersign.js');
const PACKAGE_VERSION = (JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string })
  .version;

/** `countersign mcp` with `flags` (`--operator`, `--actor <id>`) and extra environment. */
async function connect(
  dataDir: string,
  flags: string[] = ['--operator'],
  env: Record<string, string> = {},
) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'mcp', ...flags],
    env: { COUNTERSIGN_DATA_DIR: dataDir, ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'countersign-test', version: '1.0.0' });
  const clientErrors: Error[] = [];
  client.onerror = (e) => clientErrors.push(e);
  await client.connect(transport);
  return { client, transport, clientErrors, stderr: () => stderr };
}

/** The launcher as a plain child process, for what the SDK client hides (stdout, exit code). */
function launch(dataDir: string, env: Record<string, string> = {}, flags = ['--operator']) {
  const child = spawn(process.execPath, [CLI, 'mcp', ...flags], {
    env: { PATH: process.env.PATH, COUNTERSIGN_DATA_DIR: dataDir, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const serving = new Promise<void>((resolve) =>
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('serving tenant')) resolve();
    }),
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { process: child, serving, exited, stdout: () => stdout, stderr: () => stderr };
}

describe('MCP over stdio as the local operator (--operator, the built CLI in a child process)', () => {
  let dir: string;
  let mcp: Awaited<ReturnType<typeof connect>>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-mcp-stdio-'));
    mcp = await connect(dir);
  });
  afterAll(async () => {
    await mcp?.client.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists every operation with its input and output schema and annotations', async () => {
    expect(mcp.client.getServerVersion()).toMatchObject({
      name: 'countersign',
      version: PACKAGE_VERSION,
    });
    const { tools } = await mcp.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(OPERATIONS.map((o) => o.name).sort());
    for (const op of OPERATIONS) {
      const tool = tools.find((t) => t.name === op.name)!;
      expect(tool.title).toBe(op.title);
      expect(tool.description).toBe(op.description);
      const { $schema: _in, ...input } = z.toJSONSchema(op.input, {
        target: 'draft-7',
        io: 'input',
      });
      const { $schema: _out, ...output } = z.toJSONSchema(op.output, {
        target: 'draft-7',
        io: 'output',
      });
      // Every tool also takes the MCP-only `purpose` argument.
      const { purpose, ...own } = (tool.inputSchema.properties ?? {}) as Record<string, unknown>;
      expect(purpose).toMatchObject({ type: 'string', minLength: 1 });
      expect({ ...tool.inputSchema, properties: own, $schema: undefined }).toEqual({
        ...input,
        $schema: undefined,
      });
      expect({ ...tool.outputSchema, $schema: undefined }).toEqual(output);
      expect(tool.annotations?.readOnlyHint).toBe(!op.write);
    }
    const destructive = tools.filter((t) => t.annotations?.destructiveHint).map((t) => t.name);
    expect(destructive.sort()).toEqual(['execute_action', 'execute_parallel']);
    const propose = tools.find((t) => t.name === 'propose_action')!;
    expect(propose.inputSchema).toMatchObject({
      required: ['workflow_id', 'actor_id', 'tool', 'params', 'reason'],
      additionalProperties: false,
      properties: { params: { type: 'object' } },
    });
  });

  it("runs seed 002's complete example through callTool", async () => {
    const c = mcp.client;
    const actors = [];
    for (const a of [
      { name: 'Alice', role: 'Developer' },
      { name: 'Bob', role: 'Senior Developer' },
      { name: 'Carol', role: 'DevOps Engineer' },
    ])
      actors.push(ok(await callTool(c, 'register_actor', a)));
    expect(actors).toEqual([
      { actor_id: 'actor_1' },
      { actor_id: 'actor_2' },
      { actor_id: 'actor_3' },
    ]);
    expect(
      ok(await callTool(c, 'start_workflow', { title: 'Production Database Migration' })),
    ).toEqual({ workflow_id: 'workflow_1' });

    expect(
      ok(
        await callTool(c, 'propose_action', {
          workflow_id: 'workflow_1',
          actor_id: 'actor_1',
          tool: 'database_backup',
          params: { database: 'production', backup_type: 'full' },
          reason: 'Creating backup before migration',
        }),
      ),
    ).toMatchObject({ proposal_id: 'proposal_1', status: 'pending', required_approvals: 1 });

    const self = fails(
      await callTool(c, 'review_action', {
        proposal_id: 'proposal_1',
        reviewer_id: 'actor_1',
        decision: 'approve',
      }),
      'SELF_APPROVAL',
    );
    expect(self).toMatch(/^SELF_APPROVAL: /);

    expect(
      ok(
        await callTool(c, 'review_action', {
          proposal_id: 'proposal_1',
          reviewer_id: 'actor_2',
          decision: 'approve',
        }),
      ),
    ).toMatchObject({ status: 'approved', approvals: { received: 1, required: 1 } });
    expect(ok(await callTool(c, 'execute_action', { proposal_id: 'proposal_1' }))).toMatchObject({
      execution_id: 'execution_1',
      result: { status: 'succeeded', tool: 'database_backup', dry_run: false },
    });

    ok(
      await callTool(c, 'propose_action', {
        workflow_id: 'workflow_1',
        actor_id: 'actor_1',
        tool: 'database_migration',
        params: { version: '2.1.0', rollback_plan: 'enabled' },
        reason: 'Applying schema changes for new features',
      }),
    );
    const merged = {
      version: '2.1.0',
      rollback_plan: 'enabled',
      maintenance_window: '2:00-4:00 AM UTC',
      notification_channels: ['slack', 'email'],
    };
    expect(
      ok(
        await callTool(c, 'review_action', {
          proposal_id: 'proposal_2',
          reviewer_id: 'actor_3',
          decision: 'edit',
          edits: {
            params: {
              maintenance_window: '2:00-4:00 AM UTC',
              notification_channels: ['slack', 'email'],
            },
          },
        }),
      ),
    ).toMatchObject({
      status: 'approved',
      final_tool_call: { tool: 'database_migration', params: merged, version: 2 },
    });

    const parallel = ok<{
      results: { status: string; proposal_id: string | null; error: { code: string } | null }[];
    }>(
      await callTool(c, 'execute_parallel', {
        calls: [
          { tool: 'database_migration', params: merged },
          {
            tool: 'send_notification',
            params: { channel: 'slack', message: 'Database migration starting in 5 minutes' },
          },
        ],
      }),
    );
    expect(parallel.results.map((r) => [r.status, r.proposal_id, r.error?.code ?? null])).toEqual([
      ['succeeded', 'proposal_2', null],
      ['refused', null, 'REVIEW_REQUIRED'],
    ]);

    const log = ok<{ entries: { type: string; seq: number }[] }>(
      await callTool(c, 'get_audit_log', { workflow_id: 'workflow_1' }),
    );
    const types = log.entries.map((e) => e.type);
    for (const t of ['WORKFLOW_STARTED', 'APPROVAL_DECISION', 'TOOL_INVOKE', 'PARALLEL_EXECUTED'])
      expect(types).toContain(t);
    expect(ok(await callTool(c, 'verify_audit', {}))).toMatchObject({
      ok: true,
      first_broken_seq: null,
    });
  });

  it('answers invalid arguments with VALIDATION_FAILED and changes nothing', async () => {
    const c = mcp.client;
    const events = async () => ok<{ events: number }>(await callTool(c, 'verify_audit', {})).events;
    const before = await events();
    const propose = {
      workflow_id: 'workflow_1',
      actor_id: 'actor_1',
      tool: 'update_status',
      params: { status: 'in_progress' },
      reason: 'r',
    };
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['register_actor', { name: 'Dave' }, /role: /],
      ['register_actor', { name: 5, role: 'Developer' }, /name: .*expected string/],
      ['register_actor', { name: 'Dave', role: 'Developer', admin: true }, /admin/],
      [
        'propose_action',
        { ...propose, params: 'status=in_progress' },
        /params: must be a JSON object/,
      ],
      ['propose_action', { ...propose, params: ['in_progress'] }, /params: must be a JSON object/],
      ['propose_action', { ...propose, workflow_id: 'wf-1' }, /workflow_id: must look like/],
      [
        'review_action',
        { proposal_id: 'proposal_1', reviewer_id: 'actor_2', decision: 'edit' },
        /edits: required/,
      ],
      ['execute_parallel', { calls: [] }, /calls: needs at least one call/],
      ['verify_audit', { deep: true }, /deep/],
      ['list_tools', { x: 1 }, /x/],
    ];
    for (const [tool, args, message] of cases) {
      const text = fails(await callTool(c, tool, args), 'VALIDATION_FAILED');
      expect(text, `${tool} ${JSON.stringify(args)}`).toMatch(message);
    }
    expect(await events()).toBe(before);
  });

  it('reports what the SDK does with arguments that are not an object, and keeps answering', async () => {
    // The SDK rejects the request itself before any tool sees it (arguments must be a record),
    // as a JSON-RPC error; the server stays up.
    for (const args of ['status', [1, 2], 42, null]) {
      const error = await mcp.client
        .request(
          { method: 'tools/call', params: { name: 'register_actor', arguments: args as never } },
          CallToolResultSchema,
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(McpError);
      expect((error as McpError).message).toContain('expected record');
    }
    // An unknown tool is a tool error from the SDK, without one of our codes.
    const unknown = await callTool(mcp.client, 'drop_everything', {});
    expect(unknown.isError).toBe(true);
    expect(JSON.stringify(unknown.content)).toContain('Tool drop_everything not found');
    expect(ok(await callTool(mcp.client, 'verify_audit', {}))).toMatchObject({ ok: true });
    expect(mcp.clientErrors).toEqual([]);
  });

  it('exits once the client closes, and is gone afterwards', async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-mcp-stdio-close-'));
    try {
      const m = await connect(other);
      ok(await callTool(m.client, 'register_actor', { name: 'Eve', role: 'Developer' }));
      const pid = m.transport.pid!;
      await m.client.close();
      expect(() => process.kill(pid, 0)).toThrow();
      expect(m.stderr()).toContain('stdin ended; stopping');
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it('answers the calls already sent when stdin ends (on Postgres, where they take a while), then exits 0', async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-mcp-stdio-drain-'));
    const db = await freshPgDatabase(inject('pgUrl'), 'mcp_drain');
    try {
      const child = launch(other, { COUNTERSIGN_DATABASE_URL: db.url });
      const calls = [1, 2, 3, 4, 5].map((n) => ({
        jsonrpc: '2.0',
        id: n + 1,
        method: 'tools/call',
        params: { name: 'register_actor', arguments: { name: `Eve ${n}`, role: 'Developer' } },
      }));
      const lines = [
        {
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'raw', version: '1' },
          },
        },
        { jsonrpc: '2.0', method: 'notifications/initialized' },
        ...calls,
      ];
      child.process.stdin.end(lines.map((l) => JSON.stringify(l) + '\n').join(''));
      expect(await child.exited).toBe(0);
      const replies = child
        .stdout()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { id: number; result: { structuredContent?: unknown } });
      expect(replies.map((r) => r.id).sort()).toEqual([1, 2, 3, 4, 5, 6]);
      const actors = replies.filter((r) => r.id > 1).map((r) => r.result.structuredContent);
      expect(actors).toHaveLength(5);
      expect(actors.map((a) => (a as { actor_id: string }).actor_id).sort()).toEqual([
        'actor_1',
        'actor_2',
        'actor_3',
        'actor_4',
        'actor_5',
      ]);
      expect(child.stderr()).toContain('stdin ended; stopping');
      expect(child.stderr()).toContain('from Postgres');
    } finally {
      await db.drop();
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it('stops on SIGTERM with exit code 0 and writes nothing but MCP to stdout', async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-mcp-stdio-term-'));
    try {
      const child = launch(other);
      await child.serving;
      child.process.kill('SIGTERM');
      expect(await child.exited).toBe(0);
      expect(child.stderr()).toContain('SIGTERM; stopping');
      expect(child.stdout()).toBe('');
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('MCP over stdio bound to one agent (the default, --actor, COUNTERSIGN_TOKEN)', () => {
  let dir: string;
  const closers: (() => Promise<void>)[] = [];
  const open = async (flags: string[], env: Record<string, string> = {}) => {
    const m = await connect(dir, flags, env);
    closers.push(() => m.client.close());
    return m;
  };
  /** The data directory's operator, through its own `--operator` connection. */
  let operator: Client;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-mcp-stdio-bound-'));
    operator = (await open(['--operator'])).client;
    for (const a of [
      { name: 'Alice', role: 'Developer' },
      { name: 'Bob', role: 'Senior Developer' },
    ])
      ok(await callTool(operator, 'register_actor', a));
    ok(await callTool(operator, 'start_workflow', { title: 'Bound agents' }));
  });
  afterAll(async () => {
    for (const close of closers) await close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const decisions = async () =>
    ok<{ proposal: { status: string }; decisions: unknown[] }>(
      await callTool(operator, 'get_proposal', { proposal_id: 'proposal_1' }),
    );

  it('binds to a local-agent it registers once, says so on stderr, and never decides', async () => {
    const agent = await open([]);
    expect(agent.stderr()).toContain('registered just now');
    const me = ok<{ actor_id: string; principal_kind: string }>(
      await callTool(agent.client, 'who_am_i', {}),
    );
    expect(me).toMatchObject({ actor_id: 'actor_3', principal_kind: 'agent' });
    expect(agent.stderr()).toContain('as agent actor_3 (local-agent)');

    // It proposes as itself (actor_id defaults to it).
    expect(
      ok(
        await callTool(agent.client, 'propose_action', {
          workflow_id: 'workflow_1',
          tool: 'update_status',
          params: { status: 'done' },
          reason: 'the agent wants it',
        }),
      ),
    ).toMatchObject({ proposal_id: 'proposal_1', status: 'pending' });
    const before = await decisions();

    // Attack 1: approve its own call by naming a person as the reviewer.
    const named = fails(
      await callTool(agent.client, 'review_action', {
        proposal_id: 'proposal_1',
        reviewer_id: 'actor_2',
        decision: 'approve',
        purpose: 'ship it',
      }),
      'POLICY_DENIED',
    );
    expect(named).toContain('cannot act as actor_2');
    // As itself: an agent never decides (and never its own call).
    fails(
      await callTool(agent.client, 'review_action', {
        proposal_id: 'proposal_1',
        reviewer_id: 'actor_3',
        decision: 'approve',
        purpose: 'ship it',
      }),
      'POLICY_DENIED',
    );
    // Nor through something it could create: another actor or a token.
    fails(
      await callTool(agent.client, 'register_actor', {
        name: 'Sock Puppet',
        role: 'Senior Developer',
      }),
      'POLICY_DENIED',
    );
    fails(
      await callTool(agent.client, 'create_token', {
        actor_id: 'actor_2',
        name: 'steal',
        purpose: 'p',
      }),
      'POLICY_DENIED',
    );
    // Privileged calls need a purpose, as over HTTP.
    const noPurpose = fails(
      await callTool(agent.client, 'execute_action', { proposal_id: 'proposal_1' }),
      'POLICY_DENIED',
    );
    expect(noPurpose).toContain('needs a purpose');
    expect(await decisions()).toEqual(before);
    expect(before).toMatchObject({ proposal: { status: 'pending' }, decisions: [] });

    // A person approves; then the agent executes.
    ok(
      await callTool(operator, 'review_action', {
        proposal_id: 'proposal_1',
        reviewer_id: 'actor_2',
        decision: 'approve',
      }),
    );
    expect(
      ok(
        await callTool(agent.client, 'execute_action', {
          proposal_id: 'proposal_1',
          purpose: 'run what Bob approved',
        }),
      ),
    ).toMatchObject({ result: { status: 'succeeded' } });

    // The next connection is the same local agent, not a new one.
    const again = await open([]);
    expect(again.stderr()).not.toContain('registered just now');
    expect(ok(await callTool(again.client, 'who_am_i', {}))).toMatchObject({ actor_id: 'actor_3' });
  });

  it('--actor binds to a named agent and refuses a person; two bindings at once are refused', async () => {
    const agentId = ok<{ actor_id: string }>(
      await callTool(operator, 'register_actor', { name: 'CI bot', role: 'bot', kind: 'agent' }),
    ).actor_id;
    const bot = await open(['--actor', agentId]);
    expect(ok(await callTool(bot.client, 'who_am_i', {}))).toMatchObject({
      actor_id: agentId,
      principal_kind: 'agent',
    });
    for (const [flags, env, message] of [
      [['--actor', 'actor_2'], {}, 'is a person'],
      [['--actor', 'actor_99'], {}, 'actor_99'],
      [['--actor', agentId, '--operator'], {}, 'binds to one principal'],
    ] as const) {
      const child = launch(dir, env, [...flags]);
      child.process.stdin.end();
      expect(await child.exited, flags.join(' ')).not.toBe(0);
      expect(child.stderr()).toContain(message);
      expect(child.stderr()).not.toMatch(/\n\s+at /);
    }
  });

  it('COUNTERSIGN_TOKEN binds to its agent; an operator token is refused; revocation is immediate', async () => {
    const agentId = ok<{ actor_id: string }>(
      await callTool(operator, 'register_actor', { name: 'Token bot', role: 'bot', kind: 'agent' }),
    ).actor_id;
    const minted = ok<{ token: string; token_id: string }>(
      await callTool(operator, 'create_token', { actor_id: agentId, name: 'bot' }),
    );
    const bot = await open([], { COUNTERSIGN_TOKEN: minted.token });
    expect(ok(await callTool(bot.client, 'who_am_i', {}))).toMatchObject({
      actor_id: agentId,
      token_id: minted.token_id,
    });
    ok(await callTool(operator, 'revoke_token', { token_id: minted.token_id }));
    fails(await callTool(bot.client, 'who_am_i', {}), 'UNAUTHENTICATED');

    const op = ok<{ token: string }>(
      await callTool(operator, 'create_token', { actor_id: 'operator', name: 'ops' }),
    );
    const child = launch(dir, { COUNTERSIGN_TOKEN: op.token }, []);
    child.process.stdin.end();
    expect(await child.exited).not.toBe(0);
    expect(child.stderr()).toContain('operator token');
  });
});
