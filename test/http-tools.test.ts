import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CedarPolicyEngine } from '../src/adapters/policy/cedar-policy-engine.js';
import type { KyselyStore } from '../src/adapters/store/kysely-store.js';
import { openSqliteStore } from '../src/adapters/store/open-store.js';
import { createDemoTools } from '../src/adapters/tools/demo-tools.js';
import { signature } from '../src/adapters/tools/http-tool.js';
import { callHash } from '../src/core/canonical.js';
import { Kernel } from '../src/core/kernel.js';
import { steppingClock } from '../src/core/ports/clock.js';
import { staticToolRegistry } from '../src/core/ports/tools.js';
import { loadOwnTools } from '../src/main/tools-config.js';
import { ctx, expectCode, seedActors } from './support/kernel-fixture.js';
import { type SignedRemote, startSignedRemote } from './support/signed-remote.js';

const SECRET = 'remote-secret-0123456789abcdef';
const ENV = { OPS_SECRET: SECRET, WRONG_SECRET: 'not-the-secret-0123456789' };

const input = {
  type: 'object',
  properties: {
    service: { type: 'string', pattern: '^[a-z][a-z0-9-]*$' },
    replicas: { type: 'integer', minimum: 0, maximum: 50 },
  },
  required: ['service', 'replicas'],
  additionalProperties: false,
};

function declarations(url: string) {
  const tool = (name: string, apply: string, extra: Record<string, unknown> = {}) => ({
    name,
    description: `${name} through the fake ops service`,
    risk: 'write',
    input,
    apply: { url: `${url}${apply}` },
    secret_env: 'OPS_SECRET',
    timeout_ms: 2000,
    describe: 'Scale {service} to {replicas} replicas.',
    ...extra,
  });
  return {
    tools: [
      tool('remote_scale', '/apply', { plan: { url: `${url}/plan` } }),
      tool('remote_noplan', '/apply'),
      tool('remote_fail', '/fail'),
      tool('remote_html', '/html'),
      tool('remote_array', '/array'),
      tool('remote_slow', '/slow', { timeout_ms: 300 }),
      tool('remote_wrong_secret', '/apply', { secret_env: 'WRONG_SECRET' }),
    ],
  };
}

