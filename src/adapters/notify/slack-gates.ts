import { gateHash } from '../../core/canonical.js';
import type { DecisionDelivery } from '../../core/decision-deliveries.js';
import { EVENT_TYPES } from '../../core/ledger.js';
import type { Store } from '../../core/ports/store.js';
import type { SlackChat, SlackMessageRef } from './slack-approvals.js';
import type { SlackRefusalNote } from './slack-blocks.js';
import { type GateView, gateMessage } from './slack-gate-blocks.js';

/**
 * Slack approvals of workflow gates, driven by the same ledger events as proposals
 * (slack-approvals.ts hands over every delivery without a proposal_id): an APPROVAL_REQUESTED
 * of a gate posts its message (slack-gate-blocks.ts); the same event again (an escalation to
 * other roles after a timeout) updates it; an APPROVAL_DECISION from any door (HTTP, MCP, the
 * console, Slack, the timeout) updates it with the outcome, without buttons once the gate is
 * settled. A failed Slack call throws, so the delivery loop retries it.
 *
 * Where each gate's message is (channel, ts and the gate hash shown) is kept in the tenant's
 * settings under its own prefix, written right after the post: a repeated delivery finds it
 * and posts nothing new.
 */

export interface SlackGatesDeps {
  readonly chat: SlackChat;
  readonly store: Store;
  readonly channel: string;
  readonly tenant: string;
  /** The gate with its decisions and the calls it binds (read as the operator). */
  readonly gate: (tenant: string, approval_id: string) => Promise<GateView>;
}

export const SLACK_GATE_MESSAGE_SETTING = 'slack.gate.';

export class SlackGates {
  constructor(private readonly d: SlackGatesDeps) {}

  async post(delivery: DecisionDelivery): Promise<void> {
    if (delivery.tenant_id !== this.d.tenant) return;
    const approval_id = delivery.data.approval_id;
    if (typeof approval_id !== 'string') return;
    const ref = await this.ref(approval_id);
    if (delivery.type === EVENT_TYPES.APPROVAL_REQUESTED) {
      const view = await this.d.gate(delivery.tenant_id, approval_id);
      if (!ref && view.approval.status !== 'pending') return; // settled before it could be posted
      const message = gateMessage(view);
      const hash = gateHash(view.approval);
      if (ref) {
        await this.d.chat.update({ channel: ref.channel, ts: ref.ts, ...message });
        if (ref.hash !== hash) await this.remember(approval_id, { ...ref, hash });
      } else {
        const posted = await this.d.chat.postMessage({ channel: this.d.channel, ...message });
        await this.remember(approval_id, { channel: posted.channel, ts: posted.ts, hash });
      }
      return;
    }
    if (delivery.type !== EVENT_TYPES.APPROVAL_DECISION || !ref) return;
    const view = await this.d.gate(delivery.tenant_id, approval_id);
    await this.d.chat.update({ channel: ref.channel, ts: ref.ts, ...gateMessage(view) });
  }

  /** A press the kernel refused: shown on the gate's message (the presser is told by the caller). */
  async refused(r: {
    readonly approval_id: string;
    readonly channel: string;
    readonly ts: string;
    readonly note: SlackRefusalNote;
  }): Promise<void> {
    if (r.note.actor_id === null) return;
    const ref = await this.ref(r.approval_id);
    // Only the message this server posted for that gate is rewritten.
    if (!ref || ref.channel !== r.channel || ref.ts !== r.ts) return;
    const view = await this.d.gate(this.d.tenant, r.approval_id);
    await this.d.chat.update({ channel: ref.channel, ts: ref.ts, ...gateMessage(view, r.note) });
  }

  async ref(approval_id: string): Promise<SlackMessageRef | undefined> {
    const text = await this.d.store.read((tx) =>
      tx.getSetting(this.d.tenant, SLACK_GATE_MESSAGE_SETTING + approval_id),
    );
    return text === undefined ? undefined : (JSON.parse(text) as SlackMessageRef);
  }

  private remember(approval_id: string, ref: SlackMessageRef): Promise<void> {
    return this.d.store.transaction((tx) =>
      tx.putSetting(this.d.tenant, SLACK_GATE_MESSAGE_SETTING + approval_id, JSON.stringify(ref)),
    );
  }
}
