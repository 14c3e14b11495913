import type { FastifyInstance } from 'fastify';
import { SlackApprovals } from '../adapters/notify/slack-approvals.js';
import { operatorContext } from '../core/context.js';
import { DecisionDeliveries } from '../core/decision-deliveries.js';
import type { Kernel } from '../core/kernel.js';
import { EVENT_TYPES } from '../core/ledger.js';
import type { Store } from '../core/ports/store.js';
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
 * the buttons pressed through the interactivity route (surfaces/http/slack-route.ts).
 */
export async function openSlackApprovals(
  config: Config,
  kernel: Kernel,
  store: Store,
  log: (line: string) => void,
): Promise<SlackApprovalsService | undefined> {
  const slack = config.slack;
  if (!slack) return undefined;
  const { slackChat } = await loadSlack();
  const approvals = new SlackApprovals({
    chat: slackChat(slack, log),
    store,
    channel: slack.channel,
    tenant: config.tenant,
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
      log,
    }),
    start: () => deliveries.start(),
    stop: () => deliveries.stop(),
  };
}
