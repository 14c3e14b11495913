import fs from 'node:fs';
import path from 'node:path';
import { operatorContext } from '../core/context.js';
import { OPERATIONS } from '../surfaces/operations.js';
import { openRuntime } from './compose.js';
import type { Config } from './config.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** The people of the console demo and their tokens (shown once, in the banner). */
export interface DemoPerson {
  readonly actor_id: string;
  readonly name: string;
  readonly role: string;
  readonly token: string;
}

export interface ConsoleDemo {
  /** The fresh data directory the server then runs on. */
  readonly config: Config;
  readonly operatorToken: string;
  readonly people: readonly DemoPerson[];
  readonly proposal_id: string;
  readonly run_id: string;
  readonly approval_id: string;
}

/**
 * What the demo's operator token may call: every read, recorded reads included (the audit log,
 * the ledger and a trace's validation answer without changing any
 * governed state). No write: it cannot register actors, mint tokens, set policy or decide.
 */
export const READ_ONLY_SCOPE: readonly string[] = OPERATIONS.filter(
  (op) => !op.write || op.http.method === 'GET',
).map((op) => op.name);

const PEOPLE = [
  { name: 'Alice', role: 'Developer' },
  { name: 'Bob', role: 'Senior Developer' },
  { name: 'Carol', role: 'DevOps Engineer' },
  { name: 'Dana', role: 'change_manager' },
] as const;

/**
 * `countersign serve --demo`: a fresh data directory (`<data dir>/console-demo`, emptied first,
 * always SQLite) holding four people with API tokens, a workflow with a proposed database
 * migration waiting for review, and an ops change control run waiting at its risk gate.
 * Everything goes through the same operations as any client, so the ledger verifies.
 */
export async function seedConsoleDemo(
  base: Config,
  now: number = Date.now(),
): Promise<ConsoleDemo> {
  const dataDir = path.join(base.dataDir, 'console-demo');
  fs.rmSync(dataDir, { recursive: true, force: true });
  // The demo is the embedded default: its own SQLite file and runtime, whatever the environment.
  const config: Config = { ...base, dataDir, databaseUrl: undefined, temporal: undefined };
  const runtime = await openRuntime(config);
  try {
    const { kernel, engine } = runtime;
    const op = operatorContext('countersign serve --demo: sample data', config.tenant);
    const operatorToken = (
      await kernel.createToken(op, {
        actor_id: 'operator',
        name: 'demo operator (read only)',
        scope: [...READ_ONLY_SCOPE],
      })
    ).token;
    const people: DemoPerson[] = [];
    for (const p of PEOPLE) {
      const { actor_id } = await kernel.registerActor(op, p);
      const { token } = await kernel.createToken(op, { actor_id, name: p.name.toLowerCase() });
      people.push({ actor_id, ...p, token });
    }
    const alice = people[0]!.actor_id;
    const { workflow_id } = await kernel.startWorkflow(op, {
      title: 'Production Database Migration',
    });
    const { proposal_id } = await kernel.proposeAction(op, {
      workflow_id,
      actor_id: alice,
      tool: 'database_migration',
      params: { version: '2.1.0', rollback_plan: 'enabled' },
      reason: 'Applying schema changes for new features',
    });
    const run = await engine.start(op, {
      definition: 'ops_change_control',
      idempotency_key: 'console-demo-1',
      input: {
        change_request: {
          title: 'Raise checkout-api connection pool',
          summary: 'Set max_connections of checkout-api to 200 ahead of the sale.',
          change_type: 'configuration',
          requested_by: 'dana@example.com',
          ticket: 'CHG-1042',
        },
        impacted_systems: [
          {
            name: 'checkout-api',
            criticality: 'medium',
            environment: 'staging',
            owner: 'platform-team',
          },
        ],
        requirements: { compliance: [] },
        change_window: {
          start: new Date(now - HOUR).toISOString(),
          end: new Date(now + 7 * DAY).toISOString(),
        },
        parameters: {
          config_changes: [
            { service: 'checkout-api', key: 'max_connections', from: null, to: '200' },
          ],
        },
      },
    });
    const approval_id = run.waiting_on?.approval_id;
    if (typeof approval_id !== 'string')
      throw new Error(`the demo run is not waiting at its risk gate (stage ${run.stage})`);
    return {
      config,
      operatorToken,
      people,
      proposal_id,
      run_id: run.workflow_id,
      approval_id,
    };
  } finally {
    await runtime.close();
  }
}

/** What `serve --demo` adds to the banner: who to sign in as. */
export function demoBanner(url: string, demo: ConsoleDemo): string {
  const width = Math.max(...demo.people.map((p) => p.name.length + p.role.length + 3));
  return [
    `Demo data in ${demo.config.dataDir} (fresh on every --demo start).`,
    `Open ${url}/ and sign in with one of these tokens:`,
    ...demo.people.map((p) => `  ${`${p.name} (${p.role})`.padEnd(width)}  ${p.token}`),
    `  ${'operator (read only)'.padEnd(width)}  ${demo.operatorToken}`,
    `Waiting: proposal ${demo.proposal_id} (Alice's database migration) and the risk gate ${demo.approval_id} of run ${demo.run_id}.`,
    '',
  ].join('\n');
}
