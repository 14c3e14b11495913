import type { DecisionDelivery, DecisionPoster } from '../../core/decision-deliveries.js';
import {
  DELIVERY_HEADER,
  TIMESTAMP_HEADER,
  SIGNATURE_HEADER,
  postJson,
  shownUrl,
  signBody,
} from './signed-post.js';

/**
 * POSTs each decision as JSON to COUNTERSIGN_DECISION_WEBHOOK_URL, signed with the shared
 * secret (signed-post.ts): `X-Countersign-Signature: v1=<hex>` over `${timestamp}.${body}`,
 * `X-Countersign-Timestamp` (Unix seconds), `X-Countersign-Delivery` (stable across retries),
 * `X-Countersign-Attempt`.
 */
export class DecisionWebhookPoster implements DecisionPoster {
  constructor(
    private readonly url: string,
    private readonly secret: string,
    private readonly timeoutMs = 10_000,
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  get name(): string {
    return shownUrl(this.url, 'the decision webhook');
  }

  async post(delivery: DecisionDelivery, attempt: number): Promise<void> {
    const body = JSON.stringify(delivery);
    const timestamp = this.nowSeconds();
    await postJson(
      this.url,
      body,
      {
        [SIGNATURE_HEADER]: signBody(this.secret, timestamp, body),
        [TIMESTAMP_HEADER]: String(timestamp),
        [DELIVERY_HEADER]: delivery.delivery_id,
        'x-countersign-attempt': String(attempt),
      },
      this.timeoutMs,
    );
  }
}
