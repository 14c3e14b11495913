import { type CallContext, assertContext, isLocalOperator } from '../context.js';
import { CountersignError } from '../errors.js';
import { EVENT_TYPES } from '../ledger.js';
import type { Actor, ActorKind } from '../model.js';
import type { StoreTx } from '../ports/store.js';
import * as S from '../schemas.js';
import { parseInput } from '../validation.js';
import type { Rules } from './rules.js';

/** The settings key naming the agent actor `countersign mcp` binds to by default. */
const LOCAL_AGENT_SETTING = 'local_agent';

/** Who a bound door (MCP over stdio) acts as, and whether it was registered just now. */
export interface BoundAgent {
  readonly actor_id: string;
  readonly name: string;
  readonly kind: ActorKind;
  readonly registered: boolean;
}

/**
 * Actors: people (`human`), agents (`agent`) and services (`service`). Only people decide by
 * default; agents propose and execute what was approved; a policy may let a service decide.
 */
export class ActorOps {
  constructor(private readonly r: Rules) {}

  async register(ctx: CallContext, input: S.RegisterActorInput): Promise<{ actor_id: string }> {
    assertContext(ctx);
    const args = parseInput(S.registerActorInput, input, 'register_actor input');
    return this.r.final(ctx, async (tx) => {
      const principal = await this.r.principalOf(tx, ctx);
      this.r.require(ctx, principal, 'actor.register', { type: 'Tenant', id: ctx.tenant_id });
      const actor = await this.insert(tx, ctx, args.name, args.role, args.kind ?? 'human');
      return { actor_id: actor.id };
    });
  }

  /**
   * The actor a bound door acts as: `actor_id` when given (it must exist and be an agent or a
   * service: a person reviews in the console or the CLI, never through an agent's channel),
   * otherwise the tenant's `local-agent`, registered (kind `agent`) on first use. Only the local
   * operator binds a door this way.
   */
  async bindAgent(ctx: CallContext, actor_id?: string): Promise<BoundAgent> {
    assertContext(ctx);
    if (!isLocalOperator(ctx))
      throw new CountersignError(
        'POLICY_DENIED',
        'Denied: only the local operator binds a door to an actor.',
      );
    return this.r.store.transaction(async (tx) => {
      if (actor_id !== undefined) {
        const actor = await this.r.actor(tx, ctx, actor_id, 'actor');
        if (actor.kind === 'human')
          throw new CountersignError(
            'VALIDATION_FAILED',
            `${actor.id} (${actor.name}) is a person; an agent's connection binds to an agent or a service actor. ` +
              'Register one with `countersign actor register --kind agent`.',
            { actor_id: actor.id, kind: actor.kind },
          );
        return { actor_id: actor.id, name: actor.name, kind: actor.kind, registered: false };
      }
      const known = await tx.getSetting(ctx.tenant_id, LOCAL_AGENT_SETTING);
      if (known) {
        const actor = await this.r.actor(tx, ctx, known, 'local agent');
        return { actor_id: actor.id, name: actor.name, kind: actor.kind, registered: false };
      }
      const actor = await this.insert(tx, ctx, 'local-agent', 'agent', 'agent');
      await tx.putSetting(ctx.tenant_id, LOCAL_AGENT_SETTING, actor.id);
      return { actor_id: actor.id, name: actor.name, kind: actor.kind, registered: true };
    });
  }

  private async insert(
    tx: StoreTx,
    ctx: CallContext,
    name: string,
    role: string,
    kind: ActorKind,
  ): Promise<Actor> {
    const principal = await this.r.principalOf(tx, ctx);
    const actor: Actor = {
      tenant_id: ctx.tenant_id,
      id: await tx.nextId(ctx.tenant_id, 'actor'),
      name,
      role,
      kind,
      created_at: this.r.clock.now(),
    };
    await tx.insertActor(actor);
    await this.r.append(tx, ctx, {
      type: EVENT_TYPES.ACTOR_REGISTERED,
      actor: principal.id,
      workflow_id: null,
      data: { actor_id: actor.id, name, role, kind },
    });
    return actor;
  }
}
