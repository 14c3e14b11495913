import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PLAN_ARTIFACT as CONSOLE_PLAN_ARTIFACT, savedPlanOf } from '../console/src/plan.js';
import { SAVED_PLAN } from '../console/test/plan-fixture.js';
import {
  changeProposalBrief,
  checkPlanInvariants,
  planPhaseSchema,
} from '../src/engine/plan-brief.js';
import { PLAN_ARTIFACT, type SavedPlan } from '../src/engine/plan-reads.js';

/**
 * The console restates the saved plan's shape (it reaches the server over HTTP only); this keeps
 * the restatement and the console tests' fixture in step with the server's schema.
 */
describe('the console’s reading of a saved plan', () => {
  it('reads the artifact the server saves plans under', () => {
    expect(CONSOLE_PLAN_ARTIFACT).toBe(PLAN_ARTIFACT);
  });

  it('tests against a fixture the server would save: schema and invariants hold', () => {
    const plan = changeProposalBrief.parse(SAVED_PLAN.plan);
    expect(checkPlanInvariants(SAVED_PLAN.plan)).toEqual([]);
    // A PlanRead is a tool and its parameters, nothing else.
    const reads = z
      .array(z.strictObject({ tool: z.string(), params: z.record(z.string(), z.json()) }))
      .parse(SAVED_PLAN.reads);
    const saved: SavedPlan = { plan, reads };
    expect(saved.reads.map((r) => r.tool)).toEqual([
      'list_tables',
      'get_table_schema',
      'read_row_counts',
    ]);
  });

  it('keeps every field the schema gives a phase and a plan, unchanged', () => {
    const parsed = changeProposalBrief.parse(SAVED_PLAN.plan);
    const read = savedPlanOf(SAVED_PLAN);
    expect(read).not.toBeNull();
    const { artifact_type, human_review_required, status, ...shown } = parsed;
    expect([artifact_type, human_review_required, status]).toEqual([
      'ChangeProposalBrief',
      true,
      'proposed',
    ]);
    expect(read!.plan).toEqual(shown);
    expect(read!.reads).toEqual(SAVED_PLAN.reads);
    expect(Object.keys(read!.plan.phases[0]!).sort()).toEqual(
      Object.keys(planPhaseSchema.shape).sort(),
    );
  });

  it('knows every phase status the schema allows', () => {
    expect(planPhaseSchema.shape.status.options).toEqual(['proposed', 'blocked']);
  });
});
