/**
 * Policy you can try before you trust it: test_policy and replay_policy over real HTTP against
 * a server whose active policy is a custom directory, and the CLI against a real
 * `countersign serve` process.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CedarPolicyEngine,
  DEFAULT_POLICY_DIR,
} from '../src/adapters/policy/cedar-policy-engine.js';
import type { PolicyRequest } from '../src/core/ports/policy.js';
import { createClient } from '../src/client/index.js';
import { operatorContext } from '../src/core/context.js';
import type { ReplayPolicyOutput, TestPolicyOutput } from '../src/core/policy-trial-schemas.js';
import { configFromEnv } from '../src/main/config.js';
import { type RunningServer, startServer } from '../src/main/serve.js';
import { type ServeProcess, spawnServe } from './support/countersign-serve.js';

const run = promisify(execFile);
const BIN = path.resolve('bin/countersign.js');

const DEFAULT_TEXT = fs.readFileSync(path.join(DEFAULT_POLICY_DIR, 'policies.cedar'), 'utf8');
const REVIEW_ALL = `@id("calls-need-review")
@approvals("1")
permit (principal, action == Action::"proposal.create", resource)
unless {
  context has workflow_archetype &&
  context.workflow_archetype == "proposal_only" &&
  context has agent_invocation_id &&
  resource.risk == "read"
};`;

/** The active policy: the defaults, except update_status runs at once, backups need two DBAs
 * and agents never notify. */
const ACTIVE_FILES = [
  {
    name: 'policies.cedar',
    text: DEFAULT_TEXT.replace(
      REVIEW_ALL,
      `${REVIEW_ALL.slice(0, -1)}\nunless { resource == Tool::"update_status" };`,
    ),
  },
  {
    name: 'tools.cedar',
    text: `@id("status-runs-at-once")
@approvals("0")
permit (principal, action == Action::"proposal.create", resource == Tool::"update_status");

@id("backups-need-two-dbas")
@approvals("2")
@roles("dba")
permit (principal, action == Action::"proposal.create", resource == Tool::"database_backup");

@id("agents-never-notify")
forbid (principal, action == Action::"proposal.create", resource == Tool::"send_notification")
when { principal.kind == "agent" };
`,
  },
];

const CALLS = {
  update_status: { status: 'green' },
  database_backup: { database: 'production', backup_type: 'full' },
  config_set: { service: 'checkout-api', key: 'timeout', value: '30' },
  send_notification: { message: 'hello', channel: 'slack' },
} as const;

/** Every field the answers below may carry (test_policy, replay_policy, propose, an error). */
type Body = Omit<TestPolicyOutput, 'changed'> &
  Omit<ReplayPolicyOutput, 'changed'> & {
    changed: boolean | number | null;
    error: { code: string; message: string; details: Record<string, unknown> };
    status: string;
    required_approvals: number;
    required_roles: string[];
  };

interface Answer {
  status: number;
  body: Body;
}

