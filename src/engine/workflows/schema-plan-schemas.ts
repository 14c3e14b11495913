import { z } from 'zod';
import { planCheckSchema } from '../plan-checks.js';

/**
 * schema_change_plan (a plan-only workflow): what it is asked, and what its agents answer
 * before the output agent serializes the ChangeProposalBrief (src/engine/plan-brief.ts).
 * PLAN ONLY: nothing here is executed.
 */

const ident = (what: string) =>
  z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, `${what} must be letters, digits or underscore`);

const columnType = z.enum(['boolean', 'integer', 'text', 'timestamp', 'real']);

/** One change the request asks for. */
export const schemaChange = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.literal('add_column'),
    table: ident('table'),
    column: ident('column'),
    column_type: columnType,
    /** The column must end up NOT NULL: existing rows are backfilled with `backfill_value`. */
    not_null: z.boolean().default(false),
    backfill_value: z.union([z.string().max(200), z.number(), z.boolean()]).optional(),
  }),
  z.strictObject({
    action: z.literal('drop_column'),
    table: ident('table'),
    column: ident('column'),
  }),
]);
export type SchemaChange = z.infer<typeof schemaChange>;

export const schemaChangePlanInput = z.strictObject({
  /** The demo-target database the change is planned for. */
  database: ident('database')
    .refine((d) => d.toLowerCase() !== 'ops', 'database "ops" is reserved by the demo target')
    .default('production'),
  /** The change in the requester's words. */
  request: z.string().trim().min(3).max(2000),
  changes: z.array(schemaChange).min(1).max(10),
  ticket: z.string().trim().min(1).max(100).optional(),
  /** Let a reviewer agent add risks before the plan is written (default true). */
  review: z.boolean().default(true),
});
export type SchemaChangePlanInput = z.infer<typeof schemaChangePlanInput>;

/** The intake agent's statement of scope, confirmed (or corrected) by the operator. */
export const planScope = z.strictObject({
  database: z.string(),
  summary: z.string(),
  changes: z.array(schemaChange),
  tables: z.array(z.string()),
  out_of_scope: z.array(z.string()),
  /** The operator's corrections so far and what was done with each. */
  corrections: z.array(z.strictObject({ comment: z.string(), applied: z.string() })),
});
export type PlanScope = z.infer<typeof planScope>;

/** A phase as the planner finds it (the output agent turns it into a brief phase). */
export const foundPhase = z.strictObject({
  phase_id: z.string(),
  phase_type: z.string(),
  title: z.string(),
  risk_level: z.enum(['low', 'medium', 'high', 'critical']),
  calls: z.array(z.strictObject({ tool: z.string(), params: z.record(z.string(), z.json()) })),
  rollback_note: z.string(),
  acceptance_criteria: z.array(z.string()),
  /** Criteria as checks of reads (src/engine/plan-checks.ts); none in findings recorded before. */
  checks: z.array(planCheckSchema).default([]),
});
export type FoundPhase = z.infer<typeof foundPhase>;

/** What the planner read and the phases it proposes. */
export const planFindings = z.strictObject({
  database: z.string(),
  observations: z.array(z.string()),
  phases: z.array(foundPhase),
  risks: z.array(z.string()),
  assumptions: z.array(z.string()),
});
export type PlanFindings = z.infer<typeof planFindings>;

/** The reviewer's second opinion: risks and caveats to add; it approves nothing. */
export const planReview = z.strictObject({
  risks: z.array(z.string()),
  caveats: z.array(z.string()),
});
export type PlanReview = z.infer<typeof planReview>;
