import { sha256Hex } from '../canonical.js';
import { mintsTokens } from '../authority.js';
import { type CallContext, OPERATOR_ID, assertContext } from '../context.js';
import { CountersignError } from '../errors.js';
import { EVENT_TYPES } from '../ledger.js';
import type { ApiToken } from '../model.js';
import * as T from '../token-schemas.js';
import { parseInput } from '../validation.js';
import { type Rules, notFound } from './rules.js';

/** A verified bearer token: who it stands for, who minted it, what it may call. */
export interface Authenticated {
  readonly tenant_id: string;
  readonly actor_id: string;
  readonly token_id: string;
  readonly minted_by: string;
  readonly scope: readonly string[] | null;
}

/** How stale `last_used_at` may get before a request writes it again. */
const TOUCH_INTERVAL_MS = 60_000;
const TOKEN_FORMAT = /^cs_[A-Za-z0-9_-]{16,128}$/;
/** Verified tokens kept in memory (least recently used first out). */
const CACHED_TOKENS = 10_000;

interface CachedToken {
  readonly token: ApiToken;
  /** The store's token generation when the row was read: the entry holds while it is current. */
  readonly generation: number;
  /** The store's stamp before the row was read: while it holds, nothing has changed. */
  readonly stamp: number | undefined;
}

/**
 * API tokens. The operator is the root of trust: only it mints tokens (for itself or for an
 * actor), so no actor, whatever its role, can give itself another identity. Secrets are
 * returned once and stored only as their SHA-256; tokens may expire, carry a scope of
 * operations, and be revoked, which takes effect on the next request.
 */
export class TokenOps {
  /** By the SHA-256 of the secret. */
  private readonly cache = new Map<string, CachedToken>();
  /** When this process last wrote (or saw) each token's last use, by `<tenant>/<id>`. */
  private readonly touched = new Map<string, number>();
  /** Last-use writes under way, off the requests' path. */
  private readonly touching = new Set<Promise<void>>();

  constructor(
    private readonly r: Rules,
    private readonly newSecret: (() => string) | undefined,
  ) {}

  async create(ctx: CallContext, input: T.CreateTokenInput) {
    assertContext(ctx);
    const args = parseInput(T.createTokenInput, input, 'create_token input');
    const newSecret = this.newSecret;
    if (!newSecret) throw new CountersignError('INTERNAL', 'No secret generator is configured.');
    return this.r.final(ctx, async (tx) => {
      const principal = await this.r.principalOf(tx, ctx);
      if (!mintsTokens(ctx))
        throw new CountersignError(
          'POLICY_DENIED',
          `Denied: only the operator mints tokens (it is the root of trust); ${principal.id} cannot, whatever its role.`,
          { principal: principal.id },
        );
      this.r.require(ctx, principal, 'token.create', { type: 'Tenant', id: ctx.tenant_id });
      const actor =
        args.actor_id === OPERATOR_ID
          ? { id: OPERATOR_ID }
          : await this.r.actor(tx, ctx, args.actor_id, 'actor_id');
      const id = await tx.nextId(ctx.tenant_id, 'token');
      const token = `cs_${newSecret()}`;
      const now = this.r.clock.now();
      const expires_at =
        args.expires_in_seconds === undefined
          ? null
          : new Date(Date.parse(now) + args.expires_in_seconds * 1000).toISOString();
      const scope = args.scope ? [...new Set(args.scope)].sort() : null;
      await tx.insertToken({
        tenant_id: ctx.tenant_id,
        id,
        actor_id: actor.id,
        name: args.name,
        token_hash: sha256Hex(token),
        created_by: principal.id,
        created_at: now,
        expires_at,
        scope,
        revoked_at: null,
        last_used_at: null,
      });
      await this.r.append(tx, ctx, {
        type: EVENT_TYPES.TOKEN_CREATED,
        actor: principal.id,
        workflow_id: null,
        data: {
          token_id: id,
          actor_id: actor.id,
          name: args.name,
          expires_at,
          scope,
          purpose: ctx.purpose,
        },
      });
      return { token_id: id, actor_id: actor.id, token, expires_at, scope };
    });
  }

  /** Revokes a token: the operator any, an actor its own. The next request with it fails. */
  async revoke(ctx: CallContext, input: T.RevokeTokenInput) {
    assertContext(ctx);
    const args = parseInput(T.revokeTokenInput, input, 'revoke_token input');
    return this.r.final(ctx, async (tx) => {
      const principal = await this.r.principalOf(tx, ctx);
      const token = await tx.getToken(ctx.tenant_id, args.token_id);
      // Another principal's token reads as not found, so tokens cannot be enumerated.
      if (!token || (ctx.caller.kind === 'actor' && token.actor_id !== principal.id))
        throw notFound('token', args.token_id);
      if (token.revoked_at !== null)
        return {
          token_id: token.id,
          actor_id: token.actor_id,
          revoked_at: token.revoked_at,
          already_revoked: true,
        };
      const now = this.r.clock.now();
      await tx.revokeToken(ctx.tenant_id, token.id, now);
      await this.r.append(tx, ctx, {
        type: EVENT_TYPES.TOKEN_REVOKED,
        actor: principal.id,
        workflow_id: null,
        data: { token_id: token.id, actor_id: token.actor_id, purpose: ctx.purpose },
      });
      return {
        token_id: token.id,
        actor_id: token.actor_id,
        revoked_at: now,
        already_revoked: false,
      };
    });
  }

