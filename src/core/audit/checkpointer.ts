import { ChainVerifier } from '../ledger.js';
import type { LedgerHead } from '../model.js';
import type { CheckpointLog, CheckpointPublisher, Signer } from '../ports/checkpoints.js';
import type { Clock } from '../ports/clock.js';
import type { Store } from '../ports/store.js';
import { type Checkpoint, eventLeafHash, signCheckpoint } from './checkpoint.js';
import {
  CheckpointAuditor,
  type CheckpointProblem,
  describeCheckpoint,
  forEachLedgerEvent,
} from './checkpoint-audit.js';
import { MerkleAccumulator, toHex } from './merkle.js';

export type CheckpointOutcome =
  | {
      readonly status: 'written';
      readonly checkpoint: Checkpoint;
      /** Publishers that failed (the checkpoint is in the log all the same). */
      readonly publish_failures: readonly string[];
    }
  /** Nothing new since the last checkpoint (only with `onlyIfMoved`). */
  | { readonly status: 'unchanged'; readonly seq: number }
  /** The ledger is broken or contradicts a checkpoint already signed: nothing was signed. */
  | {
      readonly status: 'refused';
      readonly reason: string;
      readonly problem: CheckpointProblem | null;
    };

export interface CheckpointerDeps {
  readonly store: Store;
  readonly signer: Signer;
  readonly log: CheckpointLog;
  readonly publishers?: readonly CheckpointPublisher[];
  readonly clock: Clock;
  /** Where publish failures are reported. */
  readonly warn?: (line: string) => void;
}

/** What the checkpointer has verified of a tenant's ledger so far. */
interface TenantState {
  readonly head: LedgerHead;
  readonly tree: MerkleAccumulator;
  /** The seq of the newest checkpoint in the log (found on the first pass, then written here). */
  readonly lastSignedSeq: number | null;
}

type Refused = Extract<CheckpointOutcome, { status: 'refused' }>;

/**
 * Signs checkpoints of tenants' ledgers and appends them to the checkpoint log.
 *
 * It never signs what it has not checked: the first checkpoint of a tenant reads the whole
 * chain, verifies it, and holds it to every checkpoint already in the log; later ones read
 * only the events since, continuing the chain and the Merkle tree it keeps in memory. So a
 * history rewritten while it runs is never laundered into a new signature either: the tree
 * it extends is the one it verified. Calls are serialized.
 */
