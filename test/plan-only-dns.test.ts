/**
 * A DNS migration planned by a plan-only run (test-only definition, like the proposal-only
 * pattern's DNS example): the planner reads a zone from a real read-only downstream MCP server
 * over stdio (tools annotated readOnlyHint, configured as reads, named dns.list_records and
 * dns.get_zone), and the nameserver cutover phase is blocked because the registrar tool answers
 * WRITE_NOT_IMPLEMENTED: it stays in the plan, deferred to a registrar adapter. Nothing writes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { CedarPolicyEngine } from '../src/adapters/policy/cedar-policy-engine.js';
import { type Gateway, loadGatewayTools } from '../src/adapters/tools/mcp-gateway.js';
import { callerFor, operatorContext } from '../src/core/context.js';
import { defineTool } from '../src/core/define-tool.js';
import { CountersignError } from '../src/core/errors.js';
import type { JsonObject, JsonValue } from '../src/core/model.js';
import type { ModelMessage } from '../src/core/ports/model.js';
import type { ToolContext } from '../src/core/ports/tools.js';
import { validateTrace } from '../src/core/trace.js';
import type { AgentModels } from '../src/engine/activities.js';
import type { WorkflowDefinition } from '../src/engine/definition.js';
import { changeProposalBrief } from '../src/engine/plan-brief.js';
import { type PlanCheck, evaluateCheck } from '../src/engine/plan-checks.js';
import { PLAN_ARTIFACT, type SavedPlan, readDigest } from '../src/engine/plan-reads.js';
import { ctx, engineOn } from './support/engine-fixture.js';
import { STORES } from './support/kernel-fixture.js';

const FIXTURE = path.resolve('test/fixtures/dns-mcp-server.mjs');
const ZONE = 'example.com';
const NEW_NAMESERVERS = ['ns1.new-dns.example', 'ns2.new-dns.example'];

/** The writer's machine-checked criteria: reads of the zone over MCP, and what they must show. */
const CHECKS: Record<string, PlanCheck[]> = {
  inventory: [
    {
      criterion: 'the zone still has its MX record',
      tool: 'dns.list_records',
      params: JSON.stringify({ zone: ZONE }),
      path: 'structuredContent.records.*.type',
      op: 'contains',
      value: '"MX"',
    },
  ],
  verify: [
    {
      criterion: 'the zone is served by the new nameservers',
      tool: 'dns.get_zone',
      params: JSON.stringify({ zone: ZONE }),
      path: 'structuredContent.nameservers',
      op: 'contains',
      value: JSON.stringify(NEW_NAMESERVERS[0]),
    },
  ],
};

/** Written by the apply() of the test's write tools, which must never run. */
const applied: string[] = [];
const copyRecords = defineTool({
  name: 'copy_zone_records',
  description: 'Copies a zone to the new DNS provider (test).',
  risk: 'write',
  input: z.strictObject({ zone: z.string(), records: z.number().int() }),
  plan: (p) => Promise.resolve({ would_copy: p.records, zone: p.zone }),
  apply: (p) => {
    applied.push('copy_zone_records');
    return Promise.resolve({ copied: p.records });
  },
});
const setNameservers = defineTool({
  name: 'registrar_set_nameservers',
  description: "Sets a domain's nameservers at the registrar (test: not implemented).",
  risk: 'irreversible',
  input: z.strictObject({ zone: z.string(), nameservers: z.array(z.string()) }),
  plan: () =>
    Promise.reject(
      new CountersignError('WRITE_NOT_IMPLEMENTED', 'The registrar cannot set nameservers yet.', {
        deferred_to: 'a registrar adapter (Phase 3D)',
      }),
    ),
  apply: () => {
    applied.push('registrar_set_nameservers');
    return Promise.resolve({});
  },
});

const findings = z.strictObject({
  nameservers: z.array(z.string()),
  record_count: z.number().int(),
  phases: z.array(
    z.strictObject({
      phase_id: z.string(),
      tool: z.string(),
      params: z.record(z.string(), z.json()),
    }),
  ),
});

