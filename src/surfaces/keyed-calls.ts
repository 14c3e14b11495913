import { canonicalJson, sha256Hex } from '../core/canonical.js';
import type { CallContext } from '../core/context.js';
import {
  CountersignError,
  ERROR_CODES,
  type ErrorCode,
  type ErrorDetails,
  isCountersignError,
} from '../core/errors.js';
import type { IdempotencyRecord, JsonValue } from '../core/model.js';
import type { KeptAnswer, Outcome, ReplySlot } from '../core/reply.js';
import { isRememberable, toHttpError } from './http/errors.js';
import { IDEMPOTENCY_KEY_PATTERN } from './http/request-bounds.js';
import { type Operation, invokeOperation } from './operations.js';
import type { Services } from './services.js';

/** An idempotency key: 1 to 200 printable ASCII characters, no spaces. */
const IDEMPOTENCY_KEY = new RegExp(IDEMPOTENCY_KEY_PATTERN);

/** The largest answer kept whole for a replay, by default (bigger ones keep a note instead). */
export const DEFAULT_MAX_KEPT_BYTES = 256 * 1024;

/** How often, at most, expired idempotency records are purged while requests come in. */
const PURGE_EVERY_MS = 60_000;

export interface KeyedCallOptions {
  /** Answers bigger than this (JSON bytes) are not kept whole: a replay says so. */
  readonly maxKeptBytes?: number;
  /** Told about failures that do not change the answer (a purge that failed). */
  readonly log?: (line: string) => void;
}

/** The answer to a keyed request, first or replayed, as any door sends it. */
export interface KeyedAnswer {
  /** 200, or the error's HTTP status. */
  readonly status: number;
  /** The result, or `{ error: {...} }`. */
  readonly body: JsonValue;
  readonly headers: Readonly<Record<string, string>>;
  readonly replayed: boolean;
}

/**
 * Writes sent with an idempotency key, at any door (HTTP, MCP over either transport, the CLI's
 * remote mode through HTTP). The first request runs with a reply slot in its context, so the
 * operation's last transaction commits the answer beside its writes; a retry with the same key
 * and the same request replays that answer instead of running again, and the same key with
 * another request is refused. Requests with one key queue behind each other in this process;
 * across processes the store's unique key decides and the loser replays the winner.
 */
export class KeyedCalls {
  private readonly queue = new Serializer();
  private readonly maxKeptBytes: number;
  private nextPurge = 0;

  constructor(
    private readonly services: Services,
    private readonly options: KeyedCallOptions = {},
  ) {
    this.maxKeptBytes = options.maxKeptBytes ?? DEFAULT_MAX_KEPT_BYTES;
  }

  call(
    op: Operation,
    ctx: CallContext,
    input: Record<string, unknown>,
    key: string,
  ): Promise<KeyedAnswer> {
    const { kernel } = this.services;
    const fingerprint = fingerprintOf(op, input);
    const principal = ctx.caller.kind === 'operator' ? 'operator' : ctx.caller.actor_id;
    return this.queue.run(JSON.stringify([ctx.tenant_id, principal, key]), async () => {
      const prior = await kernel.recallResponse(ctx, key);
      if (prior) return this.replay(op, ctx, prior, fingerprint);
      this.purgeNow();
      const slot: ReplySlot = {
        key,
        fingerprint,
        stored: false,
        answer: (outcome) => this.kept(op, outcome),
      };
      let answer: { status: number; body: JsonValue; headers: Record<string, string> };
      try {
        const value = await invokeOperation(this.services, op, { ...ctx, reply: slot }, input);
        answer = { status: 200, body: toJson(value), headers: {} };
      } catch (e) {
        if (!slot.stored && isCountersignError(e) && e.code === 'CONFLICT') {
          // Another process committed the same key first: its answer is the answer.
          const winner = await kernel.recallResponse(ctx, key);
          if (winner) return this.replay(op, ctx, winner, fingerprint);
        }
        const wire = toHttpError(e);
        if (!isRememberable(wire)) throw e;
        answer = { status: wire.status, body: toJson(wire.body), headers: { ...wire.headers } };
      }
      if (!slot.stored) {
        // Nothing kept it in a transaction of the operation (no write happened, or the
        // operation is safe to run again, like an execution): kept here instead.
        const kept =
          answer.status === 200
            ? { status: 200, body: this.fit(withoutSecrets(op, answer.body)) }
            : { status: answer.status, body: answer.body };
        try {
          await kernel.rememberResponse(ctx, { key, fingerprint, ...kept });
        } catch (e) {
          if (isCountersignError(e) && e.code === 'CONFLICT') {
            const winner = await kernel.recallResponse(ctx, key);
            if (winner) return this.replay(op, ctx, winner, fingerprint);
          }
          // The operation ran; its answer matters more than the failure to keep it.
          this.options.log?.(`idempotency record not kept for ${op.name}: ${describe(e)}`);
        }
      }
      return { ...answer, replayed: false };
    });
  }

