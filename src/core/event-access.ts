import { type CallContext, assertContext } from './context.js';
import { EVENT_TYPES } from './ledger.js';
import type { JsonObject, LedgerEvent } from './model.js';
import { notFound } from './ops/rules.js';
import type { PolicyPrincipal } from './ports/policy.js';
import type { StoreReader } from './ports/store.js';
import { redactJson } from './redact.js';
import type { Rules } from './ops/rules.js';

/**
 * Who sees which events of the feed (the `/events` stream and `wait_for_decision`).
 *
 * - Reading the feed is reading the tenant's workflows: policy `workflow.read` on the tenant,
 *   as the approval inbox (`list_pending_reviews`) asks. The operator, people and services see
 *   the tenant's events.
 * - An agent sees only what is about its own work: events it caused, events of workflows it
 *   started, and events about proposals it proposed (or gates it asked for). Another actor's
 *   proposal, approval or workflow named in a filter reads as not found, as a foreign
 *   tenant's does.
 * - Event data leaves through the redaction rules (redact.ts): a secret or personal datum in a
 *   call's parameters or a comment is sent as `[REDACTED:<kind>]`.
 */

/** What a stream or a wait narrows the feed to; every field set must match. */
export interface FeedFilter {
  readonly workflow_id?: string | undefined;
  readonly proposal_id?: string | undefined;
  readonly approval_id?: string | undefined;
  /** Only what changes the approval inbox: requests, decisions, cancelled workflows. */
  readonly inbox?: boolean | undefined;
}

/** An event as the feed sends it: the ledger event without its chain fields, data redacted. */
export interface FeedEvent {
  readonly seq: number;
  readonly time: string;
  readonly type: string;
  readonly actor: string;
  readonly workflow_id: string | null;
  readonly data: JsonObject;
}

const INBOX_TYPES: ReadonlySet<string> = new Set([
  EVENT_TYPES.APPROVAL_REQUESTED,
  EVENT_TYPES.APPROVAL_DECISION,
  EVENT_TYPES.WORKFLOW_CANCELLED,
]);

/** The proposals an event is about: `data.proposal_id` and the proposals a gate decision lists. */
export function proposalsOf(e: LedgerEvent): string[] {
  const ids: string[] = [];
  const d = e.data;
  if (typeof d.proposal_id === 'string') ids.push(d.proposal_id);
  if (Array.isArray(d.proposals))
    for (const p of d.proposals)
      if (p && typeof p === 'object' && !Array.isArray(p) && typeof p.proposal_id === 'string')
        ids.push(p.proposal_id);
  return ids;
}

export function approvalOf(e: LedgerEvent): string | undefined {
  return typeof e.data.approval_id === 'string' ? e.data.approval_id : undefined;
}

export function matchesFilter(e: LedgerEvent, f: FeedFilter): boolean {
  if (f.inbox && !INBOX_TYPES.has(e.type)) return false;
  if (f.workflow_id !== undefined && e.workflow_id !== f.workflow_id) return false;
  if (f.proposal_id !== undefined && !proposalsOf(e).includes(f.proposal_id)) return false;
  if (f.approval_id !== undefined && approvalOf(e) !== f.approval_id) return false;
  return true;
}

export function toFeedEvent(e: LedgerEvent): FeedEvent {
  return {
    seq: e.seq,
    time: e.time,
    type: e.type,
    actor: e.actor,
    workflow_id: e.workflow_id,
    data: redactJson(e.data).value,
  };
}

/** Decides, for one caller, which events of the tenant's ledger it may see. */
export class FeedAccess {
  private readonly workflows = new Map<string, boolean>();
  private readonly proposals = new Map<string, boolean>();
  private readonly approvals = new Map<string, boolean>();

  private constructor(
    private readonly r: Rules,
    private readonly ctx: CallContext,
    /** The agent the view is narrowed to; undefined: the tenant's events. */
    private readonly agent: string | undefined,
  ) {}

