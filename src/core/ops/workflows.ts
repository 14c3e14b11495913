import { type CallContext, assertContext } from '../context.js';
import { CountersignError } from '../errors.js';
import { EVENT_TYPES } from '../ledger.js';
import type { Workflow } from '../model.js';
import * as S from '../schemas.js';
import { parseInput } from '../validation.js';
import type { Rules } from './rules.js';

/**
 * Workflows as records: the open container proposals are made in, started once per
 * idempotency key. (Runs of a workflow definition, with steps and gates, are workflow-ops.ts.)
 */
export class WorkflowRecordOps {
  constructor(private readonly r: Rules) {}

  // ---- start_workflow -------------------------------------------------------------------

  async startWorkflow(
    ctx: CallContext,
    input: S.StartWorkflowInput,
  ): Promise<{ workflow_id: string }> {
    assertContext(ctx);
    const args = parseInput(S.startWorkflowInput, input, 'start_workflow input');
    return this.r.final(ctx, async (tx) => {
      const principal = await this.r.principalOf(tx, ctx);
      this.r.require(ctx, principal, 'workflow.start', { type: 'Tenant', id: ctx.tenant_id });
      if (args.idempotency_key) {
        const existing = await tx.findWorkflowByKey(ctx.tenant_id, args.idempotency_key);
        if (existing) {
          if (existing.title !== args.title)
            throw new CountersignError(
              'INVALID_STATE',
              `Idempotency key "${args.idempotency_key}" already started ${existing.id} with a different title.`,
              { workflow_id: existing.id },
            );
          return { workflow_id: existing.id };
        }
      }
      const id = await tx.nextId(ctx.tenant_id, 'workflow');
      const workflow: Workflow = {
        tenant_id: ctx.tenant_id,
        id,
        title: args.title,
        status: 'open',
        idempotency_key: args.idempotency_key ?? null,
        created_by: principal.id,
        created_at: this.r.clock.now(),
      };
      await tx.insertWorkflow(workflow);
      await this.r.append(tx, ctx, {
        type: EVENT_TYPES.WORKFLOW_STARTED,
        actor: principal.id,
        workflow_id: id,
        data: {
          workflow_id: id,
          title: args.title,
          idempotency_key: args.idempotency_key ?? null,
          purpose: ctx.purpose,
        },
      });
      return { workflow_id: id };
    });
  }

  // ---- get_workflow ---------------------------------------------------------------------

  async getWorkflow(ctx: CallContext, input: { workflow_id: string }) {
    assertContext(ctx);
    const args = parseInput(S.getWorkflowInput, input, 'get_workflow input');
    const read = () =>
      this.r.store.read(async (tx) => {
        const workflow = await this.r.workflow(tx, ctx, args.workflow_id);
        this.r.require(
          ctx,
          await this.r.principalOf(tx, ctx),
          'workflow.read',
          { type: 'Workflow', id: workflow.id },
          workflow.id,
        );
        const proposals = await tx.listProposals(ctx.tenant_id, {
          workflow_id: workflow.id,
          limit: 1000,
        });
        return {
          workflow,
          proposals: proposals.map((p) => ({
            proposal_id: p.id,
            tool: p.tool,
            status: p.status,
            version: p.version,
          })),
        };
      });
    return this.r.reads.get(ctx, 'get_workflow', args.workflow_id, read);
  }
}
