import type { Json, JsonObject, Run } from './types.js';

/**
 * A plan-only run's saved plan as the console reads it: the run artifact `plan_brief`, a
 * SavedPlan `{plan, reads}` whose `plan` is a ChangeProposalBrief (src/engine/plan-reads.ts and
 * plan-brief.ts on the server; the console reaches the server over HTTP only, so the shapes
 * are restated here, and test/plan-view-contract.test.ts keeps them in step).
 */

/** The run artifact a plan-only run saves its plan under (PLAN_ARTIFACT on the server). */
export const PLAN_ARTIFACT = 'plan_brief';

export interface PlannedCall {
  readonly tool: string;
  /** The call's parameters, JSON-encoded (the brief is written under strict structured output). */
  readonly params: string;
}

/** A machine-checked acceptance criterion: a read, a path into its result and a comparison. */
export interface PlanCheck {
  readonly criterion: string;
  readonly tool: string;
  /** The read's parameters, JSON-encoded. */
  readonly params: string;
  /** Dotted path into the read's result; `*` maps over a list; "" is the whole result. */
  readonly path: string;
  readonly op: string;
  /** The expected value, JSON-encoded; null for exists and absent. */
  readonly value: string | null;
}

export interface PlanPhase {
  readonly phase_id: string;
  readonly phase_type: string;
  readonly title: string;
  readonly status: 'proposed' | 'blocked';
  readonly blocked_reason: string | null;
  readonly deferred_to: string | null;
  readonly risk_level: string;
  readonly rollback_note: string;
  readonly calls: readonly PlannedCall[];
  readonly acceptance_criteria: readonly string[];
  readonly checks: readonly PlanCheck[];
}

export interface PlanBrief {
  readonly proposal_id: string;
  readonly title: string;
  readonly summary: string;
  readonly phases: readonly PlanPhase[];
  readonly risks: readonly string[];
  readonly assumptions: readonly string[];
  readonly next_step: { readonly requires_human_approval: boolean; readonly instructions: string };
  readonly read_digest: string | null;
}

export interface PlanRead {
  readonly tool: string;
  readonly params: JsonObject;
}

export interface SavedPlan {
  readonly plan: PlanBrief;
  readonly reads: readonly PlanRead[];
}

const isObject = (v: Json | undefined): v is JsonObject =>
  v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);
const str = (v: Json | undefined): string => (typeof v === 'string' ? v : '');
const strOrNull = (v: Json | undefined): string | null => (typeof v === 'string' ? v : null);
const strings = (v: Json | undefined): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];

/**
 * The saved plan in `value`, or null when it is not one (then the console shows the JSON as it
 * is, never hiding it). A phase whose status is neither proposed nor blocked is shown as
 * blocked: the console never presents as proposed what the plan does not say is.
 */
export function savedPlanOf(value: Json | undefined): SavedPlan | null {
  if (!isObject(value) || !isObject(value.plan)) return null;
  const p = value.plan;
  if (p.artifact_type !== 'ChangeProposalBrief' || !Array.isArray(p.phases)) return null;
  const phases: PlanPhase[] = [];
  for (const raw of p.phases) {
    if (!isObject(raw) || typeof raw.phase_id !== 'string') return null;
    phases.push({
      phase_id: raw.phase_id,
      phase_type: str(raw.phase_type),
      title: str(raw.title) || raw.phase_id,
      status: raw.status === 'proposed' ? 'proposed' : 'blocked',
      blocked_reason:
        strOrNull(raw.blocked_reason) ??
        (raw.status === 'proposed' || raw.status === 'blocked'
          ? null
          : `The plan gives this phase the status ${JSON.stringify(raw.status ?? null)}.`),
      deferred_to: strOrNull(raw.deferred_to),
      risk_level: str(raw.risk_level) || 'unknown',
      rollback_note: str(raw.rollback_note),
      calls: (Array.isArray(raw.calls) ? raw.calls : []).filter(isObject).map((c) => ({
        tool: str(c.tool),
        params: typeof c.params === 'string' ? c.params : JSON.stringify(c.params ?? {}),
      })),
      acceptance_criteria: strings(raw.acceptance_criteria),
      checks: (Array.isArray(raw.checks) ? raw.checks : []).filter(isObject).map((c) => ({
        criterion: str(c.criterion),
        tool: str(c.tool),
        params: typeof c.params === 'string' ? c.params : JSON.stringify(c.params ?? {}),
        path: str(c.path),
        op: str(c.op),
        value: typeof c.value === 'string' ? c.value : null,
      })),
    });
  }
  const next = isObject(p.next_step) ? p.next_step : {};
  const reads = (Array.isArray(value.reads) ? value.reads : []).filter(isObject).map((r) => ({
    tool: str(r.tool),
    params: isObject(r.params) ? r.params : {},
  }));
  return {
    plan: {
      proposal_id: str(p.proposal_id),
      title: str(p.title),
      summary: str(p.summary),
      phases,
      risks: strings(p.risks),
      assumptions: strings(p.assumptions),
      next_step: {
        requires_human_approval: next.requires_human_approval === true,
        instructions: str(next.instructions),
      },
      read_digest: strOrNull(p.read_digest),
    },
    reads,
  };
}

