import type { CallContext } from './context.js';
import { CountersignError } from './errors.js';
import type { Actor } from './model.js';

/**
 * Who may act as whom, and separation of duties: the rules every decision path applies
 * (proposal reviews, edits, workflow gates), written once.
 *
 * - The local operator (no token) may name any actor, as scripts and the connector's own
 *   example do: the person at the machine owns the data directory.
 * - An operator token administers (actors, tokens, policy, reads) and never acts as an actor.
 * - An actor's token acts only as that actor.
 * - Nobody decides what they authored (proposed, edited, revised or requested); an agent never
 *   decides; a decider holds one of the required roles and decides a thing once.
 */

/** Refuses a call that names `actor_id` in `field` as its acting actor when the caller is not it. */
export function assertActsAs(ctx: CallContext, actor_id: string, field: string): void {
  if (ctx.caller.kind === 'operator') {
    if (ctx.token === undefined) return;
    throw new CountersignError(
      'POLICY_DENIED',
      `Denied: an operator token administers (actors, tokens, policy, reads) and never acts as an actor (${field} = ${actor_id}). ` +
        `Mint a token for the actor (countersign token create --actor ${actor_id}) and call with that.`,
      { field, authenticated_as: 'operator' },
    );
  }
  if (ctx.caller.actor_id !== actor_id)
    throw new CountersignError(
      'POLICY_DENIED',
      `Denied: you are authenticated as ${ctx.caller.actor_id} and cannot act as ${actor_id} (${field}).`,
      { field, authenticated_as: ctx.caller.actor_id },
    );
}

/** Whether the call's token (if any) lists `operation` in its scope; an unscoped token lists all. */
export function inScope(ctx: CallContext, operation: string): boolean {
  const scope = ctx.token?.scope;
  return !scope || scope.includes(operation);
}

/** Refuses a token-authenticated call to an operation outside the token's scope. */
export function assertInScope(ctx: CallContext, operation: string): void {
  const scope = ctx.token?.scope;
  if (scope && !inScope(ctx, operation))
    throw new CountersignError(
      'POLICY_DENIED',
      `Denied: this token is scoped to ${scope.join(', ')}; ${operation} is outside its scope.`,
      { operation, scope: [...scope], token_id: ctx.token?.id ?? null },
    );
}

/**
 * Only the operator mints tokens: it is the root of trust, and no actor mints one, whatever its
 * role or what policy says (`token.create` is asked after this).
 */
export function mintsTokens(ctx: CallContext): boolean {
  return ctx.caller.kind === 'operator';
}

/** Someone who wrote the thing being decided, and in what capacity. */
export interface Author {
  readonly id: string;
  readonly as: 'proposer' | 'editor' | 'requester';
}

export interface DecisionCheck {
  readonly decider: Actor;
  /** Who wrote what is decided: none of them may decide it. */
  readonly authors: readonly Author[];
  /** Any one of these roles; empty: any role. */
  readonly roles: readonly string[];
  /** Who already decided it (this version, this gate). */
  readonly earlier: readonly string[];
  readonly subject: { readonly type: 'proposal' | 'approval'; readonly id: string };
}

/**
 * Separation of duties for one decision. Policy still has its say (only humans decide by
 * default; a policy may name a service for a tool); these rules no policy can lift.
 */
export function assertMayDecide(c: DecisionCheck): void {
  const { decider, subject } = c;
  const key = subject.type === 'proposal' ? 'proposal_id' : 'approval_id';
  if (decider.kind === 'agent')
    throw new CountersignError(
      'POLICY_DENIED',
      `Denied: ${decider.id} is an agent; agents propose and execute, people decide.`,
      { [key]: subject.id, decider_kind: decider.kind },
    );
  const authored = c.authors.find((a) => a.id === decider.id);
  if (authored)
    throw new CountersignError(
      'SELF_APPROVAL',
      `${decider.id} ${pastTense(authored.as)} ${subject.id} and cannot decide it; another reviewer must.`,
      {
        [key]: subject.id,
        [`${authored.as}_id`]: authored.id,
        authors: c.authors.map((a) => ({ id: a.id, as: a.as })),
      },
    );
  if (c.roles.length > 0 && !c.roles.includes(decider.role))
    throw new CountersignError(
      'MISSING_ROLE',
      `${decider.id} has role "${decider.role}"; ${subject.id} needs a reviewer with one of: ${c.roles.join(', ')}.`,
      { [key]: subject.id, required_roles: [...c.roles], reviewer_role: decider.role },
    );
  if (c.earlier.includes(decider.id))
    throw new CountersignError(
      'DUPLICATE_DECISION',
      `${decider.id} already decided ${subject.id}.`,
      {
        [key]: subject.id,
      },
    );
}

function pastTense(as: Author['as']): string {
  return as === 'proposer' ? 'proposed' : as === 'editor' ? 'edited' : 'asked for';
}
