/**
 * The ChangeProposalBrief (its published JSON Schema, its zod schema and its invariants), the
 * dry-run check that marks a phase blocked, and the rules a plan-only definition must keep to
 * be registered.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { strictCompatible } from '../src/adapters/models/openai-compatible.js';
import { defineTool } from '../src/core/define-tool.js';
import { CountersignError } from '../src/core/errors.js';
import type { JsonObject } from '../src/core/model.js';
import type { ToolContext, ToolDefinition } from '../src/core/ports/tools.js';
import { DefinitionCatalogue } from '../src/engine/catalogue.js';
import type { Step, WorkflowDefinition } from '../src/engine/definition.js';
import {
  type ChangeProposalBrief,
  PLAN_INVARIANTS,
  changeProposalBrief,
  checkPlanInvariants,
} from '../src/engine/plan-brief.js';
import { blockedByPlan, checkProposalOnly, savePlanBriefTool } from '../src/engine/plan-only.js';

function validPlan(): ChangeProposalBrief {
  return {
    proposal_id: 'plan-orders-archive',
    artifact_type: 'ChangeProposalBrief',
    human_review_required: true,
    status: 'proposed',
    title: 'Archive old orders',
    summary: 'Move orders older than two years to the archive table.',
    phases: [
      {
        phase_id: 'p1',
        phase_type: 'migration',
        title: 'Create the archive table',
        status: 'proposed',
        blocked_reason: null,
        deferred_to: null,
        risk_level: 'medium',
        rollback_note: 'Drop the empty table.',
        calls: [{ tool: 'get_schema', params: '{"table":"orders"}' }],
        acceptance_criteria: ['orders_archive exists'],
        checks: [
          {
            criterion: 'orders_archive exists',
            tool: 'get_schema',
            params: '{"table":"orders_archive"}',
            path: 'name',
            op: 'equals',
            value: '"orders_archive"',
          },
        ],
      },
      {
        phase_id: 'p2',
        phase_type: 'backfill',
        title: 'Copy old orders',
        status: 'blocked',
        blocked_reason: 'copy_rows cannot write yet',
        deferred_to: 'an implementation of copy_rows',
        risk_level: 'high',
        rollback_note: 'Delete the copied rows.',
        calls: [{ tool: 'copy_rows', params: '{"from":"orders","to":"orders_archive"}' }],
        acceptance_criteria: ['row counts match'],
        checks: [],
      },
    ],
    risks: ['Long-running copy locks the table'],
    assumptions: ['Orders are immutable after two years'],
    next_step: { requires_human_approval: true, instructions: 'Review phases p1 and p2.' },
    read_digest: 'a'.repeat(64),
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
const names = (plan: unknown, opts = {}) => checkPlanInvariants(plan, opts).map((v) => v.invariant);

describe('schemas/ChangeProposalBrief.json', () => {
  const doc = JSON.parse(
    fs.readFileSync(path.resolve('schemas/ChangeProposalBrief.json'), 'utf8'),
  ) as JsonObject;

  /** Walks every subschema, with the number of objects it is nested in. */
  function walk(
    node: unknown,
    depth: number,
    visit: (s: Record<string, unknown>, d: number) => void,
  ) {
    if (Array.isArray(node)) return node.forEach((n) => walk(n, depth, visit));
    if (typeof node !== 'object' || node === null) return;
    const s = node as Record<string, unknown>;
    const isObject = s.type === 'object';
    const d = isObject ? depth + 1 : depth;
    if (isObject || s.properties !== undefined) visit(s, d);
    else visit(s, d);
    for (const v of Object.values(s)) walk(v, d, visit);
  }

  it('keeps the strict structured-output rules on every object', () => {
    let objects = 0;
    let maxDepth = 0;
    const nullable: string[] = [];
    walk(doc, 0, (s, d) => {
      for (const banned of ['oneOf', 'allOf', 'not', 'if', 'patternProperties', 'minLength'])
        expect(s[banned], `no ${banned}`).toBeUndefined();
      // A nullable field is [type, "null"], never anyOf with a null branch.
      if (Array.isArray(s.anyOf))
        expect((s.anyOf as { type?: unknown }[]).some((b) => b.type === 'null')).toBe(false);
      if (Array.isArray(s.type)) nullable.push(JSON.stringify(s.type));
      if (s.type === 'object') {
        objects++;
        maxDepth = Math.max(maxDepth, d);
        const props = Object.keys(s.properties as object);
        expect(s.additionalProperties).toBe(false);
        expect([...(s.required as string[])].sort()).toEqual([...props].sort());
      }
    });
    expect(objects).toBe(5); // the brief, a phase, a call, a check, next_step
    expect(maxDepth).toBeLessThanOrEqual(5);
    expect(nullable).toEqual(Array(4).fill('["string","null"]'));
    expect(strictCompatible(doc)).toBe(true);
  });

  it('fixes the constants a brief cannot change', () => {
    const p = doc.properties as Record<string, { const?: unknown }>;
    expect(p.artifact_type!.const).toBe('ChangeProposalBrief');
    expect(p.human_review_required!.const).toBe(true);
    expect(p.status!.const).toBe('proposed');
    const next = (doc.properties as Record<string, JsonObject>).next_step!;
    expect((next.properties as Record<string, JsonObject>).requires_human_approval!.const).toBe(
      true,
    );
  });

  it('the zod schema accepts a valid brief and refuses an executed phase or a missing field', () => {
    expect(changeProposalBrief.safeParse(validPlan()).success).toBe(true);
    const executed = validPlan();
    (executed.phases[0] as Mutable<(typeof executed.phases)[0]>).status = 'executed' as 'proposed';
    expect(changeProposalBrief.safeParse(executed).success).toBe(false);
    const { read_digest: _drop, ...missing } = validPlan();
    expect(changeProposalBrief.safeParse(missing).success).toBe(false);
    expect(changeProposalBrief.safeParse({ ...validPlan(), extra: 1 }).success).toBe(false);
  });
});

