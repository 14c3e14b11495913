import type { PolicyEngine } from '../core/ports/policy.js';
import type { Store, StoreTx } from '../core/ports/store.js';
import type { Telemetry } from '../core/ports/telemetry.js';
import type { ToolDefinition } from '../core/ports/tools.js';
import type { Activities } from '../engine/activities.js';
import { loadOtel } from './optional-packages.js';

/** Which signals the OTEL_* variables ask to export over OTLP/HTTP; none: telemetry stays off. */
export function otelSignals(env: NodeJS.ProcessEnv): { traces: boolean; metrics: boolean } {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true')
    return { traces: false, metrics: false };
  const set = (name: string) => (env[name] ?? '').trim() !== '';
  const any = set('OTEL_EXPORTER_OTLP_ENDPOINT');
  return {
    traces: any || set('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'),
    metrics: any || set('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'),
  };
}

/**
 * The OpenTelemetry adapter when the OTEL_* variables ask for export (its packages are loaded
 * only then), or undefined. `store` feeds the pending-approvals gauge when metrics are read.
 */
export async function openTelemetry(
  env: NodeJS.ProcessEnv,
  store: () => Store,
  load?: Parameters<typeof loadOtel>[0],
): Promise<Telemetry | undefined> {
  const signals = otelSignals(env);
  if (!signals.traces && !signals.metrics) return undefined;
  const { openOtelTelemetry } = await loadOtel(load);
  return openOtelTelemetry({ env, ...signals, pendingAges: () => pendingAges(store()) });
}

/** How long each pending proposal has waited, across tenants (read on metric collection). */
async function pendingAges(store: Store): Promise<{ tenant: string; seconds: number }[]> {
  const now = Date.now();
  return store.read(async (tx) => {
    const ages: { tenant: string; seconds: number }[] = [];
    for (const tenant of await tx.listLedgerTenants()) {
      const pending = await tx.listProposals(tenant, { status: 'pending', limit: 10_000 });
      for (const p of pending)
        ages.push({ tenant, seconds: Math.max(0, (now - Date.parse(p.created_at)) / 1000) });
    }
    return ages;
  });
}

// ---- decorators: installed only when telemetry is on, so the no-op path is untouched ------

/** Counts every policy decision by effect and marks the current span with the policy version. */
export function observedPolicy(policy: PolicyEngine, t: Telemetry): PolicyEngine {
  return {
    get version() {
      return policy.version;
    },
    decide(request) {
      const d = policy.decide(request);
      const effect = d.effect === 'review' ? 'needs_review' : d.effect;
      t.policyDecision(effect, { 'countersign.action': request.action });
      t.annotate({
        'countersign.policy_version': d.policy_version,
        'countersign.policy_effect': effect,
      });
      return d;
    },
  };
}

/** A span per tool call (plan or apply) and an execution count by outcome; never the params. */
export function observedTool(tool: ToolDefinition, t: Telemetry): ToolDefinition {
  const attrs = { 'countersign.tool': tool.name };
  return {
    ...tool,
    validate: (params) => tool.validate(params),
    describe: tool.describe && ((params) => tool.describe!(params)),
    plan: (params, ctx) =>
      t.span(`countersign.tool.plan ${tool.name}`, attrs, () => tool.plan(params, ctx)),
    apply: (params, ctx) =>
      t.span(`countersign.tool ${tool.name}`, attrs, async () => {
        try {
          const result = await tool.apply(params, ctx);
          t.execution('succeeded', attrs);
          return result;
        } catch (e) {
          t.execution('failed', attrs);
          throw e;
        }
      }),
  };
}

/**
 * The store, recording time to decision: each decision inserted is measured from its
 * proposal's creation to the decision's own timestamp, and recorded once the transaction
 * commits (a rolled-back decision is not counted).
 */
export function observedStore<S extends Store>(store: S, t: Telemetry): S {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'transaction') return Reflect.get(target, prop, receiver) as unknown;
      return async <T>(work: (tx: StoreTx) => Promise<T>): Promise<T> => {
        const measured: { seconds: number; tenant: string; decision: string }[] = [];
        const result = await target.transaction((tx) => work(measuringTx(tx, measured)));
        for (const m of measured)
          t.timeToDecision(m.seconds, {
            'countersign.tenant': m.tenant,
            'countersign.decision': m.decision,
          });
        return result;
      };
    },
  });
}

function measuringTx(
  tx: StoreTx,
  measured: { seconds: number; tenant: string; decision: string }[],
): StoreTx {
  return new Proxy(tx, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'insertDecision')
        return typeof value === 'function'
          ? ((value as (...a: unknown[]) => unknown).bind(target) as unknown)
          : value;
      return async (d: Parameters<StoreTx['insertDecision']>[0]) => {
        await target.insertDecision(d);
        const proposal = await target.getProposal(d.tenant_id, d.proposal_id);
        if (proposal)
          measured.push({
            seconds: (Date.parse(d.created_at) - Date.parse(proposal.created_at)) / 1000,
            tenant: d.tenant_id,
            decision: d.decision,
          });
      };
    },
  });
}

/** A span per workflow step (an agent's model call is the `agent` step), child of the run's. */
export function observedActivities(activities: Activities, t: Telemetry): Activities {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities) as [
    string,
    (ref: Parameters<Activities['agent']>[0], seq: number, args: unknown) => Promise<unknown>,
  ][]) {
    const span = name === 'agent' ? 'countersign.agent' : `countersign.step ${name}`;
    wrapped[name] = (ref: Parameters<Activities['agent']>[0], seq: number, args: unknown) =>
      t.span(
        span,
        {
          'countersign.tenant': ref.tenant_id,
          'countersign.workflow_id': ref.run_id,
          'countersign.step': name,
          'countersign.seq': seq,
        },
        () => fn(ref, seq, args),
      );
  }
  return wrapped as Activities;
}
