import {
  type Attributes,
  type Context,
  type Span,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Telemetry, TelemetryAttributes } from '../../core/ports/telemetry.js';
import { AsyncLocalContextManager, formatTraceparent, parseTraceparent } from './trace-context.js';

export interface OtelOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Export spans (OTEL_EXPORTER_OTLP_ENDPOINT or …_TRACES_ENDPOINT is set). */
  readonly traces: boolean;
  /** Export metrics (OTEL_EXPORTER_OTLP_ENDPOINT or …_METRICS_ENDPOINT is set). */
  readonly metrics: boolean;
  /**
   * The waiting time, in seconds, of every pending approval, per tenant: read when the metric
   * reader collects (the pending-approvals gauge), never on the write path.
   */
  readonly pendingAges: () => Promise<ReadonlyArray<{ tenant: string; seconds: number }>>;
}

/** The age buckets of the pending-approvals gauge: upper bounds in seconds, then the rest. */
const AGE_BUCKETS: ReadonlyArray<readonly [string, number]> = [
  ['under_5m', 300],
  ['5m_to_1h', 3600],
  ['1h_to_24h', 86_400],
];
const OLDEST_BUCKET = 'over_24h';

/** The default interval between metric exports (OTEL_METRIC_EXPORT_INTERVAL overrides it). */
const DEFAULT_EXPORT_INTERVAL_MS = 60_000;

/**
 * Telemetry over OpenTelemetry, exported with OTLP/HTTP. The exporters read the standard
 * OTEL_EXPORTER_OTLP_* variables (endpoint, headers, timeout); the resource takes
 * OTEL_SERVICE_NAME (default "countersign") and OTEL_RESOURCE_ATTRIBUTES.
 */
export function openOtelTelemetry(options: OtelOptions): Telemetry {
  const { env } = options;
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': 'countersign' }))
    .merge(detectResources({ detectors: [envDetector] }));
  const contexts = new AsyncLocalContextManager();

  const tracerProvider = options.traces
    ? new BasicTracerProvider({
        resource,
        spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
      })
    : undefined;
  const tracer: Tracer | undefined = tracerProvider?.getTracer('countersign');

  const interval = positiveInt(env.OTEL_METRIC_EXPORT_INTERVAL) ?? DEFAULT_EXPORT_INTERVAL_MS;
  const meterProvider = options.metrics
    ? new MeterProvider({
        resource,
        readers: [
          new PeriodicExportingMetricReader({
            exporter: new OTLPMetricExporter(),
            exportIntervalMillis: interval,
            exportTimeoutMillis: Math.min(interval, 30_000),
          }),
        ],
      })
    : undefined;
  const meter = meterProvider?.getMeter('countersign');
  const policyDecisions = meter?.createCounter('countersign.policy.decisions', {
    description: 'Policy decisions, by effect (allow, deny, needs_review)',
  });
  const executions = meter?.createCounter('countersign.executions', {
    description: 'Tool executions, by outcome (succeeded, failed)',
  });
  const timeToDecision = meter?.createHistogram('countersign.time_to_decision', {
    description: 'Seconds from a proposal to a decision on it (the decision’s own timestamp)',
    unit: 's',
  });
  const pending = meter?.createObservableGauge('countersign.approvals.pending', {
    description: 'Pending approvals, by tenant and age bucket',
  });
  pending?.addCallback(async (result) => {
    const counts = new Map<string, { tenant: string; bucket: string; n: number }>();
    for (const { tenant, seconds } of await options.pendingAges()) {
      const bucket = AGE_BUCKETS.find(([, max]) => seconds < max)?.[0] ?? OLDEST_BUCKET;
      const key = `${tenant}\n${bucket}`;
      const entry = counts.get(key) ?? { tenant, bucket, n: 0 };
      entry.n += 1;
      counts.set(key, entry);
    }
    for (const { tenant, bucket, n } of counts.values())
      result.observe(n, { 'countersign.tenant': tenant, 'countersign.age_bucket': bucket });
  });

  const activeSpan = (): Span | undefined => trace.getSpan(contexts.active());

  return {
    enabled: true,
    span<T>(
      name: string,
      attributes: TelemetryAttributes,
      work: () => Promise<T>,
      traceparent?: string,
    ): Promise<T> {
      if (!tracer) return work();
      const remote = parseTraceparent(traceparent);
      const parent: Context = remote
        ? trace.setSpanContext(contexts.active(), remote)
        : contexts.active();
      const span = tracer.startSpan(name, { attributes: defined(attributes) }, parent);
      return contexts.with(trace.setSpan(parent, span), async () => {
        try {
          return await work();
        } catch (e) {
          // The stable code only: an error's message may quote what the call was about.
          const code = errorCode(e);
          span.setAttribute('countersign.error_code', code);
          span.setStatus({ code: SpanStatusCode.ERROR, message: code });
          throw e;
        } finally {
          span.end();
        }
      });
    },
    annotate(attributes) {
      activeSpan()?.setAttributes(defined(attributes));
    },
    traceHeaders() {
      const span = activeSpan();
      if (!span) return {};
      const context = span.spanContext();
      const headers: Record<string, string> = { traceparent: formatTraceparent(context) };
      const state = context.traceState?.serialize();
      if (state) headers.tracestate = state;
      return headers;
    },
    policyDecision(effect, attributes) {
      policyDecisions?.add(1, { ...defined(attributes), 'countersign.effect': effect });
    },
    execution(outcome, attributes) {
      executions?.add(1, { ...defined(attributes), 'countersign.outcome': outcome });
    },
    timeToDecision(seconds, attributes) {
      if (Number.isFinite(seconds) && seconds >= 0)
        timeToDecision?.record(seconds, defined(attributes));
    },
    async shutdown() {
      await Promise.allSettled([tracerProvider?.shutdown(), meterProvider?.shutdown()]);
      contexts.disable();
    },
  };
}

function defined(attributes: TelemetryAttributes): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(attributes)) if (v !== undefined) out[k] = v;
  return out;
}

function errorCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z_]{1,64}$/.test(code) ? code : 'INTERNAL';
}

function positiveInt(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  const n = Number(value);
  return n > 0 ? n : undefined;
}
