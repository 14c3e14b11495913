import { type CheckpointReport, describeCheckpoint } from '../core/audit/checkpoint-audit.js';
import type { CheckpointOutcome } from '../core/audit/checkpointer.js';
import type { ProofCheck } from '../core/audit/inclusion.js';
import type { VerifyReport } from '../core/ledger.js';
import type { LedgerEvent } from '../core/model.js';
import { describeMissing } from '../core/quorum.js';
import type { TokenView } from '../core/token-schemas.js';
import type { TraceReport } from '../core/trace.js';
import type { DemoStep, DemoTranscript } from './demo.js';

type Out = (s: string) => void;

const short = (hash: unknown) => (typeof hash === 'string' ? `${hash.slice(0, 12)}…` : '');

function compact(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

export function printResult(out: Out, what: string, result: unknown, json: boolean): void {
  if (json) {
    out(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const r = result as Record<string, unknown>;
  if (what === 'get_audit_log' || what === 'list_ledger') {
    printLedger(out, r.entries as LedgerEvent[]);
    if (typeof r.next_after_seq === 'number') out(`more: --after ${String(r.next_after_seq)}\n`);
    return;
  }
  if (what === 'list_actors') {
    const actors = r.actors as { actor_id: string; name: string; role: string; kind: string }[];
    if (actors.length === 0) out('No actors are registered.\n');
    for (const a of actors)
      out(`${a.actor_id.padEnd(12)} ${a.kind.padEnd(8)} ${a.role.padEnd(20)} ${a.name}\n`);
    return;
  }
  if (what === 'list_pending_reviews') {
    const reviews = r.reviews as {
      proposal_id: string;
      workflow_id: string;
      tool: string;
      proposer_id: string;
      approvals: { received: number; required: number };
      missing?: Record<string, number>;
      waiting_since: string;
      params: unknown;
      hash: string;
      description?: string | null;
    }[];
    if (reviews.length === 0) out('No calls are waiting for review.\n');
    for (const p of reviews) {
      out(
        `${p.proposal_id.padEnd(14)} ${p.workflow_id.padEnd(14)} ${p.tool.padEnd(22)} by ${p.proposer_id.padEnd(10)} ` +
          `${p.approvals.received}/${p.approvals.required} approvals  waiting since ${p.waiting_since}\n`,
      );
      if (p.missing && Object.keys(p.missing).length)
        out(`  needs: ${describeMissing(p.missing)}\n`);
      // The tool's sentence never stands alone: the call that runs is the params and hash.
      if (typeof p.description === 'string')
        out(`  ${p.description}\n  call: ${compact(p.params)} (hash ${short(p.hash)})\n`);
    }
    return;
  }
  if (what === 'wait_for_decision') {
    const d = r.decision as {
      decision: string;
      reviewer_id: string;
      comment: string | null;
    } | null;
    out(
      `${String(r.proposal_id ?? r.approval_id)}: ${String(r.status)}${r.timed_out ? ' (timed out: nobody decided yet)' : ''}\n`,
    );
    if (d)
      out(
        `latest decision: ${d.decision} by ${d.reviewer_id}${d.comment ? ` ("${d.comment}")` : ''}\n`,
      );
    return;
  }
  if (what === 'create_token') {
    out(`token_id: ${String(r.token_id)} (acts as ${String(r.actor_id)})\n`);
    if (typeof r.token === 'string') out(`token (shown once, store it now): ${r.token}\n`);
    else
      out(
        `token: not shown (${typeof r.note === 'string' ? r.note : 'the secret was shown once'})\n`,
      );
    out(`expires: ${typeof r.expires_at === 'string' ? r.expires_at : 'never (until revoked)'}\n`);
    if (Array.isArray(r.scope)) out(`scope: ${r.scope.join(', ')}\n`);
    return;
  }
  if (what === 'list_tokens') {
    const tokens = r.tokens as TokenView[];
    if (tokens.length === 0) out('No tokens.\n');
    for (const t of tokens)
      out(
        `${t.token_id.padEnd(10)} ${t.actor_id.padEnd(10)} ${t.status.padEnd(8)} ${t.name.padEnd(20)} ` +
          `minted by ${t.created_by}, expires ${t.expires_at ?? 'never'}, last used ${t.last_used_at ?? 'never'}` +
          `${t.scope ? `, scope ${t.scope.join(',')}` : ''}\n`,
      );
    return;
  }
  if (
    what === 'start_workflow_run' ||
    what === 'get_workflow_status' ||
    what === 'cancel_workflow_run'
  ) {
    printRun(out, r);
    return;
  }
  if (what === 'decide_approval') {
    const a = r.approval as Record<string, unknown>;
    out(
      `${String(a.id)}: ${String(a.status)} (decision ${String((r.decision as Record<string, unknown>).id)})\n`,
    );
    printRun(out, r.run as Record<string, unknown>);
    return;
  }
  if (what === 'list_workflow_runs') {
    const runs = r.runs as Record<string, unknown>[];
    if (runs.length === 0) out('No workflow runs.\n');
    for (const run of runs)
      out(
        `${String(run.workflow_id).padEnd(26)} ${String(run.definition).padEnd(20)} ${String(run.status).padEnd(10)} ${String(run.stage).padEnd(14)} ${String(run.updated_at)}\n`,
      );
    return;
  }
  if (what === 'list_pending_approvals') {
    const items = r.approvals as {
      kind: string;
      id: string;
      workflow_id: string;
      title: string;
      required_roles: string[];
      approvals: { received: number; required: number };
      missing?: Record<string, number>;
      waiting_since: string;
    }[];
    if (items.length === 0) out('Nothing is waiting on a human.\n');
    for (const a of items) {
      out(
        `${a.id.padEnd(14)} ${a.kind.padEnd(9)} ${a.workflow_id.padEnd(26)} ${a.approvals.received}/${a.approvals.required}` +
          `${a.required_roles.length ? ` [${a.required_roles.join(', ')}]` : ''}  ${a.title}  (since ${a.waiting_since})\n`,
      );
      if (a.missing && Object.keys(a.missing).length)
        out(`  needs: ${describeMissing(a.missing)}\n`);
    }
    return;
  }
  if (what === 'search_knowledge') {
    const hits = r.hits as { id: string; title: string; snippet: string; score: number }[];
    if (hits.length === 0) out('No matching documents.\n');
    for (const h of hits) out(`${h.id.padEnd(14)} ${h.title}\n    ${h.snippet}\n`);
    return;
  }
  if (what === 'book_work_package' || what === 'get_work_package' || what === 'move_work_package') {
    out(`${wpLine(r)}\n`);
    return;
  }
  if (what === 'list_work_packages') {
    const wps = r.work_packages as Record<string, unknown>[];
    if (wps.length === 0) out('No work packages.\n');
    for (const wp of wps) out(`${wpLine(wp)}\n`);
    if (typeof r.next_after === 'string') out(`more: --after ${r.next_after}\n`);
    return;
  }
  if (what === 'list_tools') {
    for (const t of r.tools as { name: string; risk: string; description: string }[])
      out(`${t.name.padEnd(22)} ${t.risk.padEnd(13)} ${t.description}\n`);
    return;
  }
  for (const [key, value] of Object.entries(r)) {
    out(
      `${key}: ${typeof value === 'object' && value !== null ? JSON.stringify(value, null, 2) : String(value)}\n`,
    );
  }
}

export function printLedger(out: Out, entries: readonly LedgerEvent[]): void {
  for (const e of entries)
    out(
      `#${String(e.seq).padStart(4)} ${e.time} ${e.type.padEnd(19)} ${e.actor.padEnd(9)} ${short(e.hash)} ${compact(e.data)}\n`,
    );
}

/**
 * `audit verify`: the chain report, and with `checkpoints` (local runs) the checkpoint report.
 * In JSON, `ok` is both together; `first_broken_seq` and `problem` stay the chain's.
 */
export function printVerify(
  out: Out,
  report: VerifyReport,
  json: boolean,
  checkpoints?: CheckpointReport | null,
): void {
  if (json) {
    const both =
      checkpoints === undefined
        ? report
        : { ...report, ok: report.ok && (checkpoints?.ok ?? true), checkpoints };
    out(`${JSON.stringify(both, null, 2)}\n`);
    return;
  }
  if (!report.ok)
    out(`LEDGER BROKEN at seq ${report.first_broken_seq}: ${report.problem?.reason}\n`);
  else if (!checkpoints?.problem)
    out(`ledger intact: ${report.events} events, head ${short(report.head.hash)}\n`);
  if (!checkpoints) return;
  const p = checkpoints.problem;
  if (p) {
    const more = checkpoints.problems > 1 ? ` (${checkpoints.problems} problems in all)` : '';
    out(`LEDGER BROKEN: ${describeCheckpoint(p, checkpoints.source)}: ${p.reason}${more}\n`);
  } else if (checkpoints.latest)
    out(
      `checkpoints: ${checkpoints.checked} in ${checkpoints.source} hold (newest: seq ${checkpoints.latest.seq}, signed ${checkpoints.latest.time})\n`,
    );
  else out(`checkpoints: none of this tenant in ${checkpoints.source}\n`);
}

export function printCheckpoint(
  out: Out,
  outcome: CheckpointOutcome,
  log: string,
  json: boolean,
): void {
  if (json) {
    out(`${JSON.stringify({ ...outcome, log }, null, 2)}\n`);
    return;
  }
  if (outcome.status === 'written') {
    const c = outcome.checkpoint;
    out(
      `checkpoint signed: tenant ${c.tenant_id}, seq ${c.seq}, root ${short(c.merkle_root)}, key ${c.key_id}, appended to ${log}\n`,
    );
  } else if (outcome.status === 'unchanged') out(`no new events since seq ${outcome.seq}\n`);
  else out(`LEDGER BROKEN, nothing signed: ${outcome.reason}\n`);
}

export function printProofCheck(out: Out, check: ProofCheck, json: boolean): void {
  if (json) {
    out(
      `${JSON.stringify(
        check.valid
          ? {
              valid: true,
              tenant_id: check.proof.tenant_id,
              seq: check.proof.seq,
              tree_size: check.proof.tree_size,
              checkpoint: check.proof.checkpoint,
            }
          : check,
        null,
        2,
      )}\n`,
    );
    return;
  }
  if (!check.valid) {
    out(`PROOF INVALID: ${check.reason}\n`);
    return;
  }
  const { event: e, checkpoint: c } = check.proof;
  out(
    `proof valid: event ${e.seq} (${e.type} by ${e.actor} at ${e.time}) is entry ${e.seq} of ${c.seq} ` +
      `in tenant ${c.tenant_id}'s ledger as signed at ${c.time} by key ${c.key_id}\n`,
  );
}

function stepLine(s: DemoStep): string {
  if (s.error) return `   refused ${s.error.code}: ${s.error.message}`;
  const o = s.output as Record<string, unknown>;
  switch (s.operation) {
    case 'propose_action':
      return o.status === 'approved'
        ? `   ${String(o.proposal_id)} approved by policy (binds to ${short(o.hash)})`
        : `   ${String(o.proposal_id)} pending: needs ${String(o.required_approvals)} approval(s) (call hash ${short(o.hash)})`;
    case 'register_actor':
      return `   ${String(o.actor_id)} ${compact(s.input)}`;
    case 'review_action': {
      const call = o.final_tool_call as { tool: string; params: unknown; hash: string };
      return `   ${String(o.status)}: ${call.tool} ${compact(call.params)} (binds to ${short(call.hash)})`;
    }
    case 'execute_action': {
      const r = o.result as { status: string; output: unknown };
      return `   ${String(o.execution_id)} ${r.status}: ${compact(r.output)}`;
    }
    case 'execute_parallel':
      return (
        o.results as {
          index: number;
          tool: string;
          status: string;
          execution_id: string | null;
          error: { code: string; message: string } | null;
          result: { output: unknown } | null;
        }[]
      )
        .map((r) =>
          r.error
            ? `   [${r.index}] ${r.tool}: refused ${r.error.code}: ${r.error.message}`
            : `   [${r.index}] ${r.tool}: ${r.execution_id} ${r.status}: ${compact(r.result?.output)}`,
        )
        .join('\n');
    case 'get_audit_log':
      return `   ${(o.entries as unknown[]).length} events`;
    default:
      return `   ${compact(o)}`;
  }
}

export function printDemo(out: Out, t: DemoTranscript, json: boolean): void {
  if (json) {
    out(`${JSON.stringify(t, null, 2)}\n`);
    return;
  }
  out(
    `Countersign demo: the complete example (register, propose, review, execute, audit) in ${t.dataDir}\n\n`,
  );
  let last = '';
  for (const s of t.steps) {
    if (s.step !== last) out(`${s.step} (${s.operation})\n`);
    last = s.step;
    out(`${stepLine(s)}\n`);
  }
  out('\nLedger of workflow_1:\n');
  printLedger(out, t.ledger);
  out('\n');
  printVerify(out, t.verify, false);
}

function printRun(out: Out, r: Record<string, unknown>): void {
  out(
    `run ${String(r.workflow_id)} (${String(r.definition)}): ${String(r.status)}, stage ${String(r.stage)}\n`,
  );
  const waiting = r.waiting_on as Record<string, unknown> | null;
  if (waiting?.kind === 'approval')
    out(
      `  waiting on ${String(waiting.approval_id)}` +
        `${Array.isArray(waiting.roles) && waiting.roles.length ? ` (roles: ${waiting.roles.join(', ')})` : ''}` +
        `${typeof r.wake_at === 'string' ? `, deadline ${r.wake_at}` : ''}` +
        `${isMissing(waiting.missing) ? `; needs: ${describeMissing(waiting.missing)}` : ''}\n`,
    );
  else if (waiting?.kind === 'time') out(`  waiting until ${String(waiting.until)}\n`);
  const artifacts = Object.keys((r.artifacts as Record<string, unknown>) ?? {});
  if (artifacts.length) out(`  artifacts: ${artifacts.join(', ')}\n`);
  for (const t of (r.trace as Record<string, unknown>[]) ?? [])
    out(
      t.type === 'decision'
        ? `  - ${String(t.gate)}: ${String(t.decision)} by ${String(t.reviewer_id)}${typeof t.comment === 'string' ? ` ("${t.comment}")` : ''}\n`
        : `  - ${String(t.type)} ${String(t.step_id)} ${String(t.tool)}: ${String(t.status)} ${short(t.hash)}\n`,
    );
  if (r.error) out(`  error: ${JSON.stringify(r.error)}\n`);
}

export function printTrace(out: Out, report: TraceReport, json: boolean): void {
  if (json) {
    out(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  if (report.valid) {
    out(`trace valid: ${report.workflow_id}, ${report.events} events\n`);
    return;
  }
  out(`trace INVALID: ${report.workflow_id}, ${report.problems.length} problem(s)\n`);
  for (const p of report.problems)
    out(`  - [${p.rule}]${p.seq === null ? '' : ` seq ${p.seq}`}: ${p.message}\n`);
}

function isMissing(v: unknown): v is Record<string, number> {
  return typeof v === 'object' && v !== null && Object.keys(v).length > 0;
}

/** One work package on one line: ID, state, role, claimant and title. */
function wpLine(wp: Record<string, unknown>): string {
  const state =
    wp.state === 'held' && typeof wp.held_from === 'string'
      ? `held (from ${wp.held_from})`
      : String(wp.state);
  const claimed = typeof wp.claimed_by === 'string' ? ` claimed by ${wp.claimed_by}` : '';
  return `${String(wp.id).padEnd(10)} ${state.padEnd(18)} ${String(wp.role).padEnd(14)} ${String(wp.title)}${claimed}`;
}
