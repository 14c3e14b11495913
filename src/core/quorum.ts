/**
 * Role quorums: how many approvals a proposal or a gate needs, and from whom.
 *
 * Two shapes share one rule:
 * - any-of (the default): `required_approvals` distinct reviewers, each holding one of
 *   `required_roles` (any role when empty);
 * - a quorum: `role_quorum` maps each role to the approvals it must give, e.g.
 *   `{ change_manager: 1, security: 2 }`. "All of" a set of roles is one approval per role.
 *
 * One approval fills one slot: a reviewer counts for one role only, even one holding several,
 * and a reviewer approving twice counts once. Authors (the proposer, the run's starter) never
 * count. The approvals are assigned to slots by a maximum bipartite matching, so the order in
 * which reviewers decided never changes the outcome.
 */

/** Role → approvals it must give; every count at least 1. */
export type RoleQuorum = Readonly<Record<string, number>>;

export interface ApprovalRule {
  readonly required_approvals: number;
  readonly required_roles: readonly string[];
  /** Absent (or empty): any-of. */
  readonly role_quorum?: RoleQuorum | undefined;
}

export interface Approver {
  readonly id: string;
  /** The roles the reviewer holds (an actor holds one today). */
  readonly roles: readonly string[];
}

export interface Tally {
  /** Distinct approvers who count (eligible, not authors). */
  readonly received: number;
  readonly satisfied: boolean;
  /**
   * What is still needed: role → approvals. A key naming several roles joined by `|` means
   * any one of them; `*` means any reviewer. Empty when satisfied.
   */
  readonly missing: Record<string, number>;
  /** For a quorum: which role each counted approver filled (unassigned ones are absent). */
  readonly filled: Record<string, string>;
}

/** The key `missing` uses for "one of these roles". */
export function anyOfKey(roles: readonly string[]): string {
  return roles.length === 0 ? '*' : [...roles].sort().join('|');
}

/** `{ a: 1, b: 1 }`: one approval from each role. */
export function allOf(roles: readonly string[]): RoleQuorum {
  return Object.fromEntries([...new Set(roles)].sort().map((r) => [r, 1]));
}

/** A quorum with its roles in order and no zero counts; undefined when it asks for nothing. */
export function normalizeQuorum(q: RoleQuorum | null | undefined): RoleQuorum | undefined {
  if (!q) return undefined;
  const entries = Object.entries(q)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
}

export function quorumSize(q: RoleQuorum): number {
  return Object.values(q).reduce((n, c) => n + c, 0);
}

/**
 * The rule a quorum gives beside a number of approvals and any-of roles that also apply (a
 * workflow step's own approvals, bound proposals' policy): the quorum's roles may decide, and
 * the total is never below the quorum's size.
 */
export function withQuorum(rule: ApprovalRule): ApprovalRule {
  const q = normalizeQuorum(rule.role_quorum);
  if (!q)
    return { required_approvals: rule.required_approvals, required_roles: rule.required_roles };
  return {
    required_approvals: Math.max(rule.required_approvals, quorumSize(q)),
    required_roles: [...new Set([...Object.keys(q), ...rule.required_roles])].sort(),
    role_quorum: q,
  };
}

/** Counts approvals under a rule. `authors` never count, whatever their roles. */
export function tallyApprovals(
  rule: ApprovalRule,
  approvers: readonly Approver[],
  authors: readonly string[] = [],
): Tally {
  const q = normalizeQuorum(rule.role_quorum);
  const seen = new Set<string>(authors);
  const eligible: Approver[] = [];
  for (const a of [...approvers].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))) {
    if (seen.has(a.id)) continue;
    seen.add(a.id);
    // Any-of roles were checked when each reviewer decided (authority.ts), as they always were.
    if (
      q &&
      rule.required_roles.length > 0 &&
      !a.roles.some((r) => rule.required_roles.includes(r))
    )
      continue;
    eligible.push(a);
  }
  const received = eligible.length;
  if (!q) {
    const short = Math.max(0, rule.required_approvals - received);
    return {
      received,
      satisfied: short === 0,
      missing: short === 0 ? {} : { [anyOfKey(rule.required_roles)]: short },
      filled: {},
    };
  }
  const { filled, open } = match(q, eligible);
  const unfilled = Object.values(open).reduce((n, c) => n + c, 0);
  // Approvals beyond the quorum's slots (a larger required_approvals) come from anyone eligible.
  const extra = Math.max(0, rule.required_approvals - received - unfilled);
  const missing: Record<string, number> = {};
  for (const [role, n] of Object.entries(open)) if (n > 0) missing[role] = n;
  if (extra > 0) missing[anyOfKey(rule.required_roles)] = extra;
  return { received, satisfied: Object.keys(missing).length === 0, missing, filled };
}

/** Assigns approvers to role slots (Kuhn's augmenting paths; a few reviewers, a few slots). */
function match(
  q: RoleQuorum,
  approvers: readonly Approver[],
): { filled: Record<string, string>; open: Record<string, number> } {
  const slots: string[] = [];
  for (const [role, n] of Object.entries(q)) for (let i = 0; i < n; i++) slots.push(role);
  const holder: (number | undefined)[] = slots.map(() => undefined);
  const tryAssign = (a: number, visited: boolean[]): boolean => {
    for (let s = 0; s < slots.length; s++) {
      if (visited[s] || !approvers[a]!.roles.includes(slots[s]!)) continue;
      visited[s] = true;
      const h = holder[s];
      if (h === undefined || tryAssign(h, visited)) {
        holder[s] = a;
        return true;
      }
    }
    return false;
  };
  for (let a = 0; a < approvers.length; a++)
    tryAssign(
      a,
      slots.map(() => false),
    );
  const filled: Record<string, string> = {};
  const open: Record<string, number> = { ...q };
  holder.forEach((a, s) => {
    if (a === undefined) return;
    filled[approvers[a]!.id] = slots[s]!;
    open[slots[s]!] = (open[slots[s]!] ?? 0) - 1;
  });
  return { filled, open };
}

/** `change_manager: 1, security: 2` or `change_manager, security` (one each) → a quorum. */
export function parseQuorum(text: string): RoleQuorum | string {
  const out: Record<string, number> = {};
  for (const part of text.split(',')) {
    const item = part.trim();
    if (!item) continue;
    const m = /^([^:\s]+)\s*(?::\s*(\d+))?$/.exec(item);
    if (!m) return `"${item}" is not "role" or "role:N"`;
    const n = m[2] === undefined ? 1 : Number(m[2]);
    if (!Number.isInteger(n) || n < 1 || n > 10) return `"${item}": N must be 1 to 10`;
    if (out[m[1]!] !== undefined) return `role "${m[1]}" is named twice`;
    out[m[1]!] = n;
  }
  return normalizeQuorum(out) ?? 'it names no role';
}

/** "security" or "2 × security, change_manager or security": what `missing` says, for people. */
export function describeMissing(missing: Readonly<Record<string, number>>): string {
  return Object.entries(missing)
    .map(([key, n]) => {
      const who = key === '*' ? 'any reviewer' : key.split('|').join(' or ');
      return n === 1 ? who : `${n} × ${who}`;
    })
    .join(', ');
}
