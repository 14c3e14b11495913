import { LogLevel, type Logger, WebClient } from '@slack/web-api';
import type { SlackChat } from '../adapters/notify/slack-approvals.js';
import type { SlackConfig } from './config.js';

/**
 * Slack's Web API client for Slack approvals: the one module that imports @slack/web-api (an
 * optional peer dependency), loaded with import() only when COUNTERSIGN_SLACK_BOT_TOKEN is set
 * (optional-packages.ts). The SDK's own retries are off: the ledger-driven delivery loop
 * retries with its backoff and remembers where it is across restarts.
 */
export function slackChat(config: SlackConfig, log: (line: string) => void): SlackChat {
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (...msg: unknown[]) => log(`warning: Slack: ${msg.map(String).join(' ')}`),
    error: (...msg: unknown[]) => log(`warning: Slack: ${msg.map(String).join(' ')}`),
    setLevel: () => undefined,
    getLevel: () => LogLevel.WARN,
    setName: () => undefined,
  };
  const client = new WebClient(config.botToken, {
    slackApiUrl: config.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: 10_000,
    logger,
  });
  // Block Kit JSON built by slack-blocks.ts; every block has a type, as Slack's `Block` says.
  type Blocks = { type: string }[];
  return {
    async postMessage(m) {
      const answer = await client.chat.postMessage({
        channel: m.channel,
        text: m.text,
        blocks: m.blocks as unknown as Blocks,
      });
      if (typeof answer.channel !== 'string' || typeof answer.ts !== 'string')
        throw new Error('chat.postMessage answered without channel and ts');
      return { channel: answer.channel, ts: answer.ts };
    },
    async update(m) {
      await client.chat.update({
        channel: m.channel,
        ts: m.ts,
        text: m.text,
        blocks: m.blocks as unknown as Blocks,
      });
    },
    async postEphemeral(m) {
      await client.chat.postEphemeral({ channel: m.channel, user: m.user, text: m.text });
    },
  };
}
