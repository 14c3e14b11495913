import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** RFC 8785 (JCS) canonical JSON: the byte string every hash in Countersign is taken over. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON representation');
  return text;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The hash an approval binds to: SHA-256 over the canonical JSON of `{ tool, params }`.
 * Execution recomputes it from what is about to run and refuses on any difference.
 */
export function callHash(tool: string, params: unknown): string {
  return sha256Hex(canonicalJson({ tool, params }));
}

/**
 * The hash a workflow gate's decision can bind to: SHA-256 over the canonical JSON of what a
 * reviewer is shown of it (its ID, title, packet and the calls it binds, each by its hash). A
 * door that shows a gate before the decision (Slack) passes it back; a gate that changed since
 * is refused (APPROVAL_HASH_MISMATCH).
 */
export function gateHash(gate: {
  readonly id: string;
  readonly title: string;
  readonly packet: unknown;
  readonly proposals: readonly { readonly proposal_id: string; readonly hash: string }[];
}): string {
  return sha256Hex(
    canonicalJson({
      approval_id: gate.id,
      title: gate.title,
      packet: gate.packet,
      proposals: gate.proposals.map((p) => ({ proposal_id: p.proposal_id, hash: p.hash })),
    }),
  );
}
