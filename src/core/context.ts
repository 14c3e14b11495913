import { CountersignError } from './errors.js';
import type { Actor } from './model.js';
import type { PolicyPrincipal } from './ports/policy.js';

/**
 * Who is calling, for which tenant and why. Surfaces build it: the local operator (CLI on
 * the data directory, MCP over stdio) may name actors in parameters, as in the seed; a
 * caller authenticated as an actor (an HTTP token) may act only as that actor.
 */
export interface CallContext {
  readonly tenant_id: string;
  readonly caller:
    { readonly kind: 'operator' } | { readonly kind: 'actor'; readonly actor_id: string };
  /** Why the call is made; required, like identity and tenant (policy fails closed). */
  readonly purpose: string;
  /** Set by a workflow run for calls made under one agent invocation it generated. */
  readonly agent_invocation_id?: string | undefined;
}

export const OPERATOR_ID = 'operator';
export const POLICY_REVIEWER_ID = 'policy';

/** A context for the trusted local operator of a data directory. */
export function operatorContext(purpose: string, tenant_id = 'default'): CallContext {
  return { tenant_id, caller: { kind: 'operator' }, purpose };
}

export function assertContext(ctx: CallContext): void {
  const missing: string[] = [];
  if (!ctx || typeof ctx.tenant_id !== 'string' || ctx.tenant_id.trim() === '')
    missing.push('tenant');
  if (
    !ctx?.caller ||
    (ctx.caller.kind !== 'operator' && !('actor_id' in ctx.caller && ctx.caller.actor_id))
  )
    missing.push('identity');
  if (!ctx || typeof ctx.purpose !== 'string' || ctx.purpose.trim() === '') missing.push('purpose');
  if (missing.length > 0)
    throw new CountersignError('POLICY_DENIED', `Denied: the call has no ${missing.join(', ')}.`, {
      missing,
    });
}

/** Refuses an actor-authenticated caller who names another actor in the parameters. */
export function assertActsAs(ctx: CallContext, actor_id: string, field: string): void {
  if (ctx.caller.kind === 'actor' && ctx.caller.actor_id !== actor_id)
    throw new CountersignError(
      'POLICY_DENIED',
      `Denied: you are authenticated as ${ctx.caller.actor_id} and cannot act as ${actor_id} (${field}).`,
      { field, authenticated_as: ctx.caller.actor_id },
    );
}

export function actorPrincipal(actor: Actor): PolicyPrincipal {
  return { id: actor.id, kind: 'actor', roles: [actor.role] };
}

export const operatorPrincipal: PolicyPrincipal = Object.freeze({
  id: OPERATOR_ID,
  kind: 'operator',
  roles: Object.freeze(['operator']),
});

/** The caller a token's principal stands for: the tenant's operator, or one actor. */
export function callerFor(actor_id: string): CallContext['caller'] {
  return actor_id === OPERATOR_ID ? { kind: 'operator' } : { kind: 'actor', actor_id };
}