describe('checkPlanInvariants', () => {
  it('passes a valid plan', () => {
    expect(checkPlanInvariants(validPlan(), { expectedPhaseIds: ['p1', 'p2'] })).toEqual([]);
  });

  const cases: [string, (p: Record<string, unknown>) => unknown, object?][] = [
    ['HUMAN_REVIEW_REQUIRED', (p) => ({ ...p, human_review_required: false })],
    [
      'STATUS_PROPOSED_OR_BLOCKED',
      (p) => ({
        ...p,
        phases: (p.phases as object[]).map((ph, i) => (i === 0 ? { ...ph, status: 'done' } : ph)),
      }),
    ],
    [
      'BLOCKED_HAS_REASON',
      (p) => ({
        ...p,
        phases: (p.phases as object[]).map((ph, i) =>
          i === 1 ? { ...ph, deferred_to: null } : ph,
        ),
      }),
    ],
    [
      'PROPOSED_HAS_NO_BLOCK',
      (p) => ({
        ...p,
        phases: (p.phases as object[]).map((ph, i) =>
          i === 0 ? { ...ph, blocked_reason: 'stale' } : ph,
        ),
      }),
    ],
    [
      'NEXT_STEP_NEEDS_APPROVAL',
      (p) => ({ ...p, next_step: { requires_human_approval: false, instructions: 'go' } }),
    ],
    ['NO_PHASE_DROPPED', (p) => p, { expectedPhaseIds: ['p1', 'p2', 'p3'] }],
    [
      'NO_SECRETS',
      (p) => ({
        ...p,
        phases: (p.phases as object[]).map((ph, i) =>
          i === 0
            ? {
                ...ph,
                calls: [{ tool: 'get_schema', params: '{"password":"hunter2-correct-horse"}' }],
              }
            : ph,
        ),
      }),
    ],
    [
      'CHECKS_ARE_READS',
      (p) => ({
        ...p,
        phases: (p.phases as { checks: object[] }[]).map((ph, i) =>
          i === 0
            ? { ...ph, checks: ph.checks.map((c) => ({ ...c, op: 'equals', value: 'not json' })) }
            : ph,
        ),
      }),
    ],
  ];

  it.each(cases)('reports %s, and only it, when the plan breaks it alone', (name, mutate, opts) => {
    const plan = mutate({ ...validPlan() });
    expect(names(plan, { expectedPhaseIds: ['p1', 'p2'], ...opts })).toEqual([name]);
  });

  it('covers every invariant it names', () => {
    expect(cases.map((c) => c[0]).sort()).toEqual([...PLAN_INVARIANTS].sort());
  });

  it('finds a dropped phase whatever the order, and secrets of every kind but personal data', () => {
    const reordered = { ...validPlan(), phases: [...validPlan().phases].reverse() };
    expect(names(reordered, { expectedPhaseIds: ['p2', 'p1', 'p1'] })).toEqual([]);
    const withKey = { ...validPlan(), summary: 'use key AKIAIOSFODNN7EXAMPLE to read' };
    expect(names(withKey)).toEqual(['NO_SECRETS']);
    const withEmail = { ...validPlan(), summary: 'owner: dana@example.com' };
    expect(names(withEmail)).toEqual([]);
  });

  it('uses the redaction rules it is given', () => {
    const never = () => ({ redactions: {} });
    const withKey = { ...validPlan(), summary: 'key AKIAIOSFODNN7EXAMPLE' };
    expect(names(withKey, { redact: never })).toEqual([]);
  });

  it('reports a plan that is not an object at all without throwing', () => {
    expect(names('executed')).toEqual([
      'HUMAN_REVIEW_REQUIRED',
      'STATUS_PROPOSED_OR_BLOCKED',
      'NEXT_STEP_NEEDS_APPROVAL',
      'NO_PHASE_DROPPED',
    ]);
  });
});

