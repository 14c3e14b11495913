import { toFeedEvent } from './event-access.js';
import { EVENT_TYPES } from './ledger.js';
import type { JsonObject, LedgerEvent } from './model.js';
import type { Store } from './ports/store.js';
import { telemetry } from './ports/telemetry.js';

/**
 * Decision webhooks, derived from the ledger: every APPROVAL_DECISION event (a proposal's
 * review, a gate's decision, a gate's timeout) is POSTed once the receiver answers 2xx, in seq
 * order per tenant. The ledger is the outbox: the decision and its event commit in one
 * transaction, and a cursor (the seq delivered up to, with the attempts of the one in flight)
 * is kept in the tenant's settings, written after each success or failure. A crash between the
 * POST and the cursor write sends that decision again: delivery is at least once, and each
 * carries a stable delivery ID (`<tenant>-<seq>`) for the receiver to drop repeats.
 *
 * A failed POST is retried after `baseMs`, doubling up to `maxMs`, `maxAttempts` times in all;
 * then it is set aside (recorded in the cursor's `given_up` list and logged) and the next
 * decision goes out. On the first start the cursor begins at the ledger's head: decisions made
 * before a webhook was configured are not sent.
 */

export const DELIVERY_SETTING = 'decision_webhook.cursor';

/** What the receiver gets, as JSON. */
export interface DecisionDelivery {
  readonly delivery_id: string;
  readonly tenant_id: string;
  readonly seq: number;
  readonly time: string;
  readonly type: string;
  readonly actor: string;
  readonly workflow_id: string | null;
  /** The event's data, through the redaction rules (redact.ts). */
  readonly data: JsonObject;
}

/** Sends one delivery; throws when the receiver did not take it. */
export interface DecisionPoster {
  readonly name: string;
  post(delivery: DecisionDelivery, attempt: number): Promise<void>;
}

export interface DeliveryCursor {
  /** Every decision up to this seq was delivered (or given up). */
  readonly delivered_seq: number;
  /** The decision being retried, if any. */
  readonly retry: {
    readonly seq: number;
    readonly attempts: number;
    readonly last_error: string;
    readonly last_attempt_at: string;
    readonly next_attempt_at: string;
  } | null;
  /** Decisions set aside after maxAttempts (the latest 100). */
  readonly given_up: readonly {
    readonly seq: number;
    readonly delivery_id: string;
    readonly attempts: number;
    readonly last_error: string;
  }[];
}

export interface DecisionDeliveriesDeps {
  readonly store: Store;
  readonly poster: DecisionPoster;
  readonly now?: () => number;
  readonly warn?: (line: string) => void;
  /** First retry after this many ms (default 1 s), doubling… */
  readonly baseMs?: number;
  /** …up to this (default 5 min). */
  readonly maxMs?: number;
  /** Attempts in all before a decision is set aside (default 12). */
  readonly maxAttempts?: number;
  /** Pause between passes over the ledger (default 500 ms). */
  readonly pollMs?: number;
  /**
   * The event types delivered (default APPROVAL_DECISION) and the tenant setting holding the
   * cursor (default DELIVERY_SETTING): another receiver of the ledger (Slack approvals) keeps a
   * cursor of its own.
   */
  readonly types?: readonly string[];
  readonly setting?: string;
  /** What warnings call this receiver (default `decision webhook`). */
  readonly label?: string;
}

const PAGE = 100;

export class DecisionDeliveries {
  private readonly now: () => number;
  private readonly warn: (line: string) => void;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly maxAttempts: number;
  private readonly pollMs: number;
  private readonly types: ReadonlySet<string>;
  private readonly setting: string;
  private readonly label: string;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = true;
  private halted = false;

  constructor(private readonly d: DecisionDeliveriesDeps) {
    this.now = d.now ?? Date.now;
    this.warn = d.warn ?? (() => undefined);
    this.baseMs = d.baseMs ?? 1000;
    this.maxMs = d.maxMs ?? 300_000;
    this.maxAttempts = d.maxAttempts ?? 12;
    this.pollMs = d.pollMs ?? 500;
    this.types = new Set(d.types ?? [EVENT_TYPES.APPROVAL_DECISION]);
    this.setting = d.setting ?? DELIVERY_SETTING;
    this.label = d.label ?? 'decision webhook';
  }