describe('test_policy and replay_policy over HTTP', () => {
  let dir: string;
  let server: RunningServer;
  const tok = { operator: '', admin: '', agent: '', human: '' };
  const ids = { agent: '', human: '', admin: '', workflow: '' };

  const api = async (token: string, method: string, url: string, body?: unknown) => {
    const res = await fetch(`${server.url}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'x-purpose': 'policy test',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    const answer: Answer = { status: res.status, body: JSON.parse(text) as Body };
    return answer;
  };
  const testPolicy = (token: string, body: Record<string, unknown>) =>
    api(token, 'POST', '/policy/test', body);
  const replay = (token: string, body: Record<string, unknown>) =>
    api(token, 'POST', '/policy/replay', body);
  const propose = (token: string, actor_id: string, tool: keyof typeof CALLS) =>
    api(token, 'POST', '/proposals', {
      workflow_id: ids.workflow,
      actor_id,
      tool,
      params: CALLS[tool],
      reason: 'policy test',
    });
  /** Rows of the tenant's proposals and ledger, read from the store. */
  const counts = async () => {
    const k = server.kernel;
    const proposals = await k.r.store.read((tx) => tx.listProposals('default', { limit: 100_000 }));
    const ledger = (await k.verifyAudit(operatorContext('count'))).events;
    return { proposals: proposals.length, ledger };
  };

  beforeAll(async () => {
    expect(ACTIVE_FILES[0]!.text).not.toBe(DEFAULT_TEXT);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-policy-test-'));
    const policyDir = path.join(dir, 'policies');
    fs.mkdirSync(policyDir);
    for (const f of ACTIVE_FILES) fs.writeFileSync(path.join(policyDir, f.name), f.text);
    server = await startServer(
      { ...configFromEnv({}), dataDir: path.join(dir, 'data'), policyDir },
      { port: 0 },
    );
    tok.operator = server.adminToken!;
    const op = operatorContext('setup');
    const k = server.kernel;
    const reg = async (name: string, role: string, kind: 'human' | 'agent') =>
      (await k.registerActor(op, { name, role, kind })).actor_id;
    ids.agent = await reg('Ops bot', 'Developer', 'agent');
    ids.human = await reg('Dana', 'dba', 'human');
    ids.admin = await reg('Ada', 'admin', 'human');
    tok.agent = (await k.createToken(op, { actor_id: ids.agent, name: 'bot' })).token!;
    tok.human = (await k.createToken(op, { actor_id: ids.human, name: 'dana' })).token!;
    tok.admin = (await k.createToken(op, { actor_id: ids.admin, name: 'ada' })).token!;
    ids.workflow = (await k.startWorkflow(op, { title: 'Policy trial' })).workflow_id;
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('answers for the active policy what a real propose_action does for the same call', async () => {
    const seen = new Set<string>();
    for (const tool of Object.keys(CALLS) as (keyof typeof CALLS)[]) {
      const tried = await testPolicy(tok.admin, {
        tool,
        params: CALLS[tool],
        proposer_id: ids.agent,
        workflow_id: ids.workflow,
      });
      expect(tried.status, JSON.stringify(tried.body)).toBe(200);
      const current = tried.body.current;
      expect(tried.body.candidate).toBeNull();
      expect(tried.body.changed).toBeNull();
      const real = await propose(tok.agent, ids.agent, tool);
      seen.add(current.effect);
      if (real.status === 403) {
        expect(real.body.error.code).toBe('POLICY_DENIED');
        expect(current.effect).toBe('deny');
        expect(current.matched.map((m: { id: string }) => m.id)).toEqual(['agents-never-notify']);
        expect(current.why).toContain('agents-never-notify');
      } else {
        expect(real.status, JSON.stringify(real.body)).toBe(200);
        expect(current.effect).toBe(real.body.status === 'approved' ? 'allow' : 'review');
        expect(current.approvals).toBe(real.body.required_approvals);
        expect(current.roles).toEqual(real.body.required_roles);
      }
    }
    // The custom policy makes every effect occur, so the comparison covers all three.
    expect([...seen].sort()).toEqual(['allow', 'deny', 'review']);

    const backup = await testPolicy(tok.operator, {
      tool: 'database_backup',
      params: CALLS.database_backup,
      proposer_id: ids.agent,
      workflow_id: ids.workflow,
    });
    expect(backup.body.current).toMatchObject({
      effect: 'review',
      approvals: 2,
      roles: ['dba'],
      policy_version: server.kernel.policyVersion,
    });
    const why = backup.body.current.matched.find(
      (m: { id: string }) => m.id === 'backups-need-two-dbas',
    );
    expect(why!.annotations).toEqual({ id: 'backups-need-two-dbas', approvals: '2', roles: 'dba' });
    expect(backup.body.call).toMatchObject({ risk: 'write', proposer_kind: 'agent' });
  }, 120_000);

  it('reports a candidate that denies a tool as deny, naming its policy, and installs nothing', async () => {
    const candidate = [
      ...ACTIVE_FILES,
      {
        name: 'freeze.cedar',
        text: '@id("freeze-status")\nforbid (principal, action == Action::"proposal.create", resource == Tool::"update_status");\n',
      },
    ];
    const before = await counts();
    const tried = await testPolicy(tok.admin, {
      tool: 'update_status',
      params: CALLS.update_status,
      proposer_id: ids.human,
      workflow_id: ids.workflow,
      candidate,
    });
    expect(tried.status, JSON.stringify(tried.body)).toBe(200);
    expect(tried.body.current.effect).toBe('allow');
    expect(tried.body.current.matched.map((m: { id: string }) => m.id)).toEqual([
      'status-runs-at-once',
    ]);
    expect(tried.body.candidate!.effect).toBe('deny');
    expect(tried.body.candidate!.matched.map((m: { id: string }) => m.id)).toEqual([
      'freeze-status',
    ]);
    expect(tried.body.candidate!.why).toBe('Denied by freeze-status.');
    expect(tried.body.candidate!.policy_version).not.toBe(server.kernel.policyVersion);
    expect(tried.body.changed).toBe(true);
    // The same candidate for another tool changes nothing.
    const other = await testPolicy(tok.admin, {
      tool: 'config_set',
      params: CALLS.config_set,
      proposer_id: ids.human,
      workflow_id: ids.workflow,
      candidate,
    });
    expect(other.body.changed).toBe(false);
    await replay(tok.operator, { candidate, last: 50 });
    // Read-only: no proposal, no ledger event, and the active policy still allows the call.
    expect(await counts()).toEqual(before);
    const real = await propose(tok.human, ids.human, 'update_status');
    expect(real.body.status).toBe('approved');
  }, 120_000);

  it('replays recorded proposals under a candidate and lists exactly the decisions that change', async () => {
    for (const tool of [
      'update_status',
      'database_backup',
      'config_set',
      'database_backup',
    ] as const)
      expect((await propose(tok.human, ids.human, tool)).status).toBe(200);
    // Candidate: backups need only one approval, from anyone.
    const candidate = [
      {
        name: 'policies.cedar',
        text: ACTIVE_FILES[0]!.text,
      },
      {
        name: 'tools.cedar',
        text: ACTIVE_FILES[1]!.text.replace(
          '@approvals("2")\n@roles("dba")\n',
          '@approvals("1")\n',
        ),
      },
    ];
    expect(candidate[1]!.text).not.toBe(ACTIVE_FILES[1]!.text);
    const all = await server.kernel.r.store.read((tx) =>
      tx.listProposals('default', { limit: 1000 }),
    );
    const before = await counts();
    const r = await replay(tok.admin, { candidate, last: 1000 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const expected = all.filter((p) => p.tool === 'database_backup').map((p) => p.id);
    expect(expected.length).toBeGreaterThanOrEqual(3);
    expect(r.body.changes.map((c: { proposal_id: string }) => c.proposal_id).sort()).toEqual(
      [...expected].sort(),
    );
    expect(r.body.replayed).toBe(all.length);
    expect(r.body.changed).toBe(expected.length);
    expect(r.body.unchanged).toBe(all.length - expected.length);
    const change = r.body.changes[0]!;
    expect(change.before).toMatchObject({ effect: 'review', approvals: 2, roles: ['dba'] });
    expect(change.after).toMatchObject({ effect: 'review', approvals: 1, roles: [] });
    expect(change.before.matched.map((m: { id: string }) => m.id)).toContain(
      'backups-need-two-dbas',
    );
    expect(r.body.counts.current.review).toBe(r.body.counts.candidate.review);
    // `last` bounds the replay to the most recently active proposals.
    const two = await replay(tok.admin, { candidate, last: 2 });
    expect(two.body.replayed).toBe(2);
    expect(await counts()).toEqual(before);
  }, 120_000);

  it('refuses invalid candidate text with POLICY_INVALID naming the file, never a 500', async () => {
    const base = {
      tool: 'update_status',
      params: CALLS.update_status,
      proposer_id: ids.human,
      workflow_id: ids.workflow,
    };
    const broken = await testPolicy(tok.admin, {
      ...base,
      candidate: [
        { name: 'good.cedar', text: 'permit (principal, action, resource);' },
        { name: 'broken.cedar', text: 'permit (principal, action, resource' },
      ],
    });
    expect(broken.status).toBe(422);
    expect(broken.body.error.code).toBe('POLICY_INVALID');
    expect(broken.body.error.message).toContain('broken.cedar');
    expect(broken.body.error.details.file).toBe('broken.cedar');
    // Parses, but names an action the schema does not have.
    const offSchema = await replay(tok.admin, {
      last: 5,
      candidate: [
        {
          name: 'typo.cedar',
          text: '@id("typo")\npermit (principal, action == Action::"proposal.craete", resource);',
        },
      ],
    });
    expect(offSchema.status).toBe(422);
    expect(offSchema.body.error.code).toBe('POLICY_INVALID');
    expect(offSchema.body.error.details.file).toBe('typo.cedar');
    // Bounds: too many files, a file too large, a path for a name, an unknown tool, bad params.
    const many = Array.from({ length: 21 }, (_, i) => ({ name: `p${i}.cedar`, text: '' }));
    const bad = [
      await testPolicy(tok.admin, { ...base, candidate: many }),
      await testPolicy(tok.admin, {
        ...base,
        candidate: [{ name: 'big.cedar', text: `// ${'x'.repeat(70_000)}` }],
      }),
      await testPolicy(tok.admin, {
        ...base,
        candidate: [{ name: '../../etc/passwd', text: '' }],
      }),
      await replay(tok.admin, { candidate: [{ name: 'a.cedar', text: '' }], last: 1001 }),
      await testPolicy(tok.admin, { ...base, params: { status: 42 } }),
    ];
    expect(bad.map((b) => [b.status, b.body.error.code])).toEqual(
      Array(5).fill([400, 'VALIDATION_FAILED']),
    );
    const unknown = await testPolicy(tok.admin, { ...base, tool: 'rm_rf' });
    expect([unknown.status, unknown.body.error.code]).toEqual([422, 'UNKNOWN_TOOL']);
  }, 120_000);

  it('refuses an agent token and a plain reviewer (attack: an agent probing or rewriting policy)', async () => {
    const before = await counts();
    const candidate = [
      {
        name: 'mine.cedar',
        text: '@approvals("0")\npermit (principal, action, resource);',
      },
    ];
    for (const token of [tok.agent, tok.human]) {
      const t = await testPolicy(token, {
        tool: 'database_backup',
        params: CALLS.database_backup,
        proposer_id: ids.agent,
        workflow_id: ids.workflow,
        candidate,
      });
      expect([t.status, t.body.error.code]).toEqual([403, 'POLICY_DENIED']);
      const r = await replay(token, { candidate, last: 10 });
      expect([r.status, r.body.error.code]).toEqual([403, 'POLICY_DENIED']);
    }
    // The agent's "allow everything" candidate was never installed: its own call still needs two DBAs.
    const real = await propose(tok.agent, ids.agent, 'database_backup');
    expect(real.body).toMatchObject({ status: 'pending', required_approvals: 2 });
    const after = await counts();
    expect(after.proposals).toBe(before.proposals + 1);
    // A proposer that is not an actor of the caller's tenant is not found.
    const foreign = await testPolicy(tok.admin, {
      tool: 'update_status',
      params: CALLS.update_status,
      proposer_id: 'actor_999',
    });
    expect([foreign.status, foreign.body.error.code]).toEqual([404, 'NOT_FOUND']);
  }, 120_000);
});