const dnsMigration: WorkflowDefinition<{ zone: string }> = {
  name: 'dns_migration_plan',
  version: '1',
  archetype: 'proposal_only',
  title: (i) => `DNS migration plan for ${i.zone}`,
  description: 'PLAN ONLY: plans moving a zone to a new DNS provider (test).',
  input: z.strictObject({ zone: z.string() }),
  initial_stage: 'planning',
  final_stage: 'planned',
  allowed_tools: () => ['dns.list_records', 'dns.get_zone'],
  steps: [
    { kind: 'stage', id: 'open', stage: 'planning' },
    {
      kind: 'agent',
      id: 'plan',
      role: 'dns_planner',
      artifact: 'findings',
      instructions: 'Read the zone, then propose the phases.',
      output: findings,
      input: (run) => ({ zone: run.input.zone }),
      tools: ['dns.list_records', 'dns.get_zone'],
      max_turns: 3,
    },
    {
      kind: 'agent',
      id: 'write',
      role: 'dns_writer',
      artifact: 'draft',
      instructions: 'Write the ChangeProposalBrief.',
      output: changeProposalBrief,
      input: (run) => ({ zone: run.input.zone, findings: run.artifacts.findings ?? null }),
      saves_plan: {
        expected_phases: (run) =>
          (run.artifacts.findings as { phases: { phase_id: string }[] }).phases.map(
            (p) => p.phase_id,
          ),
      },
    },
    { kind: 'stage', id: 'review', stage: 'plan_review' },
    {
      kind: 'gate',
      id: 'plan_review',
      title: (run) => `Review the DNS migration plan for ${run.input.zone}`,
      packet: (run) => ({ plan: run.artifacts.plan_brief ?? null }),
      on_reject: { stage: 'rejected' },
    },
  ],
};

/** The structured result a gateway read returned (what the server sent as structuredContent). */
function structured(m: ModelMessage | undefined): JsonObject {
  const c =
    m?.role === 'tool' ? (m.content as { output?: { structuredContent?: JsonObject } }) : {};
  return c.output?.structuredContent ?? {};
}

/** A model stand-in: the planner reads through the MCP tools, then both agents answer. */
const models: AgentModels = {
  generate(r) {
    const respond = (
      output: JsonValue,
      tool_calls?: { id: string; name: string; arguments: JsonValue }[],
    ) =>
      Promise.resolve({
        response: {
          output,
          tool_calls,
          usage: { prompt_tokens: 1, completion_tokens: 1 },
          model: 'test/dns',
        },
        model_id: 'test/dns',
        redactions: {},
      });
    const zone = typeof r.input.zone === 'string' ? r.input.zone : '';
    if (r.role === 'dns_planner') {
      const messages = r.messages ?? [];
      if (!messages.some((m) => m.role === 'assistant'))
        return respond(null, [
          { id: 'r1', name: 'dns.get_zone', arguments: { zone } },
          { id: 'r2', name: 'dns.list_records', arguments: { zone } },
        ]);
      const got = structured(messages.find((m) => m.role === 'tool' && m.name === 'dns.get_zone'));
      const listed = structured(
        messages.find((m) => m.role === 'tool' && m.name === 'dns.list_records'),
      );
      const records = Array.isArray(listed.records) ? listed.records.length : -1;
      return respond({
        nameservers: (got.nameservers as string[] | undefined) ?? [],
        record_count: records,
        phases: [
          { phase_id: 'inventory', tool: 'dns.list_records', params: { zone } },
          { phase_id: 'replicate_records', tool: 'copy_zone_records', params: { zone, records } },
          {
            phase_id: 'nameserver_cutover',
            tool: 'registrar_set_nameservers',
            params: { zone, nameservers: NEW_NAMESERVERS },
          },
          { phase_id: 'verify', tool: 'dns.get_zone', params: { zone } },
        ],
      });
    }
    if (r.role === 'dns_writer') {
      const f = r.input.findings as z.infer<typeof findings>;
      return respond({
        proposal_id: `dns-${zone}`,
        artifact_type: 'ChangeProposalBrief',
        human_review_required: true,
        status: 'proposed',
        title: `Move ${zone} to the new DNS provider`,
        summary: `${f.record_count} records on ${f.nameservers.join(', ')}.`,
        phases: f.phases.map((p) => ({
          phase_id: p.phase_id,
          phase_type: p.phase_id,
          title: p.phase_id.replace(/_/g, ' '),
          status: 'proposed',
          blocked_reason: null,
          deferred_to: null,
          risk_level: p.phase_id === 'nameserver_cutover' ? 'high' : 'low',
          rollback_note:
            p.phase_id === 'nameserver_cutover'
              ? 'Revert the nameservers at the registrar; propagation takes up to 48 hours.'
              : 'Nothing to undo.',
          calls: [{ tool: p.tool, params: JSON.stringify(p.params) }],
          acceptance_criteria: [`${p.phase_id} checked`],
          checks: CHECKS[p.phase_id] ?? [],
        })),
        risks: ['DNS propagation takes up to 48 hours.'],
        assumptions: [`${zone} is not changed while the plan is reviewed.`],
        next_step: { requires_human_approval: true, instructions: 'Review the plan.' },
        read_digest: null,
      });
    }
    return Promise.reject(new Error(`no answer for ${r.role}`));
  },
};

