import type { Checkpoint } from '../../core/audit/checkpoint.js';
import type { CheckpointPublisher } from '../../core/ports/checkpoints.js';
import { postJson, shownUrl } from '../notify/signed-post.js';

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
    return shownUrl(this.url, 'the checkpoint webhook');
  }

  async publish(checkpoint: Checkpoint): Promise<void> {
    await postJson(this.url, JSON.stringify(checkpoint), {}, this.timeoutMs);
  }
}