  /**
   * Checks the caller may read the feed and that what the filter names exists in the tenant
   * and is the caller's to see (else NOT_FOUND).
   */
  static async open(r: Rules, ctx: CallContext, filter: FeedFilter = {}): Promise<FeedAccess> {
    assertContext(ctx);
    return r.store.read(async (tx) => {
      const principal: PolicyPrincipal = await r.principalOf(tx, ctx);
      r.require(ctx, principal, 'workflow.read', { type: 'Tenant', id: ctx.tenant_id });
      const access = new FeedAccess(r, ctx, principal.kind === 'agent' ? principal.id : undefined);
      if (filter.workflow_id !== undefined && !(await access.ownsWorkflow(tx, filter.workflow_id)))
        throw notFound('workflow', filter.workflow_id, 'workflow_id');
      if (filter.proposal_id !== undefined && !(await access.ownsProposal(tx, filter.proposal_id)))
        throw notFound('proposal', filter.proposal_id, 'proposal_id');
      if (filter.approval_id !== undefined && !(await access.ownsApproval(tx, filter.approval_id)))
        throw notFound('approval', filter.approval_id, 'approval_id');
      return access;
    });
  }

  /** The events of `events` this caller may see (in order). */
  async visible(events: readonly LedgerEvent[]): Promise<LedgerEvent[]> {
    if (this.agent === undefined) return [...events];
    const agent = this.agent;
    return this.r.store.read(async (tx) => {
      const out: LedgerEvent[] = [];
      for (const e of events) {
        if (e.actor === agent) out.push(e);
        else if (e.workflow_id !== null && (await this.ownsWorkflow(tx, e.workflow_id)))
          out.push(e);
        else if (await this.ownsAny(tx, e)) out.push(e);
      }
      return out;
    });
  }

  private async ownsAny(tx: StoreReader, e: LedgerEvent): Promise<boolean> {
    for (const id of proposalsOf(e)) if (await this.ownsProposal(tx, id)) return true;
    const approval = approvalOf(e);
    return approval !== undefined && (await this.ownsApproval(tx, approval));
  }

  /** Exists in the tenant and, for an agent, was started by it. */
  private async ownsWorkflow(tx: StoreReader, id: string): Promise<boolean> {
    return cached(this.workflows, id, async () => {
      const w = await tx.getWorkflow(this.ctx.tenant_id, id);
      if (w) return this.agent === undefined || w.created_by === this.agent;
      const run = await tx.runs.getRun(this.ctx.tenant_id, id);
      if (!run) return undefined;
      return this.agent === undefined || run.started_by === this.agent;
    });
  }

  /** Exists in the tenant and, for an agent, was proposed by it (or is in a workflow it started). */
  async ownsProposal(tx: StoreReader, id: string): Promise<boolean> {
    return cached(this.proposals, id, async () => {
      const p = await tx.getProposal(this.ctx.tenant_id, id);
      if (!p) return undefined;
      if (this.agent === undefined || p.proposer_id === this.agent) return true;
      return this.ownsWorkflow(tx, p.workflow_id);
    });
  }

  /** Exists in the tenant and, for an agent, was asked for by it or binds a proposal of its own. */
  async ownsApproval(tx: StoreReader, id: string): Promise<boolean> {
    return cached(this.approvals, id, async () => {
      const a = await tx.runs.getApproval(this.ctx.tenant_id, id);
      if (!a) return undefined;
      if (this.agent === undefined || a.requested_by === this.agent) return true;
      if (await this.ownsWorkflow(tx, a.workflow_id)) return true;
      for (const p of a.proposals) if (await this.ownsProposal(tx, p.proposal_id)) return true;
      return false;
    });
  }
}

/** Ownership never changes once recorded (proposer, starter), so answers are kept per view. */
async function cached(
  map: Map<string, boolean>,
  id: string,
  look: () => Promise<boolean | undefined>,
): Promise<boolean> {
  const known = map.get(id);
  if (known !== undefined) return known;
  const answer = await look();
  // A missing object (undefined) may appear later: only answers about existing ones are kept.
  if (answer !== undefined && map.size < 10_000) map.set(id, answer);
  return answer ?? false;
}
