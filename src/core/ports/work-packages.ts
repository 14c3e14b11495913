import type { WpState } from '../work-packages/lifecycle.js';
import type { WorkPackageSpec } from '../work-packages/model.js';
import type { ReturnArtifact } from '../work-packages/return-artifact.js';

/**
 * Work packages as stored: the package (its state, who booked and who claimed it) and its
 * versions, each an immutable spec with its hash. Implemented on SQLite and Postgres by the
 * store adapter; versions are append-only in the database.
 */
export interface WorkPackage {
  readonly tenant_id: string;
  /** `wp_<n>`, counted per tenant. */
  readonly id: string;
  /** The current version (1 when booked). */
  readonly version: number;
  readonly state: WpState;
  /** While `held`: the state the hold was placed in. */
  readonly held_from: WpState | null;
  readonly role: string;
  readonly title: string;
  readonly booked_by: string;
  /** The agent that claimed it; null until claimed. */
  readonly claimed_by: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

export interface WorkPackageVersion {
  readonly tenant_id: string;
  readonly wp_id: string;
  readonly version: number;
  readonly spec: WorkPackageSpec;
  /** SHA-256 of the spec's canonical JSON. */
  readonly hash: string;
  readonly booked_by: string;
  readonly booked_at: string;
}

/**
 * What the agent handed back, append-only: a scope confirmation (`return_scope`) or a return
 * (`return`), numbered per package, hashed over its canonical JSON.
 */
export type WorkPackageReturnBody =
  | { readonly kind: 'scope'; readonly body: { readonly scope: string } }
  | { readonly kind: 'return'; readonly body: ReturnArtifact };

export type WorkPackageReturn = WorkPackageReturnBody & {
  readonly tenant_id: string;
  readonly wp_id: string;
  /** The package version it answers. */
  readonly wp_version: number;
  /** 1, 2, … per package. */
  readonly n: number;
  /** SHA-256 of the body's canonical JSON. */
  readonly hash: string;
  readonly returned_by: string;
  readonly returned_at: string;
};

export interface WorkPackageFilter {
  readonly state?: WpState | undefined;
  readonly role?: string | undefined;
  /** Packages booked after this one (by number), for paging. */
  readonly after?: string | undefined;
  readonly limit: number;
}

/** Work packages, read only (`tx.workPackages` of a read). */
export interface WorkPackageReader {
  getWorkPackage(tenant_id: string, id: string): Promise<WorkPackage | undefined>;
  getWorkPackageVersion(
    tenant_id: string,
    id: string,
    version: number,
  ): Promise<WorkPackageVersion | undefined>;
  /** In booking order. */
  listWorkPackages(tenant_id: string, filter: WorkPackageFilter): Promise<WorkPackage[]>;
  /** A package's scope confirmations and returns, oldest first. */
  listReturns(tenant_id: string, wp_id: string): Promise<WorkPackageReturn[]>;
}

/** The work packages' part of a store transaction (`tx.workPackages`). */
export interface WorkPackageTx extends WorkPackageReader {
  /**
   * The package, locked until the transaction ends (Postgres: FOR UPDATE; SQLite holds the
   * write lock already), so two moves of one package never both start from the same state.
   */
  lockWorkPackage(tenant_id: string, id: string): Promise<WorkPackage | undefined>;
  insertWorkPackage(wp: WorkPackage, v: WorkPackageVersion): Promise<void>;
  /** Moves a package: its state, hold and claimant, and when. */
  updateWorkPackage(
    tenant_id: string,
    id: string,
    change: Pick<WorkPackage, 'state' | 'held_from' | 'claimed_by' | 'updated_at'>,
  ): Promise<void>;
  /** Appends a scope confirmation or a return (its `n` the next of the package). */
  insertReturn(r: WorkPackageReturn): Promise<void>;
}