function writeJson(dir: string, name: string, value: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

describe('HTTP tools declared in configuration', () => {
  let remote: SignedRemote;
  let dir: string;
  let store: KyselyStore;
  let kernel: Kernel;

  beforeAll(async () => {
    remote = await startSignedRemote(SECRET);
  });
  afterAll(async () => remote.close());

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-http-tools-'));
    const file = writeJson(dir, 'tools.json', declarations(remote.url));
    const tools = await loadOwnTools({ spec: file, cwd: dir, env: ENV, reserved: new Set() });
    store = await openSqliteStore(path.join(dir, 'countersign.sqlite'));
    kernel = new Kernel({
      store,
      policy: CedarPolicyEngine.fromDirectory(),
      tools: staticToolRegistry(tools),
      clock: steppingClock(),
      newSecret: () => randomBytes(24).toString('base64url'),
    });
    await seedActors(kernel);
    remote.requests.length = 0;
    remote.effects.length = 0;
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Proposed by Alice (actor_1), approved by Bob (actor_2). */
  async function approved(tool: string, params = { service: 'checkout-api', replicas: 3 }) {
    const p = await kernel.proposeAction(ctx, {
      workflow_id: 'workflow_1',
      actor_id: 'actor_1',
      tool,
      params,
      reason: 'traffic is up',
    });
    await kernel.reviewAction(ctx, {
      proposal_id: p.proposal_id,
      reviewer_id: 'actor_2',
      decision: 'approve',
    });
    return p;
  }

  it('sends a signed plan and apply the service verifies, with the idempotency key, and records its answer', async () => {
    const p = await approved('remote_scale');
    const dry = await kernel.executeAction(ctx, { proposal_id: p.proposal_id, dry_run: true });
    expect(dry.result).toMatchObject({
      status: 'simulated',
      output: { mode: 'plan', done: false },
    });
    const live = await kernel.executeAction(ctx, { proposal_id: p.proposal_id });
    expect(live.result).toMatchObject({
      status: 'succeeded',
      output: { mode: 'apply', done: true, params: { service: 'checkout-api', replicas: 3 } },
    });
    expect(remote.requests.map((r) => [r.path, r.verified])).toEqual([
      ['/plan', true],
      ['/apply', true],
    ]);
    const apply = remote.effects[1]!;
    expect(apply.body).toMatchObject({
      tool: 'remote_scale',
      mode: 'apply',
      params: { service: 'checkout-api', replicas: 3 },
      proposal_id: p.proposal_id,
      workflow_id: 'workflow_1',
      tenant_id: 'default',
    });
    expect(apply.headers['idempotency-key']).toBe(apply.body.idempotency_key);
    expect(live.result.output?.seen_key).toBe(`default:${p.proposal_id}:v1`);
    expect(apply.headers['x-countersign-signature']).toMatch(/^v1=[0-9a-f]{64}$/);
  });

  it('cannot be forged: a request altered after signing, or signed with another secret, is refused by the service', async () => {
    const p = await approved('remote_scale');
    await kernel.executeAction(ctx, { proposal_id: p.proposal_id });
    const sent = remote.effects[0]!;
    const timestamp = String(sent.headers['x-countersign-timestamp']);
    const post = (body: string, sig: string) =>
      fetch(`${remote.url}/apply`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-countersign-timestamp': timestamp,
          'x-countersign-signature': sig,
        },
        body,
      });
    // The captured signature on a body asking for more replicas.
    const altered = JSON.stringify({
      ...sent.body,
      params: { service: 'checkout-api', replicas: 50 },
    });
    expect((await post(altered, String(sent.headers['x-countersign-signature']))).status).toBe(401);
    // A body signed with a guessed secret.
    expect(
      (await post(altered, signature('guessed-secret-0123456789', timestamp, altered))).status,
    ).toBe(401);
    // A stale timestamp, correctly signed, is a replay.
    const old = String(Number(timestamp) - 3600);
    const replay = JSON.stringify(sent.body);
    const stale = await fetch(`${remote.url}/apply`, {
      method: 'POST',
      headers: {
        'x-countersign-timestamp': old,
        'x-countersign-signature': signature(SECRET, old, replay),
      },
      body: replay,
    });
    expect(stale.status).toBe(401);
    expect(remote.effects).toHaveLength(1);
  });

  it('fails the execution, with no effect, when Countersign signs with a secret the service does not hold', async () => {
    const p = await approved('remote_wrong_secret');
    const r = await kernel.executeAction(ctx, { proposal_id: p.proposal_id });
    expect(r.result.status).toBe('failed');
    expect(String(r.result.error?.message)).toContain('answered HTTP 401');
    expect(remote.requests.map((q) => q.verified)).toEqual([false]);
    expect(remote.effects).toHaveLength(0);
  });

  it('records a 500, a non-JSON answer and a JSON array as failures naming what came back', async () => {
    const cases: [string, string, RegExp][] = [
      ['remote_fail', '/fail', /apply endpoint answered HTTP 500: "database unavailable"/],
      [
        'remote_html',
        '/html',
        /answered HTTP 200 with something other than JSON: "<html>maintenance<\/html>"/,
      ],
      ['remote_array', '/array', /answered HTTP 200 with JSON that is not an object/],
    ];
    remote.behave('/fail', 'status500');
    remote.behave('/html', 'not-json');
    remote.behave('/array', 'array');
    for (const [tool, , message] of cases) {
      const p = await approved(tool);
      const r = await kernel.executeAction(ctx, { proposal_id: p.proposal_id });
      expect(r.result.status, tool).toBe('failed');
      expect(r.result.output, tool).toBeNull();
      expect(String(r.result.error?.message), tool).toMatch(message);
      const view = await kernel.getProposal(ctx, { proposal_id: p.proposal_id });
      expect(view.proposal.status, tool).toBe('failed');
    }
  });

  it('gives up after timeout_ms with a clear error, and a retry does not send the call again', async () => {
    remote.behave('/slow', 'slow');
    const p = await approved('remote_slow');
    const started = Date.now();
    const r = await kernel.executeAction(ctx, { proposal_id: p.proposal_id });
    expect(Date.now() - started).toBeLessThan(4000);
    expect(r.result.status).toBe('failed');
    expect(String(r.result.error?.message)).toContain(
      'remote_slow: apply endpoint did not answer within 300 ms',
    );
    // Asking again answers with the recorded failure; the service is not called twice.
    const again = await kernel.executeAction(ctx, { proposal_id: p.proposal_id });
    expect(again).toEqual(r);
    expect(remote.requests.filter((q) => q.path === '/slow')).toHaveLength(1);
  });

  it('answers a dry run without a plan endpoint with "no preview", without calling the service', async () => {
    const p = await approved('remote_noplan');
    const dry = await kernel.executeAction(ctx, { proposal_id: p.proposal_id, dry_run: true });
    expect(dry.result.status).toBe('simulated');
    expect(dry.result.output).toMatchObject({
      preview: 'unavailable',
      would_send: { url: `${remote.url}/apply`, params: { service: 'checkout-api', replicas: 3 } },
    });
    expect(String(dry.result.output?.message)).toContain('declares no plan endpoint');
    expect(remote.requests).toHaveLength(0);
  });

  it('checks parameters against the declared JSON Schema before a call is proposed', async () => {
    const e = await expectCode(
      kernel.proposeAction(ctx, {
        workflow_id: 'workflow_1',
        actor_id: 'actor_1',
        tool: 'remote_scale',
        params: { service: 'Checkout API', replicas: 99, extra: true },
        reason: 'r',
      }),
      'VALIDATION_FAILED',
    );
    const paths = (e.details.issues as { path: string }[]).map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining(['params.extra', 'params.replicas', 'params.service']),
    );
    expect((await kernel.listPendingReviews(ctx)).reviews).toHaveLength(0);
  });

  it("stores the reviewer's sentence with the call's hash; an edited call gets its own", async () => {
    const p = await kernel.proposeAction(ctx, {
      workflow_id: 'workflow_1',
      actor_id: 'actor_1',
      tool: 'remote_scale',
      params: { service: 'checkout-api', replicas: 3 },
      reason: 'traffic is up',
    });
    const [review] = (await kernel.listPendingReviews(ctx)).reviews;
    expect(review).toMatchObject({
      description: 'Scale checkout-api to 3 replicas.',
      params: { service: 'checkout-api', replicas: 3 },
      hash: callHash('remote_scale', { service: 'checkout-api', replicas: 3 }),
    });
    await kernel.reviewAction(ctx, {
      proposal_id: p.proposal_id,
      reviewer_id: 'actor_2',
      decision: 'edit',
      edits: { params: { replicas: 2 } },
    });
    const view = await kernel.getProposal(ctx, { proposal_id: p.proposal_id });
    expect(view.versions.map((v) => v.description)).toEqual([
      'Scale checkout-api to 3 replicas.',
      'Scale checkout-api to 2 replicas.',
    ]);
    expect(view.final_tool_call).toMatchObject({
      version: 2,
      description: 'Scale checkout-api to 2 replicas.',
      hash: callHash('remote_scale', { service: 'checkout-api', replicas: 2 }),
    });
    const log = await kernel.getAuditLog(ctx, { workflow_id: 'workflow_1' });
    const proposed = log.entries.find((e) => e.type === 'ACTION_PROPOSED')!;
    expect(proposed.data).toMatchObject({ description: 'Scale checkout-api to 3 replicas.' });
    const edit = log.entries.find((e) => e.type === 'APPROVAL_DECISION')!;
    expect(edit.data).toMatchObject({
      decision: 'edit',
      description: 'Scale checkout-api to 2 replicas.',
    });
  });
});