  /** Passes over every tenant's ledger until stopped. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.halted = false;
    const loop = () => {
      this.running = this.pass().then(() => {
        if (this.stopped) return;
        this.timer = setTimeout(loop, this.pollMs);
      });
    };
    loop();
  }

  /** Stops after the pass under way (a POST in flight finishes or times out). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.halted = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: every tenant's decisions after its cursor, in order, while the receiver takes them. */
  async pass(): Promise<void> {
    try {
      const tenants = await this.d.store.read((tx) => tx.listLedgerTenants());
      for (const tenant of tenants) {
        if (this.halted) return;
        await this.tenantPass(tenant);
      }
    } catch (e) {
      this.warn(`${this.label} pass failed: ${message(e)}`);
    }
  }

  private async tenantPass(tenant: string): Promise<void> {
    let cursor = await this.cursor(tenant);
    for (;;) {
      const events = await this.d.store.read((tx) =>
        tx.listLedger(tenant, { after_seq: cursor.delivered_seq, limit: PAGE }),
      );
      if (events.length === 0) return;
      const decisions = events.filter((e) => this.types.has(e.type));
      for (const e of decisions) {
        const retry = cursor.retry?.seq === e.seq ? cursor.retry : null;
        if (retry && Date.parse(retry.next_attempt_at) > this.now()) return;
        const attempt = (retry?.attempts ?? 0) + 1;
        const delivery = deliveryOf(e);
        try {
          const t = telemetry();
          if (t.enabled)
            // Its own trace: a delivery runs after the request that decided, from the ledger.
            // The receiver gets its traceparent (signed-post.ts sends the current one).
            await t.span(
              `countersign.delivery ${this.label}`,
              {
                'countersign.tenant': delivery.tenant_id,
                'countersign.workflow_id': delivery.workflow_id ?? undefined,
                'countersign.delivery_id': delivery.delivery_id,
                'countersign.event_type': delivery.type,
                'countersign.attempt': attempt,
              },
              () => this.d.poster.post(delivery, attempt),
            );
          else await this.d.poster.post(delivery, attempt);
          cursor = { ...cursor, delivered_seq: e.seq, retry: null };
        } catch (err) {
          const last_error = message(err);
          if (attempt >= this.maxAttempts) {
            this.warn(
              `${this.label} ${this.d.poster.name}: gave up on ${delivery.delivery_id} after ${attempt} attempts (${last_error})`,
            );
            cursor = {
              delivered_seq: e.seq,
              retry: null,
              given_up: [
                ...cursor.given_up,
                { seq: e.seq, delivery_id: delivery.delivery_id, attempts: attempt, last_error },
              ].slice(-100),
            };
          } else {
            const wait = Math.min(this.baseMs * 2 ** (attempt - 1), this.maxMs);
            this.warn(
              `${this.label} ${this.d.poster.name}: ${delivery.delivery_id} attempt ${attempt} failed (${last_error}); next in ${wait} ms`,
            );
            cursor = {
              ...cursor,
              retry: {
                seq: e.seq,
                attempts: attempt,
                last_error,
                last_attempt_at: new Date(this.now()).toISOString(),
                next_attempt_at: new Date(this.now() + wait).toISOString(),
              },
            };
            await this.save(tenant, cursor);
            return;
          }
        }
        await this.save(tenant, cursor);
      }
      // Past a page of other events: the cursor moves on so the next read starts after them.
      const last = events[events.length - 1]!.seq;
      if (cursor.delivered_seq < last) {
        cursor = { ...cursor, delivered_seq: last };
        await this.save(tenant, cursor);
      }
      if (events.length < PAGE) return;
    }
  }

  /** The tenant's cursor; on the first pass it starts at the head (nothing older is sent). */
  async cursor(tenant: string): Promise<DeliveryCursor> {
    const text = await this.d.store.read((tx) => tx.getSetting(tenant, this.setting));
    if (text !== undefined) return JSON.parse(text) as DeliveryCursor;
    const head = await this.d.store.read((tx) => tx.readLedgerHead(tenant));
    const start: DeliveryCursor = { delivered_seq: head.seq, retry: null, given_up: [] };
    await this.save(tenant, start);
    return start;
  }

  private save(tenant: string, cursor: DeliveryCursor): Promise<void> {
    return this.d.store.transaction((tx) =>
      tx.putSetting(tenant, this.setting, JSON.stringify(cursor)),
    );
  }
}

export function deliveryOf(e: LedgerEvent): DecisionDelivery {
  const wire = toFeedEvent(e);
  return { delivery_id: `${e.tenant_id}-${e.seq}`, tenant_id: e.tenant_id, ...wire };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
