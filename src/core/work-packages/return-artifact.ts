import { z } from 'zod';
import { EVIDENCE_CLASSES } from './evidence.js';
import { code, list } from './render.js';

/**
 * A return: what an agent hands back when its work is done, complete enough for a reviewer to
 * decide on without asking. What changed, what was validated and how, what was deliberately
 * left alone, the evidence register (each claim with its class on the ladder and a pointer to
 * the record that proves it), the explicit non-claims, the risks and the next gate. Stored
 * append-only with its hash; the hash is in the ledger event of the `return` move.
 */

const text = (max: number) => z.string().trim().min(1).max(max);

export const POINTER_KINDS = ['file', 'command', 'execution', 'run', 'commit', 'none'] as const;
export type PointerKind = (typeof POINTER_KINDS)[number];

/** What a claim points at: a file (and lines), a command's record, an execution, a run, a commit. */
export const evidencePointer = z
  .strictObject({
    kind: z.enum(POINTER_KINDS),
    /** The record's ID or the path; empty only for `none`. */
    ref: z.string().trim().max(1000),
  })
  .refine((p) => p.kind === 'none' || p.ref !== '', {
    message: 'ref names the record (empty only when kind is none)',
    path: ['ref'],
  });

export const evidenceClaim = z.strictObject({
  claim: text(2000),
  class: z.enum(EVIDENCE_CLASSES),
  pointer: evidencePointer,
});
export type EvidenceClaim = z.output<typeof evidenceClaim>;

export const returnArtifact = z.strictObject({
  summary: text(8000),
  changed: z.array(z.strictObject({ path: text(1000), what: text(2000) })).max(500),
  validated: z
    .array(
      z.strictObject({
        how: text(2000),
        /** The command run, when the validation was one. */
        command: text(2000).nullable(),
        result: text(2000),
      }),
    )
    .max(100),
  not_touched: z.array(text(1000)).max(200),
  evidence: z.array(evidenceClaim).max(200),
  non_claims: z.array(text(2000)).max(100),
  risks: z.array(text(2000)).max(100),
  next_gate: text(2000),
});
export type ReturnArtifactInput = z.input<typeof returnArtifact>;
export type ReturnArtifact = z.output<typeof returnArtifact>;

const bullets = (xs: readonly string[], empty: string) =>
  xs.length ? xs.map((x) => `- ${x.replace(/\n/g, ' ')}`).join('\n') : `- ${empty}`;

const pointer = (p: EvidenceClaim['pointer']) =>
  p.kind === 'none' ? 'no pointer' : `${p.kind} ${code(p.ref)}`;

/** A return as a reviewer reads it, in Markdown (the same style as the package itself). */
export function renderReturn(r: {
  readonly wp_id: string;
  readonly n: number;
  readonly artifact: ReturnArtifact;
}): string {
  const a = r.artifact;
  return [
    `# Return ${r.n} of ${code(r.wp_id)}`,
    '',
    a.summary,
    '',
    '## What changed',
    '',
    a.changed.length
      ? a.changed.map((c) => `- ${code(c.path)}: ${c.what.replace(/\n/g, ' ')}`).join('\n')
      : '- nothing',
    '',
    '## What was validated, and how',
    '',
    a.validated.length
      ? a.validated
          .map(
            (v) =>
              `- ${v.how.replace(/\n/g, ' ')}${v.command ? ` (${code(v.command)})` : ''}: ${v.result.replace(/\n/g, ' ')}`,
          )
          .join('\n')
      : '- nothing',
    '',
    '## Not touched',
    '',
    list(a.not_touched, 'not stated'),
    '',
    '## Evidence register',
    '',
    a.evidence.length
      ? a.evidence
          .map((e) => `- ${code(e.class)} ${e.claim.replace(/\n/g, ' ')} (${pointer(e.pointer)})`)
          .join('\n')
      : '- no claims',
    '',
    '## Non-claims',
    '',
    bullets(a.non_claims, 'none stated'),
    '',
    '## Risks',
    '',
    bullets(a.risks, 'none stated'),
    '',
    '## Next gate',
    '',
    a.next_gate,
    '',
  ].join('\n');
}
