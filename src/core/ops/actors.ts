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
   * Changes an actor's role (`actor.set_role`; by default the operator and admins). Nobody
   * changes their own role, whatever policy says: a reviewer never grants themselves the role a
   * quorum needs. Approvals already given keep the role they were given with (the decision
   * records it), so a change never fills or empties a quorum slot after the fact. An actor's
   * name and kind never change: a person is not turned into an agent or back.
   */
  async setRole(ctx: CallContext, input: S.SetActorRoleInput): Promise<S.SetActorRoleOutput> {
    assertContext(ctx);
    const args = parseInput(S.setActorRoleInput, input, 'set_actor_role input');
    return this.r.final(ctx, async (tx) => {
      const principal = await this.r.principalOf(tx, ctx);
      this.r.require(ctx, principal, 'actor.set_role', { type: 'Tenant', id: ctx.tenant_id });
      const actor = await this.r.actor(tx, ctx, args.actor_id, 'actor_id');
      if (principal.id === actor.id)
        throw new CountersignError(
          'SELF_APPROVAL',
          `${actor.id} cannot change their own role; another administrator must.`,
          { actor_id: actor.id },
        );
      if (actor.role !== args.role) {
        await tx.setActorRole(ctx.tenant_id, actor.id, args.role);
        await this.r.append(tx, ctx, {
          type: EVENT_TYPES.ACTOR_ROLE_CHANGED,
          actor: principal.id,
          workflow_id: null,
          data: { actor_id: actor.id, from: actor.role, to: args.role, purpose: ctx.purpose },
        });
      }
      return {
        actor_id: actor.id,
        name: actor.name,
        kind: actor.kind,
        role: args.role,
        previous_role: actor.role,
      };
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
