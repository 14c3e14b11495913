import fs from 'node:fs';
import path from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH } from '../src/main/worker.js';
import { HISTORIES_DIR, testDataConverter } from './support/temporal-fixture.js';

/**
 * Determinism: histories recorded from real runs (test/fixtures/temporal-histories, written by
 * the Temporal tests with UPDATE_TEMPORAL_HISTORIES=1) replay against today's workflow code
 * with the SDK's replayer. A change that would break running workflows fails here; bump the
 * definition's version (or patch) instead, and record new histories. Histories recorded since
 * payloads are encrypted are under the test key (TEST_KEY_FILE); older ones are plain, and the
 * codec passes plain payloads through.
 */
const USER_WORKFLOWS = path.resolve('test/fixtures/temporal/user-workflows.mjs');
const ALTERED_WORKFLOWS = path.resolve('test/fixtures/temporal/altered-workflows.mjs');
const AGENT_TOOLS_WORKFLOWS = path.resolve('test/fixtures/temporal/agent-tools-workflows.mjs');
const PLAN_WORKFLOWS = path.resolve('test/fixtures/temporal/plan-workflows.mjs');
const TINY_PLAN_WORKFLOWS = path.resolve('test/fixtures/temporal/tiny-plan-workflows.mjs');
const histories = fs
  .readdirSync(HISTORIES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const read = (file: string) =>
  historyFromJSON(JSON.parse(fs.readFileSync(path.join(HISTORIES_DIR, file), 'utf8')));
const bundle = (workflowsPath: string) => bundleWorkflowCode({ workflowsPath, logger: quiet });
const quiet = {
  log() {},
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
};

describe('recorded Temporal histories', () => {
  it('cover the ops change control (approved and rejected), the safe AI workflow, a user definition, an agent with tools, plan-only runs (approved, an invariant broken, a write tool refused) and a plan activation', () => {
    expect(histories).toEqual([
      'agent-lookup.json',
      'ops-change-control-approved.json',
      'ops-change-control-rejected.json',
      'plan-activation.json',
      'quick-review-expired.json',
      'safe-ai-approved.json',
      'schema-change-plan-approved.json',
      'tiny-plan-invariant-failed.json',
      'tiny-plan-write-refused.json',
    ]);
  });

  it('replay against the shipped workflow code without a determinism violation', async () => {
    const shipped = await bundle(WORKFLOWS_PATH);
    const user = await bundle(USER_WORKFLOWS);
    const agentTools = await bundle(AGENT_TOOLS_WORKFLOWS);
    const plans = await bundle(PLAN_WORKFLOWS);
    const tinyPlans = await bundle(TINY_PLAN_WORKFLOWS);
    for (const file of histories) {
      const workflowBundle = file.startsWith('quick-review')
        ? user
        : file.startsWith('agent-lookup')
          ? agentTools
          : file.startsWith('plan-activation')
            ? plans
            : file.startsWith('tiny-plan')
              ? tinyPlans
              : shipped;
      await expect(
        Worker.runReplayHistory(
          { workflowBundle, dataConverter: testDataConverter() },
          read(file),
          file,
        ),
        file,
      ).resolves.toBeUndefined();
    }
  }, 120_000);

  it('fail to replay against a changed definition', async () => {
    const altered = await bundle(ALTERED_WORKFLOWS);
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: altered },
        read('ops-change-control-approved.json'),
        'altered',
      ),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  }, 120_000);
});
