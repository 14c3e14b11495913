import { CountersignError } from '../core/errors.js';
import type * as Otel from '../adapters/telemetry/otel-telemetry.js';
import type * as Slack from './slack.js';
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
  return missingOptional(e, {
    packages: TEMPORAL_PACKAGES,
    what: 'The Temporal packages are optional',
    why,
    otherwise: 'or unset COUNTERSIGN_TEMPORAL_ADDRESS to use the embedded runtime.',
  });
}

/** Slack's Web API client: an optional peer dependency, for Slack approvals only. */
export const SLACK_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  '@slack/web-api': '^8.2.0',
});

/** Slack approvals (`serve` with COUNTERSIGN_SLACK_BOT_TOKEN set). */
export function loadSlack(): Promise<typeof Slack> {
  return import('./slack.js').catch((e: unknown) => {
    throw missingSlack(e);
  });
}

/** A failed load of Slack's client as DEPENDENCY_MISSING with its install command. */
export function missingSlack(e: unknown): unknown {
  return missingOptional(e, {
    packages: SLACK_PACKAGES,
    what: "Slack's Web API client is optional",
    why: 'COUNTERSIGN_SLACK_BOT_TOKEN is set',
    otherwise: 'or unset COUNTERSIGN_SLACK_BOT_TOKEN to run without Slack approvals.',
  });
}

/**
 * A module that failed to load because one of `packages` (or another of their scope) is missing becomes
 * DEPENDENCY_MISSING naming the package and the command installing them all; anything else is
 * thrown as it was.
 */
function missingOptional(
  e: unknown,
  o: {
    readonly packages: Readonly<Record<string, string>>;
    readonly what: string;
    readonly why: string;
    readonly otherwise: string;
  },
): unknown {
  const name = missingPackageName(e);
  // A scope's other packages (@temporalio/core-bridge, @slack/types) come with them.
  const scopes = Object.keys(o.packages).map((p) => p.slice(0, p.indexOf('/') + 1));
  if (name === undefined || !scopes.some((scope) => scope !== '' && name.startsWith(scope)))
    return e;
  const install = installCommand(o.packages);
  return new CountersignError(
    'DEPENDENCY_MISSING',
    `The package ${name} is not installed, and ${o.why}. ${o.what}: install ${Object.keys(o.packages).length > 1 ? 'them' : 'it'} beside countersign with\n  ${install}\n${o.otherwise}`,
    { package: name, install },
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
export const OTEL_INSTALL = installCommand(OTEL_PACKAGES);

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
  return missingOptional(e, {
    packages: OTEL_PACKAGES,
    what: 'The OpenTelemetry packages are optional',
    why: 'OTEL_EXPORTER_OTLP_ENDPOINT asks for OpenTelemetry export',
    otherwise: 'or unset the OTEL_EXPORTER_OTLP_* variables (or set OTEL_SDK_DISABLED=true).',
  });
}

/** `npm install` of `packages` at their ranges, quoted where a shell would read the range. */
function installCommand(packages: Readonly<Record<string, string>>): string {
  return `npm install ${Object.entries(packages)
    .map(([name, range]) => (/[<>|&\s*]/.test(range) ? `'${name}@${range}'` : `${name}@${range}`))
    .join(' ')}`;
}

/** The package a failed `import()` could not find (ERR_MODULE_NOT_FOUND), if that is why. */
export function missingPackageName(e: unknown): string | undefined {
  if ((e as { code?: unknown } | null)?.code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  const message = e instanceof Error ? e.message : '';
  const m = /Cannot find (?:package|module) '((?:@[^/'\s]+\/)?[^/'\s]+)/.exec(message);
  return m?.[1];
}