describe('countersign policy test / policy replay against a real countersign serve', () => {
  let dir: string;
  let serve: ServeProcess;
  let agentToken = '';
  let workflow = '';
  let agent = '';

  const cli = async (args: string[], token = serve.operatorToken) => {
    try {
      const { stdout, stderr } = await run(
        process.execPath,
        [BIN, '--server', serve.url, '--token', token, ...args],
        { env: { PATH: process.env.PATH }, timeout: 60_000 },
      );
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-policy-cli-'));
    serve = await spawnServe({
      PATH: process.env.PATH,
      COUNTERSIGN_DATA_DIR: path.join(dir, 'data'),
      COUNTERSIGN_TEMPORAL_ADDRESS: '',
    });
    const operator = createClient({
      baseUrl: serve.url,
      token: serve.operatorToken,
      purpose: 'setup',
    });
    agent = (await operator.registerActor({ name: 'Bot', role: 'Developer', kind: 'agent' }))
      .actor_id;
    agentToken = (await operator.createToken({ actor_id: agent, name: 'bot' })).token!;
    workflow = (await operator.startWorkflow({ title: 'CLI trial' })).workflow_id;
    const bot = createClient({ baseUrl: serve.url, token: agentToken });
    for (const status of ['a', 'b'])
      await bot.proposeAction({
        workflow_id: workflow,
        actor_id: agent,
        tool: 'update_status',
        params: { status },
        reason: 'cli trial',
      });
    fs.mkdirSync(path.join(dir, 'candidate'));
    fs.copyFileSync(
      path.join(DEFAULT_POLICY_DIR, 'policies.cedar'),
      path.join(dir, 'candidate', 'policies.cedar'),
    );
    fs.writeFileSync(
      path.join(dir, 'candidate', 'freeze.cedar'),
      '@id("freeze-status")\nforbid (principal, action == Action::"proposal.create", resource == Tool::"update_status");\n',
    );
    fs.writeFileSync(path.join(dir, 'candidate', 'README.md'), 'not a policy');
  }, 120_000);

  afterAll(async () => {
    await serve?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints the decision and why, as text and as JSON, and replays the recorded proposals', async () => {
    const call = [
      'policy',
      'test',
      '--tool',
      'update_status',
      '--params',
      '{"status":"x"}',
      '--proposer',
      agent,
      '--workflow',
      workflow,
    ];
    const text = await cli([...call, '--candidate', path.join(dir, 'candidate')]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('current: review: 1 approval');
    expect(text.stdout).toContain('matched: calls-need-review @approvals("1")');
    expect(text.stdout).toContain('candidate: deny');
    expect(text.stdout).toContain('why: Denied by freeze-status.');
    expect(text.stdout).toContain('The candidate decides differently.');

    const json = await cli(['--json', ...call]);
    expect(json.code, json.stderr).toBe(0);
    const parsed = JSON.parse(json.stdout) as { current: { effect: string }; candidate: null };
    expect(parsed.current.effect).toBe('review');
    expect(parsed.candidate).toBeNull();

    const replayed = await cli([
      'policy',
      'replay',
      '--candidate',
      path.join(dir, 'candidate'),
      '--last',
      '10',
    ]);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stdout).toContain('replayed 2 proposals: 2 would change, 0 unchanged');
    expect(replayed.stdout).toMatch(/proposal_1 +update_status .*review: 1 approval → deny/);
    const replayJson = JSON.parse(
      (
        await cli([
          '--json',
          'policy',
          'replay',
          '--candidate',
          path.join(dir, 'candidate'),
          '--last',
          '1',
        ])
      ).stdout,
    ) as { replayed: number; changes: unknown[] };
    expect(replayJson.replayed).toBe(1);
    expect(replayJson.changes).toHaveLength(1);
  }, 180_000);

  it('exits non-zero on bad input and refuses an agent token', async () => {
    fs.mkdirSync(path.join(dir, 'broken'));
    fs.writeFileSync(path.join(dir, 'broken', 'broken.cedar'), 'permit (');
    const broken = await cli([
      'policy',
      'replay',
      '--candidate',
      path.join(dir, 'broken'),
      '--last',
      '5',
    ]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('error POLICY_INVALID');
    expect(broken.stderr).toContain('broken.cedar');

    const empty = await cli([
      'policy',
      'replay',
      '--candidate',
      path.join(dir, 'nowhere'),
      '--last',
      '5',
    ]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('--candidate');

    const last = await cli([
      'policy',
      'replay',
      '--candidate',
      path.join(dir, 'candidate'),
      '--last',
      '0',
    ]);
    expect(last.code).toBe(2);

    const params = await cli([
      'policy',
      'test',
      '--tool',
      'update_status',
      '--params',
      '{nope',
      '--proposer',
      agent,
    ]);
    expect(params.code).toBe(2);
    expect(params.stderr).toContain('--params is not valid JSON');

    const asAgent = await cli(
      [
        'policy',
        'test',
        '--tool',
        'update_status',
        '--params',
        '{"status":"x"}',
        '--proposer',
        agent,
        '--workflow',
        workflow,
      ],
      agentToken,
    );
    expect(asAgent.code).toBe(3);
    expect(asAgent.stderr).toContain('error POLICY_DENIED');

    const help = await cli(['policy', 'test', '--help']);
    expect(help.stdout).toContain('--candidate <dir>');
  }, 180_000);
});

describe('candidate policy sets', () => {
  it('each answers with its own policies, however many candidates were compiled since', () => {
    const request = (tool: string): PolicyRequest => ({
      tenant_id: 'default',
      principal: { id: 'actor_1', kind: 'agent', roles: ['Developer'] },
      action: 'proposal.create',
      resource: { type: 'Tool', id: tool, risk: 'write' },
      purpose: 'trial',
      workflow_id: 'workflow_1',
      local_operator: false,
    });
    // Twenty candidates (more than the preparsed slots they share), each forbidding its own tool.
    const candidates = Array.from({ length: 20 }, (_, i) =>
      CedarPolicyEngine.candidate([
        { name: 'policies.cedar', text: DEFAULT_TEXT },
        {
          name: 'freeze.cedar',
          text: `@id("freeze-${i}")\nforbid (principal, action == Action::"proposal.create", resource == Tool::"tool_${i}");`,
        },
      ]),
    );
    for (let round = 0; round < 2; round++)
      candidates.forEach((c, i) => {
        const own = c.decide(request(`tool_${i}`));
        expect([own.effect, own.reasons]).toEqual(['deny', [`freeze-${i}`]]);
        const other = c.decide(request(`tool_${(i + 1) % 20}`));
        expect([other.effect, other.reasons]).toEqual(['review', ['calls-need-review']]);
        expect(c.decideWholeSet(request(`tool_${i}`)).effect).toBe('deny');
      });
    expect(() => CedarPolicyEngine.candidate([{ name: 'x.cedar', text: 'forbid (' }])).toThrow(
      expect.objectContaining({ code: 'POLICY_INVALID', details: { file: 'x.cedar' } }),
    );
  });
});
