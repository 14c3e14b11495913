/**
 * Slack approvals against a fake Slack Web API (a real local HTTP server recording
 * chat.postMessage / chat.update / chat.postEphemeral) and a real server with a SQLite file:
 * requests are posted from the ledger with the exact call, its description, its hash prefix
 * and three buttons; button presses arrive at /integrations/slack/actions signed as Slack
 * signs them (v0 HMAC-SHA256), and each decision goes through the kernel's rules. Forged
 * signatures, stale timestamps, replays, unmapped users, self-approval and stale hashes are
 * refused with nothing decided; a decision over HTTP updates the message too; a Slack outage
 * at post time is retried. Workflow gates of an ops_change_control run are posted and decided
 * the same way (the engine's decide, bound to the gate hash), and their messages follow
 * decisions, escalations and Request info from any door.
 */
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gateHash } from '../src/core/canonical.js';
import { operatorContext } from '../src/core/context.js';
import type { DeliveryCursor } from '../src/core/decision-deliveries.js';
import { type Config, configFromEnv } from '../src/main/config.js';
import {
  SLACK_PACKAGES,
  loadSlack,
  missingSlack,
  missingTemporal,
} from '../src/main/optional-packages.js';
import { SLACK_CURSOR_SETTING } from '../src/main/slack-approvals.js';
import { type RunningServer, startServer } from '../src/main/serve.js';

const SIGNING_SECRET = 'slack-signing-secret-0123456789abcdef';
const BOT_TOKEN = 'xoxb-test-0000-bot-token';
const CHANNEL = 'C0APPROVALS';
const USERS = {
  U0BOB: 'actor_2',
  U0DANA: 'actor_3',
  U0CAROL: 'actor_4',
  U0AGENT: 'actor_1',
  U0RILEY: 'actor_5', // a change_manager, registered by the gates' tests
};

interface SlackCall {
  method: string;
  auth: string;
  body: Record<string, unknown>;
  answered: number;
}

const calls: SlackCall[] = [];
let slackDown = false;
let fakeSlack: http.Server;
let slackUrl = '';
let messageSeq = 0;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-slack-'));
let server: RunningServer;
let config: Config;
let carolToken = '';

const op = operatorContext('slack test');

const until = async <T>(
  what: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 20_000,
): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out; Slack calls: ${JSON.stringify(calls, null, 1)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

const blocksOf = (c: SlackCall) => c.body.blocks as Record<string, unknown>[];
const textOf = (c: SlackCall) => JSON.stringify(c.body.blocks);
const buttonsOf = (c: SlackCall) =>
  (blocksOf(c).find((b) => b.type === 'actions')?.elements ?? []) as {
    action_id: string;
    value: string;
    text: { text: string };
  }[];

/** Slack's signature over a raw body, as Slack computes it. */
function sign(raw: string, timestamp: number, secret = SIGNING_SECRET): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${raw}`).digest('hex')}`;
}

