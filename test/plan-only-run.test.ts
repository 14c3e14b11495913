/**
 * A plan-only run (archetype proposal_only) over real HTTP, on a real SQLite file: the run is
 * marked plan-only, a call that would write is denied by policy at the propose door (and the
 * denial is in the ledger), and no execution is possible in the run's workflow, even of a call
 * that reached it around the doors and was approved in the database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CedarPolicyEngine } from '../src/adapters/policy/cedar-policy-engine.js';
import { operatorContext } from '../src/core/context.js';
import { defineTool } from '../src/core/define-tool.js';
import type { ToolDefinition } from '../src/core/ports/tools.js';
import type { WorkflowDefinition } from '../src/engine/definition.js';
import { savePlanBriefTool } from '../src/engine/plan-only.js';
import { type Runtime, openRuntime } from '../src/main/compose.js';
import { configFromEnv } from '../src/main/config.js';
import { buildHttpApp } from '../src/surfaces/http/app.js';

const applied: string[] = [];
const inventoryTool = (name: string, risk: 'read' | 'write'): ToolDefinition =>
  defineTool({
    name,
    description: `${name} (test)`,
    risk,
    input: z.strictObject({ sku: z.string() }),
    plan: (p) => Promise.resolve({ would: name, sku: p.sku }),
    apply: (p) => {
      applied.push(name);
      return Promise.resolve({ did: name, sku: p.sku });
    },
  });
const TOOLS = [
  inventoryTool('get_inventory', 'read'),
  inventoryTool('write_inventory', 'write'),
  savePlanBriefTool,
];

const planInput = z.strictObject({ topic: z.string() });
function planDefinition(tools: readonly string[]): WorkflowDefinition<{ topic: string }> {
  return {
    name: 'inventory_plan',
    version: '1',
    archetype: 'proposal_only',
    title: (i) => `Inventory plan: ${i.topic}`,
    description: 'Plans an inventory change; PLAN ONLY.',
    input: planInput,
    initial_stage: 'planning',
    final_stage: 'planned',
    allowed_tools: () => tools,
    steps: [
      { kind: 'stage', id: 'open', stage: 'planning' },
      {
        kind: 'gate',
        id: 'plan_review',
        title: (run) => `Review the plan for ${run.input.topic}`,
        packet: (run) => ({ topic: run.input.topic }),
        on_reject: { stage: 'rejected' },
      },
    ],
  };
}

let dir: string;
let rt: Runtime;
let app: FastifyInstance;
let base: string;
let agentToken: string;
let agentId: string;
let runId: string;
const op = operatorContext('plan-only test');

async function http(
  method: string,
  url: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      'x-purpose': 'plan-only test',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
const errorOf = (r: { body: Record<string, unknown> }) =>
  r.body.error as { code: string; message: string };

async function refusals(workflow_id: string) {
  const { entries } = await rt.kernel.getAuditLog(op, { workflow_id });
  return entries
    .filter((e) => e.type === 'OPERATION_REFUSED')
    .map((e) => e.data as { operation: string; code: string; message: string });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-plan-only-'));
  rt = await openRuntime(
    { ...configFromEnv({}), dataDir: dir },
    {
      env: {},
      extraTools: TOOLS,
      definitions: [planDefinition(['get_inventory', 'save_plan_brief'])],
    },
  );
  app = buildHttpApp(rt.services);
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  agentId = (await rt.kernel.registerActor(op, { name: 'Planner', role: 'planner', kind: 'agent' }))
    .actor_id;
  agentToken = (await rt.kernel.createToken(op, { actor_id: agentId, name: 'planner' })).token;
  const run = await rt.engine.start(op, {
    definition: 'inventory_plan',
    input: { topic: 'restock' },
    idempotency_key: 'restock-1',
  });
  runId = run.workflow_id;
}, 60_000);

afterAll(async () => {
  await app?.close();
  await rt?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a plan-only run', () => {
  it('waits at its human gate and is marked plan-only in its context', async () => {
    const run = await rt.engine.status(op, runId);
    expect(run.stage).toBe('planning');
    expect(run.waiting_on).not.toBeNull();
    expect(run.context.archetype).toBe('proposal_only');
  });

  it('denies, by policy, a write proposed into it at the propose door, and records the denial', async () => {
    const r = await http('POST', '/proposals', agentToken, {
      workflow_id: runId,
      actor_id: agentId,
      tool: 'write_inventory',
      params: { sku: 'A-1' },
      reason: 'restock A-1',
    });
    expect(r.status).toBe(403);
    expect(errorOf(r).code).toBe('POLICY_DENIED');
    expect(errorOf(r).message).toContain('plan-only-runs-read');
    const recorded = await refusals(runId);
    expect(recorded).toContainEqual(
      expect.objectContaining({ operation: 'propose_action', code: 'POLICY_DENIED' }),
    );
    expect(recorded.at(-1)!.message).toContain('plan-only-runs-read');
    const workflow = await rt.kernel.getWorkflow(op, { workflow_id: runId });
    expect(JSON.stringify(workflow)).not.toContain('write_inventory');
  });

  it('lets the same write be proposed into an ordinary workflow (the rule is the archetype)', async () => {
    const { workflow_id } = await rt.kernel.startWorkflow(op, { title: 'ordinary' });
    const r = await http('POST', '/proposals', agentToken, {
      workflow_id,
      actor_id: agentId,
      tool: 'write_inventory',
      params: { sku: 'A-1' },
      reason: 'restock A-1',
    });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('pending');
  });

  it('refuses any execution in its workflow, even of a call approved around the doors', async () => {
    // A call that reached the run's workflow without a door (as a step would add one), then
    // forged approved in the database: the kernel still refuses to run it.
    const proposed = await rt.store.transaction((tx) =>
      rt.kernel.propose(tx, op, {
        workflow_id: runId,
        actor_id: agentId,
        tool: 'get_inventory',
        params: { sku: 'A-1' },
        reason: 'count A-1',
      }),
    );
    await rt.store.transaction(async (tx) => {
      const p = (await tx.getProposal('default', proposed.proposal_id))!;
      await tx.updateProposal({
        ...p,
        status: 'approved',
        approved_version: 1,
        approved_hash: proposed.hash,
      });
    });
    for (const dry_run of [false, true]) {
      const r = await http('POST', `/proposals/${proposed.proposal_id}/execute`, agentToken, {
        dry_run,
      });
      expect(errorOf(r), JSON.stringify(r.body)).toMatchObject({ code: 'PLAN_ONLY' });
      expect(r.status).toBe(403);
    }
    // The operator, who administers, is refused too.
    await expect(
      rt.kernel.executeAction(op, { proposal_id: proposed.proposal_id }),
    ).rejects.toMatchObject({ code: 'PLAN_ONLY' });
    expect(applied).toEqual([]);
    const recorded = await refusals(runId);
    expect(recorded.filter((r) => r.code === 'PLAN_ONLY').length).toBe(3);
    expect(recorded.filter((r) => r.code === 'PLAN_ONLY')[0]!.operation).toBe('execute_action');
  });

  it("runs only the run's own agents' reads: another run's invocation or a write is refused", async () => {
    // A write cannot even be proposed into the run (policy): it is proposed into an ordinary
    // workflow and moved into the run in the database, as a forger would.
    const { workflow_id: ordinary } = await rt.kernel.startWorkflow(op, { title: 'elsewhere' });
    const forgedApproved = async (tool: string) => {
      const proposed = await rt.store.transaction((tx) =>
        rt.kernel.propose(tx, op, {
          workflow_id: ordinary,
          actor_id: agentId,
          tool,
          params: { sku: 'B-2' },
          reason: `${tool} B-2`,
        }),
      );
      await rt.store.transaction(async (tx) => {
        const p = (await tx.getProposal('default', proposed.proposal_id))!;
        await tx.updateProposal({
          ...p,
          workflow_id: runId,
          status: 'approved',
          approved_version: 1,
          approved_hash: proposed.hash,
        });
      });
      return proposed.proposal_id;
    };
    const read = await forgedApproved('get_inventory');
    const write = await forgedApproved('write_inventory');
    const own = { ...op, agent_invocation_id: `${runId}.plan.7` };
    // An invocation of another run, or one that only looks like this run's, is not this run's.
    for (const agent_invocation_id of ['run_00000000000000000000.plan.7', `${runId}x.plan.7`])
      await expect(
        rt.kernel.executeAction({ ...op, agent_invocation_id }, { proposal_id: read }),
      ).rejects.toMatchObject({ code: 'PLAN_ONLY' });
    // The run's own invocation may not write either.
    await expect(rt.kernel.executeAction(own, { proposal_id: write })).rejects.toMatchObject({
      code: 'PLAN_ONLY',
    });
    expect(applied).toEqual([]);
    // Its own read gets past the plan-only lock (its real reads run: test/schema-change-plan),
    // and this forged one is then stopped by the approval check: no decision approved it.
    const own_read = await rt.kernel.executeAction(own, { proposal_id: read }).then(
      () => 'ran',
      (e: { code?: string }) => e.code,
    );
    expect(own_read).not.toBe('PLAN_ONLY');
    expect(own_read).not.toBe('ran');
    expect(applied).toEqual([]);
  });

  it('has the default policies deny writes and every execution when the context says plan-only', () => {
    const policy = CedarPolicyEngine.fromDirectory();
    const base = {
      tenant_id: 'default',
      principal: { id: 'actor_1', kind: 'agent' as const, roles: [] },
      purpose: 'test',
      workflow_id: runId,
      workflow_archetype: 'proposal_only',
    };
    const tool = (risk: 'read' | 'write' | 'irreversible') => ({
      type: 'Tool' as const,
      id: 't',
      risk,
    });
    for (const action of ['proposal.create', 'tool.invoke'] as const) {
      for (const risk of ['write', 'irreversible'] as const) {
        const d = policy.decide({ ...base, action, resource: tool(risk) });
        expect(d.effect).toBe('deny');
        expect(d.reasons).toContain('plan-only-runs-read');
      }
      expect(policy.decide({ ...base, action, resource: tool('read') }).effect).not.toBe('deny');
    }
    const execute = policy.decide({
      ...base,
      action: 'proposal.execute',
      resource: {
        type: 'Proposal',
        id: 'proposal_1',
        tool: 'get_inventory',
        risk: 'read',
        proposer: 'actor_1',
        workflow: runId,
      },
    });
    expect(execute.effect).toBe('deny');
    expect(execute.reasons).toContain('plan-only-runs-execute-nothing');
    // A read the run's own agent makes is let through (the kernel checks the invocation is the
    // run's); a write under the same invocation is not, nor is it proposed.
    const withAgent = { ...base, agent_invocation_id: `${runId}.plan.3` };
    const read = policy.decide({
      ...withAgent,
      action: 'proposal.execute',
      resource: {
        type: 'Proposal' as const,
        id: 'proposal_1',
        tool: 'get_inventory',
        risk: 'read',
        proposer: 'actor_1',
        workflow: runId,
      },
    });
    expect(read.effect).not.toBe('deny');
    const proposeRead = policy.decide({
      ...withAgent,
      action: 'proposal.create',
      resource: tool('read'),
    });
    expect([proposeRead.effect, proposeRead.approvals]).toEqual(['allow', 0]);
    for (const risk of ['write', 'irreversible'] as const)
      expect(
        policy.decide({
          ...withAgent,
          action: 'proposal.execute',
          resource: {
            type: 'Proposal' as const,
            id: 'proposal_1',
            tool: 'write_inventory',
            risk,
            proposer: 'actor_1',
            workflow: runId,
          },
        }).effect,
      ).toBe('deny');
    // Without the archetype, the same write is only sent for review.
    const { workflow_archetype: _drop, ...ordinary } = base;
    expect(
      policy.decide({ ...ordinary, action: 'proposal.create', resource: tool('write') }).effect,
    ).toBe('review');
  });
});

describe('registering a plan-only definition', () => {
  it('refuses one that lists a write tool when the runtime opens', async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-plan-only-bad-'));
    try {
      await expect(
        openRuntime(
          { ...configFromEnv({}), dataDir: other },
          {
            env: {},
            extraTools: TOOLS,
            definitions: [planDefinition(['get_inventory', 'write_inventory'])],
          },
        ),
      ).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining('PLAN_ONLY_READ_TOOLS') as unknown,
      });
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});
