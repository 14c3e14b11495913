import type { Me } from './types.js';

export type Eligibility =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'operator' | 'self' | 'role'; readonly message: string };

/**
 * Whether the signed-in person may decide a request, and if not, why, in the words the
 * reviewer sees before trying. The server decides in the end; this only explains.
 */
export function eligibility(
  me: Me,
  request: { readonly requested_by: string; readonly required_roles: readonly string[] },
): Eligibility {
  if (me.kind === 'operator')
    return {
      ok: false,
      reason: 'operator',
      message:
        'You are signed in as the operator. Decisions are made by people: sign in with an actor’s token to approve or reject.',
    };
  if (request.requested_by === me.actor_id)
    return {
      ok: false,
      reason: 'self',
      message:
        'You asked for this yourself. Separation of duties: whoever proposes a call never approves it, so another reviewer must decide.',
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
export function waitingOnMe(
  me: Me,
  items: readonly { requested_by: string; required_roles: readonly string[] }[],
): number {
  return items.filter((i) => eligibility(me, i).ok).length;
}
