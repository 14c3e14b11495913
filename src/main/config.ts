import fs from 'node:fs';
import path from 'node:path';
import { CountersignError } from '../core/errors.js';
import { DEFAULT_IDEMPOTENCY_RETENTION_SECONDS } from '../core/ops/idempotency.js';
import { DEFAULT_MAX_KEPT_BYTES } from '../surfaces/keyed-calls.js';

export interface Config {
  /** Holds the embedded database, the demo target and local state. */
  readonly dataDir: string;
  /** When set, the store is Postgres instead of SQLite. */
  readonly databaseUrl: string | undefined;
  /** A directory of `.cedar` files replacing the default policies. */
  readonly policyDir: string | undefined;
  /** Where send_notification POSTs, when set. */
  readonly webhookUrl: string | undefined;
  readonly tenant: string;
  /** The model agents use unless a definition names one: `rules/v1` or `openai-compatible/<model>`. */
  readonly model: string | undefined;
  /** When set, workflow runs execute on Temporal (`countersign worker` runs them). */
  readonly temporal: TemporalConfig | undefined;
  /** The checkpoint signing key (PEM); default `<data dir>/signing-key.pem`. */
  readonly signingKeyFile: string | undefined;
  /** Where each checkpoint is also POSTed, when set. */
  readonly checkpointWebhookUrl: string | undefined;
  /** How often `serve` checkpoints a ledger whose head moved; 0 turns it off. */
  readonly checkpointIntervalSeconds: number;
  /** How long a write's answer is replayed to a retry with the same idempotency key. */
  readonly idempotencyRetentionSeconds: number;
  /** The largest answer kept whole for those replays (bigger ones keep a note). */
  readonly idempotencyMaxBytes: number;
  /**
   * Your own tools (COUNTERSIGN_TOOLS): comma-separated paths of tool modules or JSON files,
   * relative to the working directory; unset, `countersign.config.json` there if it exists.
   */
  readonly tools?: string | undefined;
  /** Where `serve` POSTs every decision, signed (decision-webhooks.ts), when set. */
  readonly decisionWebhook?: DecisionWebhookConfig | undefined;
  /** Approval requests posted to Slack, decided with its buttons (slack.ts), when set. */
  readonly slack?: SlackConfig | undefined;
}

