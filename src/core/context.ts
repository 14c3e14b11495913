import { CountersignError } from './errors.js';
import type { Actor } from './model.js';
import type { PolicyPrincipal } from './ports/policy.js';
import type { ReplySlot } from './reply.js';

/**
 * Who is calling, for which tenant and why. Surfaces build it. The local operator (the CLI on
 * the data directory, `mcp --operator`) calls without a token and may name actors in
 * parameters; every caller that authenticated with a token (HTTP, MCP over HTTP, the CLI's
 * remote mode, a token-bound `mcp`) carries it in `token`: an actor's token acts only as that
 * actor, and the operator's token administers but never acts as an actor (authority.ts).
 */
export interface CallContext {
  readonly tenant_id: string;
  readonly caller:
    { readonly kind: 'operator' } | { readonly kind: 'actor'; readonly actor_id: string };
  /** Why the call is made; required, like identity and tenant (policy fails closed). */
  readonly purpose: string;
  /** Set by a workflow run for calls made under one agent invocation it generated. */
  readonly agent_invocation_id?: string | undefined;
  /** The API token the call authenticated with; absent for the local operator. */
  readonly token?: TokenGrant | undefined;
  /** The W3C `traceparent` the caller sent (HTTP header, MCP `_meta`): the parent of its span. */
  readonly traceparent?: string | undefined;
  /** Set by a door for a request sent with an idempotency key (reply.ts). */
  readonly reply?: ReplySlot | undefined;
}

/** What a verified token grants: recorded with every decision made through it. */
export interface TokenGrant {
  readonly id: string;
  /** Who minted it (the operator). */
  readonly minted_by: string;
  /** The operations it may call; null: all its principal may. */
  readonly scope: readonly string[] | null;
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

/** The local operator: no token, the person at the machine who owns the data directory. */
export function isLocalOperator(ctx: CallContext): boolean {
  return ctx.caller.kind === 'operator' && ctx.token === undefined;
}

export function actorPrincipal(actor: Actor): PolicyPrincipal {
  return { id: actor.id, kind: actor.kind, roles: [actor.role] };
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

/** The context of a call authenticated with a token, for any door. */
export function tokenContext(
  auth: {
    readonly tenant_id: string;
    readonly actor_id: string;
    readonly token_id: string;
    readonly minted_by: string;
    readonly scope: readonly string[] | null;
  },
  purpose: string,
): CallContext {
  return {
    tenant_id: auth.tenant_id,
    caller: callerFor(auth.actor_id),
    purpose,
    token: { id: auth.token_id, minted_by: auth.minted_by, scope: auth.scope },
  };
}
