import type { LedgerEvent } from './model.js';
import type { Store } from './ports/store.js';

/**
 * The event feed: the tenant's ledger, read as it grows. The ledger is the durable, ordered
 * record of everything that happened (its `seq` is gapless per tenant), so a client that
 * resumes after its last seen seq misses nothing, whichever process committed the events (a
 * worker, another server on the same Postgres database) and whether or not this process
 * restarted in between.
 *
 * One tail loop per tenant polls the store for events after the furthest-behind subscriber
 * (one read per tick, without the write lock) and hands each subscriber what it has not seen.
 * The loop runs only while someone listens; `nudge` shortens the wait after a local commit.
 */

export interface FeedOptions {
  /** Pause between two reads of the ledger while subscribers listen (default 150 ms). */
  readonly pollMs?: number;
  /** Events read per tick (default 500); a full page is followed by another read at once. */
  readonly pageSize?: number;
}

/** Receives events in seq order, each once; a rejected promise ends the subscription. */
export type FeedListener = (events: readonly LedgerEvent[]) => Promise<void> | void;

export interface Subscription {
  /** The seq of the last event delivered (or the start point). */
  readonly cursor: number;
  close(): void;
}

interface Subscriber {
  cursor: number;
  readonly listener: FeedListener;
  readonly onEnd: (reason: unknown) => void;
  closed: boolean;
}

interface Tail {
  readonly subscribers: Set<Subscriber>;
  timer: ReturnType<typeof setTimeout> | undefined;
  running: boolean;
  again: boolean;
}

const FEEDS = new WeakMap<Store, EventFeed>();

export class EventFeed {
  private readonly tails = new Map<string, Tail>();
  private readonly pollMs: number;
  private readonly pageSize: number;
  private closed = false;

  constructor(
    private readonly store: Store,
    options: FeedOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 150;
    this.pageSize = options.pageSize ?? 500;
  }

  /** The one feed of a store in this process (the SSE route and the waits share its loops). */
  static of(store: Store): EventFeed {
    let feed = FEEDS.get(store);
    if (!feed) {
      feed = new EventFeed(store);
      FEEDS.set(store, feed);
    }
    return feed;
  }

  /** The seq of the tenant's latest event (0 when it has none). */
  async head(tenant_id: string): Promise<number> {
    return (await this.store.read((tx) => tx.readLedgerHead(tenant_id))).seq;
  }

  /**
   * Delivers the tenant's events after `after_seq`, as they are committed, until closed.
   * `onEnd` is called once if the feed closes or the listener throws.
   *
   * @example
   * const sub = feed.subscribe('default', 0, (events) => console.log(events.length));
   * sub.close();
   */
  subscribe(
    tenant_id: string,
    after_seq: number,
    listener: FeedListener,
    onEnd: (reason: unknown) => void = () => undefined,
  ): Subscription {
    const s: Subscriber = { cursor: after_seq, listener, onEnd, closed: false };
    if (this.closed) {
      s.closed = true;
      queueMicrotask(() => onEnd(new Error('the event feed is closed')));
    } else {
      let tail = this.tails.get(tenant_id);
      if (!tail) {
        tail = { subscribers: new Set(), timer: undefined, running: false, again: false };
        this.tails.set(tenant_id, tail);
      }
      tail.subscribers.add(s);
      this.schedule(tenant_id, tail, 0);
    }
    return {
      get cursor() {
        return s.cursor;
      },
      close: () => this.drop(tenant_id, s),
    };
  }

  /** Reads the tenant's ledger soon (after a commit in this process). */
  nudge(tenant_id: string): void {
    const tail = this.tails.get(tenant_id);
    if (tail) this.schedule(tenant_id, tail, 0);
  }

  /** Ends every subscription (a server shutting down); later subscriptions end at once. */
  close(): void {
    this.closed = true;
    for (const [tenant_id, tail] of this.tails)
      for (const s of [...tail.subscribers]) this.end(tenant_id, s, new Error('closed'));
  }

  /** How many subscriptions are open (all tenants). */
  get size(): number {
    let n = 0;
    for (const tail of this.tails.values()) n += tail.subscribers.size;
    return n;
  }

  private drop(tenant_id: string, s: Subscriber): void {
    if (s.closed) return;
    s.closed = true;
    const tail = this.tails.get(tenant_id);
    if (!tail) return;
    tail.subscribers.delete(s);
    if (tail.subscribers.size === 0) {
      clearTimeout(tail.timer);
      tail.timer = undefined;
      if (!tail.running) this.tails.delete(tenant_id);
    }
  }

  private end(tenant_id: string, s: Subscriber, reason: unknown): void {
    if (s.closed) return;
    this.drop(tenant_id, s);
    s.onEnd(reason);
  }

  private schedule(tenant_id: string, tail: Tail, delay: number): void {
    if (tail.running) {
      if (delay === 0) tail.again = true;
      return;
    }
    if (tail.timer !== undefined) {
      if (delay !== 0) return;
      clearTimeout(tail.timer);
    }
    tail.timer = setTimeout(() => {
      tail.timer = undefined;
      void this.tick(tenant_id, tail);
    }, delay);
  }

  private async tick(tenant_id: string, tail: Tail): Promise<void> {
    if (tail.subscribers.size === 0) {
      this.tails.delete(tenant_id);
      return;
    }
    tail.running = true;
    tail.again = false;
    let full = false;
    try {
      const from = Math.min(...[...tail.subscribers].map((s) => s.cursor));
      const events = await this.store.read((tx) =>
        tx.listLedger(tenant_id, { after_seq: from, limit: this.pageSize }),
      );
      full = events.length >= this.pageSize;
      await Promise.all(
        [...tail.subscribers].map(async (s) => {
          const fresh = events.filter((e) => e.seq > s.cursor);
          if (fresh.length === 0 || s.closed) return;
          try {
            await s.listener(fresh);
            s.cursor = fresh[fresh.length - 1]!.seq;
          } catch (e) {
            this.end(tenant_id, s, e);
          }
        }),
      );
    } catch {
      // The store may be briefly unavailable (or closing): the next tick tries again.
    } finally {
      tail.running = false;
    }
    if (tail.subscribers.size === 0) {
      this.tails.delete(tenant_id);
      return;
    }
    this.schedule(tenant_id, tail, full || tail.again ? 0 : this.pollMs);
  }
}