  /** The tenant's tokens (an actor sees its own), with status and last use; never a secret. */
  async list(ctx: CallContext, input: T.ListTokensInput = {}): Promise<{ tokens: T.TokenView[] }> {
    assertContext(ctx);
    const args = parseInput(T.listTokensInput, input, 'list_tokens input');
    // This process's last-use writes land first, so the list shows the requests it served.
    await this.settleTouches();
    return this.r.store.read(async (tx) => {
      const principal = await this.r.principalOf(tx, ctx);
      const now = this.r.clock.now();
      const mine = ctx.caller.kind === 'actor' ? principal.id : undefined;
      const tokens = (await tx.listTokens(ctx.tenant_id)).filter(
        (t) =>
          (mine === undefined || t.actor_id === mine) &&
          (args.actor_id === undefined || t.actor_id === args.actor_id),
      );
      return { tokens: tokens.map((t) => view(t, now)) };
    });
  }

  /**
   * Resolves a bearer token to its tenant and principal, or throws UNAUTHENTICATED.
   *
   * No read at all while nothing has committed since the token was last checked (the store's
   * stamp, read-cache.ts); otherwise one read without the write lock: the store's token
   * generation, and the token's row only when the cached one was read under another
   * generation. Any change to a token's validity, by any process, advances the generation in
   * the same commit (and so the stamp), so a revoked token fails on its next request; expiry
   * is checked on every request. The last use is written at most once
   * a minute per token, after the answer, never in its way.
   */
  async authenticate(token: string): Promise<Authenticated> {
    const refuse = (why = 'Missing, unknown or revoked API token.') =>
      new CountersignError('UNAUTHENTICATED', why);
    if (typeof token !== 'string' || !TOKEN_FORMAT.test(token)) throw refuse();
    const hash = sha256Hex(token);
    const stamp = this.r.store.readStamp?.();
    const known = this.cache.get(hash);
    const found =
      stamp !== undefined && known?.stamp === stamp ? known.token : await this.lookup(hash, stamp);
    if (!found || found.revoked_at !== null) throw refuse();
    const now = this.r.clock.now();
    if (found.expires_at !== null && found.expires_at <= now)
      throw refuse(
        `This API token expired at ${found.expires_at}; ask the operator for a new one.`,
      );
    this.touch(found, now);
    return {
      tenant_id: found.tenant_id,
      actor_id: found.actor_id,
      token_id: found.id,
      minted_by: found.created_by,
      scope: found.scope,
    };
  }

  /** The token's row: the cached one while the token generation has not moved, else read. */
  private lookup(hash: string, stamp: number | undefined): Promise<ApiToken | undefined> {
    return this.r.store.read(async (tx) => {
      // The generation first: a row read after it is at least as new as it says.
      const generation = await tx.tokenGeneration();
      const hit = this.cache.get(hash);
      if (hit && hit.generation === generation) {
        this.cache.delete(hash);
        this.cache.set(hash, { ...hit, stamp });
        return hit.token;
      }
      const row = await tx.findTokenByHash(hash);
      this.cache.delete(hash);
      if (row && row.revoked_at === null) {
        this.cache.set(hash, { token: row, generation, stamp });
        if (this.cache.size > CACHED_TOKENS) this.cache.delete(this.cache.keys().next().value!);
      }
      return row;
    });
  }

  count(tenant_id: string): Promise<number> {
    return this.r.store.read((tx) => tx.countTokens(tenant_id));
  }

  /** Waits for the last-use writes under way (a listing, or a shutdown, first lets them land). */
  async settleTouches(): Promise<void> {
    while (this.touching.size > 0) await Promise.all([...this.touching]);
  }

  /**
   * Records the token's use when its last recorded use is a minute old or more, in a
   * transaction of its own that the request does not wait for. A failed write is retried by
   * the next request; the store never moves a last use back.
   */
  private touch(t: ApiToken, now: string): void {
    const key = `${t.tenant_id}/${t.id}`;
    const at = Date.parse(now);
    const last =
      this.touched.get(key) ?? (t.last_used_at === null ? 0 : Date.parse(t.last_used_at));
    if (at - last < TOUCH_INTERVAL_MS) return;
    this.touched.delete(key);
    this.touched.set(key, at);
    if (this.touched.size > CACHED_TOKENS) this.touched.delete(this.touched.keys().next().value!);
    const write: Promise<void> = this.r.store
      .transaction((tx) => tx.touchToken(t.tenant_id, t.id, now))
      .catch(() => {
        if (this.touched.get(key) === at) this.touched.delete(key);
      })
      .finally(() => this.touching.delete(write));
    this.touching.add(write);
  }
}

function view(t: ApiToken, now: string): T.TokenView {
  const status =
    t.revoked_at !== null
      ? 'revoked'
      : t.expires_at !== null && t.expires_at <= now
        ? 'expired'
        : 'active';
  return {
    token_id: t.id,
    actor_id: t.actor_id,
    name: t.name,
    status,
    created_by: t.created_by,
    created_at: t.created_at,
    expires_at: t.expires_at,
    scope: t.scope ? [...t.scope] : null,
    revoked_at: t.revoked_at,
    last_used_at: t.last_used_at,
  };
}
