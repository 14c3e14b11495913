/**
 * The kill -9 soak loop (issue 12): real `countersign serve` processes, SIGKILLed at random
 * moments and restarted on the same data directory (or the same Postgres database), while
 * concurrent clients keep working through the HTTP API the way a real client does: every write
 * carries an `Idempotency-Key`, and every request that gets no answer (connection refused or
 * reset, timeout) is sent again with the same key and the same body until it is answered.
 *
 * Each client alternates between
 *
 * - a proposal flow: the agent proposes `send_notification` (one human approval under the
 *   default policy), a human approves it (`review_action`), the agent executes it; and
 * - a workflow flow: the agent starts an `ops_change_control` run (a low-risk configuration
 *   change whose window is open), humans decide its gates until the run ends.
 *
 * The clients journal every acknowledged write. At the end the loop checks, against the store
 * (through the API), the tool effects (a webhook sink in this process: `send_notification`
 * POSTs every message it sends) and the ledger:
 *
 * - nothing acknowledged is lost (each acknowledged proposal, decision, execution, run exists);
 * - no write applied twice (proposals per propose key, decisions per review or gate key: the
 *   key is carried in the message and the comment);
 * - no tool effect happened twice (webhook POSTs per proposal, and per client message);
 * - a retried key answers what the first attempt did: an answer to a retried decision that says
 *   it was already made (DUPLICATE_DECISION, INVALID_STATE) means the first attempt applied but
 *   its answer was not remembered; every acknowledged write sent again answers the same status
 *   and body with `Idempotent-Replayed: true`;
 * - executions in doubt (EXECUTION_IN_DOUBT) are allowed, counted and listed;
 * - the ledger chain verifies (GET /audit/verify while running, `countersign audit verify` on
 *   each data directory after a clean stop), and every run ends with a valid trace.
 *
 * Used by `npm run soak` (src/main/soak-cli.ts) and by test/soak*.test.ts. Needs the build
 * (`bin/countersign.js` runs `dist/`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import pg from 'pg';

// ---- options and report -------------------------------------------------------------------

export interface SoakOptions {
  /** Kill cycles (default 25). */
  readonly cycles?: number;
  /** Concurrent clients (default 4). */
  readonly clients?: number;
  /** Seeds every choice the loop makes (kill target, timing draws, flows, reviewers). */
  readonly seed?: number;
  /** Run against this Postgres database instead of SQLite in the work directory. */
  readonly databaseUrl?: string;
  /** `countersign serve` processes (default 1 on SQLite, 2 on Postgres: one database). */
  readonly servers?: number;
  /** Where the data directories, server logs and the journal go (default: a fresh temp dir). */
  readonly workDir?: string;
  /** Keep the work directory afterwards: always, never, or only when a check failed (default). */
  readonly keep?: boolean | 'on-failure';
  /** A server is up this long (uniformly drawn, ms) before it is killed. */
  readonly minUpMs?: number;
  readonly maxUpMs?: number;
  /**
   * The share of kills aimed at an in-flight write: the kill lands while the server is
   * processing the next write it receives (a fraction of that route's usual latency after it
   * was sent), the window in which an operation can commit and its answer be lost.
   */
  readonly aroundWrites?: number;
  /** The share of client flows that are workflow runs (the rest are proposal flows). */
  readonly workflowShare?: number;
  /** The share of acknowledged writes sent again at once with the same key (must replay). */
  readonly resendShare?: number;
  /** GET /audit/verify after every N-th cycle (0: only at the end). */
  readonly verifyEvery?: number;
  /** Stop killing after this long even if not all cycles ran (the report says how many did). */
  readonly deadlineMs?: number;
  /** After the last kill, how long a run may take to end before it is reported (default 90 s). */
  readonly drainMs?: number;
  /** The tenant (default: `default` on SQLite, a fresh `soak-…` tenant on Postgres). */
  readonly tenant?: string;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
  /** Stops the killing early (the clients finish, the checks run), e.g. on Ctrl-C. */
  readonly signal?: AbortSignal;
}

export type FindingKind =
  | 'duplicate_proposal'
  | 'duplicate_decision'
  | 'duplicate_gate_decision'
  | 'duplicate_execution'
  | 'duplicate_effect'
  | 'duplicate_tool_invoke'
  | 'duplicate_id'
  | 'lost_ack'
  | 'retry_not_replayed'
  | 'replay_mismatch'
  | 'unexpected_answer'
  | 'server_error'
  | 'server_exit'
  | 'chain_broken'
  | 'run_not_terminal'
  | 'run_stuck'
  | 'verify_transient'
  | 'trace_invalid'
  | 'client_error';

export interface Finding {
  readonly kind: FindingKind;
  readonly message: string;
  readonly details?: unknown;
}

export type OpKind = 'start_workflow' | 'propose' | 'review' | 'execute' | 'start_run' | 'decide';

export interface SoakReport {
  readonly store: 'sqlite' | 'postgres';
  readonly seed: number;
  readonly clients: number;
  readonly servers: number;
  readonly cyclesPlanned: number;
  /** Kills done (a cycle is one kill and its restart). */
  readonly cycles: number;
  /** Kills: timed, aimed at an in-flight write, and of those, landed at a store commit. */
  readonly kills: {
    readonly timed: number;
    readonly aroundWrites: number;
    readonly atCommit: number;
  };
  readonly durationMs: number;
  /** HTTP requests sent (every attempt). */
  readonly requests: number;
  /** Acknowledged writes by kind (answered with a final status). */
  readonly acknowledged: Readonly<Record<OpKind, number>>;
  /** Attempts that got no answer and were sent again. */
  readonly retries: number;
  /** Writes that needed more than one attempt. */
  readonly retriedWrites: number;
  /** Answers marked Idempotent-Replayed: true (retries and deliberate re-sends). */
  readonly replays: number;
  /** Acknowledged writes sent again with their key: how many, how many replayed identically. */
  readonly resends: { readonly sent: number; readonly identical: number };
  /** Retryable answers (503, CONFLICT) that were retried. */
  readonly retryableAnswers: number;
  /** Executions surfaced as EXECUTION_IN_DOUBT: client proposals, and runs that stopped on one. */
  readonly inDoubt: {
    readonly executions: readonly string[];
    readonly runs: readonly string[];
    /** In-doubt calls in all (client executions and run steps) and how many did reach the webhook. */
    readonly calls: number;
    readonly effectSent: number;
  };
  readonly duplicates: {
    readonly proposals: number;
    readonly decisions: number;
    readonly gateDecisions: number;
    readonly executions: number;
    readonly effects: number;
    readonly ids: number;
  };
  readonly lostAcks: number;
  /** Answers to retried writes that say the write already happened, by code. */
  readonly retryNotReplayed: Readonly<Record<string, number>>;
  readonly serverErrors: number;
  /** What the servers logged: internal request errors, warnings (a run that stopped…), first lines. */
  readonly serverLog: {
    readonly errors: number;
    readonly warnings: number;
    readonly lines: readonly string[];
  };
  readonly chain: { readonly ok: boolean; readonly checks: number; readonly events: number };
  readonly runs: {
    readonly started: number;
    readonly byStatus: Readonly<Record<string, number>>;
    readonly traceValid: number;
  };
  /** Webhook POSTs received from send_notification. */
  readonly effects: number;
  readonly findings: readonly Finding[];
  readonly workDir: string;
  readonly kept: boolean;
  readonly ok: boolean;
}

// ---- small helpers ------------------------------------------------------------------------

type Json = Record<string, unknown>;

