import type { JsonObject, LedgerEvent } from './model.js';

/**
 * Trace validation (seed 001, prompt 11.8): given a run's ledger events, check that they tell
 * a complete, governed story:
 *
 * | rule              | what must hold                                                        |
 * |-------------------|-----------------------------------------------------------------------|
 * | started           | the first event is WORKFLOW_STARTED, and there is only one            |
 * | first-step        | the event after it is a WORKFLOW_STEP                                 |
 * | ended             | exactly one WORKFLOW_COMPLETED / FAILED / CANCELLED, and it is last   |
 * | order             | seq strictly increases                                                |
 * | agent-context     | every AGENT_INVOKE carries an agent_invocation_id that names the run  |
 * | tool-context      | every TOOL_INVOKE carries the run's workflow_id and an invocation ID  |
 * | tool-agent        | …of an AGENT_INVOKE recorded before it                                |
 * | tool-authorized   | …and follows a decision (or policy allowance) that approved its hash  |
 * | decision-request  | a gate decision follows the APPROVAL_REQUESTED of the same approval   |
 */

export interface TraceProblem {
  readonly seq: number | null;
  readonly rule: string;
  readonly message: string;
}

export interface TraceReport {
  readonly workflow_id: string;
  readonly valid: boolean;
  readonly events: number;
  readonly problems: TraceProblem[];
  readonly summary: JsonObject;
}

const TERMINAL = new Set(['WORKFLOW_COMPLETED', 'WORKFLOW_FAILED', 'WORKFLOW_CANCELLED']);
/** Events about the run that do not belong to its execution order (reads, refusals). */
const OUTSIDE = new Set(['AUDIT_LOG_READ', 'OPERATION_REFUSED']);
const APPROVING = new Set(['approve', 'edit', 'policy_allow']);

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function validateTrace(workflow_id: string, all: readonly LedgerEvent[]): TraceReport {
  const problems: TraceProblem[] = [];
  const add = (e: LedgerEvent | null, rule: string, message: string) =>
    problems.push({ seq: e?.seq ?? null, rule, message });
  const events = all.filter((e) => !OUTSIDE.has(e.type));
  const counts: Record<string, number> = {};
  for (const e of events) counts[e.type] = (counts[e.type] ?? 0) + 1;

  if (events.length === 0) {
    add(null, 'started', `no events recorded for ${workflow_id}`);
    return report(workflow_id, all.length, problems, counts);
  }
  const first = events[0]!;
  if (first.type !== 'WORKFLOW_STARTED')
    add(first, 'started', `the first event is ${first.type}, not WORKFLOW_STARTED`);
  for (const e of events.slice(1))
    if (e.type === 'WORKFLOW_STARTED') add(e, 'started', 'a second WORKFLOW_STARTED');
  const second = events[1];
  if (second && second.type !== 'WORKFLOW_STEP' && !TERMINAL.has(second.type))
    add(
      second,
      'first-step',
      `the event after WORKFLOW_STARTED is ${second.type}, not WORKFLOW_STEP`,
    );

  const terminals = events.filter((e) => TERMINAL.has(e.type));
  const last = events[events.length - 1]!;
  if (terminals.length === 0)
    add(
      null,
      'ended',
      'the run has not ended: no WORKFLOW_COMPLETED, WORKFLOW_FAILED or WORKFLOW_CANCELLED',
    );
  else if (terminals.length > 1)
    add(terminals[1]!, 'ended', `${terminals.length} terminal events; a run ends once`);
  else if (terminals[0] !== last)
    add(last, 'ended', `${last.type} at seq ${last.seq} comes after ${terminals[0]!.type}`);

  const agents = new Set<string>();
  const requested = new Set<string>();
  /** proposal_id → hashes an approving decision left approved. */
  const approved = new Map<string, Set<string>>();
  let previous = -Infinity;
  for (const e of events) {
    if (e.seq <= previous) add(e, 'order', `seq ${e.seq} does not follow ${previous}`);
    previous = e.seq;
    if (e.workflow_id !== workflow_id)
      add(e, 'tool-context', `${e.type} belongs to ${e.workflow_id ?? 'no workflow'}`);
    const d = e.data;
    switch (e.type) {
      case 'AGENT_INVOKE': {
        const id = str(d.agent_invocation_id);
        if (!id || !id.startsWith(`${workflow_id}.`))
          add(
            e,
            'agent-context',
            `AGENT_INVOKE without an invocation ID of this run (${id ?? 'none'})`,
          );
        else agents.add(id);
        break;
      }
      case 'APPROVAL_REQUESTED': {
        const id = str(d.approval_id);
        if (id) requested.add(id);
        break;
      }
      case 'APPROVAL_DECISION': {
        const approval = str(d.approval_id);
        if (approval && !requested.has(approval))
          add(
            e,
            'decision-request',
            `decision on ${approval}, which was never requested in this run`,
          );
        const proposal = str(d.proposal_id);
        const hash = str(d.hash);
        if (proposal && hash && APPROVING.has(str(d.decision) ?? '') && d.status === 'approved') {
          const set = approved.get(proposal) ?? new Set<string>();
          set.add(hash);
          approved.set(proposal, set);
        }
        break;
      }
      case 'TOOL_INVOKE': {
        const label = `TOOL_INVOKE of ${str(d.tool) ?? '?'} (${str(d.proposal_id) ?? '?'})`;
        if (d.workflow_id !== workflow_id)
          add(e, 'tool-context', `${label} has no workflow context`);
        const inv = str(d.agent_invocation_id);
        if (!inv) add(e, 'tool-context', `${label} has no agent_invocation_id`);
        else if (!agents.has(inv))
          add(
            e,
            'tool-agent',
            `${label} names ${inv}, which no earlier AGENT_INVOKE of this run started`,
          );
        const proposal = str(d.proposal_id);
        const hash = str(d.hash);
        if (d.dry_run !== true && (!proposal || !hash || !approved.get(proposal)?.has(hash)))
          add(
            e,
            'tool-authorized',
            `${label} with hash ${hash?.slice(0, 12) ?? '?'} follows no decision that approved that hash`,
          );
        break;
      }
    }
  }
  return report(workflow_id, all.length, problems, counts);
}

function report(
  workflow_id: string,
  total: number,
  problems: TraceProblem[],
  counts: Record<string, number>,
): TraceReport {
  return {
    workflow_id,
    valid: problems.length === 0,
    events: total,
    problems,
    summary: { event_counts: counts },
  };
}