/** A block_actions interaction, form-encoded as Slack sends it. */
function pressBody(user: string, action_id: string, value: string, message: SlackCall): string {
  const payload = {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase() },
    channel: { id: message.body.channel },
    container: { type: 'message', message_ts: messageTs(message) },
    message: { ts: messageTs(message) },
    actions: [{ action_id, value, type: 'button' }],
    response_url: 'http://127.0.0.1:9/never-used',
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

const posted = new Map<SlackCall, string>();
const messageTs = (c: SlackCall) => posted.get(c) ?? String(c.body.ts);

async function send(
  raw: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> | null }> {
  const res = await fetch(`${server.url}/integrations/slack/actions`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: raw,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

/** A press as Slack would send it: the form body and its signature headers. */
function signed(
  user: string,
  action_id: string,
  value: string,
  message: SlackCall,
  o: { secret?: string; timestamp?: number } = {},
) {
  const raw = pressBody(user, action_id, value, message);
  const timestamp = o.timestamp ?? Math.floor(Date.now() / 1000);
  const headers = {
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': sign(raw, timestamp, o.secret),
  };
  return { raw, headers };
}

async function press(...args: Parameters<typeof signed>) {
  const { raw, headers } = signed(...args);
  return { ...(await send(raw, headers)), raw, headers };
}

async function propose(actor_id: string, replicas: number, reason = 'traffic') {
  const wf = await server.kernel.startWorkflow(op, { title: `scale ${replicas}` });
  const p = await server.kernel.proposeAction(op, {
    workflow_id: wf.workflow_id,
    actor_id,
    tool: 'scale_service',
    params: { service: 'web', replicas },
    reason,
  });
  return p.proposal_id;
}

const proposal = (id: string) => server.kernel.getProposal(op, { proposal_id: id });

/** The message posted for a proposal (its first successful chat.postMessage). */
const postedFor = (id: string) =>
  until(() =>
    calls.find(
      (c) => c.method === 'chat.postMessage' && c.answered === 200 && textOf(c).includes(id),
    ),
  );

const updatesOf = (m: SlackCall) =>
  calls.filter((c) => c.method === 'chat.update' && c.body.ts === messageTs(m));

beforeAll(async () => {
  fakeSlack = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0]!;
      const type = String(req.headers['content-type'] ?? '');
      const body: Record<string, unknown> = type.includes('json')
        ? (JSON.parse(raw) as Record<string, unknown>)
        : Object.fromEntries(new URLSearchParams(raw));
      for (const k of ['blocks', 'attachments'])
        if (typeof body[k] === 'string') body[k] = JSON.parse(body[k]) as unknown;
      const call: SlackCall = {
        method,
        auth: String(req.headers.authorization ?? ''),
        body,
        answered: slackDown ? 503 : 200,
      };
      calls.push(call);
      if (slackDown) {
        res.writeHead(503).end('down');
        return;
      }
      let answer: Record<string, unknown> = { ok: true };
      if (method === 'chat.postMessage') {
        const ts = `1700000000.${String(++messageSeq).padStart(6, '0')}`;
        posted.set(call, ts);
        answer = { ok: true, channel: body.channel, ts, message: { ts } };
      } else if (method === 'chat.update')
        answer = { ok: true, channel: body.channel, ts: body.ts };
      else if (method === 'chat.postEphemeral') answer = { ok: true, message_ts: '1.2' };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => fakeSlack.listen(0, '127.0.0.1', resolve));
  slackUrl = `http://127.0.0.1:${(fakeSlack.address() as AddressInfo).port}/api/`;

  // A tool of the operator's own, with a one-line description (describe).
  const tools = path.join(dir, 'tools.json');
  fs.writeFileSync(
    tools,
    JSON.stringify({
      tools: [
        {
          name: 'scale_service',
          description: 'Scales a service.',
          risk: 'write',
          input: {
            type: 'object',
            properties: {
              service: { type: 'string' },
              replicas: { type: 'integer', minimum: 0, maximum: 50 },
            },
            required: ['service', 'replicas'],
            additionalProperties: false,
          },
          apply: { url: 'http://127.0.0.1:9/apply' },
          secret_env: 'SLACK_TEST_TOOL_SECRET',
          describe: 'Scale {service} to {replicas} replicas.',
        },
      ],
    }),
  );
  process.env.SLACK_TEST_TOOL_SECRET = 'tool-secret-0123456789abcdef';
  const base = configFromEnv({
    COUNTERSIGN_SLACK_BOT_TOKEN: BOT_TOKEN,
    COUNTERSIGN_SLACK_SIGNING_SECRET: SIGNING_SECRET,
    COUNTERSIGN_SLACK_CHANNEL: CHANNEL,
    COUNTERSIGN_SLACK_API_URL: slackUrl,
    COUNTERSIGN_SLACK_USERS: JSON.stringify(USERS),
    COUNTERSIGN_TOOLS: tools,
  });
  config = {
    ...base,
    dataDir: dir,
    checkpointIntervalSeconds: 0,
    slack: { ...base.slack!, retryBaseMs: 100, retryMaxMs: 400 },
  };
  server = await startServer(config, { port: 0 });
  const k = server.kernel;
  await k.registerActor(op, { name: 'Deploy bot', role: 'agent', kind: 'agent' }); // actor_1
  await k.registerActor(op, { name: 'Bob', role: 'Senior Developer' }); // actor_2
  await k.registerActor(op, { name: 'Dana', role: 'Developer' }); // actor_3
  await k.registerActor(op, { name: 'Carol', role: 'Senior Developer' }); // actor_4
  carolToken = (await k.createToken(op, { actor_id: 'actor_4', name: 'carol' })).token;
  // The delivery loop has taken its starting point (the ledger's head) before anything is proposed.
  await until(async () => (await cursor()) !== undefined);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await new Promise((r) => fakeSlack.close(r));
  delete process.env.SLACK_TEST_TOOL_SECRET;
  fs.rmSync(dir, { recursive: true, force: true });
});

async function cursor(): Promise<DeliveryCursor | undefined> {
  const text = await server.kernel.r.store.read((tx) =>
    tx.getSetting('default', SLACK_CURSOR_SETTING),
  );
  return text === undefined ? undefined : (JSON.parse(text) as DeliveryCursor);
}

describe('Slack approvals: configuration', () => {
  it('reads the token, signing secret, channel, API URL and user map (or their files), and refuses an incomplete setup', () => {
    const secretFile = path.join(dir, 'signing-secret');
    const usersFile = path.join(dir, 'slack-users.json');
    fs.writeFileSync(secretFile, `${SIGNING_SECRET}\n`);
    fs.writeFileSync(usersFile, JSON.stringify({ U0BOB: 'actor_2' }));
    expect(
      configFromEnv({
        COUNTERSIGN_SLACK_BOT_TOKEN: BOT_TOKEN,
        COUNTERSIGN_SLACK_SIGNING_SECRET_FILE: secretFile,
        COUNTERSIGN_SLACK_CHANNEL: CHANNEL,
        COUNTERSIGN_SLACK_USERS_FILE: usersFile,
      }).slack,
    ).toEqual({
      botToken: BOT_TOKEN,
      signingSecret: SIGNING_SECRET,
      channel: CHANNEL,
      apiUrl: 'https://slack.com/api/',
      users: { U0BOB: 'actor_2' },
    });
    expect(configFromEnv({}).slack).toBeUndefined();
    const env = { COUNTERSIGN_SLACK_BOT_TOKEN: BOT_TOKEN, COUNTERSIGN_SLACK_CHANNEL: CHANNEL };
    expect(() => configFromEnv(env)).toThrow(/COUNTERSIGN_SLACK_SIGNING_SECRET/);
    expect(() =>
      configFromEnv({
        ...env,
        COUNTERSIGN_SLACK_CHANNEL: '',
        COUNTERSIGN_SLACK_SIGNING_SECRET: SIGNING_SECRET,
      }),
    ).toThrow(/COUNTERSIGN_SLACK_CHANNEL/);
    expect(() =>
      configFromEnv({
        ...env,
        COUNTERSIGN_SLACK_SIGNING_SECRET: SIGNING_SECRET,
        COUNTERSIGN_SLACK_USERS: '["alice"]',
      }),
    ).toThrow(/COUNTERSIGN_SLACK_USERS/);
    expect(() =>
      configFromEnv({
        ...env,
        COUNTERSIGN_SLACK_SIGNING_SECRET: SIGNING_SECRET,
        COUNTERSIGN_SLACK_API_URL: 'file:///etc/passwd',
      }),
    ).toThrow(/COUNTERSIGN_SLACK_API_URL/);
  });

  it("names the install command when Slack's package is missing, and loads it when present", async () => {
    const e = Object.assign(
      new Error("Cannot find package '@slack/web-api' imported from /app/dist/src/main/slack.js"),
      { code: 'ERR_MODULE_NOT_FOUND' },
    );
    expect(missingSlack(e)).toMatchObject({
      code: 'DEPENDENCY_MISSING',
      details: { package: '@slack/web-api', install: 'npm install @slack/web-api@^8.2.0' },
    });
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    expect(pkg.peerDependencies).toMatchObject(SLACK_PACKAGES);
    expect(pkg.peerDependenciesMeta['@slack/web-api']?.optional).toBe(true);
    // Another package's absence is not Slack's; Temporal's stays Temporal's.
    const other = Object.assign(new Error("Cannot find package 'left-pad'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    expect(missingSlack(other)).toBe(other);
    expect(missingSlack(new Error('boom'))).toBeInstanceOf(Error);
    const temporal = Object.assign(new Error("Cannot find package '@temporalio/client'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    expect(missingTemporal(temporal, 'why')).toMatchObject({ code: 'DEPENDENCY_MISSING' });
    expect(missingSlack(temporal)).toBe(temporal);
    expect(typeof (await loadSlack()).slackChat).toBe('function');
  });
});

describe('Slack approvals in a real server', () => {
  let first = '';
  let firstMessage: SlackCall;

  it('posts each approval request with the exact call, its description, its hash prefix and three buttons', async () => {
    first = await propose('actor_1', 3, 'traffic spike; db password=hunter2hunter2');
    firstMessage = await postedFor(first);
    const view = await proposal(first);
    const hash = view.final_tool_call.hash;
    expect(firstMessage.auth).toBe(`Bearer ${BOT_TOKEN}`);
    expect(firstMessage.body.channel).toBe(CHANNEL);
    const text = textOf(firstMessage);
    expect(text).toContain('scale_service');
    expect(text).toContain(
      JSON.stringify(JSON.stringify({ service: 'web', replicas: 3 }, null, 2)).slice(1, -1),
    );
    expect(text).toContain('Scale web to 3 replicas.');
    expect(text).toContain(`\`${hash.slice(0, 12)}\``);
    // Shown as its prefix; the full hash is only in the buttons' values.
    const shown = JSON.stringify(blocksOf(firstMessage).filter((b) => b.type !== 'actions'));
    expect(shown).not.toContain(hash.slice(0, 13));
    expect(text).not.toContain('hunter2hunter2');
    const buttons = buttonsOf(firstMessage);
    expect(buttons.map((b) => [b.text.text, b.action_id])).toEqual([
      ['Approve', 'countersign.approve'],
      ['Reject', 'countersign.reject'],
      ['Request info', 'countersign.request_info'],
    ]);
    for (const b of buttons) expect(JSON.parse(b.value)).toEqual({ proposal_id: first, hash });
    // Posted once, though the loop keeps passing over the ledger.
    await new Promise((r) => setTimeout(r, 800));
    expect(
      calls.filter((c) => c.method === 'chat.postMessage' && textOf(c).includes(first)),
    ).toHaveLength(1);
  });

  it('refuses a forged signature, a tampered body and a missing signature with 401, deciding nothing', async () => {
    const value = buttonsOf(firstMessage)[0]!.value;
    const forged = await press('U0BOB', 'countersign.approve', value, firstMessage, {
      secret: 'not-the-signing-secret-0123456789',
    });
    expect(forged.status).toBe(401);
    expect(forged.body).toMatchObject({
      error: { code: 'UNAUTHENTICATED', details: { reason: 'bad_signature' } },
    });
    // A body Slack signed for Bob's press, altered to say Carol pressed.
    const genuine = signed('U0BOB', 'countersign.reject', value, firstMessage);
    const tampered = await send(genuine.raw.replace('U0BOB', 'U0CAROL'), genuine.headers);
    expect(tampered.status).toBe(401);
    expect(tampered.body).toMatchObject({ error: { details: { reason: 'bad_signature' } } });
    const unsigned = await send(pressBody('U0BOB', 'countersign.approve', value, firstMessage), {});
    expect(unsigned.status).toBe(401);
    expect(JSON.stringify(unsigned.body)).not.toMatch(/at .*\.ts:\d+/);
    const view = await proposal(first);
    expect(view.proposal.status).toBe('pending');
    expect(view.decisions).toHaveLength(0);
    // Not an operation of the API: absent from the OpenAPI document.
    const openapi = await (await fetch(`${server.url}/openapi.json`)).text();
    expect(openapi).toContain('/proposals');
    expect(openapi).not.toContain('/integrations/slack');
  });

  it('refuses a stale or future timestamp with 401', async () => {
    const value = buttonsOf(firstMessage)[0]!.value;
    const now = Math.floor(Date.now() / 1000);
    for (const timestamp of [now - 301 - 5, now + 306]) {
      const r = await press('U0BOB', 'countersign.approve', value, firstMessage, { timestamp });
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({
        error: { code: 'UNAUTHENTICATED', details: { reason: 'stale_timestamp' } },
      });
    }
    expect((await proposal(first)).decisions).toHaveLength(0);
  });

  it('tells an unmapped Slack user privately and decides nothing', async () => {
    const before = await proposal(first);
    const value = buttonsOf(firstMessage)[0]!.value;
    const r = await press('U0EVE', 'countersign.approve', value, firstMessage);
    expect(r.status).toBe(200);
    const told = await until(() =>
      calls.find((c) => c.method === 'chat.postEphemeral' && c.body.user === 'U0EVE'),
    );
    expect(String(told.body.text)).toMatch(/not mapped/);
    const after = await proposal(first);
    expect(after.decisions).toHaveLength(before.decisions.length);
  });

  it("decides a mapped reviewer's Approve through the kernel and updates the message without buttons", async () => {
    const value = buttonsOf(firstMessage)[0]!.value;
    const r = await press('U0BOB', 'countersign.approve', value, firstMessage);
    expect(r.status).toBe(200);
    const view = await proposal(first);
    expect(view.proposal.status).toBe('approved');
    expect(view.decisions).toMatchObject([
      { reviewer_id: 'actor_2', decision: 'approve', hash: view.final_tool_call.hash },
    ]);
    const update = await until(() =>
      updatesOf(firstMessage).find((c) => textOf(c).includes('Approved')),
    );
    expect(textOf(update)).toContain('actor_2 :white_check_mark: approved version 1');
    expect(buttonsOf(update)).toHaveLength(0);
    // The decision's ledger event says it came through Slack, by whom.
    const { entries } = await server.kernel.getAuditLog(op, {
      workflow_id: view.proposal.workflow_id,
    });
    const decided = entries.find((e) => e.type === 'APPROVAL_DECISION');
    expect(decided).toMatchObject({
      actor: 'actor_2',
      data: { purpose: 'Slack: U0BOB pressed countersign.approve' },
    });

    // The same signed request again is a replay: refused, nothing more recorded.
    const replay = await send(r.raw, r.headers);
    expect(replay.status).toBe(401);
    expect(replay.body).toMatchObject({
      error: { code: 'UNAUTHENTICATED', details: { reason: 'replayed' } },
    });
    expect((await proposal(first)).decisions).toHaveLength(1);
  });

  it('refuses the proposer approving their own call (SELF_APPROVAL) and an agent deciding, and says so on the message', async () => {
    const own = await propose('actor_3', 4);
    const message = await postedFor(own);
    const value = buttonsOf(message)[0]!.value;
    const r = await press('U0DANA', 'countersign.approve', value, message);
    expect(r.status).toBe(200);
    const told = await until(() =>
      updatesOf(message).find((c) => textOf(c).includes('SELF_APPROVAL')),
    );
    expect(textOf(told)).toContain('<@U0DANA> (actor_3) could not approve');
    expect(buttonsOf(told)).toHaveLength(3); // still waiting for someone else
    await until(() =>
      calls.find(
        (c) =>
          c.method === 'chat.postEphemeral' &&
          c.body.user === 'U0DANA' &&
          String(c.body.text).includes('SELF_APPROVAL'),
      ),
    );
    const agent = await press('U0AGENT', 'countersign.approve', value, message);
    expect(agent.status).toBe(200);
    await until(() =>
      calls.find(
        (c) =>
          c.method === 'chat.postEphemeral' &&
          c.body.user === 'U0AGENT' &&
          String(c.body.text).includes('POLICY_DENIED'),
      ),
    );
    const view = await proposal(own);
    expect(view.proposal.status).toBe('pending');
    expect(view.decisions).toHaveLength(0);
  });

  it('refuses a press on a version the proposal has moved past (hash binding), then takes the current one', async () => {
    const id = await propose('actor_1', 5);
    const message = await postedFor(id);
    const oldValue = buttonsOf(message)[0]!.value;
    // Carol edits the call over HTTP: a new version, with a new hash, needing its own approval.
    const edit = await fetch(`${server.url}/proposals/${id}/review`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${carolToken}`,
        'content-type': 'application/json',
        'x-purpose': 'edit the replicas',
      },
      body: JSON.stringify({
        reviewer_id: 'actor_4',
        decision: 'edit',
        edits: { params: { replicas: 6 } },
      }),
    });
    expect(edit.status).toBe(200);
    const edited = await proposal(id);
    const newHash = edited.final_tool_call.hash;
    expect(JSON.parse(oldValue)).not.toMatchObject({ hash: newHash });

    const stale = await press('U0BOB', 'countersign.approve', oldValue, message);
    expect(stale.status).toBe(200);
    await until(() =>
      calls.find(
        (c) =>
          c.method === 'chat.postEphemeral' &&
          c.body.user === 'U0BOB' &&
          String(c.body.text).includes('APPROVAL_HASH_MISMATCH'),
      ),
    );
    const after = await proposal(id);
    expect(after.proposal.status).toBe('pending');
    expect(after.decisions.filter((d) => d.decision === 'approve')).toHaveLength(0);

    // The message now shows version 2, its hash and its description, with buttons bound to it.
    const shown = await until(() =>
      updatesOf(message).find((c) =>
        buttonsOf(c).some((b) => (JSON.parse(b.value) as { hash: string }).hash === newHash),
      ),
    );
    expect(textOf(shown)).toContain('Scale web to 6 replicas.');
    expect(textOf(shown)).toContain(newHash.slice(0, 12));
    const ok = await press('U0BOB', 'countersign.approve', buttonsOf(shown)[0]!.value, message);
    expect(ok.status).toBe(200);
    expect((await proposal(id)).proposal).toMatchObject({
      status: 'approved',
      approved_hash: newHash,
    });
  });

  it('updates the message for a decision made over HTTP, and records Request info from Slack', async () => {
    const id = await propose('actor_1', 7);
    const message = await postedFor(id);
    const res = await fetch(`${server.url}/proposals/${id}/review`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${carolToken}`,
        'content-type': 'application/json',
        'x-purpose': 'too many',
      },
      body: JSON.stringify({ reviewer_id: 'actor_4', decision: 'reject', comment: 'too many' }),
    });
    expect(res.status).toBe(200);
    const update = await until(() =>
      updatesOf(message).find((c) => textOf(c).includes('Rejected')),
    );
    expect(textOf(update)).toContain('actor_4 :x: rejected version 1: too many');
    expect(buttonsOf(update)).toHaveLength(0);

    const asked = await propose('actor_1', 8);
    const askedMessage = await postedFor(asked);
    const info = buttonsOf(askedMessage).find((b) => b.action_id === 'countersign.request_info')!;
    expect((await press('U0BOB', info.action_id, info.value, askedMessage)).status).toBe(200);
    expect((await proposal(asked)).proposal.status).toBe('needs_info');
    const infoUpdate = await until(() =>
      updatesOf(askedMessage).find((c) => textOf(c).includes('More information requested')),
    );
    expect(buttonsOf(infoUpdate)).toHaveLength(0);
  });

  it('retries a post while Slack is down, and posts once it is back', async () => {
    slackDown = true;
    const id = await propose('actor_1', 9);
    await until(
      () =>
        calls.filter(
          (c) => c.method === 'chat.postMessage' && c.answered === 503 && textOf(c).includes(id),
        ).length >= 2,
    );
    // The cursor records the attempts, with the error, across passes.
    const c = await until(async () => {
      const now = await cursor();
      return (now?.retry?.attempts ?? 0) >= 2 ? now : undefined;
    });
    expect(c.retry).toMatchObject({ last_error: expect.any(String) as string });
    slackDown = false;
    const message = await postedFor(id);
    expect(buttonsOf(message)).toHaveLength(3);
    await until(async () => (await cursor())?.retry === null);
  });
});

describe('Slack approvals of workflow gates', () => {
  const HOUR = 3_600_000;
  let danaToken = '';
  let rileyToken = '';
  let runId = '';
  let riskGate = '';
  let riskMessage: SlackCall;
  let planGate = '';
  let planMessage: SlackCall;

  const api = async (method: string, url: string, token: string, body?: unknown) => {
    const res = await fetch(`${server.url}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'x-purpose': 'CHG-3001 through Slack',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const gate = (id: string) => server.services.workflows.getApproval(op, id);
  const run = () => server.services.workflows.getRun(op, runId);
  const gatePosted = (id: string) =>
    until(() =>
      calls.find(
        (c) =>
          c.method === 'chat.postMessage' &&
          c.answered === 200 &&
          textOf(c).includes(`(${id})`) &&
          textOf(c).includes('gate `'),
      ),
    );
  const ephemeral = (user: string, code: string) =>
    until(() =>
      calls.find(
        (c) =>
          c.method === 'chat.postEphemeral' &&
          c.body.user === user &&
          String(c.body.text).includes(code),
      ),
    );

  beforeAll(async () => {
    const k = server.kernel;
    await k.registerActor(op, { name: 'Riley', role: 'change_manager' }); // actor_5
    danaToken = (await k.createToken(op, { actor_id: 'actor_3', name: 'dana' })).token;
    rileyToken = (await k.createToken(op, { actor_id: 'actor_5', name: 'riley' })).token;
    const now = Date.now();
    const started = await api('POST', '/workflows/start', danaToken, {
      definition: 'ops_change_control',
      idempotency_key: 'CHG-3001',
      input: {
        change_request: {
          title: 'Tune checkout-api db.pool_size',
          summary: 'Set db.pool_size of checkout-api to 42.',
          change_type: 'configuration',
          requested_by: 'dana@example.com',
          ticket: 'CHG-3001',
        },
        impacted_systems: [
          {
            name: 'checkout-api',
            criticality: 'high',
            environment: 'production',
            owner: 'platform-team',
          },
        ],
        requirements: { compliance: ['SOX'] },
        change_window: {
          start: new Date(now - HOUR).toISOString(),
          end: new Date(now + 6 * HOUR).toISOString(),
        },
        parameters: {
          config_changes: [{ service: 'checkout-api', key: 'db.pool_size', from: null, to: '42' }],
        },
      },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    runId = started.body.workflow_id as string;
    expect(started.body).toMatchObject({ status: 'waiting', stage: 'risk_review' });
    riskGate = (started.body.waiting_on as { approval_id: string }).approval_id;
  }, 120_000);

  it('posts the run waiting at its risk gate: title, run, roles and approvals, risk summary, gate hash, three buttons', async () => {
    riskMessage = await gatePosted(riskGate);
    const { approval } = await gate(riskGate);
    const hash = gateHash(approval);
    const text = textOf(riskMessage);
    expect(riskMessage.body.channel).toBe(CHANNEL);
    expect(text).toContain('Waiting for approval');
    expect(text).toContain('Risk review: ');
    expect(text).toContain(`Run ${runId} (ops_change_control)`);
    expect(text).toContain('gate `risk_review#1`');
    expect(text).toContain('requested by actor_3');
    expect(text).toContain('needs 1 approval');
    expect(text).toContain('*Risk*: high tier');
    expect(text).toContain(`hash \`${hash.slice(0, 12)}\``);
    const buttons = buttonsOf(riskMessage);
    expect(buttons.map((b) => b.action_id)).toEqual([
      'countersign.approve',
      'countersign.reject',
      'countersign.request_info',
    ]);
    for (const b of buttons) expect(JSON.parse(b.value)).toEqual({ approval_id: riskGate, hash });
  });

  it('refuses a forged signature, the requester approving its own gate and a stale gate hash, deciding nothing', async () => {
    const value = buttonsOf(riskMessage)[0]!.value;
    const forged = await press('U0RILEY', 'countersign.approve', value, riskMessage, {
      secret: 'not-the-signing-secret-0000000000',
    });
    expect(forged.status).toBe(401);
    expect(forged.body).toMatchObject({
      error: { code: 'UNAUTHENTICATED', details: { reason: 'bad_signature' } },
    });

    // Dana started the run: she asked for the gate, and cannot decide it.
    const self = await press('U0DANA', 'countersign.approve', value, riskMessage);
    expect(self.status).toBe(200);
    await ephemeral('U0DANA', 'SELF_APPROVAL');
    const noted = await until(() =>
      updatesOf(riskMessage).find((c) => textOf(c).includes('SELF_APPROVAL')),
    );
    expect(textOf(noted)).toContain('<@U0DANA> (actor_3) could not approve');
    expect(buttonsOf(noted)).toHaveLength(3);

    // A button whose hash is not the gate's (a forged or stale value) is refused.
    const stale = JSON.stringify({ approval_id: riskGate, hash: 'a'.repeat(64) });
    expect((await press('U0RILEY', 'countersign.approve', stale, riskMessage)).status).toBe(200);
    await ephemeral('U0RILEY', 'APPROVAL_HASH_MISMATCH');

    const still = await gate(riskGate);
    expect(still.approval.status).toBe('pending');
    expect(still.decisions).toEqual([]);
    expect((await run()).waiting_on).toMatchObject({ approval_id: riskGate });
  });

  it("decides a mapped change_manager's Approve: the run moves on, the message shows who, without buttons", async () => {
    const value = buttonsOf(riskMessage)[0]!.value;
    const r = await press('U0RILEY', 'countersign.approve', value, riskMessage);
    expect(r.status).toBe(200);
    const decided = await gate(riskGate);
    expect(decided.approval.status).toBe('approved');
    expect(decided.decisions).toMatchObject([{ reviewer_id: 'actor_5', decision: 'approve' }]);
    const now = await run();
    expect(now.status).toBe('waiting');
    expect(now.waiting_on?.kind).toBe('approval');
    planGate = now.waiting_on!.approval_id as string;
    expect(planGate).not.toBe(riskGate);
    const update = await until(() =>
      updatesOf(riskMessage).find((c) => textOf(c).includes(':white_check_mark: Approved')),
    );
    expect(textOf(update)).toContain('actor_5 :white_check_mark: approved');
    expect(buttonsOf(update)).toHaveLength(0);
    const { entries } = await server.kernel.getAuditLog(op, { workflow_id: runId });
    expect(
      entries.find((e) => e.type === 'APPROVAL_DECISION' && e.data.approval_id === riskGate),
    ).toMatchObject({
      actor: 'actor_5',
      data: { purpose: 'Slack: U0RILEY pressed countersign.approve' },
    });
  });

  it('posts the plan gate with the calls it binds; a mapped user without a required role is refused MISSING_ROLE', async () => {
    planMessage = await gatePosted(planGate);
    const { approval } = await gate(planGate);
    expect(approval.proposals.length).toBeGreaterThan(0);
    const text = textOf(planMessage);
    expect(text).toContain('needs 2 approvals from change_manager or service_owner');
    for (const bound of approval.proposals) {
      // A run's calls are decided at its gate: no message of their own, no button to press.
      expect(
        calls.filter(
          (c) =>
            c.method === 'chat.postMessage' && textOf(c).includes(`(${bound.proposal_id}, version`),
        ),
      ).toEqual([]);
      expect(text).toContain(`(${bound.proposal_id})`);
      expect(text).toContain(`Call hash \`${bound.hash.slice(0, 12)}\``);
      const view = await proposal(bound.proposal_id);
      expect(text).toContain(`\`${view.proposal.tool}\``);
    }
    const value = buttonsOf(planMessage)[0]!.value;
    expect(JSON.parse(value)).toEqual({ approval_id: planGate, hash: gateHash(approval) });

    // Bob is a Senior Developer: neither role.
    expect((await press('U0BOB', 'countersign.approve', value, planMessage)).status).toBe(200);
    await ephemeral('U0BOB', 'MISSING_ROLE');
    const noted = await until(() =>
      updatesOf(planMessage).find((c) => textOf(c).includes('MISSING_ROLE')),
    );
    expect(textOf(noted)).toContain('<@U0BOB> (actor_2) could not approve');
    expect(buttonsOf(noted)).toHaveLength(3);
    const still = await gate(planGate);
    expect(still.approval.status).toBe('pending');
    expect(still.decisions).toEqual([]);
  });

  it('updates the message when the gate escalates on timeout, and records Request info from Slack: the run goes back to planning', async () => {
    // What the run's timer does when the plan gate's deadline passes: escalate to change_manager.
    const expired = await server.services.workflows.expireApproval(op, planGate);
    expect(expired.escalated).toBe(true);
    const escalated = await until(() =>
      updatesOf(planMessage).find(
        (c) =>
          textOf(c).includes('needs 2 approvals from change_manager') &&
          !textOf(c).includes('service_owner'),
      ),
    );
    expect(buttonsOf(escalated)).toHaveLength(3);

    const info = buttonsOf(escalated).find((b) => b.action_id === 'countersign.request_info')!;
    expect((await press('U0RILEY', info.action_id, info.value, escalated)).status).toBe(200);
    const asked = await gate(planGate);
    expect(asked.approval.status).toBe('needs_info');
    expect(asked.decisions).toMatchObject([
      { reviewer_id: 'actor_5', decision: 'request_more_info' },
    ]);
    const update = await until(() =>
      updatesOf(planMessage).find((c) => textOf(c).includes('More information requested')),
    );
    expect(buttonsOf(update)).toHaveLength(0);
    const next = await until(async () => {
      const now = await run();
      const id = now.waiting_on?.approval_id;
      return typeof id === 'string' && id !== planGate ? id : undefined;
    });
    expect((await gate(next)).approval.request_key).toBe('plan_approval#2');
    planGate = next;
    planMessage = await gatePosted(planGate);
    expect(buttonsOf(planMessage)).toHaveLength(3);
  });

  it('updates the message for a gate decided over HTTP', async () => {
    const r = await api('POST', `/approvals/${planGate}/decision`, rileyToken, {
      reviewer_id: 'actor_5',
      decision: 'reject',
      comment: 'Not this week.',
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const update = await until(() =>
      updatesOf(planMessage).find((c) => textOf(c).includes(':x: Rejected')),
    );
    expect(textOf(update)).toContain('actor_5 :x: rejected: Not this week.');
    expect(buttonsOf(update)).toHaveLength(0);
    // A press on the settled gate decides nothing more.
    const value = buttonsOf(planMessage)[0]!.value;
    expect((await press('U0RILEY', 'countersign.approve', value, planMessage)).status).toBe(200);
    await ephemeral('U0RILEY', 'INVALID_STATE');
    expect((await gate(planGate)).decisions).toHaveLength(1);
  });
});
