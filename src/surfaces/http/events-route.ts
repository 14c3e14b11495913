import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { assertInScope } from '../../core/authority.js';
import { type CallContext, tokenContext } from '../../core/context.js';
import { CountersignError } from '../../core/errors.js';
import {
  type FeedFilter,
  FeedAccess,
  matchesFilter,
  toFeedEvent,
} from '../../core/event-access.js';
import { EventFeed } from '../../core/events.js';
import { proposalId, workflowId } from '../../core/schemas.js';
import { approvalId } from '../../core/workflow-schemas.js';
import type { Services } from '../services.js';
import { authenticate } from './app.js';
import { PURPOSE_MAX } from './request-bounds.js';

/**
 * `GET /events`: the tenant's ledger as a server-sent event stream, one `event:` per ledger
 * event with the ledger seq as its `id:`. A client that reconnects with `Last-Event-ID` (as
 * EventSource does by itself) or `?after=<seq>` gets every event after it, across server
 * restarts: the ledger is the durable record and the stream only reads it (events.ts).
 *
 * - Auth: `Authorization: Bearer <token>` as every route (the console streams with fetch, so
 *   the token never goes into a URL). A scoped token needs `wait_for_decision` in its scope.
 *   Who sees which events is event-access.ts's rule (an agent: its own work only).
 * - Filters: `workflow_id`, `proposal_id`, `approval_id`, `inbox=true` (approval requests,
 *   decisions, cancelled workflows). Without `after` nor `Last-Event-ID` the stream starts at
 *   the current head (new events only).
 * - A comment line every `heartbeatMs` keeps proxies from closing an idle stream; each one also
 *   checks the token again, so a revoked or expired token's stream ends.
 * - At most `maxStreamsPerToken` open streams per token: one more is a 429 RATE_LIMITED.
 */

export interface EventsRouteOptions {
  readonly heartbeatMs?: number;
  readonly maxStreamsPerToken?: number;
  /** The feed to read (default: the one of the kernel's store). */
  readonly feed?: EventFeed;
}

export const DEFAULT_MAX_STREAMS_PER_TOKEN = 8;
const DEFAULT_HEARTBEAT_MS = 15_000;
/** How long EventSource waits before reconnecting after the stream drops. */
const RETRY_MS = 2_000;

/** Unsent bytes a stream may hold for a slow client before it is closed. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

const SEQ = /^(0|[1-9][0-9]{0,15})$/;

export function eventsRoute(
  services: Services,
  options: EventsRouteOptions = {},
): (app: FastifyInstance) => void {
  const kernel = services.kernel;
  const feed = options.feed ?? EventFeed.of(kernel.r.store);
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const cap = options.maxStreamsPerToken ?? DEFAULT_MAX_STREAMS_PER_TOKEN;
  const perToken = new Map<string, number>();
  const open = new Set<() => void>();

  return (app) => {
    // Open streams never end by themselves: end them before the server waits for its requests.
    // Long-polls (wait_for_decision) on the same feed answer as timed out, to be asked again.
    app.addHook('preClose', (done) => {
      for (const end of [...open]) end();
      feed.close();
      done();
    });

    app.get('/events', async (req: FastifyRequest, reply: FastifyReply) => {
      const header = req.headers.authorization;
      const auth = await authenticate(kernel, header);
      const ctx: CallContext = tokenContext(auth, purposeOf(req.headers['x-purpose']));
      assertInScope(ctx, 'wait_for_decision');
      const query = (req.query ?? {}) as Record<string, unknown>;
      const filter = filterOf(query);
      const access = await FeedAccess.open(kernel.r, ctx, filter);
      const after =
        startOf(req.headers['last-event-id'], query.after) ?? (await feed.head(ctx.tenant_id));

      const token_id = auth.token_id;
      const count = perToken.get(token_id) ?? 0;
      if (count >= cap)
        throw new CountersignError(
          'RATE_LIMITED',
          `This token already has ${count} open event streams (at most ${cap}); close one first.`,
          { limit: cap },
        );
      perToken.set(token_id, count + 1);

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-content-type-options': 'nosniff',
        'x-accel-buffering': 'no',
      });
      res.write(`retry: ${RETRY_MS}\n: streaming events after seq ${after}\n\n`);

      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        open.delete(end);
        clearInterval(heartbeat);
        sub.close();
        const left = (perToken.get(token_id) ?? 1) - 1;
        if (left > 0) perToken.set(token_id, left);
        else perToken.delete(token_id);
        res.end();
      };
      open.add(end);
      const sub = feed.subscribe(
        ctx.tenant_id,
        after,
        async (events) => {
          if (ended) return;
          const shown = await access.visible(events.filter((e) => matchesFilter(e, filter)));
          let chunk = '';
          for (const e of shown)
            chunk += `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(toFeedEvent(e))}\n\n`;
          // The last seq read moves on even when nothing was shown, so a resume skips it too.
          const last = events[events.length - 1]!.seq;
          if (shown.at(-1)?.seq !== last) chunk += `id: ${last}\n\n`;
          if (ended) return;
          res.write(chunk);
          // A client that stopped reading is dropped rather than buffered without end; it
          // resumes from its last event ID when it reconnects.
          if (res.writableLength > MAX_BUFFERED_BYTES) end();
        },
        end,
      );
      const heartbeat = setInterval(() => {
        res.write(': heartbeat\n\n');
        kernel.authenticate(header!.replace(/^Bearer[ \t]+/i, '').trim()).catch(end);
      }, heartbeatMs);
      req.raw.on('close', end);
      res.on('error', end);
    });
  };
}

function purposeOf(header: string | string[] | undefined): string {
  const raw = (Array.isArray(header) ? header.join(', ') : (header ?? '')).trim();
  return raw === '' ? 'api:events' : raw.slice(0, PURPOSE_MAX);
}

function invalid(path: string, message: string): CountersignError {
  return new CountersignError('VALIDATION_FAILED', `${path} ${message}.`, {
    issues: [{ path, message }],
  });
}

const FILTER_KEYS = new Set(['workflow_id', 'proposal_id', 'approval_id', 'inbox', 'after']);

function filterOf(query: Record<string, unknown>): FeedFilter {
  for (const [k, v] of Object.entries(query)) {
    if (!FILTER_KEYS.has(k)) throw invalid(k, 'is not a filter of /events');
    if (typeof v !== 'string') throw invalid(k, 'must be given once');
  }
  const pick = (name: string, schema: { safeParse(v: unknown): { success: boolean } }) => {
    const v = query[name] as string | undefined;
    if (v === undefined) return undefined;
    if (!schema.safeParse(v).success) throw invalid(name, 'is not a valid ID');
    return v;
  };
  const inbox = query.inbox as string | undefined;
  if (inbox !== undefined && inbox !== 'true' && inbox !== 'false')
    throw invalid('inbox', 'must be true or false');
  return {
    workflow_id: pick('workflow_id', workflowId),
    proposal_id: pick('proposal_id', proposalId),
    approval_id: pick('approval_id', approvalId),
    inbox: inbox === 'true',
  };
}

/** The seq to resume after: the Last-Event-ID header wins over `?after=`. */
function startOf(lastEventId: string | string[] | undefined, after: unknown): number | undefined {
  const header = Array.isArray(lastEventId) ? lastEventId[0] : lastEventId;
  const text = header !== undefined && header.trim() !== '' ? header.trim() : after;
  if (text === undefined) return undefined;
  if (typeof text !== 'string' || !SEQ.test(text))
    throw invalid(
      header !== undefined ? 'Last-Event-ID' : 'after',
      'must be a ledger seq (a whole number)',
    );
  return Number(text);
}