let dir: string;
let zoneFile: string;
let gateway: Gateway;
let env: Awaited<ReturnType<typeof engineOn>>;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-dns-plan-'));
  zoneFile = path.join(dir, 'zone.json');
  fs.writeFileSync(
    zoneFile,
    JSON.stringify({
      zone: ZONE,
      nameservers: ['ns1.old-dns.example', 'ns2.old-dns.example'],
      records: [
        { name: '@', type: 'A', value: '203.0.113.10', ttl: 300 },
        { name: 'www', type: 'CNAME', value: 'example.com.', ttl: 300 },
        { name: '@', type: 'MX', value: '10 mail.example.com.', ttl: 3600 },
      ],
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'gateway.json'),
    JSON.stringify({
      servers: [
        {
          name: 'dns',
          command: process.execPath,
          args: [FIXTURE],
          env: { DNS_ZONE_FILE: zoneFile },
        },
      ],
      risk: { 'dns.list_*': 'read', 'dns.get_*': 'read' },
    }),
  );
  gateway = await loadGatewayTools({ dataDir: dir });
  env = await engineOn(STORES[0]!, {
    models,
    tools: [...gateway.tools, copyRecords, setNameservers],
    policy: CedarPolicyEngine.fromDirectory(),
    definitions: [dnsMigration],
  });
}, 60_000);

afterAll(async () => {
  await env?.runtime.close();
  await env?.cleanup();
  await gateway?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('reads the zone over MCP, keeps the nameserver cutover in the plan blocked, and writes nothing', async () => {
  const zoneBefore = fs.readFileSync(zoneFile, 'utf8');
  expect(gateway.tools.map((t) => [t.name, t.risk])).toEqual([
    ['dns.list_records', 'read'],
    ['dns.get_zone', 'read'],
  ]);
  const run = await env.runtime.start(ctx, {
    definition: 'dns_migration_plan',
    input: { zone: ZONE },
    idempotency_key: 'dns-1',
  });
  expect(run).toMatchObject({ status: 'waiting', stage: 'plan_review' });
  // The planner saw the real server's answers.
  expect(run.artifacts.findings).toMatchObject({
    nameservers: ['ns1.old-dns.example', 'ns2.old-dns.example'],
    record_count: 3,
  });
  const saved = run.artifacts[PLAN_ARTIFACT] as unknown as SavedPlan;
  expect(saved.plan.phases.map((p) => [p.phase_id, p.status])).toEqual([
    ['inventory', 'proposed'],
    ['replicate_records', 'proposed'],
    ['nameserver_cutover', 'blocked'],
    ['verify', 'proposed'],
  ]);
  const cutover = saved.plan.phases[2]!;
  expect(cutover.blocked_reason).toBe(
    'WRITE_NOT_IMPLEMENTED: The registrar cannot set nameservers yet.',
  );
  expect(cutover.deferred_to).toBe('a registrar adapter (Phase 3D)');
  expect(cutover.rollback_note).toContain('48 hours');

  // The digest is over what the MCP server answered: the same reads made again match it.
  expect(saved.reads).toEqual([
    { tool: 'dns.get_zone', params: { zone: ZONE } },
    { tool: 'dns.list_records', params: { zone: ZONE } },
  ]);
  const toolCtx: ToolContext = {
    tenant_id: 'default',
    workflow_id: run.workflow_id,
    proposal_id: 'p',
    execution_id: 'e',
    idempotency_key: 'k',
    now: '2026-03-01T00:00:00.000Z',
  };
  const again = [];
  for (const r of saved.reads) {
    const tool = gateway.tools.find((t) => t.name === r.tool)!;
    again.push({ ...r, result: (await tool.apply(r.params, toolCtx)) as JsonValue });
  }
  expect(saved.plan.read_digest).toBe(readDigest(again));
  // The checks are saved as written, and say what they should of the zone as it is now: the
  // records are there, the new nameservers are not yet (that is for after the cutover).
  expect(saved.plan.phases.map((p) => p.checks)).toEqual([CHECKS.inventory, [], [], CHECKS.verify]);
  expect(evaluateCheck(CHECKS.inventory![0]!, again[1]!.result).passed).toBe(true);
  expect(evaluateCheck(CHECKS.verify![0]!, again[0]!.result)).toMatchObject({
    passed: false,
    found: ['ns1.old-dns.example', 'ns2.old-dns.example'],
  });

  const reviewer = (
    await env.kernel.registerActor(ctx, { name: 'Nadia', role: 'dns_admin', kind: 'human' })
  ).actor_id;
  const done = await env.runtime.decide(
    { ...operatorContext('review'), caller: callerFor(reviewer) },
    {
      approval_id: run.waiting_on!.approval_id as string,
      reviewer_id: reviewer,
      decision: 'approve',
    },
  );
  expect(done.run).toMatchObject({ status: 'completed', stage: 'planned' });
  const events = await env.store.transaction((tx) =>
    tx.listLedger('default', { workflow_id: run.workflow_id }),
  );
  expect(events.filter((e) => e.type === 'TOOL_INVOKE').map((e) => e.data.tool)).toEqual([
    'dns.get_zone',
    'dns.list_records',
  ]);
  expect(applied).toEqual([]);
  expect(fs.readFileSync(zoneFile, 'utf8')).toBe(zoneBefore);
  expect(validateTrace(run.workflow_id, events).problems).toEqual([]);
}, 60_000);
