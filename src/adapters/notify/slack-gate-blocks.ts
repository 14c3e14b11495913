import { gateHash } from '../../core/canonical.js';
import type { ApprovalDecision, ApprovalRequest, JsonObject, JsonValue } from '../../core/model.js';
import { redactJson, redactText } from '../../core/redact.js';
import {
  HASH_PREFIX,
  type SlackMessage,
  type SlackRefusalNote,
  VERBS,
  cut,
  decisionBlocks,
  escape,
  whoMustApprove,
} from './slack-blocks.js';

/**
 * The Slack message of one workflow gate (an approval request of a durable run), as Block Kit
 * JSON: the gate's title, its run and workflow definition, the roles and approvals it needs,
 * the risk summary its packet carries (if any), every call it binds (tool, parameters through
 * the redaction rules, the one-line description, the call hash prefix), the decisions so far,
 * and while it is pending Approve / Reject / Request info buttons whose value binds the click
 * to the gate and its hash (canonical.ts gateHash). Pure: no Slack SDK here.
 */

/** A call the gate binds, as the reviewer is shown it. */
export interface GateCall {
  readonly proposal_id: string;
  readonly tool: string;
  readonly params: JsonObject;
  readonly description: string | null;
  readonly hash: string;
}

export interface GateView {
  readonly approval: ApprovalRequest;
  readonly decisions: readonly ApprovalDecision[];
  /** The run's workflow definition (null when the run is not a definition's). */
  readonly definition: string | null;
  readonly calls: readonly GateCall[];
}

const STATUS: Readonly<Record<string, string>> = {
  pending: 'Waiting for approval',
  approved: ':white_check_mark: Approved',
  rejected: ':x: Rejected',
  needs_info: ':question: More information requested',
  timed_out: ':hourglass: Timed out',
  cancelled: ':no_entry_sign: Cancelled',
};

const GATE_VERBS: Readonly<Record<string, string>> = {
  ...VERBS,
  timeout: ':hourglass: timed out',
};

export function gateMessage(view: GateView, note?: SlackRefusalNote): SlackMessage {
  const a = view.approval;
  const hash = gateHash(a);
  const status = STATUS[a.status] ?? a.status;
  const title = redactText(a.title).text;
  const roles = whoMustApprove(a);
  const run = view.definition === null ? a.workflow_id : `${a.workflow_id} (${view.definition})`;
  const blocks: JsonObject[] = [
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `*${escape(status)}*: ${escape(title)} (${escape(a.id)})` },
    },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text:
            `Run ${escape(run)} · gate \`${escape(a.request_key)}\` · hash \`${hash.slice(0, HASH_PREFIX)}\` · ` +
            `requested by ${escape(a.requested_by)} · ` +
            `needs ${a.required_approvals} approval${a.required_approvals === 1 ? '' : 's'}${escape(roles)}` +
            (a.due_at ? ` · due ${escape(a.due_at)}` : ''),
        },
      ],
    },
  ];
  const risk = riskSummary(a.packet);
  if (risk !== null)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Risk*: ${escape(risk)}` } });
  for (const c of view.calls) {
    const params = cut(JSON.stringify(redactJson(c.params).value, null, 2));
    const description = c.description === null ? '' : ` ${redactText(c.description).text}`;
    blocks.push(
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `\`${escape(c.tool)}\` (${escape(c.proposal_id)})${escape(description)}\n\`\`\`${escape(params)}\`\`\``,
        },
      },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `Call hash \`${c.hash.slice(0, HASH_PREFIX)}\`` }],
      },
    );
  }
  const decided = view.decisions.map(
    (d) =>
      `${escape(d.reviewer_id)} ${GATE_VERBS[d.decision] ?? d.decision}` +
      (d.comment ? `: ${escape(redactText(d.comment).text)}` : ''),
  );
  blocks.push(
    ...decisionBlocks(
      decided,
      note,
      a.status === 'pending' ? { id: a.id, value: { approval_id: a.id, hash } } : null,
    ),
  );
  return { text: `${status}: ${title} (${a.id})`, blocks };
}

/** The packet's risk tier and summary, when it carries them (through the redaction rules). */
function riskSummary(packet: JsonObject): string | null {
  const risk = packet.risk;
  const tier = text(packet.risk_tier);
  const summary = isObject(risk) ? text(risk.summary) : null;
  if (tier === null && summary === null) return null;
  return redactText([tier === null ? null : `${tier} tier`, summary].filter(Boolean).join(': '))
    .text;
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text(v: JsonValue | undefined): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}
