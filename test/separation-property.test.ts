/**
 * The core promise as a property: whatever one principal does, through the operation table
 * every network door uses (and with any actors and tokens it manages to create), no call and
 * no gate ends up approved unless another human approved it. Here no other human acts at
 * all, so nothing may ever be approved, executed or decided in the attacker's favour.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunTables } from '../src/adapters/store/run-tx.js';
import { randomBytes } from 'node:crypto';
import { CedarPolicyEngine } from '../src/adapters/policy/cedar-policy-engine.js';
import { openSqliteStore } from '../src/adapters/store/open-store.js';
import { operatorContext, tokenContext } from '../src/core/context.js';
import { Kernel } from '../src/core/kernel.js';
import { ManualClock } from '../src/core/ports/clock.js';
import { staticToolRegistry } from '../src/core/ports/tools.js';
import { isCountersignError } from '../src/core/errors.js';
import { type Runtime, openRuntime } from '../src/main/compose.js';
import { configFromEnv } from '../src/main/config.js';
import { invokeOperation, operation } from '../src/surfaces/operations.js';

type Attacker = 'agent' | 'developer' | 'admin' | 'service';

/** One step of the attacker: an operation and its input, ids picked from small pools. */
interface Step {
  readonly op: string;
  readonly input: Record<string, unknown>;
  /** Which of the tokens the attacker holds it uses (modulo their number). */
  readonly token: number;
}

/** Mostly the attacker itself (actor_1), sometimes anyone, including actors it registered. */
const actor = fc.oneof(
  { arbitrary: fc.constant('actor_1'), weight: 4 },
  { arbitrary: fc.integer({ min: 2, max: 6 }).map((n) => `actor_${n}`), weight: 1 },
);
const proposal = fc.oneof(
  { arbitrary: fc.constant('proposal_1'), weight: 3 },
  { arbitrary: fc.integer({ min: 2, max: 4 }).map((n) => `proposal_${n}`), weight: 1 },
);
const approval = fc.oneof(
  { arbitrary: fc.constant('approval_1'), weight: 3 },
  { arbitrary: fc.integer({ min: 2, max: 3 }).map((n) => `approval_${n}`), weight: 1 },
);
const status = fc.constantFrom('a', 'b', 'c');

const step: fc.Arbitrary<Step> = fc
  .tuple(
    fc.nat(5),
    fc.oneof(
      fc.record({
        op: fc.constant('propose_action'),
        input: fc.record({
          workflow_id: fc.constant('workflow_1'),
          actor_id: actor,
          tool: fc.constant('update_status'),
          params: fc.record({ status }),
          reason: fc.constant('property'),
        }),
      }),
      fc.record({
        op: fc.constant('review_action'),
        input: fc.oneof(
          fc.record({
            proposal_id: proposal,
            reviewer_id: actor,
            decision: fc.constantFrom('approve', 'reject', 'request_more_info'),
          }),
          fc.record({
            proposal_id: proposal,
            reviewer_id: actor,
            decision: fc.constant('edit'),
            edits: fc.record({ params: fc.record({ status }) }),
          }),
        ),
      }),
      fc.record({
        op: fc.constant('revise_action'),
        input: fc.record({ proposal_id: proposal, actor_id: actor, params: fc.record({ status }) }),
      }),
      fc.record({ op: fc.constant('execute_action'), input: fc.record({ proposal_id: proposal }) }),
      fc.record({
        op: fc.constant('execute_parallel'),
        input: fc.record({
          calls: fc.constant([{ tool: 'update_status', params: { status: 'p' } }]),
          workflow_id: fc.constant('workflow_1'),
          actor_id: actor,
        }),
      }),
      fc.record({
        op: fc.constant('register_actor'),
        input: fc.record({
          name: fc.constantFrom('Sock', 'Puppet'),
          role: fc.constantFrom('Senior Developer', 'admin', 'change_manager'),
          kind: fc.constantFrom('human', 'agent', 'service'),
        }),
      }),
      fc.record({
        op: fc.constant('create_token'),
        input: fc.record({
          actor_id: fc.oneof(actor, fc.constant('operator')),
          name: fc.constant('mine'),
        }),
      }),
      fc.record({
        op: fc.constant('request_approval'),
        input: fc.record({
          workflow_id: fc.constant('workflow_1'),
          request_key: fc.constantFrom('k1', 'k2'),
          title: fc.constant('Let me through'),
          packet: fc.constant({}),
        }),
      }),
      fc.record({
        op: fc.constant('decide_approval'),
        input: fc.record({
          approval_id: approval,
          reviewer_id: actor,
          decision: fc.constant('approve'),
        }),
      }),
      fc.record({ op: fc.constant('set_policy'), input: fc.record({ dry_run: fc.boolean() }) }),
    ),
  )
  .map(([token, s]): Step => ({ ...s, token }));

