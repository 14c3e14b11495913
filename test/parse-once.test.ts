import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { parseInput } from '../src/core/validation.js';
import { WorkflowOps } from '../src/core/workflow-ops.js';
import { OPERATIONS, invokeOperation } from '../src/surfaces/operations.js';
import { STORES, ctx, kernelOn, seedActors } from './support/kernel-fixture.js';
import * as S from '../src/core/schemas.js';

describe('input is parsed once', () => {
  it('a value a schema produced is taken as it is by the same schema, not by another', () => {
    const schema = z.strictObject({ n: z.number().default(1) });
    const spy = vi.spyOn(schema, 'safeParse');
    const parsed = parseInput(schema, {}, 'test input');
    expect(parsed).toEqual({ n: 1 });
    expect(parseInput(schema, parsed, 'test input')).toBe(parsed);
    expect(spy).toHaveBeenCalledTimes(1);
    // Another schema, or a copy, is parsed afresh.
    const other = z.strictObject({ n: z.number().max(0) });
    expect(() => parseInput(other, parsed, 'other input')).toThrow(/Invalid other input: n:/);
    parseInput(schema, { ...parsed }, 'test input');
    expect(spy).toHaveBeenCalledTimes(2);
  });

  it("a caller's own object is never trusted without parsing", () => {
    const schema = z.json();
    const mine: Record<string, unknown> = { a: 1 };
    parseInput(schema, mine, 'json');
    mine.a = () => 1; // not JSON any more
    expect(() => parseInput(schema, mine, 'json')).toThrow(/Invalid json/);
  });

  it('a proposal through the catalogue is parsed once, at the door', async () => {
    const { kernel, cleanup } = await kernelOn(STORES[0]!);
    try {
      await seedActors(kernel);
      const services = { kernel, workflows: new WorkflowOps(kernel), engine: undefined as never };
      const spy = vi.spyOn(S.proposeActionInput, 'safeParse');
      const propose = OPERATIONS.find((o) => o.name === 'propose_action')!;
      await invokeOperation(services, propose, ctx, {
        workflow_id: 'workflow_1',
        actor_id: 'actor_1',
        tool: 'write_record',
        params: { table: 'users' },
        reason: 'once',
      });
      expect(spy).toHaveBeenCalledTimes(1);
      spy.mockRestore();
    } finally {
      await cleanup();
    }
  });
});
