import { z } from 'zod';
import { defineTool } from '../core/define-tool.js';
import { CountersignError, isCountersignError } from '../core/errors.js';
import type { JsonObject } from '../core/model.js';
import type { ToolContext, ToolDefinition } from '../core/ports/tools.js';
import { changeProposalBrief, checkPlanInvariants } from './plan-brief.js';
import type { Step, WorkflowDefinition } from './definition.js';

/**
 * Plan-only workflows (`archetype: 'proposal_only'`): a run reads, drafts a
 * ChangeProposalBrief and stops at a human gate on it. PLAN ONLY: it executes nothing. The
 * rules below are checked when a definition is registered (and its tools again when a run
 * starts); policy (`plan-only-runs-read`) and the kernel (PLAN_ONLY) refuse at run time what
 * slipped past them.
 */

/** The rules a plan-only definition keeps, by stable name. */
export const PLAN_ONLY_RULES = [
  /** No `execute` step and no `propose` step: a plan-only run has no calls to run. */
  'PLAN_ONLY_NO_EXECUTION',
  /**
   * Every allowed tool is registered, of risk `read` and named `list_*`, `get_*` or `read_*`
   * (a downstream MCP tool `<prefix>.<tool>` by its own name).
   */
  'PLAN_ONLY_READ_TOOLS',
  /** `allowed_tools` is a fixed list: it can be checked before any run starts. */
  'PLAN_ONLY_FIXED_TOOLS',
  /** The last main step is an unconditional human gate on the plan. */
  'PLAN_ONLY_ENDS_AT_GATE',
] as const;
export type PlanOnlyRule = (typeof PLAN_ONLY_RULES)[number];

export interface PlanOnlyViolation {
  readonly rule: PlanOnlyRule;
  readonly message: string;
}

const READ_NAME = /^(?:list|get|read)_/;

/** A downstream MCP tool (`<prefix>.<tool>`) is judged by its own name, after the last dot. */
const readName = (name: string) => READ_NAME.test(name.slice(name.lastIndexOf('.') + 1));

/** The one tool a plan-only definition may list beside reads: it saves the brief. */
export const SAVE_PLAN_TOOL = 'save_plan_brief';

const savePlanInput = z.strictObject({
  plan: z.string().describe('The ChangeProposalBrief, JSON-encoded'),
});

function checkedBrief(text: string) {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new CountersignError('VALIDATION_FAILED', 'plan is not JSON.', {
      issues: [{ path: 'plan', message: 'not JSON' }],
    });
  }
  const parsed = changeProposalBrief.safeParse(raw);
  const violations = checkPlanInvariants(raw);
  return { parsed, violations };
}

/**
 * The built-in save tool: checks a brief against its schema and invariants and returns it as
 * its result, which the run records. plan() only checks. A registered tool of this name that is
 * not this object is refused in plan-only definitions: the name alone proves nothing.
 */
export const savePlanBriefTool: ToolDefinition = defineTool({
  name: SAVE_PLAN_TOOL,
  description:
    "Saves a plan-only run's ChangeProposalBrief after checking its schema and invariants.",
  risk: 'write',
  idempotent: true,
  input: savePlanInput,
  plan: ({ plan }) =>
    Promise.resolve().then(() => {
      const { parsed, violations } = checkedBrief(plan);
      return {
        valid: parsed.success && violations.length === 0,
        schema_issues: parsed.success ? [] : parsed.error.issues.map((i) => i.path.join('.')),
        violations: violations.map((v) => v.invariant),
      };
    }),
  apply: ({ plan }) => Promise.resolve().then(() => savedBrief(plan)),
});

function savedBrief(plan: string): JsonObject {
  const { parsed, violations } = checkedBrief(plan);
  if (!parsed.success || violations.length)
    throw new CountersignError(
      'VALIDATION_FAILED',
      `The plan breaks ${[
        ...(parsed.success ? [] : ['its schema']),
        ...violations.map((v) => v.invariant),
      ].join(', ')}.`,
      { violations: violations.map((v) => ({ ...v })) },
    );
  return { saved: true, plan: parsed.data };
}

function allSteps<I>(steps: readonly Step<I>[]): Step<I>[] {
  return steps.flatMap((s) =>
    s.kind === 'when' ? [s, ...allSteps(s.then), ...allSteps(s.else ?? [])] : [s],
  );
}

/** The fixed tool list of a definition, or null when it reads the input. */
function fixedTools<I>(def: WorkflowDefinition<I>): readonly string[] | null {
  try {
    const a = def.allowed_tools(undefined as I);
    const b = def.allowed_tools({} as I);
    return a.length === b.length && a.every((t, i) => t === b[i]) ? a : null;
  } catch {
    return null;
  }
}

/**
 * The plan-only rules a definition breaks; empty for one that keeps them (or is not plan-only).
 * `tools` are the registered tools (omitted where they are not known, e.g. inside a Temporal
 * workflow: the runtime that starts runs checks them); `allowed` is a run's tool list.
 */