let dir: string;
let rt: Runtime;
let tenants = 0;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-separation-'));
  rt = await openRuntime(configFromEnv({ COUNTERSIGN_DATA_DIR: dir }), { env: {} });
});
afterAll(async () => {
  await rt?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * A fresh tenant: the attacker (actor_1, of the given kind), Vic (actor_2, a person who never
 * acts), workflow_1, and the attacker's one token, minted by the operator.
 */
async function tenantFor(attacker: Attacker) {
  const tenant = `prop${++tenants}`;
  const op = operatorContext('property setup', tenant);
  const { kernel } = rt.services;
  await kernel.registerActor(op, {
    name: 'Mallory',
    role: attacker === 'admin' ? 'admin' : 'Senior Developer',
    kind: attacker === 'agent' ? 'agent' : attacker === 'service' ? 'service' : 'human',
  });
  await kernel.registerActor(op, { name: 'Vic', role: 'Senior Developer' });
  await kernel.startWorkflow(op, { title: 'Attacked' });
  const { token } = await kernel.createToken(op, { actor_id: 'actor_1', name: 'mallory' });
  return { tenant, tokens: [token] };
}

async function play(attacker: Attacker, steps: readonly Step[]) {
  const { tenant, tokens } = await tenantFor(attacker);
  const gained: string[] = [];
  for (const s of steps) {
    const token = tokens[s.token % tokens.length]!;
    // Every request authenticates afresh, as each door does.
    const ctx = tokenContext(await rt.services.kernel.authenticate(token), 'property');
    try {
      const out = (await invokeOperation(rt.services, operation(s.op), ctx, s.input)) as {
        token?: string;
      };
      if (s.op === 'create_token' && typeof out.token === 'string') {
        tokens.push(out.token);
        gained.push(out.token);
      }
    } catch (e) {
      if (!isCountersignError(e)) throw e;
      expect(e.code).not.toBe('INTERNAL');
    }
  }
  return { tenant, gained };
}

async function verdict(tenant: string) {
  const db = rt.store.kysely;
  const proposals = await db
    .selectFrom('proposals')
    .select(['id', 'status'])
    .where('tenant_id', '=', tenant)
    .execute();
  const approvals = await db
    .selectFrom('decisions')
    .select(['proposal_id', 'reviewer_id', 'decision'])
    .where('tenant_id', '=', tenant)
    .where('decision', 'in', ['approve', 'policy_allow'])
    .execute();
  const executions = await db
    .selectFrom('executions')
    .select('id')
    .where('tenant_id', '=', tenant)
    .execute();
  const runs = rt.store.kysely as unknown as Kysely<RunTables>;
  const gates = await runs
    .selectFrom('approval_requests')
    .select(['id', 'status'])
    .where('tenant_id', '=', tenant)
    .execute();
  const gateApprovals = await runs
    .selectFrom('approval_decisions')
    .select(['approval_id', 'reviewer_id', 'decision'])
    .where('tenant_id', '=', tenant)
    .where('decision', '=', 'approve')
    .execute();
  return { proposals, approvals, executions, gates, gateApprovals };
}

describe('separation of duties as a property', () => {
  it.each(['agent', 'developer', 'admin', 'service'] as const)(
    'a %s acting alone, with whatever it can create, gets nothing approved, executed or decided',
    async (attacker) => {
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), async (steps) => {
          const { tenant, gained } = await play(attacker, steps);
          const v = await verdict(tenant);
          expect(gained, 'tokens the attacker minted').toEqual([]);
          expect(v.approvals, 'approving decisions').toEqual([]);
          expect(v.executions, 'executions').toEqual([]);
          expect(
            v.proposals.filter((p) => p.status === 'approved' || p.status === 'executed'),
          ).toEqual([]);
          expect(v.gateApprovals, 'gate approvals').toEqual([]);
          expect(v.gates.filter((g) => g.status === 'approved')).toEqual([]);
        }),
        { numRuns: 40, seed: 20261202 + attacker.length },
      );
    },
    120_000,
  );

  it('the same attacker with a person of its own who approves is approved: the check can fail', async () => {
    // Sanity of the property: with a second, operator-registered human who does act, a call
    // gets approved and executed, and the verdict above would see it.
    const { tenant, tokens } = await tenantFor('developer');
    const op = operatorContext('property setup', tenant);
    const { kernel } = rt.services;
    const vic = await kernel.createToken(op, { actor_id: 'actor_2', name: 'vic' });
    const as = async (token: string) => tokenContext(await kernel.authenticate(token), 'p');
    await invokeOperation(rt.services, operation('propose_action'), await as(tokens[0]!), {
      workflow_id: 'workflow_1',
      tool: 'update_status',
      params: { status: 'ok' },
      reason: 'r',
    });
    await invokeOperation(rt.services, operation('review_action'), await as(vic.token), {
      proposal_id: 'proposal_1',
      decision: 'approve',
    });
    await invokeOperation(rt.services, operation('execute_action'), await as(tokens[0]!), {
      proposal_id: 'proposal_1',
    });
    const v = await verdict(tenant);
    expect(v.approvals).toEqual([
      { proposal_id: 'proposal_1', reviewer_id: 'actor_2', decision: 'approve' },
    ]);
    expect(v.executions).toHaveLength(1);
  });
});

