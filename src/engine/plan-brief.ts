import { z } from 'zod';
import { redactJson } from '../core/redact.js';
import type { JsonObject, JsonValue } from '../core/model.js';
import type { ToolDefinition } from '../core/ports/tools.js';
import { checkProblems, planCheckSchema } from './plan-checks.js';

/**
 * The ChangeProposalBrief: what a plan-only (`archetype: 'proposal_only'`) run produces. It
 * proposes phases of a change and the tool calls each would make; nothing in it has run. A
 * human reviews it at the run's last gate; turning it into an execution is a separate run.
 *
 * The schema is written for OpenAI's strict structured output, so a model can be held to it:
 * every object lists all its properties as required and allows no others, no `oneOf`, nesting
 * at most five objects deep, and a field that may be empty is `[type, "null"]`. The parameters
 * of a call (and of a check's read) are therefore a JSON-encoded string (an open object cannot
 * be strict).
 * schemas/ChangeProposalBrief.json is generated from it (`npm run schemas`).
 */

/**
 * The run artifact a plan-only run saves its plan under. Defined here, with the brief, because
 * workflow code (the interpreter, definitions) needs it and plan-reads.ts, which exports it to
 * the rest, hashes with Node's crypto.
 */
export const PLAN_ARTIFACT = 'plan_brief';

const nullableText = z.string().nullable();

export const plannedCallSchema = z.strictObject({
  tool: z.string().describe('Name of the governed tool the phase would call'),
  params: z
    .string()
    .describe('The call\'s parameters as a JSON-encoded object, e.g. "{\\"table\\":\\"users\\"}"'),
});

export const planPhaseSchema = z.strictObject({
  phase_id: z.string(),
  phase_type: z.string().describe('What kind of phase, e.g. migration, backfill, cleanup'),
  title: z.string(),
  status: z.enum(['proposed', 'blocked']).describe('Never executed: proposed or blocked'),
  blocked_reason: nullableText.describe('Why the phase cannot be proposed; null when proposed'),
  deferred_to: nullableText.describe('What the blocked phase waits for; null when proposed'),
  risk_level: z.enum(['low', 'medium', 'high', 'critical']),
  rollback_note: z.string(),
  calls: z.array(plannedCallSchema),
  acceptance_criteria: z.array(z.string()),
  // Required of every answer (the JSON Schema lists it); a plan recorded before phases had
  // checks parses with none, so that recorded runs replay as they ran.
  checks: z
    .array(planCheckSchema)
    .default([])
    .describe(
      'Acceptance criteria as checks Countersign runs after the phase: a read and what its result must hold',
    ),
});

export const changeProposalBrief = z
  .strictObject({
    proposal_id: z.string(),
    artifact_type: z.literal('ChangeProposalBrief'),
    human_review_required: z.literal(true),
    status: z.literal('proposed'),
    title: z.string(),
    summary: z.string(),
    phases: z.array(planPhaseSchema),
    risks: z.array(z.string()),
    assumptions: z.array(z.string()),
    next_step: z.strictObject({
      requires_human_approval: z.literal(true),
      instructions: z.string(),
    }),
    read_digest: nullableText.describe(
      'sha256 (hex) of what the read tools returned while planning; the engine may fill it',
    ),
  })
  .meta({ title: 'ChangeProposalBrief' });

export type ChangeProposalBrief = z.infer<typeof changeProposalBrief>;
export type PlanPhase = z.infer<typeof planPhaseSchema>;

/**
 * The brief's JSON Schema in the strict form: zod writes a nullable field as
 * `anyOf: [X, {type: null}]`; strict structured output wants `type: [X, "null"]`.
 */
export function changeProposalBriefJsonSchema(): JsonObject {
  // The output form: a field with a default (a phase's checks) is required, as strict wants.
  const json = z.toJSONSchema(changeProposalBrief, {
    target: 'draft-2020-12',
    io: 'output',
  }) as JsonObject;
  return collapseNullable(json) as JsonObject;
}

function collapseNullable(node: JsonValue): JsonValue {
  if (Array.isArray(node)) return node.map(collapseNullable);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, JsonValue> = {};
  // `default` is for parsing recorded plans; strict structured output has no such keyword.
  for (const [k, v] of Object.entries(node)) if (k !== 'default') out[k] = collapseNullable(v);
  const any = out.anyOf;
  if (Array.isArray(any) && any.length === 2) {
    const isNull = (s: JsonValue) =>
      typeof s === 'object' && s !== null && !Array.isArray(s) && s.type === 'null';
    const other = any.find((s) => !isNull(s));
    if (any.some(isNull) && other && typeof other === 'object' && !Array.isArray(other)) {
      const { anyOf: _drop, ...rest } = out;
      if (typeof other.type === 'string') return { ...rest, ...other, type: [other.type, 'null'] };
    }
  }
  return out;
}

// ---- invariants -------------------------------------------------------------------------

/** The rules every brief keeps, by stable name. */
export const PLAN_INVARIANTS = [
  'HUMAN_REVIEW_REQUIRED',
  'STATUS_PROPOSED_OR_BLOCKED',
  'BLOCKED_HAS_REASON',
  'PROPOSED_HAS_NO_BLOCK',
  'NEXT_STEP_NEEDS_APPROVAL',
  'NO_PHASE_DROPPED',
  'NO_SECRETS',
  'CHECKS_ARE_READS',
] as const;
export type PlanInvariant = (typeof PLAN_INVARIANTS)[number];

