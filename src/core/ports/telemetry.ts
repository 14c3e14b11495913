/**
 * Traces and metrics, as the core, the engine and the doors see them: no vendor type. The
 * OpenTelemetry adapter (src/adapters/telemetry) implements it; the composition root installs
 * it only when OTLP export is configured. Until then every call site sees `enabled: false` and
 * runs its work directly: no span object, no closure, no await is added to the write path.
 *
 * Attributes name what a call is about (tenant, workflow, proposal, decision, policy version,
 * operation, tool), never its parameters: those may hold what the redaction rules hide.
 *
 * @example
 * const t = telemetry();
 * return t.enabled ? t.span('countersign.run', { 'countersign.workflow_id': id }, work) : work();
 */
export type TelemetryAttributes = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Telemetry {
  /** False for the no-op: call sites skip building attributes and call their work directly. */
  readonly enabled: boolean;
  /**
   * Runs `work` inside a new span, a child of the current one, or of `traceparent` (a W3C
   * header a caller sent; an invalid one is ignored). The span ends when `work` settles and
   * records a thrown error's code, never its details.
   */
  span<T>(
    name: string,
    attributes: TelemetryAttributes,
    work: () => Promise<T>,
    traceparent?: string,
  ): Promise<T>;
  /** Adds attributes to the current span, if any (a policy decision made inside it). */
  annotate(attributes: TelemetryAttributes): void;
  /** The W3C trace-context headers (`traceparent`, `tracestate`) of the current span; `{}` when none. */
  traceHeaders(): Readonly<Record<string, string>>;
  /** Counts a policy decision by its effect (allow, deny, needs_review). */
  policyDecision(effect: 'allow' | 'deny' | 'needs_review', attributes: TelemetryAttributes): void;
  /** Counts a tool execution by its outcome (succeeded, failed). */
  execution(outcome: 'succeeded' | 'failed', attributes: TelemetryAttributes): void;
  /** Records seconds from a proposal to a decision on it. */
  timeToDecision(seconds: number, attributes: TelemetryAttributes): void;
  /** Sends what is buffered and stops exporting. */
  shutdown(): Promise<void>;
}

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

/** Telemetry off: every method does nothing. */
export const noopTelemetry: Telemetry = Object.freeze({
  enabled: false,
  span: <T>(_name: string, _attributes: TelemetryAttributes, work: () => Promise<T>) => work(),
  annotate: () => undefined,
  traceHeaders: () => EMPTY,
  policyDecision: () => undefined,
  execution: () => undefined,
  timeToDecision: () => undefined,
  shutdown: () => Promise.resolve(),
});

let installed: Telemetry = noopTelemetry;

/**
 * The process's telemetry: the no-op until a composition root installs another. One per
 * process, like the OpenTelemetry API's own global providers.
 */
export function telemetry(): Telemetry {
  return installed;
}

/** Installs `t` (the composition root, when OTLP export is configured); returns the previous one. */
export function installTelemetry(t: Telemetry): Telemetry {
  const previous = installed;
  installed = t;
  return previous;
}
