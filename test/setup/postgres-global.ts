/**
 * Vitest globalSetup: provides `pgUrl`, the URL of a real PostgreSQL database.
 *
 * - With COUNTERSIGN_TEST_DATABASE_URL set, that server is used (after a reachability check).
 * - Otherwise a throwaway server is initdb'd into a fresh temp dir, started on a free port on
 *   127.0.0.1 (trust auth, local + 127.0.0.1 only, fsync off) and removed again on teardown.
 *   As root, every PostgreSQL binary runs as the `postgres` system user via runuser.
 * - Without PostgreSQL installed this throws: the store tests never skip silently.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startThrowawayServer } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.COUNTERSIGN_TEST_DATABASE_URL;
  if (external) {
    await checkReachable(external);
    project.provide('pgUrl', external);
    return async () => {};
  }
  const server = await startThrowawayServer();
  project.provide('pgUrl', server.url);
  return server.stop;
}

async function checkReachable(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw new Error(
      `COUNTERSIGN_TEST_DATABASE_URL is set but the database is not reachable: ${(err as Error).message}`,
      { cause: err },
    );
  } finally {
    await client.end().catch(() => {});
  }
}
