import { canonicalJson, sha256Hex } from './canonical.js';
import type { JsonObject, LedgerEvent, LedgerHead } from './model.js';

export const GENESIS_HASH = '0'.repeat(64);

/** Event types. The seed-001 workflow types plus one per connector operation. */
export const EVENT_TYPES = {
  ACTOR_REGISTERED: 'ACTOR_REGISTERED',
  ACTOR_ROLE_CHANGED: 'ACTOR_ROLE_CHANGED',
  WORKFLOW_STARTED: 'WORKFLOW_STARTED',
  WORKFLOW_STEP: 'WORKFLOW_STEP',
  WORKFLOW_COMPLETED: 'WORKFLOW_COMPLETED',
  WORKFLOW_FAILED: 'WORKFLOW_FAILED',
  AGENT_INVOKE: 'AGENT_INVOKE',
  ACTION_PROPOSED: 'ACTION_PROPOSED',
  ACTION_REVISED: 'ACTION_REVISED',
  APPROVAL_REQUESTED: 'APPROVAL_REQUESTED',
  APPROVAL_DECISION: 'APPROVAL_DECISION',
  TOOL_INVOKE: 'TOOL_INVOKE',
  ACTION_EXECUTED: 'ACTION_EXECUTED',
  PARALLEL_EXECUTED: 'PARALLEL_EXECUTED',
  AUDIT_LOG_READ: 'AUDIT_LOG_READ',
  POLICY_SET: 'POLICY_SET',
  OPERATION_REFUSED: 'OPERATION_REFUSED',
  TOKEN_CREATED: 'TOKEN_CREATED',
  TOKEN_REVOKED: 'TOKEN_REVOKED',
  WORKFLOW_CANCELLED: 'WORKFLOW_CANCELLED',
  NOTIFICATION_SENT: 'NOTIFICATION_SENT',
  KNOWLEDGE_ADDED: 'KNOWLEDGE_ADDED',
  WP_BOOKED: 'WP_BOOKED',
  WP_MOVED: 'WP_MOVED',
} as const;
export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

export interface NewEvent {
  readonly type: EventType;
  readonly actor: string;
  readonly workflow_id: string | null;
  readonly data: JsonObject;
}

/** The hash of an event covers everything but the hash itself, seq and tenant included. */
export function eventHash(e: Omit<LedgerEvent, 'hash'>): string {
  return sha256Hex(
    canonicalJson({
      tenant_id: e.tenant_id,
      seq: e.seq,
      time: e.time,
      type: e.type,
      actor: e.actor,
      workflow_id: e.workflow_id,
      data: e.data,
      prev_hash: e.prev_hash,
    }),
  );
}

export function chainEvent(
  tenant_id: string,
  head: LedgerHead,
  time: string,
  e: NewEvent,
): LedgerEvent {
  const unsigned = {
    tenant_id,
    seq: head.seq + 1,
    time,
    type: e.type,
    actor: e.actor,
    workflow_id: e.workflow_id,
    data: e.data,
    prev_hash: head.hash,
  };
  return { ...unsigned, hash: eventHash(unsigned) };
}

export interface VerifyProblem {
  readonly seq: number;
  readonly reason: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly events: number;
  readonly head: LedgerHead;
  readonly first_broken_seq: number | null;
  readonly problem: VerifyProblem | null;
}

/**
 * Checks a tenant's chain incrementally: feed events in seq order, then `finish` with the
 * head the store recorded (which catches a tail that was cut off). `from` resumes after a
 * head already checked (the events up to it are taken as verified).
 */
export class ChainVerifier {
  private expectedSeq: number;
  private prevHash: string;
  private count: number;
  private problem: VerifyProblem | null = null;

  constructor(
    private readonly tenant_id: string,
    from: LedgerHead = { seq: 0, hash: GENESIS_HASH },
  ) {
    this.expectedSeq = from.seq + 1;
    this.prevHash = from.hash;
    this.count = from.seq;
  }

  get broken(): boolean {
    return this.problem !== null;
  }

  push(e: LedgerEvent): void {
    if (this.problem) return;
    if (e.tenant_id !== this.tenant_id) {
      this.problem = { seq: e.seq, reason: `event belongs to tenant ${e.tenant_id}` };
    } else if (e.seq !== this.expectedSeq) {
      this.problem =
        e.seq > this.expectedSeq
          ? {
              seq: this.expectedSeq,
              reason: `event ${this.expectedSeq} is missing (next found: ${e.seq})`,
            }
          : { seq: e.seq, reason: `event ${e.seq} is out of order (expected ${this.expectedSeq})` };
    } else if (e.prev_hash !== this.prevHash) {
      this.problem = {
        seq: e.seq,
        reason: 'prev_hash does not match the hash of the event before it',
      };
    } else if (eventHash(e) !== e.hash) {
      this.problem = {
        seq: e.seq,
        reason: 'content does not match its hash (the event was altered)',
      };
    }
    if (this.problem) return;
    this.count += 1;
    this.expectedSeq += 1;
    this.prevHash = e.hash;
  }

  finish(recordedHead: LedgerHead): VerifyReport {
    if (!this.problem && recordedHead.seq !== this.count) {
      this.problem =
        recordedHead.seq > this.count
          ? {
              seq: this.count + 1,
              reason: `event ${this.count + 1} is missing (the head records ${recordedHead.seq} events)`,
            }
          : {
              seq: recordedHead.seq + 1,
              reason: `events after the recorded head ${recordedHead.seq} were added outside the kernel`,
            };
    } else if (!this.problem && recordedHead.hash !== this.prevHash) {
      this.problem = {
        seq: recordedHead.seq,
        reason: 'the last event does not match the recorded head',
      };
    }
    return {
      ok: this.problem === null,
      events: this.count,
      head: { seq: this.count, hash: this.prevHash },
      first_broken_seq: this.problem?.seq ?? null,
      problem: this.problem,
    };
  }
}
