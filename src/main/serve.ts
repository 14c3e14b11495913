import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { operatorContext } from '../core/context.js';
import { CountersignError } from '../core/errors.js';
import type { Kernel } from '../core/kernel.js';
import { buildHttpApp } from '../surfaces/http/app.js';
import { codecRoute } from '../surfaces/http/codec-route.js';
import { consoleRoute, defaultConsoleDir } from '../surfaces/http/console-route.js';
import { eventsRoute } from '../surfaces/http/events-route.js';
import { mcpRoute } from '../surfaces/http/mcp-route.js';
import { noSniff } from '../surfaces/http/security-headers.js';
import type { Services } from '../surfaces/services.js';
import { startCheckpointSchedule } from './checkpoints.js';
import { openRuntime } from './compose.js';
import { startDecisionWebhooks } from './decision-webhooks.js';
import { openSlackApprovals } from './slack-approvals.js';
import { demoBanner, seedConsoleDemo } from './console-demo.js';
import { type Config, temporalKeyFile } from './config.js';
import { loadTemporal } from './optional-packages.js';

export const DEFAULT_PORT = 8787;

export interface ServeOptions {
  /** 0 picks a free port; default `PORT` from the environment, else 8787. */
  readonly port?: number | string | undefined;
  readonly host?: string;
  readonly log?: (line: string) => void;
  readonly extraRoutes?: (app: FastifyInstance) => void;
  /** The built console (default: dist/console of this package). */
  readonly consoleDir?: string;
  /** Temporal UI link template for runs (`{workflow_id}`); default from COUNTERSIGN_TEMPORAL_UI_URL. */
  readonly temporalUiUrl?: string | null;
}

export interface RunningServer {
  /** e.g. `http://127.0.0.1:8787`, with the port actually bound. */
  readonly url: string;
  /** The operator token created on the first start (shown once); null when tokens exist. */
  readonly adminToken: string | null;
  readonly kernel: Kernel;
  readonly services: Services;
  close(): Promise<void>;
}

/** A TCP port from an option or the environment; anything else is a clear error. */
export function parsePort(value: number | string, source = 'port'): number {
  const text = String(value).trim();
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new CountersignError(
      'VALIDATION_FAILED',
      `${source} must be a whole number from 0 to 65535, not ${JSON.stringify(String(value))}.`,
      { issues: [{ path: source, message: 'must be an integer from 0 to 65535' }] },
    );
  return port;
}

function resolvePort(option: number | string | undefined): number {
  if (option !== undefined) return parsePort(option, 'port');
  const env = process.env.PORT;
  if (env !== undefined && env.trim() !== '') return parsePort(env, 'PORT');
  return DEFAULT_PORT;
}

/**
 * Opens the runtime, bootstraps an operator token on the first start, and serves the
 * HTTP API on host:port (127.0.0.1 unless told otherwise).
 */