const PURPOSE = 'soak: kill -9 loop';
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);
/** The writes an aimed kill picks from (as routeKey names them). */
const AIMED_ROUTES = [
  'POST /proposals',
  'POST /proposals/{id}/review',
  'POST /proposals/{id}/execute',
  'POST /workflows/start',
  'POST /approvals/{id}/decision',
] as const;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** mulberry32: a small, fast PRNG; one stream per client and one for the kill loop. */
function prng(seed: number, streamId: number): () => number {
  let a = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(streamId + 1, 0x85ebca6b)) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The package root: the directory above this module holding bin/countersign.js. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (
      fs.existsSync(path.join(dir, 'bin', 'countersign.js')) &&
      fs.existsSync(path.join(dir, 'package.json'))
    )
      return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find bin/countersign.js above the soak harness');
    dir = up;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

function errorCode(body: unknown): string | undefined {
  const e = (body as { error?: { code?: unknown } } | null)?.error;
  return typeof e?.code === 'string' ? e.code : undefined;
}

function isRetryableAnswer(status: number, body: unknown): boolean {
  if (status >= 500) return true;
  const e = (body as { error?: { retryable?: unknown } } | null)?.error;
  return e?.retryable === true;
}

/** The route with IDs replaced, so latencies are learnt per operation. */
function routeKey(method: string, route: string): string {
  return `${method} ${route.split('?')[0]!.replace(/\/[a-z]+_[A-Za-z0-9]+/g, '/{id}')}`;
}

class Counter<K> {
  readonly map = new Map<K, number>();
  add(k: K, n = 1): void {
    this.map.set(k, (this.map.get(k) ?? 0) + n);
  }
  get(k: K): number {
    return this.map.get(k) ?? 0;
  }
  over(limit: number): [K, number][] {
    return [...this.map].filter(([, n]) => n > limit);
  }
}

// ---- HTTP ---------------------------------------------------------------------------------

interface RawAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
}

class NoAnswer extends Error {}

/** One attempt on a fresh connection: an answer, or NoAnswer (refused, reset, timeout). */
function httpOnce(
  base: string,
  method: string,
  route: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const url = new URL(route, base);
    const req = http.request(
      url,
      {
        method,
        agent: false,
        headers: {
          ...headers,
          ...(body !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', (e) => reject(new NoAnswer(e.message)));
        res.on('aborted', () => reject(new NoAnswer('response aborted')));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new NoAnswer(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => reject(e instanceof NoAnswer ? e : new NoAnswer(e.message)));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// ---- the servers --------------------------------------------------------------------------

class ServerProcess {
  child: ChildProcess | null = null;
  up = false;
  generation = 0;
  operatorToken: string | null = null;
  private exited: Promise<void> = Promise.resolve();
  private killing = false;
  private stopped = false;
  private starting: Promise<void> | null = null;

  constructor(
    readonly index: number,
    readonly dataDir: string,
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
    private readonly logFile: string,
    private readonly h: Harness,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the server (joining a start already under way), retrying a failed start twice. */
  start(): Promise<void> {
    this.starting ??= this.startWithRetries().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private async startWithRetries(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.startOnce();
        return;
      } catch (e) {
        this.h.finding(
          'server_exit',
          `server ${this.index} did not start: ${e instanceof Error ? e.message : String(e)}`,
        );
        if (attempt >= 3 || this.stopped) throw e;
        await sleep(500);
      }
    }
  }

  private startOnce(): Promise<void> {
    this.generation++;
    const gen = this.generation;
    fs.appendFileSync(this.logFile, `\n==== start ${gen} at ${new Date().toISOString()} ====\n`);
    const child = spawn(process.execPath, [this.h.bin, 'serve', '--port', String(this.port)], {
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.h.children.add(child);
    child.once('exit', () => this.h.children.delete(child));
    this.killing = false;
    let out = '';
    let errTail = '';
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        const wasUp = this.up;
        this.up = false;
        fs.appendFileSync(this.logFile, `==== exit ${gen}: ${code ?? signal} ====\n`);
        if (wasUp && !this.killing && !this.stopped) {
          this.h.finding(
            'server_exit',
            `server ${this.index} exited by itself (${code ?? signal}) while serving: a crash, or a signal from outside the loop`,
            {
              stderr: errTail.slice(-2000),
            },
          );
          void this.start().catch(() => undefined);
        }
        resolve();
      });
    });
    child.stderr?.on('data', (d: Buffer) => {
      const text = d.toString();
      errTail = (errTail + text).slice(-8000);
      fs.appendFileSync(this.logFile, text);
      for (const line of text.split('\n'))
        if (line.startsWith('error ') || line.startsWith('warning: '))
          this.h.serverLogLine(this.index, line);
    });
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`no "listening" within 180 s:\n${out}\n${errTail}`));
      }, 180_000);
      child.stdout?.on('data', (d: Buffer) => {
        const text = d.toString();
        fs.appendFileSync(this.logFile, text);
        if (this.up) return;
        out += text;
        const token = /Operator token \(shown once\): (\S+)/.exec(out)?.[1];
        if (token) this.operatorToken = token;
        if (
          /Countersign listening on http:\/\/\S+/.test(out) &&
          (token || out.includes('API tokens already exist'))
        ) {
          clearTimeout(timer);
          this.up = true;
          this.h.lastUpAt = Date.now();
          resolve();
        }
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`exited before listening:\n${out}\n${errTail.slice(-3000)}`));
      });
    });
  }

  /** SIGKILL: nothing flushed, no shutdown hook. */
  async kill(): Promise<void> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.killing = true;
    this.up = false;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, the clean stop; resolves with the exit code (SIGKILL after 30 s). */
  async stop(): Promise<number | null> {
    this.stopped = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? 0;
    this.killing = true;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(timer);
    this.up = false;
    return child.exitCode;
  }
}

/** Where send_notification POSTs: every POST is one real effect of the tool. */
interface Effect {
  readonly key: string;
  readonly proposal_id: string | null;
  readonly workflow_id: string | null;
  readonly message: string | null;
}

