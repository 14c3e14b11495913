import { createHash } from 'node:crypto';

/**
 * RFC 6962 Merkle trees (Certificate Transparency, section 2.1), the hashing every
 * transparency log shares, so a checkpoint's root means the same thing to any verifier:
 *
 *   leaf hash  = SHA-256(0x00 || leaf)
 *   node hash  = SHA-256(0x01 || left || right)
 *   MTH({})    = SHA-256()                      (the empty tree)
 *   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n]))  k = the largest power of two below n
 *
 * The prefixes keep a leaf from passing for a node (second-preimage attacks); the split
 * rule, not the midpoint, is what makes roots and proofs interoperable.
 *
 * Every function here is pure and works on raw bytes; hashes are 32-byte Uint8Arrays.
 */

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

export type Hash = Uint8Array;

export function leafHash(leaf: Uint8Array): Hash {
  return createHash('sha256').update(LEAF_PREFIX).update(leaf).digest();
}

export function nodeHash(left: Hash, right: Hash): Hash {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** MTH of the empty tree: SHA-256 of no bytes. */
export function emptyRoot(): Hash {
  return createHash('sha256').digest();
}

/** The largest power of two strictly below `n` (n ≥ 2): where RFC 6962 splits a tree. */
export function splitPoint(n: number): number {
  if (!Number.isSafeInteger(n) || n < 2) throw new RangeError(`cannot split a tree of ${n}`);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) of the given leaf hashes, by the recursive definition (O(n) hashes). */
export function merkleRoot(leafHashes: readonly Hash[]): Hash {
  return rangeRoot(leafHashes, 0, leafHashes.length);
}

function rangeRoot(leaves: readonly Hash[], start: number, end: number): Hash {
  const n = end - start;
  if (n === 0) return emptyRoot();
  if (n === 1) return leaves[start]!;
  const k = splitPoint(n);
  return nodeHash(rangeRoot(leaves, start, start + k), rangeRoot(leaves, start + k, end));
}

/** A half-open range of leaf indexes, [start, end). */
export interface LeafRange {
  readonly start: number;
  readonly end: number;
}

/**
 * The subtrees whose roots make up PATH(index, D[size]) (RFC 6962 section 2.1.1), in proof
 * order: the sibling nearest the leaf first, the root's other child last. Knowing the ranges
 * up front lets a caller compute a proof in one streaming pass over the leaves.
 */
export function inclusionProofRanges(index: number, size: number): LeafRange[] {
  checkIndex(index, size);
  const ranges: LeafRange[] = [];
  let start = 0;
  let end = size;
  let m = index;
  // Walk from the root down to the leaf, collecting the sibling subtree at each level;
  // the proof lists them leaf-first, so the walk's order is reversed at the end.
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (m < k) {
      ranges.push({ start: start + k, end });
      end = start + k;
    } else {
      ranges.push({ start, end: start + k });
      start += k;
      m -= k;
    }
  }
  return ranges.reverse();
}

/** PATH(index, D[n]) over leaf hashes held in memory. */
export function inclusionProof(leafHashes: readonly Hash[], index: number): Hash[] {
  return inclusionProofRanges(index, leafHashes.length).map((r) =>
    rangeRoot(leafHashes, r.start, r.end),
  );
}

/**
 * The root an inclusion proof leads to (RFC 9162 section 2.1.3.2), or null when the proof
 * has the wrong length for (index, size). Compare the result with a trusted root.
 */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leaf: Hash,
  path: readonly Hash[],
): Hash | null {
  if (!validIndex(index, size)) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      // On the right edge a node may have no sibling at a level: climb until fn is a right
      // child again (a no-op when it already is).
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [half(fn), half(sn)];
    } else r = nodeHash(r, p);
    [fn, sn] = [half(fn), half(sn)];
  }
  return sn === 0 ? r : null;
}

/** True when `path` proves `leaf` is entry `index` of the tree of `size` leaves with `root`. */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Hash,
  path: readonly Hash[],
  root: Hash,
): boolean {
  const computed = rootFromInclusionProof(index, size, leaf, path);
  return computed !== null && equalBytes(computed, root);
}

/**
 * A Merkle tree that grows one leaf at a time and keeps only the roots of its perfect
 * subtrees (at most log2(n) hashes), so a log of any length can be rooted in one pass.
 */
export class MerkleAccumulator {
  /** Roots of perfect subtrees, largest (leftmost) first, with their heights. */
  private readonly peaks: { height: number; hash: Hash }[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  append(leaf: Hash): void {
    let node = { height: 0, hash: leaf };
    for (let top = this.peaks.at(-1); top && top.height === node.height; top = this.peaks.at(-1)) {
      this.peaks.pop();
      node = { height: node.height + 1, hash: nodeHash(top.hash, node.hash) };
    }
    this.peaks.push(node);
    this.count += 1;
  }

  /** MTH of the leaves so far: the peaks folded from the right, as the split rule dictates. */
  root(): Hash {
    if (this.peaks.length === 0) return emptyRoot();
    let r = this.peaks[this.peaks.length - 1]!.hash;
    for (let i = this.peaks.length - 2; i >= 0; i--) r = nodeHash(this.peaks[i]!.hash, r);
    return r;
  }
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Decodes a hex string of exactly `length` bytes; anything else is null. */
export function fromHex(text: string, length = 32): Uint8Array | null {
  if (typeof text !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(text) || text.length !== length * 2)
    return null;
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

const half = (x: number) => Math.floor(x / 2);

function validIndex(index: number, size: number): boolean {
  return Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size;
}

function checkIndex(index: number, size: number): void {
  if (!validIndex(index, size))
    throw new RangeError(`leaf ${index} is not in a tree of ${size} leaves`);
}
