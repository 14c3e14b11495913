import fs from 'node:fs';
import path from 'node:path';
import { type CallContext, operatorContext } from '../core/context.js';
import { isCountersignError } from '../core/errors.js';
import type { VerifyReport } from '../core/ledger.js';
import type { LedgerEvent } from '../core/model.js';
import type { Clock } from '../core/ports/clock.js';
import type { Config } from './config.js';
import { openRuntime } from './compose.js';

export interface DemoStep {
  readonly step: string;
  readonly operation: string;
  readonly input: unknown;
  readonly output?: unknown;
  readonly error?: { code: string; message: string };
}

export interface DemoTranscript {
  readonly dataDir: string;
  readonly steps: DemoStep[];
  readonly ledger: LedgerEvent[];
  readonly verify: VerifyReport;
}

/**
 * Runs seed 002's "Complete Workflow Example" verbatim against a fresh data directory, then
 * the part the seed leaves out: the unapproved notification is refused, so it is proposed,
 * approved and sent. Every effect is real (a backup file, a migrated demo database, an
 * outbox row).
 */
export async function runDemo(
  config: Config,
  options: { clock?: Clock } = {},
): Promise<DemoTranscript> {
  const dataDir = path.join(config.dataDir, 'demo');
  fs.rmSync(dataDir, { recursive: true, force: true });
  const runtime = await openRuntime({ ...config, dataDir, databaseUrl: undefined }, options);
  const { kernel } = runtime;
  const ctx: CallContext = operatorContext('countersign demo: the complete example', config.tenant);
  const steps: DemoStep[] = [];
  const call = async <I, O>(
    step: string,
    operation: string,
    input: I,
    fn: (c: CallContext, i: I) => Promise<O>,
  ) => {
    try {
      const output = await fn.call(kernel, ctx, input);
      steps.push({ step, operation, input, output });
      return output;
    } catch (e) {
      if (!isCountersignError(e)) throw e;
      steps.push({ step, operation, input, error: { code: e.code, message: e.message } });
      return undefined;
    }
  };
  try {
    for (const actor of [
      { name: 'Alice', role: 'Developer' },
      { name: 'Bob', role: 'Senior Developer' },
      { name: 'Carol', role: 'DevOps Engineer' },
    ])
      await call('1. Register actors', 'register_actor', actor, (c, i) =>
        kernel.registerActor(c, i),
      );
    await call(
      '2. Start workflow',
      'start_workflow',
      { title: 'Production Database Migration' },
      (c, i) => kernel.startWorkflow(c, i),
    );
    await call(
      '3. Propose action',
      'propose_action',
      {
        workflow_id: 'workflow_1',
        actor_id: 'actor_1',
        tool: 'database_backup',
        params: { database: 'production', backup_type: 'full' },
        reason: 'Creating backup before migration',
      },
      (c, i) => kernel.proposeAction(c, i),
    );
    await call(
      '4. Review action',
      'review_action',
      { proposal_id: 'proposal_1', reviewer_id: 'actor_2', decision: 'approve' as const },
      (c, i) => kernel.reviewAction(c, i),
    );
    await call('5. Execute action', 'execute_action', { proposal_id: 'proposal_1' }, (c, i) =>
      kernel.executeAction(c, i),
    );
    await call(
      '6. Propose migration',
      'propose_action',
      {
        workflow_id: 'workflow_1',
        actor_id: 'actor_1',
        tool: 'database_migration',
        params: { version: '2.1.0', rollback_plan: 'enabled' },
        reason: 'Applying schema changes for new features',
      },
      (c, i) => kernel.proposeAction(c, i),
    );
    await call(
      '7. Review with edits',
      'review_action',
      {
        proposal_id: 'proposal_2',
        reviewer_id: 'actor_3',
        decision: 'edit' as const,
        edits: {
          params: {
            maintenance_window: '2:00-4:00 AM UTC',
            notification_channels: ['slack', 'email'],
          },
        },
      },
      (c, i) => kernel.reviewAction(c, i),
    );
    await call(
      '8. Execute with parallel notifications',
      'execute_parallel',
      {
        calls: [
          {
            tool: 'database_migration',
            params: {
              version: '2.1.0',
              rollback_plan: 'enabled',
              maintenance_window: '2:00-4:00 AM UTC',
              notification_channels: ['slack', 'email'],
            },
          },
          {
            tool: 'send_notification',
            params: { channel: 'slack', message: 'Database migration starting in 5 minutes' },
          },
        ],
      },
      (c, i) => kernel.executeParallel(c, i),
    );
    const notification = await call(
      '8a. Propose the notification (it had no approval)',
      'propose_action',
      {
        workflow_id: 'workflow_1',
        actor_id: 'actor_3',
        tool: 'send_notification',
        params: { channel: 'slack', message: 'Database migration starting in 5 minutes' },
        reason: 'Tell the team the migration is running',
      },
      (c, i) => kernel.proposeAction(c, i),
    );
    if (notification) {
      await call(
        '8b. Approve the notification',
        'review_action',
        {
          proposal_id: notification.proposal_id,
          reviewer_id: 'actor_2',
          decision: 'approve' as const,
        },
        (c, i) => kernel.reviewAction(c, i),
      );
      await call(
        '8c. Send it',
        'execute_action',
        { proposal_id: notification.proposal_id },
        (c, i) => kernel.executeAction(c, i),
      );
    }
    const log = await call(
      '9. Get audit log',
      'get_audit_log',
      { workflow_id: 'workflow_1' },
      (c, i) => kernel.getAuditLog(c, i),
    );
    const verify = await kernel.verifyAudit(ctx);
    return { dataDir, steps, ledger: log?.entries ?? [], verify };
  } finally {
    await runtime.close();
  }
}
