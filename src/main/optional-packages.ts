import { CountersignError } from '../core/errors.js';
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

/** The package a failed `import()` could not find (ERR_MODULE_NOT_FOUND), if that is why. */
export function missingPackageName(e: unknown): string | undefined {
  if ((e as { code?: unknown } | null)?.code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  const message = e instanceof Error ? e.message : '';
  const m = /Cannot find (?:package|module) '((?:@[^/'\s]+\/)?[^/'\s]+)/.exec(message);
  return m?.[1];
}
