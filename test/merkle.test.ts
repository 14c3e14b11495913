import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MerkleAccumulator,
  emptyRoot,
  inclusionProof,
  inclusionProofRanges,
  leafHash,
  merkleRoot,
  rootFromInclusionProof,
  splitPoint,
  toHex,
  verifyInclusion,
} from '../src/core/audit/merkle.js';

const unhex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

// The Certificate Transparency reference leaves and the root of every prefix (RFC 6962 test
// vectors, as published with the CT and transparency-dev Merkle libraries).
const CT_LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map((h) => leafHash(unhex(h)));
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const CT_PATHS = [
  {
    index: 0,
    size: 8,
    path: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    path: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

/**
 * A second, deliberately naive implementation to compare against: the textbook recursion over
 * the raw leaves, rehashing everything, with its own SHA-256 calls.
 */
function bruteRoot(leaves: readonly Uint8Array[]): string {
  const h = (...parts: Uint8Array[]) => {
    const c = createHash('sha256');
    for (const p of parts) c.update(p);
    return c.digest();
  };
  const mth = (d: readonly Uint8Array[]): Uint8Array => {
    if (d.length === 0) return h();
    if (d.length === 1) return h(Uint8Array.of(0), d[0]!);
    let k = 1;
    while (k * 2 < d.length) k *= 2;
    return h(Uint8Array.of(1), mth(d.slice(0, k)), mth(d.slice(k)));
  };
  return toHex(mth(leaves));
}

const rawLeaves = (n: number) =>
  Array.from({ length: n }, (_, i) => Uint8Array.from(Buffer.from(`event-${i}`)));

describe('RFC 6962 Merkle trees', () => {
  it('gives the reference root for every prefix of the CT test leaves', () => {
    expect(toHex(emptyRoot())).toBe(CT_ROOTS[0]);
    for (let n = 0; n <= CT_LEAVES.length; n++)
      expect(toHex(merkleRoot(CT_LEAVES.slice(0, n))), `size ${n}`).toBe(CT_ROOTS[n]);
  });

  it('gives the reference inclusion proofs and accepts them', () => {
    for (const v of CT_PATHS) {
      expect(inclusionProof(CT_LEAVES, v.index).map(toHex)).toEqual(v.path);
      expect(
        verifyInclusion(
          v.index,
          v.size,
          CT_LEAVES[v.index]!,
          v.path.map(unhex),
          unhex(CT_ROOTS[v.size]!),
        ),
      ).toBe(true);
    }
  });

  it('splits at the largest power of two below n, not the midpoint', () => {
    expect([2, 3, 4, 5, 6, 7, 8, 9, 1000].map(splitPoint)).toEqual([1, 2, 2, 4, 4, 4, 4, 8, 512]);
  });

  it('agrees with a brute-force recompute for every size up to 70', () => {
    const raw = rawLeaves(70);
    const hashes = raw.map(leafHash);
    const acc = new MerkleAccumulator();
    expect(toHex(acc.root())).toBe(bruteRoot([]));
    for (let n = 1; n <= raw.length; n++) {
      acc.append(hashes[n - 1]!);
      const want = bruteRoot(raw.slice(0, n));
      expect(toHex(merkleRoot(hashes.slice(0, n))), `recursive, size ${n}`).toBe(want);
      expect(toHex(acc.root()), `accumulator, size ${n}`).toBe(want);
      expect(acc.size).toBe(n);
    }
  });

  it('proves every leaf of every tree up to 40 and refuses every altered proof', () => {
    const hashes = rawLeaves(40).map(leafHash);
    for (let n = 1; n <= hashes.length; n++) {
      const tree = hashes.slice(0, n);
      const root = merkleRoot(tree);
      for (let i = 0; i < n; i++) {
        const path = inclusionProof(tree, i);
        expect(verifyInclusion(i, n, tree[i]!, path, root), `leaf ${i} of ${n}`).toBe(true);
        // The proof's subtrees are disjoint and cover every leaf but this one.
        const covered = inclusionProofRanges(i, n)
          .flatMap((r) => Array.from({ length: r.end - r.start }, (_, k) => r.start + k))
          .sort((a, b) => a - b);
        expect(covered).toEqual([...Array(n).keys()].filter((k) => k !== i));
        if (n === 1) continue;
        const other = (i + 1) % n;
        expect(verifyInclusion(other, n, tree[i]!, path, root)).toBe(false);
        expect(verifyInclusion(i, n, tree[other]!, path, root)).toBe(false);
        // (A size is not refused on its own: sizes sharing the leaf's path shape lead to
        // the same root. The signed checkpoint binds size and root together.)
        expect(verifyInclusion(i, n, tree[i]!, path.slice(0, -1), root)).toBe(false);
        expect(verifyInclusion(i, n, tree[i]!, [...path, root], root)).toBe(false);
        const flipped = path.map((p) => Uint8Array.from(p));
        flipped[0]![0]! ^= 1;
        expect(verifyInclusion(i, n, tree[i]!, flipped, root)).toBe(false);
      }
    }
  });

  it('refuses indexes outside the tree', () => {
    const tree = rawLeaves(3).map(leafHash);
    expect(rootFromInclusionProof(3, 3, tree[0]!, [])).toBeNull();
    expect(rootFromInclusionProof(-1, 3, tree[0]!, [])).toBeNull();
    expect(rootFromInclusionProof(0, 0, tree[0]!, [])).toBeNull();
    expect(() => inclusionProofRanges(3, 3)).toThrow(RangeError);
  });

  it('the accumulator matches the recursive root for any sequence of leaves', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 8 }), { maxLength: 100 }), (raw) => {
        const acc = new MerkleAccumulator();
        for (const r of raw) acc.append(leafHash(r));
        return toHex(acc.root()) === bruteRoot(raw);
      }),
    );
  });
});
