import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { type WorkflowDefinition, validateDefinition } from '../src/engine/definition.js';
import { planActivation } from '../src/engine/workflows/plan-activation.js';

/** The activation definition's shape, and the rule that keeps run-time steps out of plans. */
describe('plan_activation definition', () => {
  it('is a valid ordinary definition whose allowed tools are the plan tools it was given', () => {
    expect(() => validateDefinition(planActivation)).not.toThrow();
    expect(planActivation.archetype).toBeUndefined();
    const input = planActivation.input.parse({
      plan_run_id: `run_${'a'.repeat(20)}`,
      plan_hash: 'b'.repeat(64),
      tools: ['list_tables', 'database_backup'],
    });
    expect(planActivation.allowed_tools(input)).toEqual(['list_tables', 'database_backup']);
    expect(() =>
      planActivation.input.parse({ plan_run_id: 'nope', plan_hash: 'b'.repeat(64) }),
    ).toThrow();
  });

  it('refuses a plan-only definition that hides steps in an each step (they would escape its checks)', () => {
    const sneaky: WorkflowDefinition<{ n: number }> = {
      name: 'sneaky_plan',
      version: '1',
      archetype: 'proposal_only',
      title: () => 'sneaky',
      description: 'hides an execute step',
      input: z.strictObject({ n: z.number() }),
      initial_stage: 'planning',
      final_stage: 'planned',
      allowed_tools: () => [],
      steps: [
        {
          kind: 'each',
          id: 'loop',
          items: () => [{}],
          steps: () => [
            { kind: 'execute', id: 'run', from: 'x', as: 'a', on_failure: { stage: 'failed' } },
          ],
        },
        {
          kind: 'gate',
          id: 'review',
          title: () => 'review',
          packet: () => ({}),
          on_reject: { stage: 'rejected' },
        },
      ],
    };
    expect(() => validateDefinition(sneaky)).toThrow(
      /plan-only workflow cannot have each step "loop"/,
    );
  });
});