// ---- tools and definitions --------------------------------------------------------------

const planned: string[] = [];
function tool(
  name: string,
  risk: 'read' | 'write' | 'irreversible',
  plan: (p: JsonObject) => Promise<JsonObject> = () => Promise.resolve({ ok: true }),
): ToolDefinition {
  return defineTool({
    name,
    description: name,
    risk,
    input: z.strictObject({ table: z.string() }),
    plan: (p) => {
      planned.push(name);
      return plan(p);
    },
    apply: () => Promise.reject(new Error(`${name}.apply must never run in a plan`)),
  });
}

const TOOLS = [
  tool('get_schema', 'read'),
  tool('list_tables', 'read'),
  tool('get_evil', 'write'),
  tool('drop_table', 'irreversible'),
  tool('summarize', 'read'),
  tool('copy_rows', 'write', () =>
    Promise.reject(new CountersignError('WRITE_NOT_IMPLEMENTED', 'copy_rows cannot write yet')),
  ),
  tool('move_rows', 'write', () => Promise.resolve({ code: 'WRITE_NOT_IMPLEMENTED' })),
  tool('flaky', 'write', () => Promise.reject(new Error('backend down'))),
  savePlanBriefTool,
];

const ctx: ToolContext = {
  tenant_id: 'default',
  workflow_id: 'run_00000000000000000000',
  proposal_id: 'plan',
  execution_id: 'plan',
  idempotency_key: 'plan',
  now: '2026-01-01T00:00:00.000Z',
};
const registry = { get: (n: string) => TOOLS.find((t) => t.name === n) };