export function checkProposalOnly<I>(
  def: WorkflowDefinition<I>,
  tools?: readonly ToolDefinition[],
  allowed?: readonly string[],
): PlanOnlyViolation[] {
  if (def.archetype !== 'proposal_only') return [];
  const out: PlanOnlyViolation[] = [];
  for (const s of allSteps([...def.steps, ...(def.finally ?? [])]))
    if (s.kind === 'execute' || s.kind === 'propose')
      out.push({
        rule: 'PLAN_ONLY_NO_EXECUTION',
        message: `step "${s.id}" is a ${s.kind} step; a plan-only workflow proposes no calls and executes none`,
      });
  const last = def.steps[def.steps.length - 1];
  if (!last || last.kind !== 'gate')
    out.push({
      rule: 'PLAN_ONLY_ENDS_AT_GATE',
      message: `the last step must be a human gate on the plan${last ? `, not ${last.kind} step "${last.id}"` : ''}`,
    });
  else if (last.when || last.binds || last.timeout?.outcome === 'approve')
    out.push({
      rule: 'PLAN_ONLY_ENDS_AT_GATE',
      message: `gate "${last.id}" must always ask a human: no condition, no bound calls, no approval on timeout`,
    });
  const names = allowed ?? fixedTools(def);
  if (names === null)
    out.push({
      rule: 'PLAN_ONLY_FIXED_TOOLS',
      message: 'allowed_tools must be a fixed list that does not depend on the input',
    });
  if (tools && names) {
    const byName = new Map(tools.map((t) => [t.name, t]));
    for (const name of new Set(names)) {
      const tool = byName.get(name);
      let why: string | null = null;
      if (name === SAVE_PLAN_TOOL)
        why = tool === savePlanBriefTool ? null : 'is not the built-in save tool';
      else if (!tool) why = 'is not registered';
      else if (tool.risk !== 'read') why = `has risk ${tool.risk}`;
      else if (!readName(name)) why = 'is not named list_*, get_* or read_*';
      if (why)
        out.push({
          rule: 'PLAN_ONLY_READ_TOOLS',
          message: `tool "${name}" ${why}; a plan-only workflow may only read`,
        });
    }
  }
  return out;
}

/** Throws VALIDATION_FAILED naming every broken rule; nothing otherwise. */
export function assertProposalOnly<I>(
  def: WorkflowDefinition<I>,
  tools?: readonly ToolDefinition[],
  allowed?: readonly string[],
): void {
  const violations = checkProposalOnly(def, tools, allowed);
  if (violations.length)
    throw new CountersignError(
      'VALIDATION_FAILED',
      `Plan-only workflow ${def.name} is refused: ${violations
        .map((v) => `${v.rule}: ${v.message}`)
        .join('; ')}.`,
      { definition: def.name, violations: violations.map((v) => ({ ...v })) },
    );
}

// ---- phases blocked by what the tools can do ------------------------------------------------

export type PhaseVerdict =
  | { readonly status: 'proposed' }
  | { readonly status: 'blocked'; readonly blocked_reason: string; readonly deferred_to: string };

export interface PlanCall {
  readonly tool: string;
  /** An object, or the brief's JSON-encoded string. */
  readonly params: string | JsonObject;
}

function answersNotImplemented(out: unknown): boolean {
  const o = out as { code?: unknown; error?: { code?: unknown } } | null;
  return o?.code === 'WRITE_NOT_IMPLEMENTED' || o?.error?.code === 'WRITE_NOT_IMPLEMENTED';
}

/**
 * Whether a planned call can be proposed: runs the tool's plan() (a dry run, no side effect)
 * and answers `blocked` when the tool is not registered, or its plan() fails or answers
 * WRITE_NOT_IMPLEMENTED. Parameters that do not validate are bad input (VALIDATION_FAILED).
 *
 * @example
 * await blockedByPlan(registry, { tool: 'drop_column', params: '{"table":"users"}' }, ctx);
 * // { status: 'blocked', blocked_reason: 'drop_column cannot write yet…', deferred_to: '…' }
 */
export async function blockedByPlan(
  registry: { get(name: string): ToolDefinition | undefined },
  call: PlanCall,
  ctx: ToolContext,
): Promise<PhaseVerdict> {
  const tool = registry.get(call.tool);
  if (!tool)
    return {
      status: 'blocked',
      blocked_reason: `tool "${call.tool}" is not registered`,
      deferred_to: `registration of tool "${call.tool}"`,
    };
  let params: unknown = call.params;
  if (typeof params === 'string') {
    try {
      params = JSON.parse(params);
    } catch {
      throw new CountersignError('VALIDATION_FAILED', `params of ${call.tool} are not JSON.`, {
        issues: [{ path: 'params', message: 'not JSON' }],
      });
    }
  }
  const checked = tool.validate(params);
  if (!checked.ok)
    throw new CountersignError(
      'VALIDATION_FAILED',
      `Invalid parameters for ${tool.name}: ${checked.issues.map((i) => `${i.path || 'params'}: ${i.message}`).join('; ')}`,
      { issues: checked.issues.map((i) => ({ ...i })), tool: tool.name },
    );
  // The tool's own words when it gives them (`would_fail`, `deferred_to`), after the code.
  const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v : null);
  const notYet = (reason: string | null, deferredTo: unknown) => ({
    status: 'blocked' as const,
    blocked_reason: `WRITE_NOT_IMPLEMENTED: ${reason ?? `${tool.name} cannot make this write yet`}`,
    deferred_to: text(deferredTo) ?? `an implementation of ${tool.name}'s write`,
  });
  try {
    const out = await tool.plan(checked.value, ctx);
    if (answersNotImplemented(out)) return notYet(text(out.would_fail), out.deferred_to);
    return { status: 'proposed' };
  } catch (e) {
    if (isCountersignError(e) && e.code === 'WRITE_NOT_IMPLEMENTED')
      return notYet(e.message, (e.details as { deferred_to?: unknown } | undefined)?.deferred_to);
    return {
      status: 'blocked',
      blocked_reason: `the dry run of ${tool.name} failed: ${e instanceof Error ? e.message : String(e)}`,
      deferred_to: `a working dry run of ${tool.name}`,
    };
  }
}
