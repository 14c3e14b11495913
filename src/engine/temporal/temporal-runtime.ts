import {
  type Client,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { CallContext } from '../../core/context.js';
import { CountersignError } from '../../core/errors.js';
import type { WorkflowRun } from '../../core/model.js';
import type { WorkflowOps } from '../../core/workflow-ops.js';
import type { StartRunInput } from '../../core/workflow-schemas.js';
import { type AnyDefinition, DefinitionCatalogue } from '../catalogue.js';
import { type RunStatusView, type WorkflowEngine, runView } from '../port.js';
import {
  type ActivityTimeouts,
  RUN_WORKFLOW,
  type RunWorkflowArgs,
  SEARCH_ATTRIBUTES as SA,
  approvalResolved,
  approvalUpdateId,
  outcomeOf,
  settled,
  snapshot,
} from './contract.js';

export interface TemporalRuntimeDeps {
  readonly ops: WorkflowOps;
  readonly client: Client;
  readonly definitions: readonly AnyDefinition[];
  readonly taskQueue: string;
  /** Where the Temporal UI shows a run, e.g. `http://127.0.0.1:8233/namespaces/default/workflows/{id}`. */
  readonly uiUrl?: string | undefined;
  readonly timeouts?: ActivityTimeouts;
  /** How long start and decide wait for the run to settle (wait again or end) before answering. */
  readonly settleMs?: number;
  /** Closes the client's connection on close (when this runtime opened it). */
  readonly closeConnection?: () => Promise<void>;
  readonly onError?: (run_id: string, error: unknown) => void;
}

const DEFAULT_SETTLE_MS = 30_000;

/**
 * The Temporal runtime: each run is a Temporal workflow whose ID is the run ID, executing the
 * same interpreter on a worker (`countersign worker`). The store stays the record every
 * surface reads (runs, approvals, the ledger); Temporal holds the execution: its timers, its
 * retries and the decisions that move a waiting run on.
 */
export class TemporalRuntime implements WorkflowEngine {
  readonly runtime = 'temporal' as const;
  private readonly defs: DefinitionCatalogue;
  private readonly settleMs: number;

  constructor(private readonly deps: TemporalRuntimeDeps) {
    this.defs = new DefinitionCatalogue(deps.definitions, deps.ops.kernel.listTools());
    this.settleMs = deps.settleMs ?? DEFAULT_SETTLE_MS;
  }

  definitions() {
    return this.defs.list();
  }

  /** The run's page in the Temporal UI, when its address is configured. */
  uiLink(workflow_id: string): string | null {
    return this.deps.uiUrl
      ? this.deps.uiUrl.replace('{id}', encodeURIComponent(workflow_id))
      : null;
  }

  async start(ctx: CallContext, input: StartRunInput): Promise<RunStatusView> {
    const { run } = await this.defs.createRun(this.deps.ops, ctx, input);
    if (run.status === 'running' || run.status === 'waiting')
      await this.engine(run.id, () =>
        this.deps.client.workflow.executeUpdateWithStart(settled, {
          startWorkflowOperation: this.startOperation(run),
        }),
      );
    return this.status(ctx, run.id);
  }

  async decide(
    ctx: CallContext,
    input: Parameters<WorkflowEngine['decide']>[1],
    seen?: Parameters<WorkflowEngine['decide']>[2],
  ) {
    const r = await this.deps.ops.decideApproval(ctx, input, seen);
    if (r.resolved) await this.deliver(ctx.tenant_id, r.approval.workflow_id, r.approval.id);
    return {
      approval: r.approval,
      decision: r.decision,
      run: await this.status(ctx, r.approval.workflow_id),
    };
  }

  async status(ctx: CallContext, workflow_id: string): Promise<RunStatusView> {
    return runView(await this.deps.ops.getRun(ctx, workflow_id));
  }

  async list(ctx: CallContext, filter: unknown): Promise<RunStatusView[]> {
    return (await this.deps.ops.listRuns(ctx, filter)).map(runView);
  }

  async cancel(ctx: CallContext, input: unknown): Promise<RunStatusView> {
    const run = await this.deps.ops.cancelRun(ctx, input);
    try {
      await this.deps.client.workflow.getHandle(run.id).cancel();
    } catch (e) {
      if (!(e instanceof WorkflowNotFoundError)) this.deps.onError?.(run.id, e);
    }
    return runView(run);
  }

  /**
   * After a restart: starts the workflow of any run the store holds as running that Temporal
   * does not know (a start that failed half-way), and hands a waiting workflow the outcome of
   * a gate decided while this process was down between the commit and the update.
   */
  async resume(): Promise<void> {
    const { running } = await this.deps.ops.runnable(new Date().toISOString(), 10_000);
    for (const ref of running) {
      try {
        const { run } = await this.deps.ops.loadRun(ref.tenant_id, ref.id);
        const handle = this.deps.client.workflow.getHandle(run.id);
        let snap;
        try {
          snap = await handle.query(snapshot);
        } catch (e) {
          if (!(e instanceof WorkflowNotFoundError)) throw e;
          await this.deps.client.workflow.start(RUN_WORKFLOW, this.startOptions(run));
          continue;
        }
        const approval_id =
          snap.waiting_on?.kind === 'approval' ? snap.waiting_on.approval_id : null;
        if (approval_id !== null) await this.deliver(run.tenant_id, run.id, approval_id);
      } catch (e) {
        this.deps.onError?.(ref.id, e);
      }
    }
  }

  async close(): Promise<void> {
    await this.deps.closeConnection?.();
  }

  /** Sends a resolved gate's outcome to its run (starting the workflow if it never started). */
  private async deliver(tenant_id: string, run_id: string, approval_id: string): Promise<void> {
    const { approval, decisions } = await this.deps.ops.approvalState(tenant_id, approval_id);
    const outcome = outcomeOf(approval, decisions);
    if (!outcome) return;
    const { run } = await this.deps.ops.loadRun(tenant_id, run_id);
    if (run.status !== 'running' && run.status !== 'waiting') return;
    await this.engine(run_id, () =>
      this.deps.client.workflow.executeUpdateWithStart(approvalResolved, {
        args: [outcome],
        updateId: approvalUpdateId(approval_id),
        startWorkflowOperation: this.startOperation(run),
      }),
    );
  }

  private startOptions(run: WorkflowRun) {
    const def = this.defs.forRun(run);
    const args: RunWorkflowArgs = {
      tenant_id: run.tenant_id,
      run_id: run.id,
      definition: def.name,
      definition_version: def.version,
      input: run.input,
      started_by: run.started_by,
      purpose: run.purpose,
      ...(this.deps.timeouts ? { timeouts: this.deps.timeouts } : {}),
    };
    return {
      workflowId: run.id,
      taskQueue: this.deps.taskQueue,
      args: [args] as [RunWorkflowArgs],
      // A run is executed once: its ID is never reused once its workflow closed.
      workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
      typedSearchAttributes: [
        { key: SA.tenant, value: run.tenant_id },
        { key: SA.definition, value: def.name },
        { key: SA.stage, value: def.initial_stage },
        { key: SA.waitingOnHuman, value: false },
      ],
    };
  }

  private startOperation(run: WorkflowRun) {
    return new WithStartWorkflowOperation(RUN_WORKFLOW, {
      ...this.startOptions(run),
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  }

  /**
   * Calls Temporal and waits for the run to settle, at most `settleMs`: past that the caller
   * gets the run as the store shows it (it goes on in the background). A Temporal that cannot
   * be reached is ENGINE_UNAVAILABLE; a run whose workflow already closed is left as it is.
   */
  private async engine(run_id: string, call: () => Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const work = call();
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.settleMs);
    });
    try {
      await Promise.race([work, late]);
    } catch (e) {
      if (e instanceof WorkflowExecutionAlreadyStartedError) return;
      if (e instanceof WorkflowUpdateFailedError) {
        this.deps.onError?.(run_id, e);
        return;
      }
      throw new CountersignError(
        'ENGINE_UNAVAILABLE',
        `Temporal did not take ${run_id}: ${e instanceof Error ? e.message : String(e)}. The run is recorded; the same request (same idempotency key) or a restart of the server starts it.`,
        { workflow_id: run_id },
      );
    } finally {
      clearTimeout(timer);
      work.catch((e: unknown) => this.deps.onError?.(run_id, e));
    }
  }
}
