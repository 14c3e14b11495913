import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallContext } from '../core/context.js';
import { createMcpServer, whenIdle } from '../surfaces/mcp/server.js';
import { openRuntime } from './compose.js';
import type { Config } from './config.js';

/** How long a signal waits for running tool calls before the store is closed anyway. */
const SIGNAL_DRAIN_MS = 5_000;

export interface McpStdioOptions {
  readonly stdin?: Readable;
  readonly stdout?: Writable;
  /** Where logs go; never stdout, which carries only MCP messages. */
  readonly log?: (line: string) => void;
}

/**
 * `countersign mcp`: serves every operation as an MCP tool on stdin/stdout for the local
 * operator of the data directory, who (as in the seed) may name actors in parameters.
 * Resolves once stdin ends or SIGINT/SIGTERM arrives, after the tool calls already running
 * have finished and the runtime is closed.
 *
 * @example
 * await runMcpStdio(configFromEnv());
 */
export async function runMcpStdio(config: Config, options: McpStdioOptions = {}): Promise<void> {
  const stdin = options.stdin ?? process.stdin;
  const stdout = options.stdout ?? process.stdout;
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));

  const runtime = await openRuntime(config, { background: true });
  const ctx: CallContext = {
    tenant_id: config.tenant,
    caller: { kind: 'operator' },
    purpose: 'mcp-stdio',
  };
  const server = createMcpServer(runtime.services, () => ctx, {
    onInternalError: (e, tool) =>
      log(
        `countersign mcp: ${tool} failed unexpectedly: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
      ),
  });
  server.server.onerror = (e) => log(`countersign mcp: ${e.message}`);

  let finish!: (outcome: Promise<void>) => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let stopping: Promise<void> | undefined;
  const stop = (why: string, drainMs: number | undefined): Promise<void> => {
    stopping ??= (async () => {
      log(`countersign mcp: ${why}; stopping`);
      const drained = whenIdle(server);
      await (drainMs === undefined
        ? drained
        : Promise.race([drained, new Promise((r) => setTimeout(r, drainMs).unref())]));
      await server.close();
      await runtime.close();
    })();
    finish(stopping);
    return stopping;
  };

  const onEnd = () => void stop('stdin ended', undefined);
  const onSigint = () => void stop('SIGINT', SIGNAL_DRAIN_MS);
  const onSigterm = () => void stop('SIGTERM', SIGNAL_DRAIN_MS);
  // A client gone away (EPIPE) must not crash the process with an unhandled 'error' event.
  const onStdoutError = (e: Error) => void stop(`stdout failed (${e.message})`, 0);
  stdin.once('end', onEnd);
  stdin.once('close', onEnd);
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigterm);
  stdout.on('error', onStdoutError);
  server.server.onclose = () => void stop('the transport closed', undefined);

  try {
    await server.connect(new StdioServerTransport(stdin, stdout));
    const store = config.databaseUrl ? 'Postgres' : config.dataDir;
    log(`countersign mcp: serving tenant "${config.tenant}" from ${store} on stdio`);
    await finished;
  } catch (e) {
    await stop('failed to start', 0).catch(() => undefined);
    throw e;
  } finally {
    stdin.off('end', onEnd);
    stdin.off('close', onEnd);
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    stdout.off('error', onStdoutError);
  }
}
