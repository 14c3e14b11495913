import type { JsonObject } from '../../core/model.js';
import type { ProposalView } from '../../core/ops/proposals.js';
import { type RoleQuorum, describeMissing } from '../../core/quorum.js';
import { redactJson, redactText } from '../../core/redact.js';

/**
 * The Slack message of one approval request, as Block Kit JSON: the tool, the exact call
 * (parameters through the redaction rules, redact.ts), the tool's one-line description, the
 * first 12 hex characters of the call hash, the decisions so far, and while the proposal is
 * pending Approve / Reject / Request info buttons whose value binds the click to the proposal
 * and the hash of the version shown. Pure: no Slack SDK here (the caller posts it).
 */

/** The buttons' action IDs; the interactivity route maps them to review decisions. */
export const SLACK_ACTIONS = Object.freeze({
  approve: 'countersign.approve',
  reject: 'countersign.reject',
  request_more_info: 'countersign.request_info',
});

/** How many hex characters of the call hash the message shows. */
export const HASH_PREFIX = 12;

/** A section's text may be 3000 characters; the call's JSON is cut to fit. */
const SECTION_MAX = 2900;

export interface SlackMessage {
  readonly text: string;
  readonly blocks: JsonObject[];
}

/** A refusal shown under the call (who pressed what, and the error's code and message). */
export interface SlackRefusalNote {
  readonly slack_user: string;
  readonly actor_id: string | null;
  readonly decision: string;
  readonly code: string;
  readonly message: string;
}

export const VERBS: Readonly<Record<string, string>> = {
  approve: ':white_check_mark: approved',
  reject: ':x: rejected',
  edit: ':pencil2: edited',
  request_more_info: ':question: asked for more information on',
  policy_allow: ':white_check_mark: policy allowed',
};

const STATUS: Readonly<Record<string, string>> = {
  pending: 'Waiting for approval',
  approved: ':white_check_mark: Approved',
  rejected: ':x: Rejected',
  needs_info: ':question: More information requested',
};

/**
 * Whose approvals a call or gate needs, after "needs N approvals": ` from a or b` for any-of,
 * ` from each of: a, 2 × b` for a quorum (every role must sign), nothing for any reviewer.
 */
export function whoMustApprove(rule: {
  readonly required_roles: readonly string[];
  readonly role_quorum?: RoleQuorum | undefined;
}): string {
  if (rule.role_quorum && Object.keys(rule.role_quorum).length > 0)
    return ` from each of: ${describeMissing(rule.role_quorum)}`;
  return rule.required_roles.length > 0 ? ` from ${rule.required_roles.join(' or ')}` : '';
}

export function approvalMessage(view: ProposalView, note?: SlackRefusalNote): SlackMessage {
  const p = view.proposal;
  const call = view.final_tool_call;
  const hashPrefix = call.hash.slice(0, HASH_PREFIX);
  const description = call.description === null ? null : redactText(call.description).text;
  const params = cut(JSON.stringify(redactJson(call.params).value, null, 2));
  const roles = whoMustApprove(p);
  const status = STATUS[p.status] ?? p.status;
  const blocks: JsonObject[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*${escape(status)}*: \`${escape(call.tool)}\` (${escape(p.id)}, version ${call.version})`,
      },
    },
  ];
  if (description !== null)
    blocks.push({ type: 'section', text: { type: 'plain_text', text: description } });
  blocks.push(
    { type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${escape(params)}\`\`\`` } },
    {
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text:
            `Call hash \`${hashPrefix}\` · proposed by ${escape(p.proposer_id)} · ` +
            `needs ${p.required_approvals} approval${p.required_approvals === 1 ? '' : 's'}${escape(roles)} · ` +
            `reason: ${escape(redactText(p.reason).text)}`,
        },
      ],
    },
  );
  const decided = view.decisions
    .filter((d) => d.decision !== 'policy_allow')
    .map(
      (d) =>
        `${escape(d.reviewer_id)} ${VERBS[d.decision] ?? d.decision} version ${d.version}` +
        (d.comment ? `: ${escape(redactText(d.comment).text)}` : ''),
    );
  blocks.push(
    ...decisionBlocks(
      decided,
      note,
      p.status === 'pending' ? { id: p.id, value: { proposal_id: p.id, hash: call.hash } } : null,
    ),
  );
  return {
    text: `${status}: ${call.tool} (${p.id})${description === null ? '' : `: ${description}`}`,
    blocks,
  };
}

/**
 * The tail every request's message shares: the decisions so far, a refusal note, and while the
 * request is pending the three buttons, whose value binds a press to what the message shows.
 */
export function decisionBlocks(
  decided: readonly string[],
  note: SlackRefusalNote | undefined,
  pending: { readonly id: string; readonly value: JsonObject } | null,
): JsonObject[] {
  const blocks: JsonObject[] = [];
  if (decided.length > 0)
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: decided.join('\n') }] });
  if (note)
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text:
            `:warning: <@${note.slack_user}>${note.actor_id ? ` (${escape(note.actor_id)})` : ''} ` +
            `could not ${escape(label(note.decision))}: ${escape(note.code)}: ${escape(note.message)}`,
        },
      ],
    });
  if (pending) {
    const value = JSON.stringify(pending.value);
    blocks.push({
      type: 'actions',
      block_id: `countersign.${pending.id}`,
      elements: [
        button('Approve', SLACK_ACTIONS.approve, value, 'primary'),
        button('Reject', SLACK_ACTIONS.reject, value, 'danger'),
        button('Request info', SLACK_ACTIONS.request_more_info, value),
      ],
    });
  }
  return blocks;
}

export function button(text: string, action_id: string, value: string, style?: string): JsonObject {
  return {
    type: 'button',
    text: { type: 'plain_text', text },
    action_id,
    value,
    ...(style ? { style } : {}),
  };
}

export function label(decision: string): string {
  return decision === 'request_more_info' ? 'request more information' : decision;
}

export function cut(text: string): string {
  return text.length <= SECTION_MAX
    ? text
    : `${text.slice(0, SECTION_MAX)}\n… (cut; the console shows it whole)`;
}

/** Slack's mrkdwn escapes: &, < and > only. */
export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