export interface PlanViolation {
  readonly invariant: PlanInvariant;
  readonly message: string;
}

/** What a redaction pass reports: matches per kind (src/core/redact.ts). */
export type Redactor = (value: JsonValue) => {
  readonly redactions: Readonly<Record<string, number>>;
};

export interface PlanInvariantOptions {
  /** Phase IDs the plan must keep (e.g. those of the plan it revises, or of the request). */
  readonly expectedPhaseIds?: readonly string[];
  /** The redaction rules secrets are found with; the core's `redactJson` by default. */
  readonly redact?: Redactor;
  /**
   * The registered tools, for CHECKS_ARE_READS: with them a check must name a read tool (one of
   * `readTools`, when given) and valid parameters for it; without them only its form is checked.
   */
  readonly tools?: { get(name: string): ToolDefinition | undefined };
  /** The tools the run may call (its allowed tools). */
  readonly readTools?: readonly string[];
}

/**
 * Redaction kinds that are personal data rather than secrets: a brief may name an owner's
 * e-mail or a phone rota; it may never carry a credential.
 */
const PERSONAL_KINDS: ReadonlySet<string> = new Set(['email', 'phone', 'iban', 'card', 'ssn']);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const filled = (v: unknown): boolean => typeof v === 'string' && v.trim() !== '';

/**
 * Checks a brief (as parsed JSON, not trusted to match the schema) against the invariants and
 * returns the violated ones, each once, in the order of PLAN_INVARIANTS; empty when it holds.
 *
 * @example
 * checkPlanInvariants(plan, { expectedPhaseIds: ['p1', 'p2'] });
 * // [{ invariant: 'NO_PHASE_DROPPED', message: 'phase p2 is missing' }]
 */
export function checkPlanInvariants(
  plan: unknown,
  options: PlanInvariantOptions = {},
): PlanViolation[] {
  const found = new Map<PlanInvariant, string[]>();
  const report = (invariant: PlanInvariant, message: string) =>
    found.set(invariant, [...(found.get(invariant) ?? []), message]);
  const p = isObject(plan) ? plan : {};
  if (p.human_review_required !== true)
    report('HUMAN_REVIEW_REQUIRED', 'human_review_required must be true');
  if (p.status !== 'proposed')
    report('STATUS_PROPOSED_OR_BLOCKED', `the plan's status is ${JSON.stringify(p.status)}`);
  const phases = Array.isArray(p.phases) ? p.phases : [];
  if (!Array.isArray(p.phases)) report('NO_PHASE_DROPPED', 'the plan has no phases list');
  const ids = new Set<string>();
  phases.forEach((raw, i) => {
    const phase = isObject(raw) ? raw : {};
    const name = typeof phase.phase_id === 'string' ? phase.phase_id : `#${i + 1}`;
    if (typeof phase.phase_id === 'string') ids.add(phase.phase_id);
    if (phase.status === 'blocked') {
      if (!filled(phase.blocked_reason) || !filled(phase.deferred_to))
        report('BLOCKED_HAS_REASON', `blocked phase ${name} needs blocked_reason and deferred_to`);
    } else if (phase.status === 'proposed') {
      if (phase.blocked_reason != null || phase.deferred_to != null)
        report('PROPOSED_HAS_NO_BLOCK', `proposed phase ${name} carries a block`);
    } else
      report(
        'STATUS_PROPOSED_OR_BLOCKED',
        `phase ${name} is ${JSON.stringify(phase.status)}, not proposed or blocked`,
      );
    if (Array.isArray(phase.checks))
      phase.checks.forEach((raw, j) => {
        const check = planCheckSchema.safeParse(raw);
        const problems = check.success
          ? checkProblems(check.data, options.tools, options.readTools)
          : ['it does not match the check schema'];
        if (problems.length)
          report('CHECKS_ARE_READS', `check ${j + 1} of phase ${name}: ${problems.join(', ')}`);
      });
  });
  const next = isObject(p.next_step) ? p.next_step : {};
  if (next.requires_human_approval !== true)
    report('NEXT_STEP_NEEDS_APPROVAL', 'next_step.requires_human_approval must be true');
  for (const id of new Set(options.expectedPhaseIds ?? []))
    if (!ids.has(id)) report('NO_PHASE_DROPPED', `phase ${id} is missing`);
  const redact = options.redact ?? redactJson;
  const { redactions } = redact(toJson(plan));
  const secrets = Object.entries(redactions)
    .filter(([kind, n]) => n > 0 && !PERSONAL_KINDS.has(kind))
    .map(([kind]) => kind);
  if (secrets.length) report('NO_SECRETS', `the plan carries secrets (${secrets.join(', ')})`);
  return PLAN_INVARIANTS.filter((i) => found.has(i)).map((invariant) => ({
    invariant,
    message: found.get(invariant)!.join('; '),
  }));
}

/** A JSON copy of anything parsed from JSON (drops what JSON cannot hold). */
function toJson(v: unknown): JsonValue {
  if (v === undefined) return null;
  return JSON.parse(JSON.stringify(v) ?? 'null') as JsonValue;
}
