import type { DecisionDelivery, DecisionPoster } from '../../core/decision-deliveries.js';
import { EVENT_TYPES } from '../../core/ledger.js';
import type { ProposalView } from '../../core/ops/proposals.js';
import type { Store } from '../../core/ports/store.js';
import type { SlackGates } from './slack-gates.js';
import { type SlackMessage, type SlackRefusalNote, approvalMessage } from './slack-blocks.js';

/**
 * Slack approvals, driven by the ledger (core/decision-deliveries.ts, with a cursor of its
 * own): an APPROVAL_REQUESTED for a proposal posts its message to the channel (or, for a new
 * version after an edit, updates the message to show it); an APPROVAL_DECISION from any door
 * (HTTP, MCP, the console, Slack itself) updates the message with the outcome, without buttons
 * once the proposal is no longer pending. A failed Slack call throws, so the delivery loop
 * retries it with backoff.
 *
 * Where each proposal's message is (channel and ts, with the hash shown) is kept in the
 * tenant's settings, written right after the post: a repeated delivery of the same request
 * finds it and posts nothing. A delivery of a workflow gate (no proposal_id) goes to the
 * gates' poster (slack-gates.ts), which posts to the same channel.
 */

/** What this adapter needs of Slack's Web API (chat.postMessage, chat.update, chat.postEphemeral). */
export interface SlackChat {
  postMessage(m: {
    channel: string;
    text: string;
    blocks: SlackMessage['blocks'];
  }): Promise<{ channel: string; ts: string }>;
  update(m: {
    channel: string;
    ts: string;
    text: string;
    blocks: SlackMessage['blocks'];
  }): Promise<void>;
  postEphemeral(m: { channel: string; user: string; text: string }): Promise<void>;
}

export interface SlackMessageRef {
  readonly channel: string;
  readonly ts: string;
  /** The hash of the version the message shows. */
  readonly hash: string;
}

export interface SlackApprovalsDeps {
  readonly chat: SlackChat;
  readonly store: Store;
  /** The channel requests are posted to. */
  readonly channel: string;
  /** The one tenant whose requests go to this channel (the server's). */
  readonly tenant: string;
  /** The proposal with its versions and decisions (read as the operator). */
  readonly proposal: (tenant: string, proposal_id: string) => Promise<ProposalView>;
  /**
   * Whether a workflow is a durable run: its calls are decided at the run's gates (posted as
   * gate messages), never one by one, so their proposals get no message of their own.
   */
  readonly isRun?: (tenant: string, workflow_id: string) => Promise<boolean>;
  /** Workflow gates' messages (absent: gates are not posted). */
  readonly gates?: SlackGates | undefined;
}

export const SLACK_MESSAGE_SETTING = 'slack.message.';

export class SlackApprovals implements DecisionPoster {
  constructor(private readonly d: SlackApprovalsDeps) {}

  get name(): string {
    return `channel ${this.d.channel}`;
  }

  async post(delivery: DecisionDelivery): Promise<void> {
    if (delivery.tenant_id !== this.d.tenant) return;
    const proposal_id = delivery.data.proposal_id;
    if (typeof proposal_id !== 'string') return this.d.gates?.post(delivery); // a workflow gate
    if (
      delivery.workflow_id !== null &&
      (await this.d.isRun?.(delivery.tenant_id, delivery.workflow_id))
    )
      return; // a run's call: its gate's message shows it
    const ref = await this.ref(proposal_id);
    if (delivery.type === EVENT_TYPES.APPROVAL_REQUESTED) {
      const view = await this.d.proposal(delivery.tenant_id, proposal_id);
      const hash = view.final_tool_call.hash;
      if (ref?.hash === hash) return; // posted already (a repeated delivery)
      if (!ref && view.proposal.status !== 'pending') return; // decided before it could be posted
      const message = approvalMessage(view);
      if (ref) {
        await this.d.chat.update({ channel: ref.channel, ts: ref.ts, ...message });
        await this.remember(proposal_id, { ...ref, hash });
      } else {
        const posted = await this.d.chat.postMessage({ channel: this.d.channel, ...message });
        await this.remember(proposal_id, { channel: posted.channel, ts: posted.ts, hash });
      }
      return;
    }
    if (delivery.type !== EVENT_TYPES.APPROVAL_DECISION || !ref) return;
    const view = await this.d.proposal(delivery.tenant_id, proposal_id);
    await this.d.chat.update({ channel: ref.channel, ts: ref.ts, ...approvalMessage(view) });
  }

  /**
   * A click the kernel refused (SELF_APPROVAL, MISSING_ROLE, a stale hash…) or a Slack user the
   * operator has not mapped: the presser is told privately, and a refusal by the kernel is
   * shown on the message too. Nothing is decided.
   */
  async refused(
    r: { readonly channel: string; readonly ts: string; readonly note: SlackRefusalNote } & (
      { readonly proposal_id: string } | { readonly approval_id: string }
    ),
  ): Promise<void> {
    await this.d.chat.postEphemeral({
      channel: r.channel,
      user: r.note.slack_user,
      text: `Not recorded: ${r.note.code}: ${r.note.message}`,
    });
    if (r.note.actor_id === null) return;
    if ('approval_id' in r) return this.d.gates?.refused(r);
    const ref = await this.ref(r.proposal_id);
    // Only the message this server posted for that proposal is rewritten.
    if (!ref || ref.channel !== r.channel || ref.ts !== r.ts) return;
    const view = await this.d.proposal(this.d.tenant, r.proposal_id);
    await this.d.chat.update({
      channel: ref.channel,
      ts: ref.ts,
      ...approvalMessage(view, r.note),
    });
  }

  async ref(proposal_id: string): Promise<SlackMessageRef | undefined> {
    const text = await this.d.store.read((tx) =>
      tx.getSetting(this.d.tenant, SLACK_MESSAGE_SETTING + proposal_id),
    );
    return text === undefined ? undefined : (JSON.parse(text) as SlackMessageRef);
  }

  private remember(proposal_id: string, ref: SlackMessageRef): Promise<void> {
    return this.d.store.transaction((tx) =>
      tx.putSetting(this.d.tenant, SLACK_MESSAGE_SETTING + proposal_id, JSON.stringify(ref)),
    );
  }
}