async function startWebhookSink(): Promise<{
  url: string;
  effects: Effect[];
  close(): Promise<void>;
}> {
  const effects: Effect[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let payload: Json = {};
      try {
        payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
      } catch {
        // recorded with what there is
      }
      const str = (v: unknown) => (typeof v === 'string' ? v : null);
      effects.push({
        key: String(req.headers['idempotency-key'] ?? ''),
        proposal_id: str(payload.proposal_id),
        workflow_id: str(payload.workflow_id),
        message: str(payload.message),
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/soak-webhook`,
    effects,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Sees the store commit, to aim a kill between an operation's commit and what follows it (its
 * idempotency record, its answer). Only an aiming aid: when it sees nothing, the kill falls
 * back to the write's usual latency.
 */
interface CommitProbe {
  /** Resolves true at the next commit after the call (false after `timeoutMs`). */
  next(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** SQLite in WAL mode writes a transaction's frames to `<db>-wal` when it commits. */
function sqliteCommitProbe(dataDir: string): CommitProbe {
  let watcher: fs.FSWatcher | undefined;
  const waiters = new Set<() => void>();
  const ensure = () => {
    if (watcher) return;
    try {
      watcher = fs.watch(dataDir, (_event, file) => {
        if (file !== 'countersign.sqlite-wal') return;
        for (const w of waiters) w();
        waiters.clear();
      });
      watcher.on('error', () => {
        watcher?.close();
        watcher = undefined;
      });
    } catch {
      watcher = undefined;
    }
  };
  return {
    next(timeoutMs) {
      ensure();
      if (!watcher) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          waiters.delete(done);
          resolve(false);
        }, timeoutMs);
        waiters.add(done);
      });
    },
    close() {
      watcher?.close();
      return Promise.resolve();
    },
  };
}

/** On Postgres, the tenant's ledger head moves with every operation's commit: poll it. */
function postgresCommitProbe(url: string, tenant: string): CommitProbe {
  let client: pg.Client | undefined;
  let broken = false;
  const head = async (): Promise<number | null> => {
    if (broken) return null;
    try {
      if (!client) {
        client = new pg.Client({ connectionString: url });
        client.on('error', () => undefined);
        await client.connect();
      }
      const r = await client.query<{ seq: string | number }>(
        'SELECT seq FROM ledger_heads WHERE tenant_id = $1',
        [tenant],
      );
      return Number(r.rows[0]?.seq ?? 0);
    } catch {
      broken = true;
      return null;
    }
  };
  return {
    async next(timeoutMs) {
      const until = Date.now() + timeoutMs;
      const start = await head();
      if (start === null) return false;
      while (Date.now() < until) {
        const now = await head();
        if (now === null) return false;
        if (now !== start) return true;
      }
      return false;
    },
    async close() {
      await client?.end().catch(() => undefined);
    },
  };
}

// ---- the journal --------------------------------------------------------------------------

interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly replayed: boolean;
  readonly attempts: number;
  /** Attempts that got no answer before this one. */
  readonly unanswered: number;
  readonly server: number;
  /** How long the answered attempt took. */
  readonly ms: number;
}

export interface JournalEntry {
  readonly client: number;
  readonly kind: OpKind;
  readonly key: string;
  readonly method: 'POST';
  readonly route: string;
  readonly as: string;
  readonly purpose: boolean;
  readonly body: Json;
  readonly status: number;
  readonly response: unknown;
  readonly replayed: boolean;
  readonly attempts: number;
  readonly unanswered: number;
  readonly server: number;
  readonly ms: number;
}

interface Identity {
  readonly name: string;
  readonly id: string;
  readonly role: string;
  readonly token: string;
}

interface RunView {
  workflow_id: string;
  status: string;
  stage: string;
  waiting_on: { kind?: string; approval_id?: string } | null;
  trace: Json[];
  error: Json | null;
}

interface RunRecord {
  readonly key: string;
  readonly client: number;
  view: RunView | null;
  traceValid: boolean;
  /** Flagged as not moving on (run_stuck or run_not_terminal already reported). */
  stuck: boolean;
}

interface ClientState {
  readonly index: number;
  /** The current flow's choices. */
  rng: () => number;
  readonly jitter: () => number;
  readonly prefix: string;
  workflowId: string | null;
  flows: number;
}

class Latency {
  private readonly est = new Map<string, number>();
  observe(key: string, ms: number): void {
    const prev = this.est.get(key);
    this.est.set(key, prev === undefined ? ms : prev * 0.8 + ms * 0.2);
  }
  estimate(key: string): number {
    return this.est.get(key) ?? 25;
  }
}

// ---- the harness --------------------------------------------------------------------------

class Harness {
  readonly bin: string;
  readonly findings: Finding[] = [];
  readonly journal: JournalEntry[] = [];
  readonly servers: ServerProcess[] = [];
  /** Every server process started and not yet exited. */
  readonly children = new Set<ChildProcess>();
  readonly latency = new Latency();
  readonly serverLog = { errors: 0, warnings: 0, lines: [] as string[] };
  requests = 0;
  retries = 0;
  retriedWrites = 0;
  replays = 0;
  retryableAnswers = 0;
  serverErrors = 0;
  resends = { sent: 0, identical: 0 };
  readonly acknowledged: Record<OpKind, number> = {
    start_workflow: 0,
    propose: 0,
    review: 0,
    execute: 0,
    start_run: 0,
    decide: 0,
  };
  readonly inDoubtExecutions: string[] = [];
  readonly retryNotReplayed = new Counter<string>();
  readonly runs = new Map<string, RunRecord>();
  /** Set by check(). */
  duplicates = { proposals: 0, decisions: 0, gateDecisions: 0, executions: 0, effects: 0, ids: 0 };
  /** The webhook's record of send_notification's effects. */
  effects: Effect[] = [];
  chainChecks = 0;
  chainOk = true;
  chainEvents = 0;
  cycles = 0;
  kills = { timed: 0, aroundWrites: 0, atCommit: 0 };
  probe: CommitProbe | undefined;
  chaosDone = false;
  /** Set when the loop fails: every request in flight gives up. */
  aborted = false;
  chaosEndedAt: number | null = null;
  /** When a server last started listening. */
  lastUpAt = 0;
  operatorToken = '';
  agent!: Identity;
  humans: Identity[] = [];
  private armed: {
    server: number;
    /** The route (as routeKey gives it) to aim at. */
    route: string;
    fire: (route: string) => void;
  } | null = null;
  private journalFile: string;
  /** Resource IDs handed out, to catch one ID given to two different writes. */
  private readonly ids = new Map<string, string>();
  private idDuplicates = 0;

  constructor(
    readonly o: Required<
      Omit<SoakOptions, 'databaseUrl' | 'workDir' | 'tenant' | 'log' | 'signal'>
    > & {
      signal: AbortSignal | undefined;
      databaseUrl: string | undefined;
      tenant: string;
      log: (line: string) => void;
    },
    readonly workDir: string,
  ) {
    this.bin = path.join(packageRoot(), 'bin', 'countersign.js');
    this.journalFile = path.join(workDir, 'journal.jsonl');
  }

  finding(kind: FindingKind, message: string, details?: unknown): void {
    this.findings.push(details === undefined ? { kind, message } : { kind, message, details });
    this.o.log(`FINDING ${kind}: ${message}`);
  }

  /** An `error …` (internal error of a request) or `warning: …` (e.g. a run stopped) line. */
  serverLogLine(server: number, line: string): void {
    if (line.startsWith('error ')) this.serverLog.errors++;
    else this.serverLog.warnings++;
    if (this.serverLog.lines.length < 20) this.serverLog.lines.push(`[server ${server}] ${line}`);
  }

  log(line: string): void {
    this.o.log(line);
  }

  // ---- requests ---------------------------------------------------------------------------

  /** Tells the kill loop a write is on its way to `server` (an armed kill may aim at it). */
  private onWrite(server: number, route: string): void {
    const a = this.armed;
    if (a && a.server === server && a.route === route) {
      this.armed = null;
      a.fire(route);
    }
  }

  /**
   * Sends a request until it is answered: on no answer, the same request (same key, same body)
   * again, on the next server; retryable answers (5xx, CONFLICT) are retried too.
   */
  async call(
    method: string,
    route: string,
    token: string,
    opts: {
      body?: Json;
      key?: string;
      preferred?: number;
      jitter?: () => number;
      purpose?: boolean;
    } = {},
  ): Promise<Reply> {
    const jitter = opts.jitter ?? Math.random;
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (opts.purpose) headers['x-purpose'] = PURPOSE;
    if (opts.key !== undefined) headers['idempotency-key'] = opts.key;
    const text = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const rk = routeKey(method, route);
    let server = (opts.preferred ?? 0) % this.servers.length;
    let attempts = 0;
    let unanswered = 0;
    let errors5xx = 0;
    const giveUpAt = Date.now() + 10 * 60_000;
    for (;;) {
      if (this.aborted) throw new Error(`${method} ${route}: the soak loop is stopping`);
      if (Date.now() > giveUpAt)
        throw new Error(`${method} ${route}: no answer after ${attempts} attempts in 10 min`);
      attempts++;
      this.requests++;
      const s = this.servers[server]!;
      if (method !== 'GET') this.onWrite(server, rk);
      const started = Date.now();
      let raw: RawAnswer;
      try {
        raw = await httpOnce(s.url, method, route, headers, text, 120_000);
      } catch (e) {
        if (!(e instanceof NoAnswer)) throw e;
        unanswered++;
        this.retries++;
        server = (server + 1) % this.servers.length;
        // Exponential backoff with jitter, as a real client does: 50 ms doubling up to 800 ms.
        await sleep(Math.min(800, 50 * 2 ** Math.min(unanswered - 1, 4)) * (0.5 + jitter()));
        continue;
      }
      let body: unknown;
      try {
        body = raw.text === '' ? null : JSON.parse(raw.text);
      } catch {
        body = raw.text;
      }
      if (isRetryableAnswer(raw.status, body)) {
        this.retryableAnswers++;
        if (raw.status >= 500 && raw.status !== 503) {
          this.serverErrors++;
          errors5xx++;
          this.finding('server_error', `${method} ${route} answered ${raw.status}`, {
            key: opts.key,
            body,
          });
          if (errors5xx >= 5)
            return {
              status: raw.status,
              body,
              replayed: false,
              attempts,
              unanswered,
              server,
              ms: Date.now() - started,
            };
        }
        await sleep(50 + Math.floor(jitter() * 200));
        continue;
      }
      const ms = Date.now() - started;
      if (attempts === 1) this.latency.observe(rk, ms);
      const replayed = raw.headers['idempotent-replayed'] === 'true';
      if (replayed) this.replays++;
      return { status: raw.status, body, replayed, attempts, unanswered, server, ms };
    }
  }

  /** A journaled write: retried until answered; the answer is the acknowledgement. */
  async write(
    c: ClientState,
    kind: OpKind,
    route: string,
    who: Identity,
    body: Json,
    key: string,
    purpose: boolean,
  ): Promise<JournalEntry> {
    const reply = await this.call('POST', route, who.token, {
      body,
      key,
      preferred: c.index,
      jitter: c.jitter,
      purpose,
    });
    const entry: JournalEntry = {
      client: c.index,
      kind,
      key,
      method: 'POST',
      route,
      as: who.name,
      purpose,
      body,
      status: reply.status,
      response: reply.body,
      replayed: reply.replayed,
      attempts: reply.attempts,
      unanswered: reply.unanswered,
      server: reply.server,
      ms: reply.ms,
    };
    if (reply.status < 500) {
      this.journal.push(entry);
      fs.appendFileSync(this.journalFile, `${JSON.stringify(entry)}\n`);
      this.acknowledged[kind]++;
    }
    if (reply.unanswered > 0) this.retriedWrites++;
    return entry;
  }

  /** Sends an acknowledged write again with its key: it must replay the same answer. */
  async resend(c: ClientState, entry: JournalEntry, token: string): Promise<void> {
    this.resends.sent++;
    const again = await this.call('POST', entry.route, token, {
      body: entry.body,
      key: entry.key,
      preferred: c.index,
      jitter: c.jitter,
      purpose: entry.purpose,
    });
    if (
      again.replayed &&
      again.status === entry.status &&
      isDeepStrictEqual(
        replayedPart(entry.kind, again.body),
        replayedPart(entry.kind, entry.response),
      )
    )
      this.resends.identical++;
    else
      this.finding(
        'replay_mismatch',
        `${entry.kind} ${entry.key} sent again answered ${again.status}${again.replayed ? ' (replayed)' : ' (not replayed)'} instead of replaying ${entry.status}`,
        { route: entry.route, first: entry.response, again: again.body },
      );
  }

  /** A read as `token`, retried until answered; a non-200 answer throws. */
  async get<T>(route: string, token: string, c?: ClientState): Promise<T> {
    const r = await this.call('GET', route, token, {
      preferred: c?.index ?? 0,
      ...(c ? { jitter: c.jitter } : {}),
    });
    if (r.status !== 200)
      throw new Error(`GET ${route} answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body as T;
  }

  /** Notes the resource ID a write got; one ID for two different writes is a finding. */
  private trackId(id: unknown, key: string): void {
    if (typeof id !== 'string') return;
    const prior = this.ids.get(id);
    if (prior === undefined) this.ids.set(id, key);
    else if (prior !== key) {
      this.idDuplicates++;
      this.finding('duplicate_id', `${id} was given to ${prior} and to ${key}`);
    }
  }

  /** An answer that is not the expected one: a finding, with what a retry would explain. */
  private unexpected(e: JournalEntry, expected: string): void {
    const code = errorCode(e.response);
    if (e.unanswered > 0 && (code === 'DUPLICATE_DECISION' || code === 'INVALID_STATE')) {
      this.retryNotReplayed.add(`${e.kind}:${code}`);
      this.finding(
        'retry_not_replayed',
        `${e.kind} ${e.key} retried after ${e.unanswered} unanswered attempt(s) answered ${e.status} ${code} instead of replaying the first answer (it applied, its answer was not remembered)`,
        { route: e.route, response: e.response },
      );
      return;
    }
    this.finding(
      'unexpected_answer',
      `${e.kind} ${e.key} answered ${e.status} ${code ?? ''} (expected ${expected}; ${e.unanswered} unanswered attempt(s) before)`,
      { route: e.route, response: e.response },
    );
  }

  // ---- setup ------------------------------------------------------------------------------

  async setup(): Promise<void> {
    const op = this.operatorToken;
    const register = async (name: string, role: string, kind: string): Promise<Identity> => {
      const a = await this.call('POST', '/actors', op, {
        body: { name, role, kind },
        key: `setup-actor-${name}`,
      });
      if (a.status !== 200) throw new Error(`register ${name}: ${JSON.stringify(a.body)}`);
      const id = (a.body as { actor_id: string }).actor_id;
      const t = await this.call('POST', '/tokens', op, {
        body: { actor_id: id, name: `soak-${name}` },
        purpose: true,
      });
      if (t.status !== 200) throw new Error(`token for ${name}: ${JSON.stringify(t.body)}`);
      return { name, id, role, token: (t.body as { token: string }).token };
    };
    this.agent = await register('soak-agent', 'agent', 'agent');
    this.humans = [
      await register('riley', 'change_manager', 'human'),
      await register('sam', 'service_owner', 'human'),
    ];
  }

  // ---- the kill loop ----------------------------------------------------------------------

  async chaos(): Promise<void> {
    const rng = prng(this.o.seed, 1000);
    const started = Date.now();
    for (let cycle = 1; cycle <= this.o.cycles; cycle++) {
      const target = Math.floor(rng() * this.servers.length);
      const upMs = this.o.minUpMs + rng() * (this.o.maxUpMs - this.o.minUpMs);
      const aimed = rng() < this.o.aroundWrites;
      // An aimed kill lands either at the first commit the store makes after the write was
      // sent (the operation's own, most often: between it and the idempotency record), or at a
      // fraction of the write's usual latency (anywhere in it, mostly its second half).
      const atCommit = rng() < 0.5;
      // Each kind of write gets its share of aimed kills, however often it is sent.
      const aimAt = AIMED_ROUTES[Math.floor(rng() * AIMED_ROUTES.length)]!;
      const fraction = 0.15 + rng() * 1.05;
      const downMs = rng() * 150;
      if (Date.now() - started > this.o.deadlineMs) {
        this.log(`deadline reached after ${this.cycles} cycles`);
        break;
      }
      if (this.o.signal?.aborted) {
        this.log(`stopped killing after ${this.cycles} cycles (interrupted)`);
        break;
      }
      const s = this.servers[target]!;
      if (!s.up) await s.start();
      await sleep(upMs);
      let how = 'timed';
      if (aimed) {
        const landed = await new Promise<string | null>((resolve) => {
          const fallback = setTimeout(() => {
            this.armed = null;
            resolve(null);
          }, 5000);
          this.armed = {
            server: target,
            route: aimAt,
            fire: (route) => {
              clearTimeout(fallback);
              const after = this.latency.estimate(route) * fraction;
              if (atCommit && this.probe)
                void this.probe
                  .next(Math.max(2000, after * 4))
                  .then((seen) =>
                    resolve(`${route} at ${seen ? 'a commit' : 'no commit (none seen)'}`),
                  );
              else setTimeout(() => resolve(`${route} +${after.toFixed(1)} ms`), after);
            },
          };
        });
        if (landed) {
          how = `during ${landed}`;
          this.kills.aroundWrites++;
          if (landed.endsWith('at a commit')) this.kills.atCommit++;
        } else this.kills.timed++;
      } else this.kills.timed++;
      await s.kill();
      this.cycles = cycle;
      const t0 = Date.now();
      await sleep(downMs);
      await s.start();
      this.log(
        `cycle ${cycle}/${this.o.cycles}: killed server ${target} ${how}; back in ${Date.now() - t0} ms; acked ${this.journal.length}, retries ${this.retries}, findings ${this.findings.length}`,
      );
      if (this.o.verifyEvery > 0 && cycle % this.o.verifyEvery === 0) await this.verifyChain();
    }
    this.chaosDone = true;
    this.chaosEndedAt = Date.now();
  }

  /**
   * GET /audit/verify. While the clients write, a failure is kept; the last call (`quiet`, no
   * writes in flight) decides: still broken is a broken chain, intact again means the earlier
   * answers were wrong (a verification not read from one snapshot), reported as such.
   */
  async verifyChain(quiet = false): Promise<void> {
    const v = await this.get<{
      ok: boolean;
      events: number;
      first_broken_seq: number | null;
      problem: unknown;
    }>('/audit/verify', this.operatorToken);
    this.chainChecks++;
    this.chainEvents = v.events;
    if (!v.ok) this.verifyFailures.push({ at: new Date().toISOString(), cycle: this.cycles, ...v });
    if (!quiet) return;
    if (!v.ok) {
      this.chainOk = false;
      this.finding('chain_broken', 'GET /audit/verify: the chain is broken', v);
    } else
      for (const f of this.verifyFailures.splice(0))
        this.finding(
          'verify_transient',
          `GET /audit/verify answered ok: false while writes were in flight (cycle ${f.cycle}: ${JSON.stringify(f.problem)}), yet the chain verifies intact when quiet`,
          f,
        );
  }

  private readonly verifyFailures: (Json & { cycle: number; problem: unknown })[] = [];

  // ---- the clients ------------------------------------------------------------------------

  async client(index: number): Promise<void> {
    const flows = prng(this.o.seed, index);
    const c: ClientState = {
      index,
      rng: flows,
      jitter: prng(this.o.seed, 500 + index),
      prefix: `s${this.o.seed}-c${index}`,
      workflowId: null,
      flows: 0,
    };
    while (!this.chaosDone) {
      c.flows++;
      const n = c.flows;
      const run = flows() < this.o.workflowShare;
      // Each flow draws from its own stream: its choices do not depend on how earlier flows went.
      c.rng = prng(this.o.seed, 1_000_000 + index * 100_000 + n);
      try {
        if (run) await this.runFlow(c, n);
        else await this.proposalFlow(c, n);
      } catch (e) {
        if (this.aborted) return;
        this.finding('client_error', `client ${index} flow ${n}: ${String(e)}`);
        await sleep(200);
      }
    }
  }

  private async ensureWorkflow(c: ClientState): Promise<string> {
    if (c.workflowId) return c.workflowId;
    const key = `${c.prefix}-workflow`;
    const e = await this.write(
      c,
      'start_workflow',
      '/workflows',
      this.agent,
      { title: `soak client ${c.index}`, idempotency_key: key },
      key,
      true,
    );
    if (e.status !== 200) {
      this.unexpected(e, '200');
      throw new Error('no workflow');
    }
    c.workflowId = (e.response as { workflow_id: string }).workflow_id;
    return c.workflowId;
  }

  /** propose send_notification → a human approves → the agent executes. */
  private async proposalFlow(c: ClientState, n: number): Promise<void> {
    const reviewer = this.humans[Math.floor(c.rng() * this.humans.length)]!;
    const resend = [c.rng(), c.rng(), c.rng()].map((x) => x < this.o.resendShare);
    const workflow_id = await this.ensureWorkflow(c);
    const pk = `${c.prefix}-n${n}-propose`;
    const proposed = await this.write(
      c,
      'propose',
      '/proposals',
      this.agent,
      {
        workflow_id,
        actor_id: this.agent.id,
        tool: 'send_notification',
        params: { channel: 'slack', message: `soak ${pk}` },
        reason: `soak operation ${pk}`,
      },
      pk,
      false,
    );
    const p = proposed.response as { proposal_id?: string; status?: string };
    if (proposed.status !== 200 || p.status !== 'pending' || !p.proposal_id) {
      this.unexpected(proposed, '200 pending');
      return;
    }
    const proposal_id = p.proposal_id;
    this.trackId(proposal_id, pk);
    if (resend[0]) await this.resend(c, proposed, this.agent.token);

    const rk = `${c.prefix}-n${n}-review`;
    const reviewed = await this.write(
      c,
      'review',
      `/proposals/${proposal_id}/review`,
      reviewer,
      { reviewer_id: reviewer.id, decision: 'approve', comment: `soak ${rk}` },
      rk,
      true,
    );
    if (reviewed.status === 200) {
      if (resend[1]) await this.resend(c, reviewed, reviewer.token);
    } else {
      this.unexpected(reviewed, '200');
      // Carry on as a real client would: look at the proposal, execute it if it is approved.
      const now = await this.get<{ proposal: { status: string } }>(
        `/proposals/${proposal_id}`,
        this.agent.token,
        c,
      );
      if (now.proposal.status !== 'approved') return;
    }

    const ek = `${c.prefix}-n${n}-execute`;
    const executed = await this.write(
      c,
      'execute',
      `/proposals/${proposal_id}/execute`,
      this.agent,
      {},
      ek,
      true,
    );
    const code = errorCode(executed.response);
    if (executed.status === 200) {
      const r = executed.response as { execution_id?: string; result?: { status?: string } };
      this.trackId(r.execution_id, ek);
      if (r.result?.status !== 'succeeded') this.unexpected(executed, 'a succeeded execution');
      if (resend[2]) await this.resend(c, executed, this.agent.token);
    } else if (code === 'EXECUTION_IN_DOUBT') {
      this.inDoubtExecutions.push(proposal_id);
      this.log(`in doubt: ${proposal_id} (${ek})`);
    } else this.unexpected(executed, '200 or EXECUTION_IN_DOUBT');
  }

  /** start an ops change-control run → decide its gates until it ends → validate its trace. */
  private async runFlow(c: ClientState, n: number): Promise<void> {
    const sk = `${c.prefix}-n${n}-run`;
    const service = `soak-${sk}`
      .toLowerCase()
      .replace(/[^a-z0-9_-]/g, '-')
      .slice(0, 63);
    const resend = c.rng() < this.o.resendShare;
    const started = await this.write(
      c,
      'start_run',
      '/workflows/start',
      this.agent,
      { definition: 'ops_change_control', input: changeInput(sk, service), idempotency_key: sk },
      sk,
      true,
    );
    if (started.status !== 200) {
      this.unexpected(started, '200');
      return;
    }
    let view = started.response as RunView;
    this.trackId(view.workflow_id, sk);
    const run: RunRecord = {
      key: sk,
      client: c.index,
      view: null,
      traceValid: false,
      stuck: false,
    };
    this.runs.set(view.workflow_id, run);
    if (resend) await this.resend(c, started, this.agent.token);
    const id = view.workflow_id;
    const status = () => this.get<RunView>(`/workflows/${id}/status`, this.agent.token, c);
    // A run on a gate that is already decided, for this long, will not move by itself.
    let decidedGateSince: number | null = null;
    while (!TERMINAL.has(view.status)) {
      if (this.chaosEndedAt !== null && Date.now() - this.chaosEndedAt > this.o.drainMs) {
        this.finding(
          'run_not_terminal',
          `run ${id} (${sk}) still ${view.status} at ${view.stage} ${Math.round(this.o.drainMs / 1000)} s after the last kill`,
          { waiting_on: view.waiting_on },
        );
        run.stuck = true;
        break;
      }
      const gate = view.waiting_on?.kind === 'approval' ? view.waiting_on.approval_id : undefined;
      if (view.status !== 'waiting' || !gate) {
        decidedGateSince = null;
        await sleep(150);
        view = await status();
        continue;
      }
      const pending = await this.decideGate(c, sk, gate);
      if (pending) decidedGateSince = null;
      else {
        decidedGateSince ??= Date.now();
        // A (re)start resumes runs: count from the later of the two.
        if (Date.now() - Math.max(decidedGateSince, this.lastUpAt) > 20_000) {
          this.finding(
            'run_stuck',
            `run ${id} (${sk}) has been waiting on ${gate}, which is already decided, for 20 s with every server up: nothing will drive it on`,
            { stage: view.stage, waiting_on: view.waiting_on, trace: view.trace.slice(-3) },
          );
          run.stuck = true;
          break;
        }
        await sleep(150);
      }
      view = await status();
    }
    run.view = view;
  }

  /** Decides a pending gate with as many eligible humans as it needs; false when not pending. */
  private async decideGate(c: ClientState, sk: string, approvalId: string): Promise<boolean> {
    const { approval, decisions } = await this.get<{
      approval: {
        status: string;
        request_key: string;
        required_approvals: number;
        required_roles: string[];
        requested_by: string;
      };
      decisions: { reviewer_id: string; decision: string }[];
    }>(`/approvals/${approvalId}`, this.humans[0]!.token, c);
    if (approval.status !== 'pending') return false;
    const decided = new Set(decisions.map((d) => d.reviewer_id));
    const received = decisions.filter((d) => d.decision === 'approve').length;
    const eligible = this.humans.filter(
      (h) =>
        !decided.has(h.id) &&
        h.id !== approval.requested_by &&
        (approval.required_roles.length === 0 || approval.required_roles.includes(h.role)),
    );
    const order = c.rng() < 0.5 ? eligible : [...eligible].reverse();
    const chosen = order.slice(0, Math.max(0, approval.required_approvals - received));
    if (chosen.length === 0) {
      await sleep(150);
      return true;
    }
    for (const h of chosen) {
      const dk = `${sk}-${approval.request_key}-${h.name}`;
      const d = await this.write(
        c,
        'decide',
        `/approvals/${approvalId}/decision`,
        h,
        { reviewer_id: h.id, decision: 'approve', comment: `soak ${dk}` },
        dk,
        true,
      );
      if (d.status === 200) {
        this.trackId((d.response as { decision?: { id?: string } }).decision?.id, dk);
        if (c.rng() < this.o.resendShare) await this.resend(c, d, h.token);
      } else this.unexpected(d, '200');
    }
    return true;
  }

  // ---- the checks -------------------------------------------------------------------------

  async check(): Promise<void> {
    const op = this.operatorToken;
    const byKind = (k: OpKind) => this.journal.filter((e) => e.kind === k);

    // Client workflows and their proposals, as the store has them.
    const workflows = byKind('start_workflow')
      .filter((e) => e.status === 200)
      .map((e) => (e.response as { workflow_id: string }).workflow_id);
    interface ProposalDetail {
      proposal: { id?: string; proposal_id?: string; status: string };
      versions: { params?: { message?: string } }[];
      decisions: { id?: string; comment?: string | null; reviewer_id?: string }[];
      executions: { id?: string; execution_id?: string; dry_run?: boolean; status?: string }[];
    }
    const proposals = new Map<string, ProposalDetail>();
    const toolInvokes = new Counter<string>();
    for (const wf of new Set(workflows)) {
      const w = await this.get<{ proposals: { proposal_id: string }[] }>(`/workflows/${wf}`, op);
      for (const { proposal_id } of w.proposals)
        proposals.set(proposal_id, await this.get<ProposalDetail>(`/proposals/${proposal_id}`, op));
      const log = await this.get<{ entries: { type: string; data: Json }[] }>(
        `/workflows/${wf}/audit-log`,
        op,
      );
      for (const e of log.entries)
        if (e.type === 'TOOL_INVOKE' && typeof e.data.proposal_id === 'string')
          toolInvokes.add(e.data.proposal_id);
    }
    for (const [pid, n] of toolInvokes.over(1))
      this.finding('duplicate_tool_invoke', `${pid}: ${n} TOOL_INVOKE events`);

    // Proposals per propose key (the key is in the message).
    const byMessage = new Map<string, string[]>();
    const decisionsByComment = new Map<string, string[]>();
    for (const [pid, d] of proposals) {
      const message = d.versions[0]?.params?.message ?? '';
      byMessage.set(message, [...(byMessage.get(message) ?? []), pid]);
      for (const dec of d.decisions)
        if (dec.comment)
          decisionsByComment.set(dec.comment, [
            ...(decisionsByComment.get(dec.comment) ?? []),
            pid,
          ]);
      const live = d.executions.filter((x) => x.dry_run !== true);
      if (live.length > 1)
        this.finding('duplicate_execution', `${pid}: ${live.length} live executions`, live);
    }
    let dupProposals = 0;
    for (const [message, ids] of byMessage)
      if (ids.length > 1) {
        dupProposals += ids.length - 1;
        this.finding(
          'duplicate_proposal',
          `propose key ${message.replace(/^soak /, '')} applied ${ids.length} times: ${ids.join(', ')}`,
        );
      }
    let dupDecisions = 0;
    for (const [comment, ids] of decisionsByComment)
      if (ids.length > 1) {
        dupDecisions += ids.length - 1;
        this.finding(
          'duplicate_decision',
          `review key ${comment.replace(/^soak /, '')} applied ${ids.length} times (${ids.join(', ')})`,
        );
      }

    // Nothing acknowledged is lost.
    for (const e of byKind('propose').filter((x) => x.status === 200)) {
      const pid = (e.response as { proposal_id: string }).proposal_id;
      const d = proposals.get(pid);
      if (!d || d.versions[0]?.params?.message !== `soak ${e.key}`)
        this.finding('lost_ack', `acknowledged proposal ${pid} (${e.key}) is not in the store`);
    }
    for (const e of byKind('review').filter((x) => x.status === 200)) {
      const pid = /\/proposals\/([^/]+)\//.exec(e.route)?.[1] ?? '';
      if (!proposals.get(pid)?.decisions.some((d) => d.comment === `soak ${e.key}`))
        this.finding('lost_ack', `acknowledged review ${e.key} of ${pid} is not in the store`);
    }
    for (const e of byKind('execute').filter((x) => x.status === 200)) {
      const pid = /\/proposals\/([^/]+)\//.exec(e.route)?.[1] ?? '';
      const xid = (e.response as { execution_id: string }).execution_id;
      if (!proposals.get(pid)?.executions.some((x) => (x.id ?? x.execution_id) === xid))
        this.finding('lost_ack', `acknowledged execution ${xid} of ${pid} is not in the store`);
    }

    // Runs: every one ended, with a valid trace; gate decisions once per key.
    const gateDecisions = new Map<string, number>();
    const approvals = new Set<string>();
    for (const e of byKind('decide')) {
      const aid = /\/approvals\/([^/]+)\//.exec(e.route)?.[1];
      if (aid) approvals.add(aid);
    }
    for (const [id, run] of this.runs) {
      const view = await this.get<RunView>(`/workflows/${id}/status`, op);
      run.view = view;
      if (!TERMINAL.has(view.status) && !run.stuck)
        this.finding(
          'run_not_terminal',
          `run ${id} (${run.key}) is ${view.status} at ${view.stage}`,
        );
      for (const t of view.trace)
        if (t.type === 'decision' && typeof t.approval_id === 'string')
          approvals.add(t.approval_id);
      if (!TERMINAL.has(view.status)) continue; // reported above; its trace cannot be complete
      const trace = await this.get<{ valid: boolean; problems: unknown[] }>(
        `/workflows/${id}/trace`,
        op,
      );
      run.traceValid = trace.valid;
      if (!trace.valid)
        this.finding('trace_invalid', `run ${id} (${run.key}): trace invalid`, trace.problems);
    }
    const acked = new Map(
      byKind('decide')
        .filter((e) => e.status === 200)
        .map((e) => [`soak ${e.key}`, e]),
    );
    for (const aid of approvals) {
      const a = await this.get<{ decisions: { comment: string | null }[] }>(
        `/approvals/${aid}`,
        op,
      );
      const counts = new Counter<string>();
      for (const d of a.decisions) if (d.comment) counts.add(d.comment);
      for (const [comment, n] of counts.over(1)) {
        gateDecisions.set(comment, n);
        this.finding(
          'duplicate_gate_decision',
          `gate decision ${comment.replace(/^soak /, '')} applied ${n} times on ${aid}`,
        );
      }
      for (const comment of counts.map.keys()) acked.delete(comment);
    }
    for (const e of acked.values())
      this.finding('lost_ack', `acknowledged gate decision ${e.key} is not in the store`);
    for (const e of byKind('start_run').filter((x) => x.status === 200)) {
      const id = (e.response as { workflow_id: string }).workflow_id;
      if (!this.runs.get(id)?.view)
        this.finding('lost_ack', `acknowledged run ${id} (${e.key}) was not found`);
    }

    // Tool effects: one webhook POST per proposal at most, one per client message at most.
    const perProposal = new Counter<string>();
    const perMessage = new Counter<string>();
    for (const fx of this.effects) {
      perProposal.add(`${fx.proposal_id ?? '?'}`);
      if (fx.message?.startsWith('soak ')) perMessage.add(fx.message);
    }
    let dupEffects = 0;
    for (const [pid, n] of perProposal.over(1)) {
      dupEffects += n - 1;
      this.finding('duplicate_effect', `send_notification of ${pid} POSTed ${n} times`);
    }
    for (const [message, n] of perMessage.over(1)) {
      dupEffects += n - 1;
      this.finding(
        'duplicate_effect',
        `the notification of ${message.replace(/^soak /, '')} was sent ${n} times (by different proposals)`,
      );
    }

    this.duplicates = {
      proposals: dupProposals,
      decisions: dupDecisions,
      gateDecisions: [...gateDecisions.values()].reduce((a, n) => a + n - 1, 0),
      executions: this.findings.filter((f) => f.kind === 'duplicate_execution').length,
      effects: dupEffects,
      ids: this.idDuplicates,
    };
    await this.verifyChain(true);
  }

  /** After the checks: every acknowledged write, sent again with its key, replays its answer. */
  async replayAll(): Promise<void> {
    const tokens = new Map([this.agent, ...this.humans].map((i) => [i.name, i.token]));
    let i = 0;
    for (const e of this.journal) {
      const c: ClientState = {
        index: i++,
        rng: Math.random,
        jitter: Math.random,
        prefix: '',
        workflowId: null,
        flows: 0,
      };
      await this.resend(c, e, tokens.get(e.as)!);
    }
  }
}

/** A low-risk configuration change on staging whose window is open: one approval per gate. */
function changeInput(key: string, service: string): Json {
  return {
    change_request: {
      title: `Soak change ${key}`.slice(0, 200),
      summary: `Sets ${service}.soak.value; started by the kill -9 soak loop.`,
      change_type: 'configuration',
      requested_by: 'soak',
      ticket: key.slice(0, 100),
    },
    impacted_systems: [{ name: service, criticality: 'medium', environment: 'staging' }],
    requirements: { compliance: [] },
    change_window: { start: '2020-01-01T00:00:00.000Z', end: '2099-12-31T00:00:00.000Z' },
    parameters: {
      config_changes: [{ service, key: 'soak.value', from: null, to: key.slice(0, 60) }],
      notify_channel: 'soak',
    },
  };
}

/** `countersign --json audit verify` on one data directory (after the servers stopped). */
function cliVerify(
  bin: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, '--json', 'audit', 'verify'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The environment of a server: only the soak's settings, none of the caller's. */
function serverEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('COUNTERSIGN_') && k !== 'PORT') env[k] = v;
  return { ...env, ...extra };
}

// ---- the entry point ----------------------------------------------------------------------

export async function runSoak(options: SoakOptions = {}): Promise<SoakReport> {
  const seed = options.seed ?? 1;
  const databaseUrl = options.databaseUrl || undefined;
  const o = {
    cycles: options.cycles ?? 25,
    clients: options.clients ?? 4,
    seed,
    databaseUrl,
    servers: options.servers ?? (databaseUrl ? 2 : 1),
    keep: options.keep ?? 'on-failure',
    minUpMs: options.minUpMs ?? 300,
    maxUpMs: options.maxUpMs ?? 1500,
    aroundWrites: options.aroundWrites ?? 0.6,
    workflowShare: options.workflowShare ?? 0.3,
    resendShare: options.resendShare ?? 0.2,
    verifyEvery: options.verifyEvery ?? 5,
    deadlineMs: options.deadlineMs ?? Number.POSITIVE_INFINITY,
    drainMs: options.drainMs ?? 90_000,
    tenant: options.tenant ?? (databaseUrl ? `soak-${seed}-${Date.now().toString(36)}` : 'default'),
    log: options.log ?? (() => undefined),
    signal: options.signal,
  };
  if (!databaseUrl && o.servers !== 1)
    throw new Error('several servers need one shared database: pass a Postgres database URL');
  const workDir = options.workDir
    ? path.resolve(options.workDir)
    : fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-soak-'));
  fs.mkdirSync(workDir, { recursive: true });
  const h = new Harness(o, workDir);
  // Whatever happens to this process, no server outlives it.
  const killAll = () => {
    for (const child of h.children) child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const sink = await startWebhookSink();
  const t0 = Date.now();
  let failure: unknown;
  try {
    for (let i = 0; i < o.servers; i++) {
      const dataDir = path.join(workDir, `server-${i}`);
      const env = serverEnv({
        COUNTERSIGN_DATA_DIR: dataDir,
        COUNTERSIGN_DATABASE_URL: databaseUrl ?? '',
        COUNTERSIGN_TENANT: o.tenant,
        COUNTERSIGN_WEBHOOK_URL: sink.url,
      });
      h.servers.push(
        new ServerProcess(
          i,
          dataDir,
          await freePort(),
          env,
          path.join(workDir, `server-${i}.log`),
          h,
        ),
      );
    }
    h.probe = databaseUrl
      ? postgresCommitProbe(databaseUrl, o.tenant)
      : sqliteCommitProbe(h.servers[0]!.dataDir);
    // One after the other: the first start migrates the database and mints the operator token.
    for (const s of h.servers) await s.start();
    const token = h.servers.map((s) => s.operatorToken).find((t) => t);
    if (!token)
      throw new Error(
        `no operator token printed: tenant ${o.tenant} already has tokens; use a fresh tenant or database`,
      );
    h.operatorToken = token;
    h.log(
      `soak: ${o.servers} server(s) on ${databaseUrl ? 'Postgres' : 'SQLite'}, ${o.clients} clients, ${o.cycles} cycles, seed ${seed}, work dir ${workDir}`,
    );
    await h.setup();
    await h.verifyChain();

    const clients = Array.from({ length: o.clients }, (_, i) => h.client(i));
    try {
      await h.chaos();
    } finally {
      h.chaosDone = true;
      h.chaosEndedAt ??= Date.now();
    }
    for (const s of h.servers) if (!s.up) await s.start();
    await Promise.all(clients);
    h.log(`clients done: ${h.journal.length} acknowledged writes; checking`);
    h.effects = sink.effects;
    await h.check();
    h.log(`replaying ${h.journal.length} acknowledged writes`);
    await h.replayAll();
    await h.verifyChain(true);
  } catch (e) {
    failure = e;
    h.aborted = true;
  }

  // A clean stop, then the CLI's own verification of every data directory.
  for (const s of h.servers) {
    const code = await s.stop();
    if (code !== 0 && failure === undefined)
      h.finding('server_exit', `server ${s.index} stopped with exit code ${code} on SIGTERM`);
  }
  if (failure === undefined)
    for (const s of h.servers) {
      const v = await cliVerify(h.bin, {
        ...serverEnv({
          COUNTERSIGN_DATA_DIR: s.dataDir,
          COUNTERSIGN_DATABASE_URL: databaseUrl ?? '',
          COUNTERSIGN_TENANT: o.tenant,
        }),
      });
      let ok: boolean;
      try {
        ok = v.code === 0 && (JSON.parse(v.stdout) as { ok?: boolean }).ok === true;
      } catch {
        ok = false;
      }
      h.chainChecks++;
      if (!ok) {
        h.chainOk = false;
        h.finding('chain_broken', `countersign audit verify on ${s.dataDir} exited ${v.code}`, {
          stdout: v.stdout.slice(0, 4000),
          stderr: v.stderr.slice(0, 4000),
        });
      }
    }
  await sink.close();
  await h.probe?.close();
  killAll(); // none should be left; a stray one must not keep this process alive
  process.removeListener('exit', killAll);
  if (failure !== undefined)
    h.finding(
      'client_error',
      `the soak loop stopped: ${failure instanceof Error ? failure.message : JSON.stringify(failure)}`,
      { stack: failure instanceof Error ? failure.stack : undefined },
    );

  const byStatus: Record<string, number> = {};
  let traceValid = 0;
  const inDoubtRuns: string[] = [];
  const inDoubtCalls = [...h.inDoubtExecutions];
  for (const [id, run] of h.runs) {
    const st = run.view?.status ?? 'unknown';
    byStatus[st] = (byStatus[st] ?? 0) + 1;
    if (run.traceValid) traceValid++;
    const doubtful = (run.view?.trace ?? []).filter(
      (t) => errorCode({ error: t.error }) === 'EXECUTION_IN_DOUBT',
    );
    if (doubtful.length > 0) inDoubtRuns.push(id);
    for (const t of doubtful)
      if (typeof t.proposal_id === 'string') inDoubtCalls.push(t.proposal_id);
  }
  // Whether the tool's effect happened for each call in doubt (what a human would reconcile).
  const sent = new Set(sink.effects.map((fx) => fx.proposal_id));
  const effectSent = inDoubtCalls.filter((pid) => sent.has(pid)).length;
  const ok = h.findings.length === 0 && h.chainOk;
  const kept = o.keep === true || (o.keep === 'on-failure' && !ok);
  const report: SoakReport = {
    store: databaseUrl ? 'postgres' : 'sqlite',
    seed,
    clients: o.clients,
    servers: o.servers,
    cyclesPlanned: o.cycles,
    cycles: h.cycles,
    kills: h.kills,
    durationMs: Date.now() - t0,
    requests: h.requests,
    acknowledged: h.acknowledged,
    retries: h.retries,
    retriedWrites: h.retriedWrites,
    replays: h.replays,
    resends: h.resends,
    retryableAnswers: h.retryableAnswers,
    inDoubt: {
      executions: h.inDoubtExecutions,
      runs: inDoubtRuns,
      calls: inDoubtCalls.length,
      effectSent,
    },
    duplicates: h.duplicates,
    lostAcks: h.findings.filter((f) => f.kind === 'lost_ack').length,
    retryNotReplayed: Object.fromEntries(h.retryNotReplayed.map),
    serverErrors: h.serverErrors,
    serverLog: h.serverLog,
    chain: { ok: h.chainOk, checks: h.chainChecks, events: h.chainEvents },
    runs: { started: h.runs.size, byStatus, traceValid },
    effects: sink.effects.length,
    findings: h.findings,
    workDir,
    kept,
    ok,
  };
  fs.writeFileSync(path.join(workDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  if (!kept) fs.rmSync(workDir, { recursive: true, force: true });
  return report;
}

/** The report as a few lines for people. */
export function formatSummary(r: SoakReport): string {
  const acked = Object.values(r.acknowledged).reduce((a, n) => a + n, 0);
  const kinds = Object.entries(r.acknowledged)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const notReplayed = Object.entries(r.retryNotReplayed)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const byKind = new Counter<string>();
  for (const f of r.findings) byKind.add(f.kind);
  const lines = [
    `soak ${r.ok ? 'PASSED' : 'FAILED'}: ${r.store}, ${r.servers} server(s), ${r.clients} clients, seed ${r.seed}, ${(r.durationMs / 1000).toFixed(1)} s`,
    `  cycles            ${r.cycles} of ${r.cyclesPlanned} (kills: ${r.kills.aroundWrites} during a write, ${r.kills.atCommit} of them at a commit; ${r.kills.timed} timed)`,
    `  acknowledged      ${acked} writes (${kinds})`,
    `  requests          ${r.requests}; retries of unanswered requests ${r.retries} (${r.retriedWrites} writes needed more than one attempt); retryable answers ${r.retryableAnswers}`,
    `  replays           ${r.replays} answers marked Idempotent-Replayed; re-sent acknowledged writes ${r.resends.sent}, replayed identically ${r.resends.identical}`,
    `  in doubt          ${r.inDoubt.executions.length} executions${r.inDoubt.executions.length ? ` (${r.inDoubt.executions.join(', ')})` : ''}; ${r.inDoubt.runs.length} runs stopped on one${r.inDoubt.runs.length ? ` (${r.inDoubt.runs.join(', ')})` : ''}; of ${r.inDoubt.calls} calls in doubt, ${r.inDoubt.effectSent} had sent their notification, ${r.inDoubt.calls - r.inDoubt.effectSent} had not`,
    `  duplicates        proposals ${r.duplicates.proposals}, review decisions ${r.duplicates.decisions}, gate decisions ${r.duplicates.gateDecisions}, executions ${r.duplicates.executions}, tool effects ${r.duplicates.effects}, IDs ${r.duplicates.ids}`,
    `  retry answered "already done" instead of a replay: ${notReplayed || 'none'}`,
    `  lost acks         ${r.lostAcks}`,
    `  server errors     ${r.serverErrors} 5xx answers; logged: ${r.serverLog.errors} internal errors, ${r.serverLog.warnings} warnings`,
    `  runs              ${r.runs.started} started (${
      Object.entries(r.runs.byStatus)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'none'
    }); traces valid ${r.runs.traceValid}`,
    `  tool effects      ${r.effects} webhook POSTs`,
    `  chain             ${r.chain.ok ? 'ok' : 'BROKEN'} (${r.chain.checks} checks, ${r.chain.events} events)`,
    `  findings          ${r.findings.length}${byKind.map.size ? ` (${[...byKind.map].map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}`,
  ];
  for (const f of r.findings.slice(0, 30)) lines.push(`    - ${f.kind}: ${f.message}`);
  if (r.findings.length > 30) lines.push(`    … ${r.findings.length - 30} more in report.json`);
  for (const l of r.serverLog.lines.slice(0, 8)) lines.push(`    ${l.slice(0, 300)}`);
  if (r.kept)
    lines.push(`  work dir          ${r.workDir} (journal.jsonl, report.json, server logs)`);
  return lines.join('\n');
}

/**
 * What a replay repeats exactly: everything, except that a run's start or gate decision
 * answers with the run as it is now (the decision and the run's ID are what was committed).
 */
function replayedPart(kind: OpKind, body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return body;
  const b = body as Record<string, unknown>;
  if (kind === 'start_run' && typeof b.workflow_id === 'string')
    return { workflow_id: b.workflow_id };
  if (kind === 'decide' && typeof b.run === 'object' && b.run !== null)
    return { ...b, run: { workflow_id: (b.run as Record<string, unknown>).workflow_id } };
  return body;
}