describe('blockedByPlan', () => {
  it('proposes a call whose dry run works, without applying it', async () => {
    planned.length = 0;
    expect(
      await blockedByPlan(registry, { tool: 'get_schema', params: '{"table":"t"}' }, ctx),
    ).toEqual({ status: 'proposed' });
    expect(planned).toEqual(['get_schema']);
  });

  it('blocks an unregistered tool, a write that is not implemented and a failing dry run', async () => {
    const unknown = await blockedByPlan(registry, { tool: 'nope', params: {} }, ctx);
    expect(unknown.status).toBe('blocked');
    expect(unknown.status === 'blocked' && unknown.blocked_reason).toContain('not registered');
    const thrown = await blockedByPlan(
      registry,
      { tool: 'copy_rows', params: { table: 't' } },
      ctx,
    );
    expect(thrown).toEqual({
      status: 'blocked',
      blocked_reason: 'WRITE_NOT_IMPLEMENTED: copy_rows cannot write yet',
      deferred_to: "an implementation of copy_rows's write",
    });
    const answered = await blockedByPlan(
      registry,
      { tool: 'move_rows', params: '{"table":"t"}' },
      ctx,
    );
    expect(answered.status).toBe('blocked');
    const failing = await blockedByPlan(registry, { tool: 'flaky', params: { table: 't' } }, ctx);
    expect(failing.status === 'blocked' && failing.blocked_reason).toContain('backend down');
    // Every blocked verdict fills both fields, so the phase keeps BLOCKED_HAS_REASON.
    for (const v of [unknown, thrown, answered, failing])
      if (v.status === 'blocked') expect(v.deferred_to.length).toBeGreaterThan(0);
  });

  it('refuses parameters that are not JSON or do not validate', async () => {
    await expect(
      blockedByPlan(registry, { tool: 'get_schema', params: '{bad' }, ctx),
    ).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(
      blockedByPlan(registry, { tool: 'get_schema', params: { table: 5 } }, ctx),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

const input = z.strictObject({ topic: z.string() });
function planDef(
  over: Partial<WorkflowDefinition<{ topic: string }>> = {},
): WorkflowDefinition<{ topic: string }> {
  const gate: Step<{ topic: string }> = {
    kind: 'gate',
    id: 'plan_review',
    title: () => 'Review the plan',
    packet: (run) => ({ plan: run.artifacts.plan ?? null }),
    on_reject: { stage: 'rejected' },
  };
  return {
    name: 'plan_brief',
    version: '1',
    archetype: 'proposal_only',
    title: (i) => `Plan for ${i.topic}`,
    description: 'Plan only',
    input,
    initial_stage: 'planning',
    final_stage: 'planned',
    allowed_tools: () => ['get_schema', 'list_tables', 'save_plan_brief'],
    steps: [{ kind: 'stage', id: 'open', stage: 'planning' }, gate],
    ...over,
  };
}
const rules = (def: WorkflowDefinition<{ topic: string }>, tools = TOOLS) =>
  checkProposalOnly(def, tools).map((v) => v.rule);

describe('plan-only definitions', () => {
  it('accepts one that reads, saves its plan and ends at a human gate', () => {
    expect(rules(planDef())).toEqual([]);
    expect(() => new DefinitionCatalogue([planDef()], TOOLS)).not.toThrow();
  });

  it('refuses an execute step or a propose step', () => {
    const base = planDef();
    const def = planDef({
      steps: [
        {
          kind: 'propose',
          id: 'calls',
          as: 'planner',
          invocation_of: 'draft',
          calls: () => [],
        },
        {
          kind: 'execute',
          id: 'run',
          from: 'calls',
          as: 'planner',
          on_failure: { stage: 'failed' },
        },
        ...base.steps,
      ],
    });
    expect(rules(def)).toEqual(['PLAN_ONLY_NO_EXECUTION', 'PLAN_ONLY_NO_EXECUTION']);
    // Also inside a condition.
    const hidden = planDef({
      steps: [
        {
          kind: 'when',
          id: 'maybe',
          if: () => false,
          then: [{ kind: 'execute', id: 'x', from: 'calls', as: 'p', on_failure: { stage: 'f' } }],
        },
        ...base.steps,
      ],
    });
    expect(rules(hidden)).toEqual(['PLAN_ONLY_NO_EXECUTION']);
  });

  it('refuses a tool that can write, even one named like a read', () => {
    expect(rules(planDef({ allowed_tools: () => ['get_evil'] }))).toEqual(['PLAN_ONLY_READ_TOOLS']);
    expect(rules(planDef({ allowed_tools: () => ['drop_table'] }))).toEqual([
      'PLAN_ONLY_READ_TOOLS',
    ]);
    // A read tool not named list_/get_/read_, and a tool nobody registered.
    expect(rules(planDef({ allowed_tools: () => ['summarize', 'get_ghost'] }))).toEqual([
      'PLAN_ONLY_READ_TOOLS',
      'PLAN_ONLY_READ_TOOLS',
    ]);
    // A downstream MCP tool is judged by its own name, after its server's prefix.
    const downstream = [
      ...TOOLS,
      tool('dns.list_records', 'read'),
      tool('list_x.drop_all', 'read'),
    ];
    expect(rules(planDef({ allowed_tools: () => ['dns.list_records'] }), downstream)).toEqual([]);
    expect(rules(planDef({ allowed_tools: () => ['list_x.drop_all'] }), downstream)).toEqual([
      'PLAN_ONLY_READ_TOOLS',
    ]);
    // A tool of the save tool's name that is not the built-in one.
    const impostor = tool('save_plan_brief', 'read');
    const tools = [...TOOLS.filter((t) => t !== savePlanBriefTool), impostor];
    expect(rules(planDef(), tools)).toEqual(['PLAN_ONLY_READ_TOOLS']);
    // A tool list that depends on the input cannot be checked before a run.
    expect(
      rules(planDef({ allowed_tools: (i) => (i.topic.length ? ['get_schema'] : []) })),
    ).toEqual(['PLAN_ONLY_FIXED_TOOLS']);
  });

  it('refuses one that does not end with a human gate', () => {
    const base = planDef();
    expect(
      rules(planDef({ steps: [...base.steps, { kind: 'stage', id: 'after', stage: 'planned' }] })),
    ).toEqual(['PLAN_ONLY_ENDS_AT_GATE']);
    const gate = base.steps[1]!;
    expect(
      rules(planDef({ steps: [{ ...gate, when: () => false } as Step<{ topic: string }>] })),
    ).toEqual(['PLAN_ONLY_ENDS_AT_GATE']);
    expect(
      rules(
        planDef({
          steps: [
            { ...gate, timeout: { after_ms: 1000, outcome: 'approve' } } as Step<{ topic: string }>,
          ],
        }),
      ),
    ).toEqual(['PLAN_ONLY_ENDS_AT_GATE']);
  });

  it('is refused at registration with VALIDATION_FAILED naming the rule', () => {
    let error: unknown;
    try {
      new DefinitionCatalogue([planDef({ allowed_tools: () => ['get_evil'] })], TOOLS);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CountersignError);
    expect((error as CountersignError).code).toBe('VALIDATION_FAILED');
    expect((error as CountersignError).message).toContain('PLAN_ONLY_READ_TOOLS');
    expect((error as CountersignError).message).toContain('get_evil');
  });

  it('leaves definitions without the archetype alone', () => {
    const { archetype: _drop, ...plain } = planDef({ allowed_tools: () => ['drop_table'] });
    expect(checkProposalOnly(plain, TOOLS)).toEqual([]);
  });
});

describe('the built-in save tool', () => {
  it('checks a brief in its dry run and refuses a broken one when applied', async () => {
    const good = JSON.stringify(validPlan());
    expect(await savePlanBriefTool.plan({ plan: good }, ctx)).toEqual({
      valid: true,
      schema_issues: [],
      violations: [],
    });
    const bad = JSON.stringify({ ...validPlan(), human_review_required: false });
    expect(await savePlanBriefTool.plan({ plan: bad }, ctx)).toMatchObject({
      valid: false,
      violations: ['HUMAN_REVIEW_REQUIRED'],
    });
    await expect(savePlanBriefTool.apply({ plan: bad }, ctx)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    expect(await savePlanBriefTool.apply({ plan: good }, ctx)).toEqual({
      saved: true,
      plan: validPlan(),
    });
  });
});
