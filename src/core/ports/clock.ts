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
