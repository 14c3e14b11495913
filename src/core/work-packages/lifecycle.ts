import { CountersignError } from '../errors.js';

/**
 * A work package's lifecycle: the states it can be in and the only moves between them. The
 * table below is the whole state machine; every door (CLI, HTTP, MCP, the runner) moves a
 * package through `applyMove`, so an illegal move is refused the same way everywhere, with
 * `INVALID_STATE` naming the moves that are legal from where the package stands.
 *
 *   booked → claimed → scope_returned → go | scope_revision → … → executing → returned
 *   → in_review → accepted | revision_required | rejected;  accepted → merged
 *
 * A package without a stop gate skips the scope confirmation (claimed → executing). Any active
 * package can be held (a status hold with a reason) and released back where it was, and the
 * review authority can stop it for good.
 */
export const WP_STATES = [
  'booked',
  'claimed',
  'scope_returned',
  'scope_revision',
  'go',
  'executing',
  'returned',
  'in_review',
  'revision_required',
  'accepted',
  'rejected',
  'held',
  'stopped',
  'merged',
] as const;
export type WpState = (typeof WP_STATES)[number];

/** Who makes a move: the agent working the package, or the review authority (a person). */
export type MoveActor = 'agent' | 'authority';

interface MoveRule {
  readonly by: MoveActor;
  /** A verdict is a decision of the review authority, recorded immutably in the inbox. */
  readonly verdict: boolean;
  /** Where the move may start: a list of states, or the rule of a hold, release or stop. */
  readonly from: readonly WpState[] | 'active' | 'held' | 'active_or_held';
  /** Where it leads; `held_from` is the state a release returns to. */
  readonly to: WpState | 'held_from';
  /** Only for a package with (true) or without (false) a stop gate. */
  readonly stop_gate?: boolean;
  readonly needs?: 'reason' | 'findings' | 'merge_proof';
}

export const WP_MOVES = {
  claim: { by: 'agent', verdict: false, from: ['booked'], to: 'claimed' },
  return_scope: {
    by: 'agent',
    verdict: false,
    from: ['claimed', 'scope_revision'],
    to: 'scope_returned',
    stop_gate: true,
  },
  go: { by: 'authority', verdict: true, from: ['scope_returned'], to: 'go', stop_gate: true },
  revise_scope: {
    by: 'authority',
    verdict: true,
    from: ['scope_returned'],
    to: 'scope_revision',
    stop_gate: true,
    needs: 'findings',
  },
  start: { by: 'agent', verdict: false, from: ['go', 'revision_required'], to: 'executing' },
  start_without_scope: {
    by: 'agent',
    verdict: false,
    from: ['claimed'],
    to: 'executing',
    stop_gate: false,
  },
  return: { by: 'agent', verdict: false, from: ['executing'], to: 'returned' },
  open_review: { by: 'authority', verdict: false, from: ['returned'], to: 'in_review' },
  accept: { by: 'authority', verdict: true, from: ['in_review'], to: 'accepted' },
  require_revision: {
    by: 'authority',
    verdict: true,
    from: ['in_review'],
    to: 'revision_required',
    needs: 'findings',
  },
  reject: { by: 'authority', verdict: true, from: ['in_review'], to: 'rejected', needs: 'reason' },
  hold: { by: 'authority', verdict: false, from: 'active', to: 'held', needs: 'reason' },
  release: { by: 'authority', verdict: false, from: 'held', to: 'held_from' },
  // A stop also ends a held package: the review authority need not release it first.
  stop: { by: 'authority', verdict: false, from: 'active_or_held', to: 'stopped', needs: 'reason' },
  merge: {
    by: 'authority',
    verdict: false,
    from: ['accepted'],
    to: 'merged',
    needs: 'merge_proof',
  },
} as const satisfies Record<string, MoveRule>;
export type WpMove = keyof typeof WP_MOVES;
export const WP_MOVE_NAMES = Object.keys(WP_MOVES) as WpMove[];

/** States nothing leaves. */
export const FINAL_STATES: ReadonlySet<WpState> = new Set(['rejected', 'stopped', 'merged']);

/**
 * States a package is worked or reviewed in: those a hold or a stop applies to. Everything but
 * the final states, a hold itself, and `accepted` (which waits only for its merge).
 */
export const ACTIVE_STATES: ReadonlySet<WpState> = new Set(
  WP_STATES.filter((s) => s !== 'accepted' && s !== 'held' && !FINAL_STATES.has(s)),
);

/** Where a package stands, as the state machine needs it. */
export interface WpPosition {
  readonly state: WpState;
  /** The state a hold was placed in (only while `held`). */
  readonly held_from: WpState | null;
  readonly stop_gate: boolean;
}

function applies(rule: MoveRule, at: WpPosition): boolean {
  if (rule.stop_gate !== undefined && rule.stop_gate !== at.stop_gate) return false;
  if (rule.from === 'active') return ACTIVE_STATES.has(at.state);
  if (rule.from === 'held') return at.state === 'held';
  if (rule.from === 'active_or_held') return ACTIVE_STATES.has(at.state) || at.state === 'held';
  return rule.from.includes(at.state);
}

/** The moves legal from `at`, in the table's order. */
export function legalMoves(at: WpPosition): WpMove[] {
  return WP_MOVE_NAMES.filter((m) => applies(WP_MOVES[m], at));
}

/**
 * The position after `move`, or INVALID_STATE naming the legal moves. It checks the table
 * only: who may make the move (the agent of the package, a reviewer who is neither that agent
 * nor a self-booker) and what it must carry are the operation's to check.
 *
 * @example
 * applyMove({ state: 'booked', held_from: null, stop_gate: true }, 'claim');
 * // { state: 'claimed', held_from: null, stop_gate: true }
 */
export function applyMove(at: WpPosition, move: WpMove, wp_id = 'the work package'): WpPosition {
  const legal = legalMoves(at);
  if (!legal.includes(move)) {
    const why =
      legal.length === 0
        ? `${at.state} is final: no move is legal`
        : `legal moves from ${at.state}: ${legal.join(', ')}`;
    throw new CountersignError(
      'INVALID_STATE',
      `Cannot ${move.replace(/_/g, ' ')} ${wp_id}: it is ${at.state}${at.state === 'held' && at.held_from ? ` (held from ${at.held_from})` : ''}; ${why}.`,
      { state: at.state, move, legal_moves: legal },
    );
  }
  const rule: MoveRule = WP_MOVES[move];
  if (move === 'hold') return { ...at, state: 'held', held_from: at.state };
  if (rule.to === 'held_from') {
    if (!at.held_from)
      throw new CountersignError(
        'INVALID_STATE',
        `${wp_id} is held but records no state to return to.`,
      );
    return { ...at, state: at.held_from, held_from: null };
  }
  return { ...at, state: rule.to, held_from: null };
}

/** Who makes `move`, whether it is a verdict, and what it must carry. */
export function moveRule(move: WpMove): {
  readonly by: MoveActor;
  readonly verdict: boolean;
  readonly needs: 'reason' | 'findings' | 'merge_proof' | null;
} {
  const rule: MoveRule = WP_MOVES[move];
  return { by: rule.by, verdict: rule.verdict, needs: rule.needs ?? null };
}
