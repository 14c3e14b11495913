import type { Me } from './types.js';

export type Eligibility =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: 'operator' | 'agent' | 'self' | 'role';
      readonly message: string;
    };

/** A request as eligibility sees it: who asked, who wrote it, which roles decide. */
export interface Decidable {
  readonly requested_by: string;
  /** The proposer and any editor of the current version (the requester for a gate). */
  readonly authors?: readonly string[];
  readonly required_roles: readonly string[];
}

/**
 * Whether the signed-in person may decide a request, and if not, why, in the words the
 * reviewer sees before trying. The server decides in the end; this only explains.
 */
export function eligibility(me: Me, request: Decidable): Eligibility {
  if (me.kind === 'operator')
    return {
      ok: false,
      reason: 'operator',
      message:
        'You are signed in as the operator. Decisions are made by people: sign in with an actor’s token to approve or reject.',
    };
  if (me.principal_kind === 'agent')
    return {
      ok: false,
      reason: 'agent',
      message:
        'You are signed in as an agent. Agents propose and execute; people decide: sign in with a person’s token.',
    };
  if (request.requested_by === me.actor_id)
    return {
      ok: false,
      reason: 'self',
      message:
        'You asked for this yourself. Separation of duties: whoever proposes a call never approves it, so another reviewer must decide.',
    };
  if (request.authors?.includes(me.actor_id))
    return {
      ok: false,
      reason: 'self',
      message:
        'You edited this version. Separation of duties: an edit is a new proposal, so someone other than you and the proposer must approve it.',
    };
  if (
    request.required_roles.length > 0 &&
    !request.required_roles.some((r) => me.roles.includes(r))
  )
    return {
      ok: false,
      reason: 'role',
      message: `This needs a reviewer with the role ${request.required_roles.join(' or ')}; you have ${me.roles.join(', ') || 'no role'}.`,
    };
  return { ok: true };
}

/** How many of the pending requests the signed-in person can decide. */
export function waitingOnMe(me: Me, items: readonly Decidable[]): number {
  return items.filter((i) => eligibility(me, i).ok).length;
}
