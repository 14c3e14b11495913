import type { CallContext } from '../context.js';
import { CountersignError } from '../errors.js';
import type { StoreReader } from '../ports/store.js';

/**
 * A workflow run governs its own calls: they are proposed by its steps, decided at its gates
 * and executed by the run. Direct proposals, reviews, revisions and executions are refused,
 * so no one approves a call around the gate that binds it, nor runs it outside its window.
 */
export async function assertOutsideRun(
  tx: StoreReader,
  ctx: CallContext,
  workflow_id: string,
  operation: string,
  proposal_id?: string,
): Promise<void> {
  const run = await tx.runs.getRun(ctx.tenant_id, workflow_id);
  if (!run) return;
  let where = 'its steps';
  if (proposal_id) {
    const gates = await tx.runs.listApprovals(ctx.tenant_id, {
      status: 'pending',
      workflow_id,
      limit: 100,
    });
    const gate = gates.find((g) => g.proposals.some((p) => p.proposal_id === proposal_id));
    where = gate ? `its gate ${gate.id}` : 'its gates';
  }
  throw new CountersignError(
    'INVALID_STATE',
    `${proposal_id ?? workflow_id} belongs to workflow run ${workflow_id}, which governs its calls: ` +
      `${operation} is refused here; decide at ${where} (decide_approval).`,
    { workflow_id, operation, ...(proposal_id ? { proposal_id } : {}) },
  );
}
