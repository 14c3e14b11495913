import { type CallContext, assertContext } from '../context.js';
import { ChainVerifier, EVENT_TYPES, type VerifyReport } from '../ledger.js';
import type { LedgerEvent } from '../model.js';
import * as S from '../schemas.js';
import { parseInput } from '../validation.js';
import type { Rules } from './rules.js';

/** Reading and verifying the tenant's hash-chained ledger. */
export class AuditOps {
  constructor(private readonly r: Rules) {}

  async getAuditLog(
    ctx: CallContext,
    input: S.GetAuditLogInput,
  ): Promise<{ entries: LedgerEvent[] }> {
    assertContext(ctx);
    const args = parseInput(S.getAuditLogInput, input, 'get_audit_log input');
    return this.r.store.transaction(async (tx) => {
      const workflow = await this.r.workflow(tx, ctx, args.workflow_id);
      const principal = await this.r.principalOf(tx, ctx);
      this.r.require(
        ctx,
        principal,
        'audit.read',
        { type: 'Workflow', id: workflow.id },
        workflow.id,
      );
      const entries = await tx.listLedger(ctx.tenant_id, { workflow_id: workflow.id });
      // Reading the audit log is itself recorded, outside the workflow's own trace.
      await this.r.append(tx, ctx, {
        type: EVENT_TYPES.AUDIT_LOG_READ,
        actor: principal.id,
        workflow_id: null,
        data: { workflow_id: workflow.id, entries: entries.length, purpose: ctx.purpose },
      });
      return { entries };
    });
  }

  /**
   * Verifies the tenant's whole chain; streams it in pages. Events committed while it reads
   * are read too, up to the head read last, so a chain growing under writes verifies.
   */
  async verifyAudit(ctx: CallContext): Promise<VerifyReport> {
    assertContext(ctx);
    const verifier = new ChainVerifier(ctx.tenant_id);
    await this.r.store.read(async (tx) => {
      this.r.require(ctx, await this.r.principalOf(tx, ctx), 'audit.read', {
        type: 'Tenant',
        id: ctx.tenant_id,
      });
    });
    let after = 0;
    for (let round = 0; ; round++) {
      for (;;) {
        const page = await this.r.store.read((tx) =>
          tx.listLedger(ctx.tenant_id, { after_seq: after, limit: 2000 }),
        );
        for (const e of page) verifier.push(e);
        if (page.length > 0) after = page[page.length - 1]!.seq;
        if (page.length < 2000 || verifier.broken) break;
      }
      const head = await this.r.store.read((tx) => tx.readLedgerHead(ctx.tenant_id));
      // The head moved past what was read: appended meanwhile, read them too (a few rounds).
      if (verifier.broken || head.seq <= after || round >= 10) return verifier.finish(head);
    }
  }
}