  /** The answer kept for a replay of `op` (called inside the operation's last transaction). */
  private kept(op: Operation, outcome: Outcome): KeptAnswer {
    if (!outcome.ok) {
      const wire = toHttpError(outcome.error);
      return { status: wire.status, body: toJson(wire.body) };
    }
    if (op.replay) return { status: 0, body: op.replay.keep(outcome.value) };
    return { status: 200, body: this.fit(withoutSecrets(op, toJson(outcome.value))) };
  }

  private async replay(
    op: Operation,
    ctx: CallContext,
    prior: IdempotencyRecord,
    fingerprint: string,
  ): Promise<KeyedAnswer> {
    if (prior.fingerprint !== fingerprint)
      throw new CountersignError(
        'IDEMPOTENCY_KEY_REUSED',
        `Idempotency key "${prior.key}" was already used for a different request; use a new key.`,
        { key: prior.key },
      );
    const headers = { 'idempotent-replayed': 'true' };
    if (prior.status !== 0)
      return { status: prior.status, body: prior.body, headers, replayed: true };
    if (!op.replay)
      throw new CountersignError('INTERNAL', `${op.name} kept an answer it cannot compose.`);
    const value = await op.replay.answer(this.services, ctx, prior.body);
    return { status: 200, body: toJson(value), headers, replayed: true };
  }

  /** A body within the size kept for replays, or a note saying what was too big. */
  private fit(body: JsonValue): JsonValue {
    const bytes = Buffer.byteLength(JSON.stringify(body));
    if (bytes <= this.maxKeptBytes) return body;
    return {
      replay_truncated: true,
      bytes,
      note:
        `The first answer (${bytes} bytes) was larger than the ${this.maxKeptBytes} bytes kept for replays; ` +
        'the operation ran once and is not run again: read its result with the matching get operation.',
    };
  }

  private purgeNow(): void {
    const now = Date.now();
    if (now < this.nextPurge) return;
    this.nextPurge = now + PURGE_EVERY_MS;
    this.services.kernel.purgeResponses().catch((e: unknown) => {
      this.options.log?.(`idempotency purge failed: ${describe(e)}`);
    });
  }
}

const shared = new WeakMap<Services, KeyedCalls>();

/** The keyed-call runner of `services`, shared by every door of one process. */
export function keyedCalls(services: Services, options?: KeyedCallOptions): KeyedCalls {
  let calls = shared.get(services);
  if (!calls) {
    calls = new KeyedCalls(services, options);
    shared.set(services, calls);
  }
  return calls;
}

/** The error a non-200 kept answer stands for (a door that answers with errors, like MCP). */
export function errorOfAnswer(answer: KeyedAnswer): CountersignError {
  const wire = (answer.body as { error?: { code?: string; message?: string; details?: object } })
    ?.error;
  const code = wire?.code && wire.code in ERROR_CODES ? (wire.code as ErrorCode) : 'INTERNAL';
  return new CountersignError(
    code,
    wire?.message ?? `The request failed (${answer.status}).`,
    (wire?.details ?? {}) as ErrorDetails,
  );
}

/** Checks an idempotency key from any door; throws VALIDATION_FAILED naming `where`. */
export function checkedIdempotencyKey(value: unknown, where: string): string {
  if (typeof value !== 'string' || !IDEMPOTENCY_KEY.test(value))
    throw new CountersignError(
      'VALIDATION_FAILED',
      `The ${where} must be 1 to 200 printable ASCII characters without spaces.`,
      {
        issues: [
          { path: where, message: 'must be 1 to 200 printable ASCII characters without spaces' },
        ],
      },
    );
  return value;
}

/** SHA-256 over the operation's name and its canonical input: the same at every door. */
function fingerprintOf(op: Operation, input: Record<string, unknown>): string {
  let body: string;
  try {
    body = canonicalJson(input);
  } catch {
    body = JSON.stringify(input) ?? 'null';
  }
  return sha256Hex(`${op.name}\n${body}`);
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
}

function toJson(value: unknown): JsonValue {
  return JSON.parse(JSON.stringify(value ?? null)) as JsonValue;
}

/**
 * The body kept for replays: secrets (a new token) are never stored. A replay answers with the
 * field set to null and a note that the secret was shown once.
 */
function withoutSecrets(op: Operation, body: JsonValue): JsonValue {
  if (!op.secretFields?.length || typeof body !== 'object' || body === null || Array.isArray(body))
    return body;
  const kept: Record<string, JsonValue> = { ...body };
  for (const field of op.secretFields) if (field in kept) kept[field] = null;
  kept.note = `The secret (${op.secretFields.join(', ')}) was shown once, in the first response to this request; it is not stored.`;
  return kept;
}

/** Runs tasks with the same key one after another. */
class Serializer {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const current = previous.then(task);
    const tail = current.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
