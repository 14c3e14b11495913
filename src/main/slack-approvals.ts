import type { FastifyInstance } from 'fastify';
import { SlackApprovals } from '../adapters/notify/slack-approvals.js';
import type { GateView } from '../adapters/notify/slack-gate-blocks.js';
import { SlackGates } from '../adapters/notify/slack-gates.js';
import { operatorContext } from '../core/context.js';
import { CountersignError } from '../core/errors.js';
import { DecisionDeliveries } from '../core/decision-deliveries.js';
import type { Kernel } from '../core/kernel.js';
import { EVENT_TYPES } from '../core/ledger.js';
import type { Store } from '../core/ports/store.js';
import type { WorkflowOps } from '../core/workflow-ops.js';
import type { WorkflowEngine } from '../engine/port.js';
import { slackRoute } from '../surfaces/http/slack-route.js';
import type { Config } from './config.js';
import { loadSlack } from './optional-packages.js';

export const SLACK_CURSOR_SETTING = 'slack.cursor';

export interface SlackApprovalsService {
  /** Registers POST /integrations/slack/actions. */
  readonly route: (app: FastifyInstance) => void;
  /** Starts posting approval requests and their outcomes (after the server listens). */
  start(): void;
  stop(): Promise<void>;
}

/**
 * `serve`'s Slack approvals, when COUNTERSIGN_SLACK_BOT_TOKEN is set: loads Slack's Web API
 * client (an optional package: DEPENDENCY_MISSING with the install command when absent), posts
 * every proposal's approval request to the channel and updates it with each decision, from the
 * ledger, at least once (core/decision-deliveries.ts with a cursor of its own), and decides
 * the buttons pressed through the interactivity route (surfaces/http/slack-route.ts). With
 * `workflows`, workflow gates are posted and decided the same way (through the engine's decide,
 * as decide_approval does).
 */
export async function openSlackApprovals(
  config: Config,
  kernel: Kernel,
  store: Store,
  log: (line: string) => void,
  workflows?: { readonly workflows: WorkflowOps; readonly engine: WorkflowEngine },
): Promise<SlackApprovalsService | undefined> {
  const slack = config.slack;
  if (!slack) return undefined;
  const { slackChat } = await loadSlack();
  const chat = slackChat(slack, log);
  const gates = workflows
    ? new SlackGates({
        chat,
        store,
        channel: slack.channel,
        tenant: config.tenant,
        gate: (tenant, approval_id) => gateView(kernel, workflows.workflows, tenant, approval_id),
      })
    : undefined;
  const approvals = new SlackApprovals({
    chat,
    gates,
    store,
    channel: slack.channel,
    tenant: config.tenant,
    isRun: async (tenant, workflow_id) =>
      (await store.read((tx) => tx.runs.getRun(tenant, workflow_id))) !== undefined,
    proposal: (tenant, proposal_id) =>
      kernel.getProposal(operatorContext('Slack approvals: show the call', tenant), {
        proposal_id,
      }),
  });
  const deliveries = new DecisionDeliveries({
    store,
    poster: approvals,
    types: [EVENT_TYPES.APPROVAL_REQUESTED, EVENT_TYPES.APPROVAL_DECISION],
    setting: SLACK_CURSOR_SETTING,
    label: 'Slack',
    warn: (line) => log(`warning: ${line}`),
    ...(slack.retryBaseMs !== undefined ? { baseMs: slack.retryBaseMs } : {}),
    ...(slack.retryMaxMs !== undefined ? { maxMs: slack.retryMaxMs } : {}),
  });
  return {
    route: slackRoute({
      kernel,
      tenant: config.tenant,
      signingSecret: slack.signingSecret,
      users: slack.users,
      refused: (r) => approvals.refused(r),
      ...(workflows
        ? { decideGate: (ctx, input, seen) => workflows.engine.decide(ctx, input, seen) }
        : {}),
      log,
    }),
    start: () => deliveries.start(),
    stop: () => deliveries.stop(),
  };
}

/** A gate as its Slack message shows it: decisions, its run's definition, the calls it binds. */
async function gateView(
  kernel: Kernel,
  ops: WorkflowOps,
  tenant: string,
  approval_id: string,
): Promise<GateView> {
  const ctx = operatorContext('Slack approvals: show the gate', tenant);
  const { approval, decisions } = await ops.getApproval(ctx, approval_id);
  let definition: string | null = null;
  try {
    definition = (await ops.loadRun(tenant, approval.workflow_id)).run.definition;
  } catch (e) {
    // A gate asked for with request_approval on a plain workflow has no run.
    if (!(e instanceof CountersignError) || e.code !== 'NOT_FOUND') throw e;
  }
  const calls = [];
  for (const bound of approval.proposals) {
    const view = await kernel.getProposal(ctx, { proposal_id: bound.proposal_id });
    const version = view.versions.find((v) => v.hash === bound.hash);
    calls.push({
      proposal_id: bound.proposal_id,
      tool: view.proposal.tool,
      params: version?.params ?? view.final_tool_call.params,
      description:
        version?.description ??
        (view.final_tool_call.hash === bound.hash ? view.final_tool_call.description : null),
      hash: bound.hash,
    });
  }
  return { approval, decisions, definition, calls };
}