describe('HTTP tool declarations that cannot start', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-http-decl-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const base = {
    name: 'remote_x',
    description: 'x',
    risk: 'write',
    input,
    apply: { url: 'http://127.0.0.1:9/apply' },
    secret_env: 'OPS_SECRET',
  };
  const load = (decl: Record<string, unknown>, env: Record<string, string> = ENV) =>
    loadOwnTools({
      spec: writeJson(dir, 'tools.json', { tools: [decl] }),
      cwd: dir,
      env,
      reserved: new Set(createDemoTools({ dataDir: dir }).tools.map((t) => t.name)),
    });

  it.each([
    ['a missing secret', base, {}, /OPS_SECRET \(secret_env\) is not set/],
    ['a short secret', base, { OPS_SECRET: 'short' }, /shorter than 16 characters/],
    [
      'a URL that is not http(s)',
      { ...base, apply: { url: 'file:///etc/passwd' } },
      ENV,
      /apply\.url/,
    ],
    ['an unknown field', { ...base, headers: { a: 'b' } }, ENV, /headers/],
    ['a bad risk', { ...base, risk: 'harmless' }, ENV, /risk/],
    ['a bad name', { ...base, name: '1 drop' }, ENV, /name: must be a tool name/],
    [
      'a placeholder input lacks',
      { ...base, describe: 'Scale {svc}' },
      ENV,
      /describe names \{svc\}/,
    ],
    [
      'a schema that does not compile',
      { ...base, input: { type: 'object', properties: { a: { type: 'nope' } } } },
      ENV,
      /input is not a valid JSON Schema/,
    ],
    [
      'the name of a built-in tool',
      { ...base, name: 'config_set' },
      ENV,
      /belongs to a built-in tool/,
    ],
  ])('refuses %s with VALIDATION_FAILED', async (_what, decl, env, message) => {
    const e = await expectCode(load(decl, env), 'VALIDATION_FAILED');
    expect(e.message).toMatch(message);
    expect(e.message).toContain('tools.json');
  });
});
