import { callHash } from '../canonical.js';
import { type CallContext, assertContext } from '../context.js';
import { EVENT_TYPES } from '../ledger.js';
import type { StoreReader } from '../ports/store.js';
import * as S from '../schemas.js';
import { parseInput } from '../validation.js';
import { type Rules, principalIdOf } from './rules.js';

const SETTING_DRY_RUN = 'dry_run';

/**
 * Tenant settings beside the Cedar policy set: today, dry-run mode (every execution plans
 * instead of applying). Setting one is recorded in the ledger with the effective policy version.
 */
export class SettingsOps {
  constructor(private readonly r: Rules) {}

  async setPolicy(ctx: CallContext, input: S.SetPolicyInput) {
    assertContext(ctx);
    const args = parseInput(S.setPolicyInput, input, 'set_policy input');
    return this.r.recording(
      ctx,
      {
        workflow_id: null,
        actor: principalIdOf(ctx),
        operation: 'set_policy',
        subject: { ...args },
      },
      async (tx) => {
        const principal = await this.r.principalOf(tx, ctx);
        this.r.require(ctx, principal, 'policy.set', { type: 'Tenant', id: ctx.tenant_id });
        const previous = await dryRunSetting(tx, ctx.tenant_id);
        const dry_run = args.dry_run ?? previous;
        const policy_version = this.settingsVersion(dry_run);
        if (args.dry_run !== undefined) {
          await tx.putSetting(ctx.tenant_id, SETTING_DRY_RUN, String(dry_run));
          await this.r.append(tx, ctx, {
            type: EVENT_TYPES.POLICY_SET,
            actor: principal.id,
            workflow_id: null,
            data: {
              dry_run,
              previous: { dry_run: previous },
              policy_version,
              cedar_version: this.r.policy.version,
              purpose: ctx.purpose,
            },
          });
        }
        return { dry_run, policy_version };
      },
      { last: true },
    );
  }

  /** The effective policy version: the Cedar policy set's hash combined with the settings. */
  private settingsVersion(dry_run: boolean): string {
    return callHash('policy', { cedar: this.r.policy.version, dry_run }).slice(0, 16);
  }
}

/** Whether the tenant runs every execution as a dry run (set_policy). */
export async function dryRunSetting(tx: StoreReader, tenant_id: string): Promise<boolean> {
  return (await tx.getSetting(tenant_id, SETTING_DRY_RUN)) === 'true';
}