export class Checkpointer {
  private readonly states = new Map<string, TenantState>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: CheckpointerDeps) {}

  /**
   * Signs and logs a checkpoint of the tenant's ledger at its current head. With
   * `onlyIfMoved`, writes nothing when the head is where the last checkpoint left it.
   */
  checkpoint(
    tenant_id: string,
    options: { onlyIfMoved?: boolean } = {},
  ): Promise<CheckpointOutcome> {
    const run = this.queue.then(() => this.checkpointNow(tenant_id, options.onlyIfMoved ?? false));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** `checkpoint` for every tenant with a ledger, one after another. */
  async checkpointAll(
    options: { onlyIfMoved?: boolean } = {},
  ): Promise<{ tenant_id: string; outcome: CheckpointOutcome }[]> {
    const tenants = await this.deps.store.read((tx) => tx.listLedgerTenants());
    const outcomes: { tenant_id: string; outcome: CheckpointOutcome }[] = [];
    for (const tenant_id of tenants)
      outcomes.push({ tenant_id, outcome: await this.checkpoint(tenant_id, options) });
    return outcomes;
  }

  private async checkpointNow(tenant_id: string, onlyIfMoved: boolean): Promise<CheckpointOutcome> {
    const { signer, log, clock } = this.deps;
    const known = this.states.get(tenant_id);
    const advanced = known ? await this.advance(tenant_id, known) : await this.firstPass(tenant_id);
    if ('status' in advanced) {
      // Start over next time: what was verified no longer describes the database.
      this.states.delete(tenant_id);
      return advanced;
    }
    const state = advanced;
    this.states.set(tenant_id, state);
    if (onlyIfMoved && (state.head.seq === 0 || state.lastSignedSeq === state.head.seq))
      return { status: 'unchanged', seq: state.head.seq };
    const checkpoint = signCheckpoint(
      {
        tenant_id,
        seq: state.head.seq,
        head_hash: state.head.hash,
        merkle_root: toHex(state.tree.root()),
        time: clock.now(),
      },
      signer,
    );
    await log.append(checkpoint);
    this.states.set(tenant_id, { ...state, lastSignedSeq: state.head.seq });
    const publish_failures: string[] = [];
    for (const p of this.deps.publishers ?? [])
      await p.publish(checkpoint).catch((e: unknown) => {
        publish_failures.push(p.name);
        this.deps.warn?.(
          `checkpoint of ${tenant_id} at seq ${checkpoint.seq} was not sent to ${p.name}: ${e instanceof Error ? e.message : String(e)}`,
        );
      });
    return { status: 'written', checkpoint, publish_failures };
  }

  /** Verifies the events since the last pass and extends the tenant's tree to the head. */
  private async advance(tenant_id: string, known: TenantState): Promise<TenantState | Refused> {
    const head = await this.deps.store.read((tx) => tx.readLedgerHead(tenant_id));
    if (head.seq < known.head.seq || (head.seq === known.head.seq && head.hash !== known.head.hash))
      return refused(
        `the ledger head moved back from seq ${known.head.seq} to ${head.seq} (events were cut or rewritten)`,
      );
    // The tree is extended in place; on a refusal the caller drops it with the state.
    const { tree } = known;
    const chain = new ChainVerifier(tenant_id, known.head);
    await forEachLedgerEvent(
      this.deps.store,
      tenant_id,
      { after: known.head.seq, upTo: head.seq },
      (e) => {
        chain.push(e);
        if (chain.broken) return false;
        tree.append(eventLeafHash(e.hash));
      },
    );
    const report = chain.finish(head);
    if (!report.ok) return brokenChain(report.first_broken_seq, report.problem?.reason);
    return { head, tree, lastSignedSeq: known.lastSignedSeq };
  }

  /** Verifies the whole chain and holds it to every checkpoint already in the log. */
  private async firstPass(tenant_id: string): Promise<TenantState | Refused> {
    const { log, signer, store } = this.deps;
    // The log first, then the head: every checkpoint read was signed at a head already
    // committed, so an intact ledger reaches all of them (a checkpoint appended meanwhile
    // by another process cannot pass for a cut tail).
    const lines = await log.read();
    const head = await store.read((tx) => tx.readLedgerHead(tenant_id));
    const auditor = new CheckpointAuditor(tenant_id, lines, signer.verifier, log.location);
    const chain = new ChainVerifier(tenant_id);
    const tree = new MerkleAccumulator();
    await forEachLedgerEvent(store, tenant_id, { upTo: head.seq }, (e) => {
      chain.push(e);
      if (chain.broken) return false;
      tree.append(eventLeafHash(e.hash));
      auditor.push(e);
    });
    const report = chain.finish(head);
    if (!report.ok) return brokenChain(report.first_broken_seq, report.problem?.reason);
    const audit = auditor.finish();
    if (audit.problem)
      return {
        status: 'refused',
        reason: `${describeCheckpoint(audit.problem, audit.source)}: ${audit.problem.reason}`,
        problem: audit.problem,
      };
    return { head, tree, lastSignedSeq: audit.latest?.seq ?? null };
  }
}

function refused(reason: string): Refused {
  return { status: 'refused', reason, problem: null };
}

function brokenChain(seq: number | null, reason: string | undefined): Refused {
  return refused(`the ledger is broken at seq ${seq}: ${reason ?? 'unknown'}`);
}
