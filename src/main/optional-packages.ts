import { CountersignError } from '../core/errors.js';
import type * as Otel from '../adapters/telemetry/otel-telemetry.js';
import type * as Temporal from './temporal.js';
import type * as Worker from './worker.js';

/**
 * The Temporal SDK packages: optional peer dependencies (package.json), installed only by those
 * who run workflows on Temporal. The range matches package.json's peerDependencies (a test
 * checks it).
 */
export const TEMPORAL_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  '@temporalio/activity': '^1.24.0',
  '@temporalio/client': '^1.24.0',
  '@temporalio/common': '^1.24.0',
  '@temporalio/proto': '^1.24.0',
  '@temporalio/worker': '^1.24.0',
  '@temporalio/workflow': '^1.24.0',
});

/** The command that installs the Temporal packages beside countersign. */
export const TEMPORAL_INSTALL = `npm install ${Object.entries(TEMPORAL_PACKAGES)
  .map(([name, range]) => `${name}@${range}`)
  .join(' ')}`;

/** The Temporal runtime's client side (serve, mcp and one-shot commands on Temporal). */
export function loadTemporal(): Promise<typeof Temporal> {
  return import('./temporal.js').catch((e: unknown) => {
    throw missingTemporal(e, 'COUNTERSIGN_TEMPORAL_ADDRESS is set');
  });
}

/** The Temporal worker (`countersign worker`). */
export function loadWorker(): Promise<typeof Worker> {
  return import('./worker.js').catch((e: unknown) => {
    throw missingTemporal(e, '`countersign worker` runs workflows on Temporal');
  });
}

/**
 * A module that failed to load because a Temporal package is missing becomes DEPENDENCY_MISSING
 * naming the package and the install command; anything else is thrown as it was.
 */
export function missingTemporal(e: unknown, why: string): unknown {
  const name = missingPackageName(e);
  if (name === undefined || !name.startsWith('@temporalio/')) return e;
  return new CountersignError(
    'DEPENDENCY_MISSING',
    `The package ${name} is not installed, and ${why}. The Temporal packages are optional: install them beside countersign with\n  ${TEMPORAL_INSTALL}\nor unset COUNTERSIGN_TEMPORAL_ADDRESS to use the embedded runtime.`,
    { package: name, install: TEMPORAL_INSTALL },
  );
}

/**
 * The OpenTelemetry packages: optional peer dependencies, installed only by those who export
 * traces and metrics over OTLP/HTTP. The ranges match package.json's peerDependencies.
 */
export const OTEL_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  '@opentelemetry/api': '^1.9.0',
  '@opentelemetry/exporter-metrics-otlp-http': '>=0.212.0',
  '@opentelemetry/exporter-trace-otlp-http': '>=0.212.0',
  '@opentelemetry/resources': '^2.5.1',
  '@opentelemetry/sdk-metrics': '^2.5.1',
  '@opentelemetry/sdk-trace-base': '^2.5.1',
});

/** The command that installs the OpenTelemetry packages beside countersign. */
export const OTEL_INSTALL = `npm install ${Object.entries(OTEL_PACKAGES)
  .map(([name, range]) => `'${name}@${range}'`)
  .join(' ')}`;

/**
 * The OpenTelemetry adapter (OTEL_EXPORTER_OTLP_ENDPOINT or a per-signal endpoint is set).
 * `load` is the import itself, replaceable so a test can stand in for a missing package.
 */
export function loadOtel(
  load: () => Promise<typeof Otel> = () => import('../adapters/telemetry/otel-telemetry.js'),
): Promise<typeof Otel> {
  return load().catch((e: unknown) => {
    throw missingOtel(e);
  });
}

/** A missing OpenTelemetry package becomes DEPENDENCY_MISSING naming the install command. */
export function missingOtel(e: unknown): unknown {
  const name = missingPackageName(e);
  if (name === undefined || !(name in OTEL_PACKAGES)) return e;
  return new CountersignError(
    'DEPENDENCY_MISSING',
    `The package ${name} is not installed, and OTEL_EXPORTER_OTLP_ENDPOINT asks for OpenTelemetry export. The OpenTelemetry packages are optional: install them beside countersign with\n  ${OTEL_INSTALL}\nor unset the OTEL_EXPORTER_OTLP_* variables (or set OTEL_SDK_DISABLED=true).`,
    { package: name, install: OTEL_INSTALL },
  );
}

/** The package a failed `import()` could not find (ERR_MODULE_NOT_FOUND), if that is why. */
export function missingPackageName(e: unknown): string | undefined {
  if ((e as { code?: unknown } | null)?.code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  const message = e instanceof Error ? e.message : '';
  const m = /Cannot find (?:package|module) '((?:@[^/'\s]+\/)?[^/'\s]+)/.exec(message);
  return m?.[1];
}