export interface SlackConfig {
  /** The bot token (`xoxb-…`) the messages are posted with. */
  readonly botToken: string;
  /** Verifies the interactivity requests Slack signs (v0 HMAC-SHA256). */
  readonly signingSecret: string;
  /** The channel ID (or name) approval requests go to. */
  readonly channel: string;
  /** Slack's Web API base URL (default https://slack.com/api/). */
  readonly apiUrl: string;
  /** Slack user ID → Countersign actor ID, as the operator maps them. */
  readonly users: Readonly<Record<string, string>>;
  /** First retry after this many ms, doubling (default 1 s); tests shorten it. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
}

export interface DecisionWebhookConfig {
  readonly url: string;
  /** The HMAC-SHA256 key the receiver verifies signatures with. */
  readonly secret: string;
  /** First retry after this many ms, doubling (default 1 s); tests shorten it. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  readonly maxAttempts?: number;
}

/** The default of COUNTERSIGN_CHECKPOINT_INTERVAL_SECONDS. */
export const DEFAULT_CHECKPOINT_INTERVAL_SECONDS = 300;

export interface TemporalConfig {
  /** host:port of the Temporal frontend, e.g. 127.0.0.1:7233. */
  readonly address: string;
  readonly namespace: string;
  readonly taskQueue: string;
  /** A run's page in the Temporal UI, `{id}` standing for the run ID. */
  readonly uiUrl: string | undefined;
  /** How long a worker may stop heartbeating in an agent or tool call before it is presumed dead. */
  readonly heartbeatTimeoutMs: number | undefined;
  /**
   * The key file encrypting what is sent to Temporal (COUNTERSIGN_TEMPORAL_KEY_FILE); unset,
   * `<data dir>/temporal-keys.json`, created on first use.
   */
  readonly keyFile?: string | undefined;
}

/** The key file's name in the data directory, when COUNTERSIGN_TEMPORAL_KEY_FILE is unset. */
export const KEY_FILE_NAME = 'temporal-keys.json';

/** Where the keys encrypting what is sent to Temporal live. */
export function temporalKeyFile(dataDir: string, t: TemporalConfig): string {
  return t.keyFile ?? path.join(dataDir, KEY_FILE_NAME);
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const blank = (v: string | undefined) => (v && v.trim() !== '' ? v : undefined);
  const keyFile = blank(env.COUNTERSIGN_SIGNING_KEY_FILE);
  return {
    dataDir: path.resolve(blank(env.COUNTERSIGN_DATA_DIR) ?? '.countersign'),
    databaseUrl: blank(env.COUNTERSIGN_DATABASE_URL),
    policyDir: blank(env.COUNTERSIGN_POLICY_DIR),
    webhookUrl: blank(env.COUNTERSIGN_WEBHOOK_URL),
    tools: blank(env.COUNTERSIGN_TOOLS),
    tenant: blank(env.COUNTERSIGN_TENANT) ?? 'default',
    model: blank(env.COUNTERSIGN_MODEL),
    temporal: temporalFromEnv(env, blank),
    signingKeyFile: keyFile === undefined ? undefined : path.resolve(keyFile),
    checkpointWebhookUrl: blank(env.COUNTERSIGN_CHECKPOINT_WEBHOOK),
    checkpointIntervalSeconds: wholeNumber(env, 'COUNTERSIGN_CHECKPOINT_INTERVAL_SECONDS', {
      fallback: DEFAULT_CHECKPOINT_INTERVAL_SECONDS,
      min: 0,
      what: 'a whole number of seconds (0 turns scheduled checkpoints off)',
    }),
    idempotencyRetentionSeconds: wholeNumber(env, 'COUNTERSIGN_IDEMPOTENCY_RETENTION_SECONDS', {
      fallback: DEFAULT_IDEMPOTENCY_RETENTION_SECONDS,
      min: 60,
      what: 'a whole number of seconds, at least 60',
    }),
    idempotencyMaxBytes: wholeNumber(env, 'COUNTERSIGN_IDEMPOTENCY_MAX_BYTES', {
      fallback: DEFAULT_MAX_KEPT_BYTES,
      min: 1024,
      what: 'a whole number of bytes, at least 1024',
    }),
    decisionWebhook: decisionWebhookFromEnv(env, blank),
    slack: slackFromEnv(env, blank),
  };
}

/**
 * Slack approvals: on when COUNTERSIGN_SLACK_BOT_TOKEN (or its _FILE) is set; then the signing
 * secret, the channel and the user map (COUNTERSIGN_SLACK_USERS, JSON, or the JSON file
 * COUNTERSIGN_SLACK_USERS_FILE names) must be too.
 */
function slackFromEnv(
  env: NodeJS.ProcessEnv,
  blank: (v: string | undefined) => string | undefined,
): SlackConfig | undefined {
  const bad = (name: string, message: string) =>
    new CountersignError('VALIDATION_FAILED', `${name} ${message}.`, {
      issues: [{ path: name, message }],
    });
  const read = (name: string): string | undefined => {
    const file = blank(env[`${name}_FILE`]);
    const value = blank(env[name]);
    if (value !== undefined || file === undefined) return value;
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw bad(`${name}_FILE`, `cannot be read (${e instanceof Error ? e.message : String(e)})`);
    }
  };
  const botToken = read('COUNTERSIGN_SLACK_BOT_TOKEN');
  if (botToken === undefined) return undefined;
  const signingSecret = read('COUNTERSIGN_SLACK_SIGNING_SECRET');
  if (signingSecret === undefined || signingSecret.length < 16)
    throw bad(
      'COUNTERSIGN_SLACK_SIGNING_SECRET',
      "must be set (or COUNTERSIGN_SLACK_SIGNING_SECRET_FILE) to the Slack app's signing secret when COUNTERSIGN_SLACK_BOT_TOKEN is",
    );
  const channel = blank(env.COUNTERSIGN_SLACK_CHANNEL);
  if (channel === undefined)
    throw bad(
      'COUNTERSIGN_SLACK_CHANNEL',
      'must name the channel approval requests go to (its ID, e.g. C0123456789) when COUNTERSIGN_SLACK_BOT_TOKEN is set',
    );
  const apiUrl = blank(env.COUNTERSIGN_SLACK_API_URL) ?? 'https://slack.com/api/';
  if (!/^https?:\/\//i.test(apiUrl) || !URL.canParse(apiUrl))
    throw bad('COUNTERSIGN_SLACK_API_URL', 'must be an http(s) URL');
  const usersText = read('COUNTERSIGN_SLACK_USERS') ?? '{}';
  let users: unknown;
  try {
    users = JSON.parse(usersText);
  } catch {
    users = undefined;
  }
  if (
    users === null ||
    typeof users !== 'object' ||
    Array.isArray(users) ||
    !Object.entries(users).every(
      ([k, v]) => /^[UW][A-Z0-9]+$/.test(k) && typeof v === 'string' && v.trim() !== '',
    )
  )
    throw bad(
      'COUNTERSIGN_SLACK_USERS',
      'must be a JSON object mapping Slack user IDs to actor IDs, e.g. {"U0123ABCD":"actor_2"}',
    );
  return {
    botToken,
    signingSecret,
    channel,
    apiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`,
    users: Object.freeze(Object.fromEntries(Object.entries(users as Record<string, string>))),
  };
}

/**
 * COUNTERSIGN_DECISION_WEBHOOK_URL with its secret, from COUNTERSIGN_DECISION_WEBHOOK_SECRET
 * or the file COUNTERSIGN_DECISION_WEBHOOK_SECRET_FILE names (kept out of the environment).
 */
function decisionWebhookFromEnv(
  env: NodeJS.ProcessEnv,
  blank: (v: string | undefined) => string | undefined,
): DecisionWebhookConfig | undefined {
  const url = blank(env.COUNTERSIGN_DECISION_WEBHOOK_URL);
  if (url === undefined) return undefined;
  const bad = (name: string, message: string) =>
    new CountersignError('VALIDATION_FAILED', `${name} ${message}.`, {
      issues: [{ path: name, message }],
    });
  if (!/^https?:\/\//i.test(url) || !URL.canParse(url))
    throw bad('COUNTERSIGN_DECISION_WEBHOOK_URL', 'must be an http(s) URL');
  const file = blank(env.COUNTERSIGN_DECISION_WEBHOOK_SECRET_FILE);
  let secret = blank(env.COUNTERSIGN_DECISION_WEBHOOK_SECRET);
  if (secret === undefined && file !== undefined) {
    try {
      secret = fs.readFileSync(file, 'utf8').trim();
    } catch (e) {
      throw bad(
        'COUNTERSIGN_DECISION_WEBHOOK_SECRET_FILE',
        `cannot be read (${e instanceof Error ? e.message : String(e)})`,
      );
    }
  }
  if (secret === undefined || secret.length < 16)
    throw bad(
      'COUNTERSIGN_DECISION_WEBHOOK_SECRET',
      'must be set (or COUNTERSIGN_DECISION_WEBHOOK_SECRET_FILE) to a secret of at least 16 characters when COUNTERSIGN_DECISION_WEBHOOK_URL is',
    );
  return { url, secret };
}

function wholeNumber(
  env: NodeJS.ProcessEnv,
  name: string,
  rule: { readonly fallback: number; readonly min: number; readonly what: string },
): number {
  const text = env[name];
  if (text === undefined || text.trim() === '') return rule.fallback;
  const n = /^\s*[0-9]+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < rule.min)
    throw new CountersignError(
      'VALIDATION_FAILED',
      `${name} must be ${rule.what}, not ${JSON.stringify(text)}.`,
      { issues: [{ path: name, message: `integer >= ${rule.min}` }] },
    );
  return n;
}

function temporalFromEnv(
  env: NodeJS.ProcessEnv,
  blank: (v: string | undefined) => string | undefined,
): TemporalConfig | undefined {
  const address = blank(env.COUNTERSIGN_TEMPORAL_ADDRESS);
  if (!address) return undefined;
  const namespace = blank(env.COUNTERSIGN_TEMPORAL_NAMESPACE) ?? 'default';
  const heartbeat = blank(env.COUNTERSIGN_TEMPORAL_HEARTBEAT_TIMEOUT_MS);
  const heartbeatTimeoutMs = heartbeat === undefined ? undefined : Number(heartbeat);
  if (
    heartbeatTimeoutMs !== undefined &&
    !(Number.isInteger(heartbeatTimeoutMs) && heartbeatTimeoutMs >= 1000)
  )
    throw new CountersignError(
      'VALIDATION_FAILED',
      `COUNTERSIGN_TEMPORAL_HEARTBEAT_TIMEOUT_MS must be a whole number of milliseconds, at least 1000, not ${JSON.stringify(heartbeat)}.`,
      {
        issues: [{ path: 'COUNTERSIGN_TEMPORAL_HEARTBEAT_TIMEOUT_MS', message: 'integer >= 1000' }],
      },
    );
  const keyFile = blank(env.COUNTERSIGN_TEMPORAL_KEY_FILE);
  return {
    address,
    namespace,
    heartbeatTimeoutMs,
    taskQueue: blank(env.COUNTERSIGN_TEMPORAL_TASK_QUEUE) ?? 'countersign',
    uiUrl:
      temporalUiUrl(blank(env.COUNTERSIGN_TEMPORAL_UI_URL))
        ?.replace(/\/+$/, '')
        .concat(`/namespaces/${encodeURIComponent(namespace)}/workflows/{id}`) ?? undefined,
    ...(keyFile ? { keyFile: path.resolve(keyFile) } : {}),
  };
}

/** The Temporal UI's address must be an http(s) URL: it is linked to and allowed by CORS. */
function temporalUiUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let protocol: string | undefined;
  try {
    protocol = new URL(value).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol !== 'http:' && protocol !== 'https:')
    throw new CountersignError(
      'VALIDATION_FAILED',
      `COUNTERSIGN_TEMPORAL_UI_URL must be the Temporal UI's http(s) address, e.g. http://localhost:8233, not ${JSON.stringify(value)}.`,
      { issues: [{ path: 'COUNTERSIGN_TEMPORAL_UI_URL', message: 'an http or https URL' }] },
    );
  return value;
}
