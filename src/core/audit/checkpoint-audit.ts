import { GENESIS_HASH } from '../ledger.js';
import type { LedgerEvent } from '../model.js';
import type { CheckpointLogLine, SignatureVerifier } from '../ports/checkpoints.js';
import type { Store } from '../ports/store.js';
import { type Checkpoint, eventLeafHash, parseCheckpoint, signatureProblem } from './checkpoint.js';
import { MerkleAccumulator, toHex } from './merkle.js';

/**
 * - `unreadable`: a log line that is not a checkpoint at all (it may have hidden one).
 * - `bad_signature`: forged, altered, or signed by another key than the verifying one.
 * - `tail_cut`: the database has fewer events than the checkpoint's seq.
 * - `history_rewritten`: the events 1..seq no longer hash to the checkpoint's root or head.
 */
export type CheckpointProblemKind =
  'unreadable' | 'bad_signature' | 'tail_cut' | 'history_rewritten';

export interface CheckpointProblem {
  /** Line of the checkpoint log (from 1). */
  readonly line: number;
  readonly kind: CheckpointProblemKind;
  /** The checkpoint's seq and signing time, when the line could be read. */
  readonly seq: number | null;
  readonly time: string | null;
  readonly reason: string;
}

export interface CheckpointReport {
  readonly ok: boolean;
  /** Where the checkpoints came from (a file path). */
  readonly source: string;
  /** The tenant's checkpoints examined (lines of other tenants are skipped). */
  readonly checked: number;
  /** The newest checkpoint the database agrees with. */
  readonly latest: { readonly line: number; readonly seq: number; readonly time: string } | null;
  /** The first contradicted checkpoint in log order, and how many there are in all. */
  readonly problem: CheckpointProblem | null;
  readonly problems: number;
}

interface Pending {
  readonly line: number;
  readonly checkpoint: Checkpoint;
}

/**
 * Holds a tenant's ledger to every checkpoint in a log: feed the events in seq order (at least
 * up to `needsUpTo`), then `finish`. Signatures are checked up front; roots and heads as the
 * events stream past each checkpoint's seq, with one accumulator and O(log n) memory.
 */
export class CheckpointAuditor {
  private readonly problems: CheckpointProblem[] = [];
  /** Signed checkpoints still to compare, by seq. */
  private readonly pending: Pending[] = [];
  /** Index of the next pending checkpoint (a log may hold many: no shifting). */
  private next = 0;
  private readonly acc = new MerkleAccumulator();
  private lastHash = GENESIS_HASH;
  private checked = 0;
  private latest: CheckpointReport['latest'] = null;

  constructor(
    private readonly tenant_id: string,
    lines: readonly CheckpointLogLine[],
    verifier: SignatureVerifier,
    private readonly source: string,
  ) {
    for (const { line, text } of lines) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        this.problems.push(unreadable(line, 'not JSON'));
        continue;
      }
      const parsed = parseCheckpoint(value);
      if (!parsed.ok) {
        this.problems.push(unreadable(line, parsed.reason));
        continue;
      }
      const c = parsed.checkpoint;
      if (c.tenant_id !== tenant_id) continue;
      this.checked += 1;
      const bad = signatureProblem(c, verifier);
      if (bad) this.problems.push(problem(line, c, 'bad_signature', bad));
      else this.pending.push({ line, checkpoint: c });
    }
    this.pending.sort((a, b) => a.checkpoint.seq - b.checkpoint.seq || a.line - b.line);
    this.settle();
  }

  /** How many events the checkpoints cover: reading further proves nothing more. */
  get needsUpTo(): number {
    return this.pending.at(-1)?.checkpoint.seq ?? 0;
  }

  push(e: LedgerEvent): void {
    this.acc.append(eventLeafHash(e.hash));
    this.lastHash = e.hash;
    this.settle();
  }

  finish(): CheckpointReport {
    for (const { line, checkpoint: c } of this.pending.slice(this.next))
      this.problems.push(
        problem(
          line,
          c,
          'tail_cut',
          `the database contradicts it: it has ${this.acc.size} events, the checkpoint signed ${c.seq} (the tail was cut)`,
        ),
      );
    const sorted = [...this.problems].sort((a, b) => a.line - b.line);
    return {
      ok: sorted.length === 0,
      source: this.source,
      checked: this.checked,
      latest: this.latest,
      problem: sorted[0] ?? null,
      problems: sorted.length,
    };
  }

  /** Compares every pending checkpoint whose seq the stream has reached. */
  private settle(): void {
    for (let p = this.pending[this.next]; p && p.checkpoint.seq === this.acc.size;) {
      const { line, checkpoint: c } = p;
      this.next += 1;
      p = this.pending[this.next];
      const root = toHex(this.acc.root());
      if (this.lastHash !== c.head_hash)
        this.problems.push(
          problem(
            line,
            c,
            'history_rewritten',
            `the database contradicts it: event ${c.seq} is not the head it signed (history was rewritten)`,
          ),
        );
      else if (root !== c.merkle_root)
        this.problems.push(
          problem(
            line,
            c,
            'history_rewritten',
            `the database contradicts it: events 1..${c.seq} no longer hash to its Merkle root (history was rewritten)`,
          ),
        );
      else if (!this.latest || c.seq >= this.latest.seq)
        this.latest = { line, seq: c.seq, time: c.time };
    }
  }
}

/** "checkpoint at line 3 of checkpoints.jsonl (seq 9, signed 2026-…)", for messages. */
export function describeCheckpoint(p: CheckpointProblem, source: string): string {
  return p.seq === null
    ? `line ${p.line} of ${source}`
    : `checkpoint at line ${p.line} of ${source} (seq ${p.seq}, signed ${p.time})`;
}

function unreadable(line: number, reason: string): CheckpointProblem {
  return { line, kind: 'unreadable', seq: null, time: null, reason: `the line is ${reason}` };
}

function problem(
  line: number,
  c: Checkpoint,
  kind: CheckpointProblemKind,
  reason: string,
): CheckpointProblem {
  return { line, kind, seq: c.seq, time: c.time, reason };
}

/**
 * Feeds a tenant's events with seq in (after, upTo] to `each`, in seq order, a page at a time.
 * Stops early when `each` returns false.
 */
export async function forEachLedgerEvent(
  store: Store,
  tenant_id: string,
  range: { after?: number; upTo: number },
  each: (e: LedgerEvent) => boolean | void,
): Promise<void> {
  const PAGE = 2000;
  let after = range.after ?? 0;
  while (after < range.upTo) {
    const page = await store.read((tx) =>
      tx.listLedger(tenant_id, { after_seq: after, limit: PAGE }),
    );
    for (const e of page) {
      if (e.seq > range.upTo) return;
      if (each(e) === false) return;
    }
    if (page.length < PAGE) return;
    after = page[page.length - 1]!.seq;
  }
}

/** Holds the tenant's ledger in `store` to every checkpoint in `lines`. */
export async function auditCheckpoints(
  store: Store,
  tenant_id: string,
  lines: readonly CheckpointLogLine[],
  verifier: SignatureVerifier,
  source: string,
): Promise<CheckpointReport> {
  const auditor = new CheckpointAuditor(tenant_id, lines, verifier, source);
  await forEachLedgerEvent(store, tenant_id, { upTo: auditor.needsUpTo }, (e) => auditor.push(e));
  return auditor.finish();
}
