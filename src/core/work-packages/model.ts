import { z } from 'zod';
import { EVIDENCE_CLASSES } from './evidence.js';

/**
 * A work package: a bounded unit of agent work, in the eight sections a worker needs. It is
 * booked by the review authority, versioned, and immutable once booked (a change is a new
 * version). The sections are what the runner enforces: the agent may change only the owned
 * surfaces and never the forbidden ones, may call only its tools, owes a return at the
 * evidence tier, and, with a stop gate, returns a scope confirmation and waits for a go.
 */

/**
 * A surface: a path glob relative to the workspace root (`src/**`, `docs/*.md`). Absolute
 * paths, `..` segments and backslashes are refused, so a glob cannot reach outside the
 * workspace or mean different things on different systems.
 */
export const surfaceGlob = z
  .string()
  .min(1)
  .max(300)
  .refine((g) => !g.startsWith('/') && !/^[A-Za-z]:/.test(g), 'must be relative to the workspace')
  .refine((g) => !g.split('/').includes('..'), 'must not contain ".." segments')
  .refine((g) => !g.includes('\\'), 'use forward slashes')
  .refine((g) => [...g].every((c) => c >= ' '), 'must not contain control characters');

const line = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => s.trim() === s && s.trim() !== '', 'must not be blank or padded');

export const workPackageSpec = z.strictObject({
  title: line(200),
  /** What done means, in words. */
  objective: z.string().trim().min(1).max(8000),
  /** The agent role the package is addressed to. */
  role: line(100),
  owned_surfaces: z.array(surfaceGlob).min(1).max(100),
  forbidden_surfaces: z.array(surfaceGlob).max(100).default([]),
  /** The capability bundle: the only tools the package's token may call. */
  tools: z.array(line(200)).max(100).default([]),
  /** The evidence class the return must reach. */
  evidence_tier: z.enum(EVIDENCE_CLASSES),
  /** Commands the runner runs in the workspace; their exit codes and log digests are evidence. */
  validation_commands: z.array(line(2000)).max(50).default([]),
  /** With a stop gate, the agent returns a scope confirmation and waits for a go. */
  stop_gate: z.boolean().default(true),
  /** A git repository (a path on the runner's machine) to give the agent a worktree of. */
  repository: line(1000).nullable().default(null),
});
export type WorkPackageSpecInput = z.input<typeof workPackageSpec>;
export type WorkPackageSpec = z.output<typeof workPackageSpec>;

/** Duplicates in a list of names or globs, each once, in first-seen order. */
export function duplicatesIn(xs: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const x of xs) (seen.has(x) ? dup : seen).add(x);
  return [...dup];
}
