/**
 * Slack's interactivity requests: `POST /integrations/slack/actions`, where Slack sends a
 * button press on an approval request's message (Block Kit `block_actions`, form-encoded with
 * a `payload` JSON field).
 *
 * Design decisions:
 * - Slack is the only caller: every request must carry Slack's signature,
 *   `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{raw body}">` with the app's
 *   signing secret, compared in constant time, and `X-Slack-Request-Timestamp` within five
 *   minutes of the server's clock. A signature seen before (within that window) is a replay.
 *   Each refusal is a 401 UNAUTHENTICATED with a `reason`, and nothing is decided.
 * - The raw body is what was signed, so this route reads it as text (its own parser, in its
 *   own plugin scope) and parses the form only after the signature checks out.
 * - Who decides comes only from the verified payload's `user.id` through the operator's map
 *   (COUNTERSIGN_SLACK_USERS): an unmapped user is told so privately, and nothing is decided.
 *   The mapped actor decides through the same kernel operation as the HTTP and MCP doors, so
 *   every rule holds (separation of duties, roles, quorum), and the button's hash must be the
 *   current version's (APPROVAL_HASH_MISMATCH otherwise).
 * - A workflow gate's buttons carry its approval ID and gate hash: the press goes through the
 *   workflow engine's decide (decide_approval's path: requester, roles, quorum; the waiting run
 *   goes on), bound to the gate hash shown, checked in the decision's transaction.
 * - An authentic press the kernel refuses still answers 200 (Slack shows an error for
 *   anything else); the refusal is shown on the message and to the presser.
 * - The route is no operation of the API (no bearer token), so it is not in /openapi.json.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { CallContext } from '../../core/context.js';
import { CountersignError } from '../../core/errors.js';
import type { Kernel } from '../../core/kernel.js';
import type { DecideApprovalInput } from '../../core/workflow-schemas.js';
import { toHttpError } from './errors.js';

export const SLACK_ACTIONS_PATH = '/integrations/slack/actions';

/** How far a request's timestamp may be from the server's clock (Slack's advice: 5 minutes). */
export const SLACK_WINDOW_SECONDS = 300;

const BODY_LIMIT = 64 * 1024;
const JSON_TYPE = 'application/json; charset=utf-8';

/** The decisions the message's buttons stand for, by action ID (slack-blocks.ts). */
const DECISIONS: Readonly<Record<string, 'approve' | 'reject' | 'request_more_info'>> = {
  'countersign.approve': 'approve',
  'countersign.reject': 'reject',
  'countersign.request_info': 'request_more_info',
};

export type SlackRefusal = SlackRefusalAt &
  ({ readonly proposal_id: string } | { readonly approval_id: string });

interface SlackRefusalAt {
  readonly channel: string;
  readonly ts: string;
  readonly note: {
    readonly slack_user: string;
    readonly actor_id: string | null;
    readonly decision: string;
    readonly code: string;
    readonly message: string;
  };
}

export interface SlackDoorOptions {
  readonly kernel: Kernel;
  /** The tenant decisions are made in (the server's). */
  readonly tenant: string;
  readonly signingSecret: string;
  /** Slack user ID → actor ID, as the operator mapped them. */
  readonly users: Readonly<Record<string, string>>;
  /** Tells the presser (and the message) why nothing was recorded. */
  readonly refused: (r: SlackRefusal) => Promise<void>;
  /** Decides a workflow gate as decide_approval does (absent: gate buttons are refused). */
  readonly decideGate?: (
    ctx: CallContext,
    input: DecideApprovalInput,
    seen: { readonly hash: string },
  ) => Promise<unknown>;
  readonly log?: (line: string) => void;
  /** Milliseconds since the epoch (tests move it). */
  readonly now?: () => number;
}

const payloadSchema = z.object({
  type: z.string(),
  user: z.object({ id: z.string().min(1).max(64) }),
  channel: z.object({ id: z.string().min(1).max(64) }).optional(),
  container: z.object({ message_ts: z.string().max(64).optional() }).optional(),
  message: z.object({ ts: z.string().max(64) }).optional(),
  actions: z
    .array(z.object({ action_id: z.string().max(255), value: z.string().max(2000).optional() }))
    .optional(),
});

const hashSchema = z.string().regex(/^[0-9a-f]{64}$/);
const valueSchema = z.union([
  z.strictObject({ proposal_id: z.string().min(1).max(200), hash: hashSchema }),
  z.strictObject({ approval_id: z.string().min(1).max(200), hash: hashSchema }),
]);