export async function startServer(
  config: Config,
  options: ServeOptions = {},
): Promise<RunningServer> {
  const port = resolvePort(options.port);
  const host = options.host ?? '127.0.0.1';
  const runtime = await openRuntime(config, { background: true });
  const { kernel } = runtime;
  let app: FastifyInstance | undefined;
  try {
    let adminToken: string | null = null;
    if ((await kernel.countTokens(config.tenant)) === 0) {
      // The first token binds to the tenant's operator (the principal the local CLI is), so
      // bootstrapping consumes no actor ID; it can register actors and mint their tokens.
      const created = await kernel.createToken(
        operatorContext('serve: first start creates the administrator token', config.tenant),
        { actor_id: 'operator', name: 'admin' },
      );
      adminToken = created.token;
    }
    const mcp = mcpRoute(runtime.services);
    // On Temporal, the codec endpoint lets an operator's Temporal UI or CLI read the payloads.
    const codec = config.temporal
      ? {
          kernel,
          codec: (await loadTemporal()).openTemporalCodec(config.dataDir, config.temporal),
          tenant: config.tenant,
          allowedOrigin: config.temporal.uiUrl ? new URL(config.temporal.uiUrl).origin : null,
        }
      : undefined;
    const consoleFiles = consoleRoute({
      dir: options.consoleDir ?? defaultConsoleDir(),
      temporalUiUrl:
        options.temporalUiUrl !== undefined
          ? options.temporalUiUrl
          : (config.temporal?.uiUrl?.replace('{id}', '{workflow_id}') ?? null),
    });
    // Approval requests posted to Slack and decided there, when COUNTERSIGN_SLACK_BOT_TOKEN is set.
    const slack = await openSlackApprovals(
      config,
      kernel,
      runtime.store,
      options.log ?? (() => undefined),
      runtime.services,
    );
    app = buildHttpApp(runtime.services, {
      ...(options.log ? { log: options.log } : {}),
      maxKeptBytes: config.idempotencyMaxBytes,
      extraRoutes: (a) => {
        noSniff(a);
        mcp(a);
        eventsRoute(runtime.services)(a);
        consoleFiles(a);
        if (codec) void a.register(codecRoute, codec);
        slack?.route(a);
        options.extraRoutes?.(a);
      },
    });
    await app.listen({ port, host });
    // Signed checkpoints of every tenant's ledger, outside the database, while it serves.
    const checkpoints = startCheckpointSchedule(
      config,
      runtime.store,
      options.log ?? (() => undefined),
    );
    // Every decision POSTed, signed, to COUNTERSIGN_DECISION_WEBHOOK_URL when it is set.
    const webhooks = startDecisionWebhooks(config, runtime.store, options.log ?? (() => undefined));
    slack?.start();
    const address = app.server.address() as AddressInfo;
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${shownHost}:${address.port}`;
    const server = app;
    let closing: Promise<void> | undefined;
    return {
      url,
      adminToken,
      kernel,
      services: runtime.services,
      close() {
        closing ??= (async () => {
          try {
            await server.close();
          } finally {
            try {
              // After the last request, before the store closes: anchor what they wrote.
              await Promise.all([checkpoints.stop(), webhooks.stop(), slack?.stop()]);
            } finally {
              await runtime.close();
            }
          }
        })();
        return closing;
      },
    };
  } catch (e) {
    await app?.close().catch(() => undefined);
    await runtime.close();
    throw e;
  }
}

/** What `countersign serve` prints: where to reach the API and how to connect an MCP client. */
export function serveBanner(url: string, adminToken: string | null): string {
  const http = {
    mcpServers: {
      countersign: {
        type: 'http',
        url: `${url}/mcp`,
        headers: { Authorization: "Bearer <the agent's token>" },
      },
    },
  };
  const stdio = { mcpServers: { countersign: { command: 'npx', args: ['countersign', 'mcp'] } } };
  return [
    `Countersign listening on ${url}`,
    `Console: ${url}/ (sign in with an API token)`,
    adminToken
      ? `Operator token (shown once): ${adminToken}`
      : 'API tokens already exist; `countersign token list` shows them.',
    'The operator token administers (actors, tokens, policy, reads) and never acts as an actor.',
    'Give each person and agent an identity of their own, then a token for it:',
    '  countersign actor register --name Alice --role Developer',
    '  countersign actor register --name "Claude Code" --role agent --kind agent',
    '  countersign token create --actor <actor id> --name "claude-code" --expires-in 30d',
    `OpenAPI: ${url}/openapi.json`,
    '',
    "MCP over Streamable HTTP (client config, with an agent's token):",
    JSON.stringify(http, null, 2),
    '',
    'MCP over stdio (client config, run in this checkout; acts as the local agent):',
    JSON.stringify(stdio, null, 2),
    '',
  ].join('\n');
}

/**
 * `countersign serve`: starts the server, prints the banner, and runs until SIGINT or SIGTERM,
 * then closes the server and the store and prints "stopped".
 */
export async function serveCommandMain(
  config: Config,
  port?: number | string,
  options: Omit<ServeOptions, 'port'> & { out?: (text: string) => void; demo?: boolean } = {},
): Promise<void> {
  const out = options.out ?? ((text: string) => process.stdout.write(text));
  const { demo: withDemo, out: _out, ...serveOptions } = options;
  const demo = withDemo ? await seedConsoleDemo(config) : undefined;
  const server = await startServer(demo?.config ?? config, {
    ...serveOptions,
    port,
    log: options.log ?? ((line) => process.stderr.write(`${line}\n`)),
  });
  out(`${serveBanner(server.url, server.adminToken)}\n`);
  const t = (demo?.config ?? config).temporal;
  out(
    t
      ? `Workflow runs execute on Temporal at ${t.address} (namespace ${t.namespace}, task queue ${t.taskQueue}): keep \`countersign worker\` running with the same settings.\n` +
          `What is sent to Temporal is encrypted with the keys in ${temporalKeyFile((demo?.config ?? config).dataDir, t)}; the Temporal UI and CLI decode through ${server.url}/codec with an operator token.\n\n`
      : 'Workflow runs execute in this process (the embedded runtime).\n\n',
  );
  if (demo) out(`${demoBanner(server.url, demo)}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  out('stopped\n');
}
