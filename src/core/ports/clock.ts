/** Time is injected so that sample runs and ledger hashes are reproducible byte for byte. */
export interface Clock {
  /** ISO-8601 UTC timestamp with milliseconds. */
  now(): string;
}

export const systemClock: Clock = { now: () => new Date().toISOString() };

/**
 * A clock for tests and deterministic runs: starts at `start` and advances `stepMs` on every
 * reading, so each event gets a distinct, predictable time.
 */
export function steppingClock(start = '2026-01-01T00:00:00.000Z', stepMs = 1000): Clock {
  let t = Date.parse(start);
  if (Number.isNaN(t)) throw new RangeError(`not an ISO timestamp: ${start}`);
  return {
    now() {
      const iso = new Date(t).toISOString();
      t += stepMs;
      return iso;
    },
  };
}

/**
 * A clock tests and sample runs move by hand: every reading advances `stepMs` (so events get
 * distinct times), and `set` jumps forward (to reach a change window, a gate's deadline).
 */
export class ManualClock implements Clock {
  private t: number;

  constructor(
    start = '2026-01-01T00:00:00.000Z',
    private readonly stepMs = 1000,
  ) {
    this.t = Date.parse(start);
    if (Number.isNaN(this.t)) throw new RangeError(`not an ISO timestamp: ${start}`);
  }

  now(): string {
    const iso = new Date(this.t).toISOString();
    this.t += this.stepMs;
    return iso;
  }

  /** Moves to `iso` (never backwards). */
  set(iso: string): void {
    const t = Date.parse(iso);
    if (Number.isNaN(t)) throw new RangeError(`not an ISO timestamp: ${iso}`);
    this.t = Math.max(this.t, t);
  }

  advance(ms: number): void {
    this.t += ms;
  }
}
