import { z } from 'zod';
import { WP_MOVE_NAMES, WP_STATES } from './lifecycle.js';
import { workPackageSpec } from './model.js';

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
});
export type MoveWorkPackageInput = z.input<typeof moveWorkPackageInput>;
