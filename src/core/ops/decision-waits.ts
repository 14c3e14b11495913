import type { CallContext } from '../context.js';
import { FeedAccess, approvalOf, proposalsOf } from '../event-access.js';
import {
  WAIT_DEFAULT_SECONDS,
  type WaitForDecisionInput,
  type WaitForDecisionOutput,
  waitForDecisionInput,
} from '../event-schemas.js';
import type { EventFeed } from '../events.js';
import type { LedgerEvent } from '../model.js';
import { parseInput } from '../validation.js';
import { type Rules, notFound } from './rules.js';

/**
 * `wait_for_decision`: an agent (or any reader) blocks until a human decides its proposal or
 * gate, or the timeout passes. Nothing is written and no write transaction or lock is held:
 * the state is read on a read-only view, then again whenever the ledger records an event about
 * the object (the event feed's shared tail loop). It decides nothing: it only reads.
 *
 * A proposal counts as decided once it is no longer pending (approved, rejected, more
 * information requested, executed…) or a reviewer edited it since the wait began (the edit is
 * a new version that still needs approval: the proposer learns of it at once). A partial
 * approval (one of two) is not a verdict and the wait goes on. A gate counts as decided once it
 * is no longer pending.
 */
export async function waitForDecision(
  r: Rules,
  feed: EventFeed,
  ctx: CallContext,
  input: WaitForDecisionInput,
): Promise<WaitForDecisionOutput> {
  const args = parseInput(waitForDecisionInput, input, 'wait_for_decision input');
  // Reading the feed's events about the object is the authorization (event-access.ts): a
  // foreign tenant's object, or another's for an agent, is not found.
  await FeedAccess.open(r, ctx, { proposal_id: args.proposal_id, approval_id: args.approval_id });
  const start = await feed.head(ctx.tenant_id);
  const read = () => readState(r, ctx, args);
  const first = await read();
  const decidedBefore = first.decisions.length;
  const decided = (s: WaitForDecisionOutput) =>
    s.status !== 'pending' || s.decisions.slice(decidedBefore).some((d) => d.decision === 'edit');
  if (decided(first)) return first;

  const about = (e: LedgerEvent) =>
    args.proposal_id !== undefined
      ? proposalsOf(e).includes(args.proposal_id)
      : approvalOf(e) === args.approval_id;
  const ms = (args.timeout_seconds ?? WAIT_DEFAULT_SECONDS) * 1000;
  return new Promise<WaitForDecisionOutput>((resolve, reject) => {
    let last = first;
    let done = false;
    const finish = (answer: WaitForDecisionOutput | Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sub.close();
      if (answer instanceof Error) reject(answer);
      else resolve(answer);
    };
    const timer = setTimeout(() => finish({ ...last, timed_out: true }), ms);
    const sub = feed.subscribe(
      ctx.tenant_id,
      start,
      async (events) => {
        if (done || !events.some(about)) return;
        try {
          last = await read();
        } catch (e) {
          finish(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        if (decided(last)) finish(last);
      },
      // The feed closed (the server is stopping): answer as a timeout, the caller asks again.
      () => finish({ ...last, timed_out: true }),
    );
  });
}

async function readState(
  r: Rules,
  ctx: CallContext,
  args: { proposal_id?: string | undefined; approval_id?: string | undefined },
): Promise<WaitForDecisionOutput> {
  return r.store.read(async (tx) => {
    if (args.proposal_id !== undefined) {
      const p = await r.proposal(tx, ctx, args.proposal_id);
      const decisions = (await tx.listDecisions(ctx.tenant_id, p.id)).map((d) => ({
        decision_id: d.id,
        decision: d.decision,
        reviewer_id: d.reviewer_id,
        comment: d.comment,
        version: d.version,
        created_at: d.created_at,
      }));
      return {
        proposal_id: p.id,
        approval_id: null,
        workflow_id: p.workflow_id,
        status: p.status,
        timed_out: false,
        version: p.version,
        decision: decisions.at(-1) ?? null,
        decisions,
      };
    }
    const id = args.approval_id!;
    const a = await tx.runs.getApproval(ctx.tenant_id, id);
    if (!a) throw notFound('approval', id, 'approval_id');
    const decisions = (await tx.runs.listApprovalDecisions(ctx.tenant_id, a.id)).map((d) => ({
      decision_id: d.id,
      decision: d.decision,
      reviewer_id: d.reviewer_id,
      comment: d.comment,
      version: null,
      created_at: d.created_at,
    }));
    return {
      proposal_id: null,
      approval_id: a.id,
      workflow_id: a.workflow_id,
      status: a.status,
      timed_out: false,
      version: null,
      decision: decisions.at(-1) ?? null,
      decisions,
    };
  });
}
