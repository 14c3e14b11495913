import type { Checkpoint } from '../../core/audit/checkpoint.js';
import type { CheckpointPublisher } from '../../core/ports/checkpoints.js';

/**
 * POSTs each checkpoint as JSON to a URL (a witness, a log collector, another team's inbox):
 * a copy the database writer never held. A non-2xx answer or a timeout is an error the
 * checkpointer reports and moves past.
 */
export class WebhookCheckpointPublisher implements CheckpointPublisher {
  constructor(
    private readonly url: string,
    private readonly timeoutMs = 10_000,
  ) {}

  get name(): string {
    // The URL may carry a secret in its query; messages show where, not how.
    try {
      const u = new URL(this.url);
      return `${u.origin}${u.pathname}`;
    } catch {
      return 'the checkpoint webhook';
    }
  }

  async publish(checkpoint: Checkpoint): Promise<void> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(checkpoint),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    await res.body?.cancel();
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  }
}
