import { z } from 'zod';
import { canonicalJson } from '../canonical.js';
import type { Signer, SignatureVerifier } from '../ports/checkpoints.js';
import { fromHex, leafHash, type Hash } from './merkle.js';

/**
 * A signed checkpoint: a tenant's ledger at one moment, reduced to what a verifier needs to
 * hold the database to it later.
 *
 * - `seq` is the tree size: events 1..seq are the leaves, in seq order (seq starts at 1 and is
 *   gapless, so leaf index = seq - 1).
 * - Each leaf is the 32 raw bytes of the event's existing chain hash (`LedgerEvent.hash`),
 *   which already covers the event's canonical JSON, its tenant, seq and predecessor. So a
 *   proof carries 32 bytes per leaf, and anyone holding the event recomputes its leaf.
 * - `merkle_root` is the RFC 6962 root over those leaves; `head_hash` the hash of event `seq`
 *   (the chain head when signed).
 * - The signature is Ed25519 over the UTF-8 bytes of the RFC 8785 canonical JSON of every
 *   other field, `format` included (it keeps a checkpoint signature from passing for any
 *   other message signed with the same key).
 */
export const CHECKPOINT_FORMAT = 'countersign-checkpoint/v1';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');

export const checkpointSchema = z.strictObject({
  format: z.literal(CHECKPOINT_FORMAT),
  tenant_id: z.string().min(1),
  seq: z.number().int().nonnegative(),
  head_hash: hex64,
  merkle_root: hex64,
  time: z.string().min(1),
  key_id: z.string().min(1),
  signature: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64'),
});

export type Checkpoint = z.infer<typeof checkpointSchema>;
export type CheckpointBody = Omit<Checkpoint, 'signature'>;

/** The bytes a checkpoint's signature covers. */
export function checkpointMessage(c: CheckpointBody): Uint8Array {
  const body: CheckpointBody = {
    format: c.format,
    tenant_id: c.tenant_id,
    seq: c.seq,
    head_hash: c.head_hash,
    merkle_root: c.merkle_root,
    time: c.time,
    key_id: c.key_id,
  };
  return Buffer.from(canonicalJson(body), 'utf8');
}

export function signCheckpoint(
  tree: { tenant_id: string; seq: number; head_hash: string; merkle_root: string; time: string },
  signer: Signer,
): Checkpoint {
  const body: CheckpointBody = {
    format: CHECKPOINT_FORMAT,
    tenant_id: tree.tenant_id,
    seq: tree.seq,
    head_hash: tree.head_hash,
    merkle_root: tree.merkle_root,
    time: tree.time,
    key_id: signer.key_id,
  };
  const signature = Buffer.from(signer.sign(checkpointMessage(body))).toString('base64');
  return { ...body, signature };
}

/** Why the checkpoint's signature does not hold under `verifier`, or null when it does. */
export function signatureProblem(c: Checkpoint, verifier: SignatureVerifier): string | null {
  if (c.key_id !== verifier.key_id)
    return `it names key ${c.key_id}, not the verifying key ${verifier.key_id}`;
  const signature = Buffer.from(c.signature, 'base64');
  return verifier.verify(checkpointMessage(c), signature)
    ? null
    : 'its signature does not verify (forged or altered)';
}

/** A checkpoint parsed from untrusted JSON, or why it is not one. */
export function parseCheckpoint(
  value: unknown,
): { ok: true; checkpoint: Checkpoint } | { ok: false; reason: string } {
  const parsed = checkpointSchema.safeParse(value);
  if (parsed.success) return { ok: true, checkpoint: parsed.data };
  const issue = parsed.error.issues[0];
  return {
    ok: false,
    reason: `not a checkpoint: ${issue ? `${issue.path.join('.') || '(root)'} ${issue.message}` : 'invalid'}`,
  };
}

/**
 * The Merkle leaf hash of one ledger event: SHA-256(0x00 || the 32 bytes of its chain hash).
 * A stored hash that is not 64 hex digits (a tampered row) still gets a leaf, just never the
 * leaf a checkpoint signed.
 */
export function eventLeafHash(eventHash: string): Hash {
  return leafHash(fromHex(eventHash) ?? Buffer.from(eventHash, 'utf8'));
}
