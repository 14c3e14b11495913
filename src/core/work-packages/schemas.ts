import { z } from 'zod';
import { EVIDENCE_CLASSES } from './evidence.js';
import { WP_MOVE_NAMES, WP_STATES } from './lifecycle.js';
import { workPackageSpec } from './model.js';
import { returnArtifact } from './return-artifact.js';

/** The work-package operations' inputs and outputs, one schema each, parsed at the edge. */

const wpId = z.string().regex(/^wp_[1-9][0-9]{0,15}$/, 'must look like wp_<n>');
const text = (max: number) => z.string().trim().min(1).max(max);

export const bookWorkPackageInput = z.strictObject({ spec: workPackageSpec });
export type BookWorkPackageInput = z.input<typeof bookWorkPackageInput>;

export const getWorkPackageInput = z.strictObject({
  wp_id: wpId,
  /** A version other than the current one. */
  version: z.number().int().min(1).max(1_000_000).optional(),
});
export type GetWorkPackageInput = z.input<typeof getWorkPackageInput>;

export const listWorkPackagesInput = z.strictObject({
  state: z.enum(WP_STATES).optional(),
  role: text(100).optional(),
  after: wpId.optional(),
  limit: z.number().int().min(1).max(200).default(50),
});
export type ListWorkPackagesInput = z.input<typeof listWorkPackagesInput>;

export const moveWorkPackageInput = z.strictObject({
  wp_id: wpId,
  move: z.enum(WP_MOVE_NAMES as [string, ...string[]]),
  /** Why: needed to hold, stop or reject. */
  reason: text(4000).optional(),
  /** What must change: needed for a scope revision or a revision required. */
  findings: z.array(text(2000)).min(1).max(50).optional(),
  /** The merge commit (hex), needed to mark a package merged. */
  merge_proof: z
    .string()
    .regex(/^[0-9a-f]{7,64}$/, 'must be a commit hash (hex)')
    .optional(),
  /** The agent's scope confirmation, needed to return the scope (return_scope). */
  scope: text(8000).optional(),
  /** The return, needed to return the work (return). */
  artifact: returnArtifact.optional(),
  /** Accepts a package whose return is below its evidence tier: why (accept only). */
  override_reason: text(4000).optional(),
});
export type MoveWorkPackageInput = z.input<typeof moveWorkPackageInput>;

const state = z.enum(WP_STATES);

/** A package's spec as stored: every section filled in (defaults applied). */
export const workPackageSpecOutput = z.object({
  title: z.string(),
  objective: z.string(),
  role: z.string().describe('The agent role the package is addressed to'),
  owned_surfaces: z.array(z.string()).describe('Path globs the agent may change'),
  forbidden_surfaces: z.array(z.string()).describe('Path globs the agent must never change'),
  tools: z.array(z.string()).describe('The only tools the package allows'),
  evidence_tier: z.enum(EVIDENCE_CLASSES).describe('The evidence class the return must reach'),
  validation_commands: z.array(z.string()),
  stop_gate: z
    .boolean()
    .describe('With a stop gate, the agent returns its scope and waits for a go before working'),
  repository: z.string().nullable(),
});

/** A package as listed: where it stands, without its spec. */
export const workPackageSummaryOutput = z.object({
  tenant_id: z.string(),
  id: z.string(),
  version: z.number().int(),
  state,
  held_from: state.nullable().describe('While held: the state a release returns to'),
  role: z.string(),
  title: z.string(),
  booked_by: z.string(),
  claimed_by: z.string().nullable().describe('The agent that claimed it; null until claimed'),
  created_at: z.string(),
  updated_at: z.string(),
});

/** A scope confirmation or a return, as stored (append-only). */
export const workPackageReturnOutput = z.object({
  n: z.number().int().describe('1, 2, … per package, in the order they were handed back'),
  kind: z.enum(['scope', 'return']).describe('A scope confirmation or a return of the work'),
  wp_version: z.number().int().describe('The package version it answers'),
  scope: z.string().nullable().describe('The scope confirmation (kind scope); null otherwise'),
  artifact: returnArtifact.nullable().describe('The return (kind return); null otherwise'),
  hash: z.string().describe("SHA-256 of the body's canonical JSON, as in the WP_MOVED event"),
  returned_by: z.string(),
  returned_at: z.string(),
  markdown: z.string().describe('The scope or the return, as Markdown'),
});

/** A package with one version's spec, its hash and that version as Markdown. */
export const workPackageOutput = workPackageSummaryOutput.extend({
  spec: workPackageSpecOutput,
  spec_hash: z.string().describe("SHA-256 of the spec's canonical JSON"),
  markdown: z.string().describe('The package in its eight sections, as Markdown'),
  returns: z
    .array(workPackageReturnOutput)
    .describe("The agent's scope confirmations and returns, newest last"),
});

export const listWorkPackagesOutput = z.object({
  work_packages: z.array(workPackageSummaryOutput),
  next_after: z
    .string()
    .nullable()
    .describe('Pass as after for the next page; null on the last page'),
});
