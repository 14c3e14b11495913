import {
  type WpMove,
  type WpState,
  legalMoves,
  moveRule,
} from '../../src/core/work-packages/lifecycle.js';
import type { Me } from './types.js';

export type { WpMove, WpState };

/** A package as `GET /work-packages` lists it: where it stands, without its spec. */
export interface WorkPackageSummary {
  tenant_id: string;
  id: string;
  version: number;
  state: WpState;
  /** While held: the state a release returns to. */
  held_from: WpState | null;
  role: string;
  title: string;
  booked_by: string;
  /** The agent that claimed it; null until claimed. */
  claimed_by: string | null;
  created_at: string;
  updated_at: string;
}

/** A scope confirmation or a return the agent handed back (append-only, numbered). */
export interface WorkPackageReturn {
  n: number;
  kind: 'scope' | 'return';
  wp_version: number;
  hash: string;
  returned_by: string;
  returned_at: string;
  markdown: string;
}

/** A package as `GET /work-packages/{wp_id}` answers: one version's spec and its Markdown. */
export interface WorkPackage extends WorkPackageSummary {
  spec: { stop_gate: boolean; [k: string]: unknown };
  spec_hash: string;
  markdown: string;
  /** What the agent handed back, oldest first (absent from servers before returns existed). */
  returns?: WorkPackageReturn[];
}

export interface WorkPackagePage {
  work_packages: WorkPackageSummary[];
  next_after: string | null;
}

/** The board's columns, left to right, and the states each gathers. */
export const BOARD_COLUMNS: readonly {
  readonly name: string;
  readonly states: readonly WpState[];
}[] = [
  { name: 'Booked', states: ['booked'] },
  { name: 'Scope', states: ['claimed', 'scope_returned', 'scope_revision', 'go'] },
  { name: 'Executing', states: ['executing', 'revision_required'] },
  { name: 'Review', states: ['returned', 'in_review'] },
  { name: 'Done', states: ['accepted', 'merged'] },
  { name: 'Ended', states: ['rejected', 'stopped'] },
  { name: 'Held', states: ['held'] },
];

/** Packages by board column, in the columns' order, each column in the order given. */
export function boardOf(
  packages: readonly WorkPackageSummary[],
): { name: string; packages: WorkPackageSummary[] }[] {
  return BOARD_COLUMNS.map((c) => ({
    name: c.name,
    packages: packages.filter((p) => c.states.includes(p.state)),
  }));
}

/**
 * The moves a person could make on `wp` from where it stands: the review authority's moves
 * that the server's own lifecycle table (the one every door moves packages through) allows
 * from this state. The console keeps no copy of the rules; the server still decides each move.
 */
export function peopleMoves(wp: WorkPackage): WpMove[] {
  return legalMoves({
    state: wp.state,
    held_from: wp.held_from,
    stop_gate: wp.spec.stop_gate,
  }).filter((m) => moveRule(m).by === 'authority');
}

/** What a move must carry: a reason, findings (what must change) or the merge commit. */
export function moveNeeds(move: WpMove): 'reason' | 'findings' | 'merge_proof' | null {
  return moveRule(move).needs;
}

export function isVerdict(move: WpMove): boolean {
  return moveRule(move).verdict;
}

export const MOVE_LABEL: Readonly<Record<WpMove, string>> = {
  claim: 'Claim',
  return_scope: 'Return the scope',
  go: 'Go',
  revise_scope: 'Revise the scope',
  start: 'Start',
  start_without_scope: 'Start without a scope',
  return: 'Return the work',
  open_review: 'Open the review',
  accept: 'Accept',
  require_revision: 'Require a revision',
  reject: 'Reject',
  hold: 'Hold',
  release: 'Release',
  stop: 'Stop',
  merge: 'Mark merged',
};

export type WorkEligibility =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: 'operator' | 'agent' | 'self';
      readonly message: string;
    };

/**
 * Whether the signed-in caller may make a person's move on `wp`, and if not, why, in words
 * said before trying (as `eligibility` does for approvals). The server decides in the end.
 */
export function workEligibility(me: Me, wp: WorkPackageSummary): WorkEligibility {
  if (me.kind === 'operator' || me.principal_kind === 'operator')
    return {
      ok: false,
      reason: 'operator',
      message:
        'Work is decided by people; you are signed in as the operator, who books and reads packages but makes no move. Sign in with a person’s token to decide.',
    };
  if (me.principal_kind === 'agent' || me.principal_kind === 'service')
    return {
      ok: false,
      reason: 'agent',
      message: `Work is decided by people; you are signed in as ${me.name}, ${me.principal_kind === 'agent' ? 'an agent' : 'a service'}. Agents claim and work packages: sign in with a person’s token to decide.`,
    };
  if (
    wp.claimed_by === me.actor_id ||
    (wp.booked_by === me.actor_id && wp.booked_by === wp.claimed_by)
  )
    return {
      ok: false,
      reason: 'self',
      message:
        'You worked this package. Separation of duties: whoever works a package never reviews it, so someone else must decide.',
    };
  return { ok: true };
}