describe('token expiry', () => {
  it('an expiring token works until its moment and is refused from the next request on', async () => {
    const clock = new ManualClock('2026-06-01T00:00:00.000Z', 0);
    const store = await openSqliteStore(path.join(dir, 'expiry.sqlite'));
    try {
      const kernel = new Kernel({
        store,
        policy: CedarPolicyEngine.fromDirectory(),
        tools: staticToolRegistry([]),
        clock,
        newSecret: () => randomBytes(24).toString('base64url'),
      });
      const op = operatorContext('expiry');
      const { actor_id } = await kernel.registerActor(op, { name: 'Temp', role: 'Developer' });
      const t = await kernel.createToken(op, { actor_id, name: 'temp', expires_in_seconds: 3600 });
      expect(t.expires_at).toBe('2026-06-01T01:00:00.000Z');
      clock.advance(3599_000);
      expect((await kernel.authenticate(t.token)).actor_id).toBe(actor_id);
      clock.advance(1_000);
      await expect(kernel.authenticate(t.token)).rejects.toMatchObject({
        code: 'UNAUTHENTICATED',
        message: expect.stringContaining('expired at 2026-06-01T01:00:00.000Z') as unknown,
      });
      const { tokens } = await kernel.listTokens(op, {});
      expect(tokens[0]).toMatchObject({
        status: 'expired',
        last_used_at: '2026-06-01T00:59:59.000Z',
      });
    } finally {
      await store.close();
    }
  });
});
