import { z } from 'zod';
import { eventHash } from '../ledger.js';
import type { LedgerEvent } from '../model.js';
import type { SignatureVerifier } from '../ports/checkpoints.js';
import type { Store } from '../ports/store.js';
import {
  type Checkpoint,
  checkpointSchema,
  eventLeafHash,
  signatureProblem,
} from './checkpoint.js';
import { forEachLedgerEvent } from './checkpoint-audit.js';
import {
  MerkleAccumulator,
  fromHex,
  inclusionProofRanges,
  toHex,
  verifyInclusion,
} from './merkle.js';

/**
 * An RFC 6962 inclusion proof of one ledger event under a signed checkpoint, checkable with
 * nothing but the checkpoint key's public half: the event (its hash recomputes from its
 * content), the leaf index (seq - 1), the tree size (the checkpoint's seq), the audit path
 * (sibling subtree roots, the one nearest the leaf first) and the checkpoint itself.
 */
export const PROOF_FORMAT = 'countersign-inclusion-proof/v1';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

const proofSchema = z.strictObject({
  format: z.literal(PROOF_FORMAT),
  tenant_id: z.string().min(1),
  seq: z.number().int().positive(),
  leaf_index: z.number().int().nonnegative(),
  tree_size: z.number().int().positive(),
  leaf_hash: hex64,
  audit_path: z.array(hex64).max(64),
  event: z.strictObject({
    tenant_id: z.string(),
    seq: z.number().int().positive(),
    time: z.string(),
    type: z.string(),
    actor: z.string(),
    workflow_id: z.string().nullable(),
    data: z.record(z.string(), z.json()),
    prev_hash: z.string(),
    hash: z.string(),
  }),
  checkpoint: checkpointSchema,
});

export type InclusionProof = z.infer<typeof proofSchema>;

/**
 * Proves event `seq` is in the tree `checkpoint` signed, reading events 1..checkpoint.seq once.
 * Refuses (returns a problem) when the database no longer hashes to that checkpoint: a proof
 * against a root the events do not produce would prove nothing.
 */
export async function proveInclusion(
  store: Store,
  checkpoint: Checkpoint,
  seq: number,
): Promise<{ ok: true; proof: InclusionProof } | { ok: false; problem: string }> {
  const size = checkpoint.seq;
  if (!Number.isSafeInteger(seq) || seq < 1 || seq > size)
    return { ok: false, problem: `seq ${seq} is not in the checkpoint (events 1..${size})` };
  const index = seq - 1;
  const ranges = inclusionProofRanges(index, size).map((r) => ({
    ...r,
    acc: new MerkleAccumulator(),
  }));
  const tree = new MerkleAccumulator();
  let event: LedgerEvent | undefined;
  let head = '';
  await forEachLedgerEvent(store, checkpoint.tenant_id, { upTo: size }, (e) => {
    const i = tree.size;
    const leaf = eventLeafHash(e.hash);
    tree.append(leaf);
    if (i === index) event = e;
    else ranges.find((r) => r.start <= i && i < r.end)?.acc.append(leaf);
    head = e.hash;
  });
  if (tree.size < size)
    return {
      ok: false,
      problem: `the database has ${tree.size} events, fewer than the checkpoint's ${size} (the tail was cut)`,
    };
  if (toHex(tree.root()) !== checkpoint.merkle_root || head !== checkpoint.head_hash)
    return {
      ok: false,
      problem: `events 1..${size} no longer hash to the checkpoint's root (history was rewritten)`,
    };
  if (!event || event.seq !== seq)
    return { ok: false, problem: `event ${seq} is not at its place in the ledger` };
  return {
    ok: true,
    proof: {
      format: PROOF_FORMAT,
      tenant_id: checkpoint.tenant_id,
      seq,
      leaf_index: index,
      tree_size: size,
      leaf_hash: toHex(eventLeafHash(event.hash)),
      audit_path: ranges.map((r) => toHex(r.acc.root())),
      event,
      checkpoint,
    },
  };
}

export type ProofCheck =
  | { readonly valid: true; readonly proof: InclusionProof }
  | { readonly valid: false; readonly reason: string };

/** Checks an inclusion proof (untrusted JSON) with the checkpoint key's public half only. */
export function checkInclusionProof(value: unknown, verifier: SignatureVerifier): ProofCheck {
  const parsed = proofSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      valid: false,
      reason: `not an inclusion proof: ${issue ? `${issue.path.join('.') || '(root)'} ${issue.message}` : 'invalid'}`,
    };
  }
  const p = parsed.data;
  const c = p.checkpoint;
  const bad = signatureProblem(c, verifier);
  if (bad) return { valid: false, reason: `the checkpoint is refused: ${bad}` };
  if (p.tenant_id !== c.tenant_id || p.event.tenant_id !== c.tenant_id)
    return {
      valid: false,
      reason: 'the event, the proof and the checkpoint name different tenants',
    };
  if (p.event.seq !== p.seq || p.leaf_index !== p.seq - 1)
    return {
      valid: false,
      reason: `leaf ${p.leaf_index} is not the place of event ${p.event.seq}`,
    };
  if (p.tree_size !== c.seq)
    return { valid: false, reason: `tree size ${p.tree_size} is not the checkpoint's ${c.seq}` };
  const event: LedgerEvent = p.event;
  if (eventHash(event) !== event.hash)
    return { valid: false, reason: "the event's content does not match its hash (altered)" };
  const leaf = eventLeafHash(event.hash);
  if (toHex(leaf) !== p.leaf_hash)
    return { valid: false, reason: "the leaf hash is not the event's" };
  if (p.seq === c.seq && event.hash !== c.head_hash)
    return { valid: false, reason: "the event is not the checkpoint's head" };
  const path = p.audit_path.map((h) => fromHex(h)!);
  if (!verifyInclusion(p.leaf_index, p.tree_size, leaf, path, fromHex(c.merkle_root)!))
    return { valid: false, reason: "the audit path does not lead to the checkpoint's Merkle root" };
  return { valid: true, proof: p };
}
