/**
 * Vitest globalSetup: provides `temporalAddress`, the host:port of a real Temporal dev server.
 *
 * - With COUNTERSIGN_TEST_TEMPORAL_ADDRESS set, that server is used (after a reachability check).
 * - Otherwise `temporal server start-dev` (the Temporal CLI) runs on free ports of 127.0.0.1,
 *   in memory and headless, and is stopped on teardown.
 * - Without the Temporal CLI this throws: the Temporal tests never skip silently. `.ci/run`
 *   installs it (`go install`); see the README for other ways.
 */
import type { TestProject } from 'vitest/node';
import { startTemporalDevServer, waitReachable } from './temporal-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.COUNTERSIGN_TEST_TEMPORAL_ADDRESS;
  if (external) {
    await waitReachable(external, 10_000);
    project.provide('temporalAddress', external);
    return async () => {};
  }
  const server = await startTemporalDevServer();
  project.provide('temporalAddress', server.address);
  return server.stop;
}
