/**
 * The baseline of the Temporal benchmark: a workflow that runs `n` no-op activities in a row,
 * i.e. Temporal's own per-activity cost on this server and worker, with nothing of ours in it.
 */
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<null> }>({ startToCloseTimeout: '30s' });

export async function bareActivities(n: number): Promise<number> {
  for (let i = 0; i < n; i++) await noop();
  return n;
}
