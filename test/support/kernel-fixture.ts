import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { z } from 'zod';
import { CedarPolicyEngine } from '../../src/adapters/policy/cedar-policy-engine.js';
import type { KyselyStore } from '../../src/adapters/store/kysely-store.js';
import { openPostgresStore, openSqliteStore } from '../../src/adapters/store/open-store.js';
import { operatorContext } from '../../src/core/context.js';
import { defineTool } from '../../src/core/define-tool.js';
import { Kernel } from '../../src/core/kernel.js';
import type { JsonObject } from '../../src/core/model.js';
import { steppingClock } from '../../src/core/ports/clock.js';
import type { PolicyEngine } from '../../src/core/ports/policy.js';
import { staticToolRegistry } from '../../src/core/ports/tools.js';
import { freshPgDatabase } from '../setup/pg.js';

export const ctx = operatorContext('tests');

/** Tools whose effects the tests can count. */
export function testTools() {
  const calls: { tool: string; params: JsonObject; execution_id: string }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const record = (tool: string) => async (params: JsonObject, c: { execution_id: string }) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight -= 1;
    calls.push({ tool, params, execution_id: c.execution_id });
    return { done: tool, params };
  };
  const tools = [
    defineTool({
      name: 'noop',
      description: 'Does nothing; safe to repeat.',
      risk: 'read',
      input: z.strictObject({ n: z.number().int().optional() }),
      plan: async (p) => ({ would: 'nothing', ...p }),
      apply: record('noop'),
    }),
    defineTool({
      name: 'write_record',
      description: 'Writes a record.',
      risk: 'write',
      input: z.strictObject({
        table: z.string().regex(/^[a-z_]+$/),
        column_type: z.enum(['boolean', 'text', 'timestamp']).optional(),
        default_value: z.string().optional(),
        nested: z.record(z.string(), z.json()).optional(),
        tags: z.array(z.string()).optional(),
      }),
      plan: async (p) => ({ would_write: p.table }),
      apply: record('write_record'),
    }),
    defineTool({
      name: 'drop_table',
      description: 'Drops a table.',
      risk: 'irreversible',
      input: z.strictObject({ table: z.string() }),
      plan: async (p) => ({ would_drop: p.table }),
      apply: record('drop_table'),
    }),
    defineTool({
      name: 'explode',
      description: 'Always fails.',
      risk: 'write',
      input: z.strictObject({}),
      plan: async () => ({ would: 'fail' }),
      apply: async () => {
        throw new Error('disk on fire');
      },
    }),
  ];
  return {
    tools,
    calls,
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

export interface StoreFactory {
  readonly name: 'sqlite' | 'postgres';
  open(): Promise<{ store: KyselyStore; cleanup(): Promise<void> }>;
}

export const STORES: readonly StoreFactory[] = [
  {
    name: 'sqlite',
    async open() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-kernel-'));
      const store = await openSqliteStore(path.join(dir, 'countersign.sqlite'));
      return {
        store,
        async cleanup() {
          await store.close();
          fs.rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    async open() {
      const db = await freshPgDatabase(inject('pgUrl'));
      const store = await openPostgresStore(db.url, { max: 4 });
      return {
        store,
        async cleanup() {
          await store.close();
          await db.drop();
        },
      };
    },
  },
];

export async function kernelOn(factory: StoreFactory, options: { policy?: PolicyEngine } = {}) {
  const { store, cleanup } = await factory.open();
  const t = testTools();
  const kernel = new Kernel({
    store,
    policy: options.policy ?? CedarPolicyEngine.fromDirectory(),
    tools: staticToolRegistry(t.tools),
    clock: steppingClock(),
    newSecret: () => randomBytes(24).toString('base64url'),
  });
  return { kernel, store, tools: t, cleanup };
}

/** Registers Alice (Developer), Bob (Senior Developer), Carol (DevOps Engineer) and starts workflow_1. */
export async function seedActors(kernel: Kernel) {
  for (const a of [
    { name: 'Alice', role: 'Developer' },
    { name: 'Bob', role: 'Senior Developer' },
    { name: 'Carol', role: 'DevOps Engineer' },
  ])
    await kernel.registerActor(ctx, a);
  await kernel.startWorkflow(ctx, { title: 'Production Database Migration' });
}

/** Asserts `promise` rejects with a CountersignError of `code`; returns the error. */
export async function expectCode(promise: Promise<unknown>, code: string) {
  try {
    await promise;
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code !== code)
      throw new Error(
        `expected ${code}, got ${err.code ?? 'non-CountersignError'}: ${err.message}`,
        { cause: e },
      );
    return e as { code: string; message: string; details: Record<string, unknown> };
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}
