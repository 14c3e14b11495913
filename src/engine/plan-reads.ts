import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../core/canonical.js';
import type { JsonObject, JsonValue } from '../core/model.js';
import { type ChangeProposalBrief, changeProposalBrief } from './plan-brief.js';

/**
 * What a plan-only run read, and the digest that ties a plan to it. A saved plan records the
 * reads its planner made (tool and parameters, in order) and `read_digest`, the digest of their
 * results; activating the plan makes the same reads again and refuses with PLAN_STALE when the
 * digest differs, the way a saved Terraform plan refuses to apply against drifted state.
 */

/** A read call a planner made. */
export interface PlanRead {
  readonly tool: string;
  readonly params: JsonObject;
}

/** A read call and what it returned. */
export interface PlanReadResult extends PlanRead {
  readonly result: JsonValue;
}

/** The run artifact a plan-only run saves its plan under. */
export { PLAN_ARTIFACT } from './plan-brief.js';

/** The saved artifact: the checked brief and the reads behind its `read_digest`. */
export interface SavedPlan {
  readonly plan: ChangeProposalBrief;
  readonly reads: readonly PlanRead[];
}

/** The saved artifact's schema: what activation checks a stored plan against. */
export const savedPlanSchema = z.strictObject({
  plan: changeProposalBrief,
  reads: z.array(
    z.strictObject({ tool: z.string().min(1), params: z.record(z.string(), z.json()) }),
  ),
});

/**
 * The digest of what a plan's reads returned: sha256 over the canonical JSON of the reads in
 * the order they were made. The same reads answering the same results give the same digest.
 */
export function readDigest(reads: readonly PlanReadResult[]): string {
  return sha256Hex(
    canonicalJson(reads.map((r) => ({ tool: r.tool, params: r.params, result: r.result }))),
  );
}

/** The hash that binds an approved plan's exact version. */
export function planHash(plan: ChangeProposalBrief): string {
  return sha256Hex(canonicalJson(plan));
}