/**
 * A check in one compact line: the read, the path and the comparison, e.g.
 * `get_table_schema {"table":"users"} → columns.*.name contains "email"`.
 */
export function checkLine(check: PlanCheck): string {
  const path = check.path === '' ? '(the whole result)' : check.path;
  const value = check.value === null ? '' : ` ${check.value}`;
  const read = check.params ? `${check.tool} ${check.params}` : check.tool;
  return `${read} → ${path} ${check.op.replace(/_/g, ' ')}${value}`;
}

/** One acceptance check as an activation's assurance step recorded it. */
export interface CheckedCriterion {
  readonly criterion: string;
  readonly passed: boolean;
  /** The read, path and comparison in one line (checkLine). */
  readonly line: string;
  readonly found: Json;
  /** Why it failed; null when it passed. */
  readonly why: string | null;
}

/**
 * The acceptance checks an assurance step recorded in an artifact (`criteria` entries with
 * `checked: true`), or null when the artifact holds none. Criteria stated in words only are not
 * checks: they stay in the artifact's JSON.
 */
export function checkedCriteriaOf(value: Json | undefined): CheckedCriterion[] | null {
  if (!isObject(value) || !Array.isArray(value.criteria)) return null;
  const out = value.criteria
    .filter(isObject)
    .filter((c) => c.checked === true)
    .map((c) => ({
      criterion: str(c.criterion),
      passed: c.passed === true,
      line: checkLine({
        criterion: str(c.criterion),
        tool: str(c.tool),
        params: '',
        path: str(c.path),
        op: str(c.op),
        value: typeof c.expected === 'string' ? c.expected : null,
      }),
      found: c.found ?? null,
      why: strOrNull(c.why),
    }));
  return out.length ? out : null;
}

/** A planned call's parameters as JSON, or the text as it is when it is not JSON. */
export function callParams(params: string): Json {
  try {
    return JSON.parse(params) as Json;
  } catch {
    return params;
  }
}

/** The decisions of the gate decided last in a run (its final gate for a finished run). */
function lastGateDecisions(run: Run): JsonObject[] {
  const decisions = run.trace.filter((t) => t.type === 'decision');
  const last = decisions.at(-1);
  if (!last) return [];
  return decisions.filter((d) =>
    last.approval_id !== undefined
      ? d.approval_id === last.approval_id
      : d.gate === last.gate && d.approval_id === undefined,
  );
}

/**
 * Whether a run's plan is approved: it saved a plan, it completed, and its final gate (the last
 * one decided) was approved by every decision on it. The server checks again when activating;
 * this only decides whether the console offers to.
 */
export function planApproved(run: Run): boolean {
  if (run.status !== 'completed' || !savedPlanOf(run.artifacts[PLAN_ARTIFACT])) return false;
  const final = lastGateDecisions(run);
  return final.length > 0 && final.every((d) => d.decision === 'approve');
}

/**
 * Whether the request `approval_id` of `run` is the gate on its saved plan: the one the run waits
 * on once the plan is saved, or, after it, the gate decided last. An earlier gate (the scope) or
 * a plan gate whose plan was redrafted since is not shown the current plan.
 */
export function isPlanGate(run: Run, approval_id: string): boolean {
  if (!savedPlanOf(run.artifacts[PLAN_ARTIFACT])) return false;
  const waiting = run.waiting_on;
  if (run.status === 'waiting' || (waiting && waiting.kind === 'approval'))
    return waiting?.approval_id === approval_id;
  return lastGateDecisions(run)[0]?.approval_id === approval_id;
}

/** The plan run an activated run carries out, and the plan hash it was bound to, if any. */
export function activationOf(run: Run): { plan_run_id: string; plan_hash: string | null } | null {
  const fromContext = run.context.plan_run_id;
  if (typeof fromContext === 'string')
    return { plan_run_id: fromContext, plan_hash: strOrNull(run.context.plan_hash) };
  const entry = run.trace.find((t) => typeof t.plan_run_id === 'string');
  return entry
    ? { plan_run_id: entry.plan_run_id as string, plan_hash: strOrNull(entry.plan_hash) }
    : null;
}

/** The plan a gate's packet carries itself (a SavedPlan or a bare brief), and under which key. */
export function packetPlan(packet: JsonObject): { key: string; saved: SavedPlan } | null {
  for (const [key, v] of Object.entries(packet)) {
    const saved = savedPlanOf(v) ?? savedPlanOf({ plan: v, reads: [] });
    if (saved) return { key, saved };
  }
  return null;
}