/** Registers the route, in a plugin scope of its own (its body parser is the raw text). */
export function slackRoute(o: SlackDoorOptions): (app: FastifyInstance) => void {
  const now = o.now ?? Date.now;
  const log = o.log ?? (() => undefined);
  const users = new Map(Object.entries(o.users));
  /** Signatures seen, with when they may be forgotten (when their timestamp is out of the window). */
  const seen = new Map<string, number>();

  const refuse = (reply: FastifyReply, reason: string, message: string) => {
    const e = toHttpError(new CountersignError('UNAUTHENTICATED', message, { reason }));
    void reply.code(e.status).type(JSON_TYPE).send(JSON.stringify(e.body));
  };
  const invalid = (reply: FastifyReply, message: string) => {
    const e = toHttpError(
      new CountersignError('VALIDATION_FAILED', message, {
        issues: [{ path: 'payload', message }],
      }),
    );
    void reply.code(e.status).type(JSON_TYPE).send(JSON.stringify(e.body));
  };

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const nowMs = now();
    for (const [sig, until] of seen) if (until < nowMs) seen.delete(sig);
    const timestamp = String(req.headers['x-slack-request-timestamp'] ?? '');
    const signature = String(req.headers['x-slack-signature'] ?? '');
    const raw = typeof req.body === 'string' ? req.body : undefined;
    if (raw === undefined || !/^[0-9]{1,12}$/.test(timestamp) || !signature.startsWith('v0='))
      return refuse(reply, 'unsigned', 'The request is not signed by Slack.');
    const seconds = Number(timestamp);
    if (Math.abs(nowMs / 1000 - seconds) > SLACK_WINDOW_SECONDS)
      return refuse(
        reply,
        'stale_timestamp',
        "The request's timestamp is more than five minutes from the server's clock.",
      );
    const expected = Buffer.from(
      `v0=${createHmac('sha256', o.signingSecret).update(`v0:${timestamp}:${raw}`).digest('hex')}`,
    );
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected))
      return refuse(reply, 'bad_signature', "The request's Slack signature does not match.");
    if (seen.has(signature))
      return refuse(reply, 'replayed', 'This request was received before; a replay is refused.');
    seen.set(signature, (seconds + SLACK_WINDOW_SECONDS) * 1000);

    let payload: z.infer<typeof payloadSchema>;
    try {
      const parsed = payloadSchema.safeParse(
        JSON.parse(new URLSearchParams(raw).get('payload') ?? ''),
      );
      if (!parsed.success) return invalid(reply, 'The payload is not a Slack interaction.');
      payload = parsed.data;
    } catch {
      return invalid(reply, 'The payload field is not JSON.');
    }
    const action = payload.actions?.[0];
    const decision = action ? DECISIONS[action.action_id] : undefined;
    // Other interactions (another app's buttons, shortcuts) are not ours: acknowledged, ignored.
    if (payload.type !== 'block_actions' || !action || decision === undefined)
      return reply.code(200).send();
    let value: z.infer<typeof valueSchema>;
    try {
      const parsed = valueSchema.safeParse(JSON.parse(action.value ?? ''));
      if (!parsed.success) return invalid(reply, "The button's value is not a Countersign call.");
      value = parsed.data;
    } catch {
      return invalid(reply, "The button's value is not JSON.");
    }
    const channel = payload.channel?.id ?? '';
    const ts = payload.container?.message_ts ?? payload.message?.ts ?? '';
    const slack_user = payload.user.id;
    const tell = (actor_id: string | null, e: CountersignError) => {
      const subject =
        'approval_id' in value
          ? { approval_id: value.approval_id }
          : { proposal_id: value.proposal_id };
      o.refused({
        ...subject,
        channel,
        ts,
        note: { slack_user, actor_id, decision, code: e.code, message: e.message },
      }).catch((err: unknown) =>
        log(
          `warning: Slack: could not show a refusal to ${slack_user}: ${err instanceof Error ? err.message : String(err)}`,
        ),
      );
    };

    const actor_id = users.has(slack_user) ? users.get(slack_user)! : undefined;
    if (actor_id === undefined) {
      tell(
        null,
        new CountersignError(
          'POLICY_DENIED',
          `Slack user ${slack_user} is not mapped to a Countersign actor; ask the operator to add it to COUNTERSIGN_SLACK_USERS.`,
        ),
      );
      return reply.code(200).send();
    }
    const ctx: CallContext = {
      tenant_id: o.tenant,
      caller: { kind: 'actor', actor_id },
      purpose: `Slack: ${slack_user} pressed ${action.action_id}`,
    };
    try {
      if ('approval_id' in value) {
        if (!o.decideGate)
          throw new CountersignError('NOT_FOUND', 'Workflow gates are not decided in Slack here.');
        await o.decideGate(
          ctx,
          { approval_id: value.approval_id, reviewer_id: actor_id, decision },
          { hash: value.hash },
        );
      } else
        await o.kernel.reviewAction(
          ctx,
          { proposal_id: value.proposal_id, reviewer_id: actor_id, decision },
          { hash: value.hash },
        );
    } catch (e) {
      if (!(e instanceof CountersignError) || e.code === 'INTERNAL') throw e;
      tell(actor_id, e);
    }
    return reply.code(200).send();
  };

  return (app) => {
    void app.register((scope, _opts, done) => {
      scope.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: BODY_LIMIT },
        (_req, body, next) => next(null, body),
      );
      scope.post(SLACK_ACTIONS_PATH, { bodyLimit: BODY_LIMIT }, handler);
      done();
    });
  };
}
