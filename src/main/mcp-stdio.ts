import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { type CallContext, OPERATOR_ID, operatorContext, tokenContext } from '../core/context.js';
import { CountersignError } from '../core/errors.js';
import type { Kernel } from '../core/kernel.js';
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
  /**
   * Who the connection acts as. `operator`: the trusted local operator, who names actors in
   * parameters (scripts, demos). `actor`: that agent or service actor. `token`: the actor of
   * that API token (checked again on every call). None: the tenant's `local-agent`.
   */
  readonly bind?:
    { readonly operator: true } | { readonly actor: string } | { readonly token: string };
}

/** Who a stdio connection acts as, told to the user on stderr. */
interface Binding {
  readonly contextFor: () => CallContext | Promise<CallContext>;
  readonly requirePurpose: boolean;
  readonly banner: string;
}

async function bindConnection(
  kernel: Kernel,
  tenant: string,
  bind: McpStdioOptions['bind'],
): Promise<Binding> {
  const local = operatorContext('mcp-stdio', tenant);
  if (bind && 'operator' in bind)
    return {
      contextFor: () => local,
      requirePurpose: false,
      banner: 'as the local operator (--operator): parameters name the acting actors',
    };
  if (bind && 'token' in bind) {
    const auth = await kernel.authenticate(bind.token);
    if (auth.tenant_id !== tenant)
      throw new CountersignError(
        'VALIDATION_FAILED',
        `COUNTERSIGN_TOKEN belongs to tenant "${auth.tenant_id}", not "${tenant}".`,
      );
    if (auth.actor_id === OPERATOR_ID)
      throw new CountersignError(
        'VALIDATION_FAILED',
        'COUNTERSIGN_TOKEN is an operator token; `countersign mcp` binds an agent to one agent or service actor. ' +
          'Mint one with `countersign token create --actor <agent id>`, or use --operator for scripts.',
      );
    const agent = await kernel.bindAgent(local, auth.actor_id);
    const token = bind.token;
    return {
      contextFor: async () => tokenContext(await kernel.authenticate(token), ''),
      requirePurpose: true,
      banner: `as ${agent.kind} ${agent.actor_id} (${agent.name}), with the token ${auth.token_id} from COUNTERSIGN_TOKEN`,
    };
  }
  const agent = await kernel.bindAgent(local, bind?.actor);
  const ctx: CallContext = {
    tenant_id: tenant,
    caller: { kind: 'actor', actor_id: agent.actor_id },
    purpose: '',
  };
  return {
    contextFor: () => ctx,
    requirePurpose: true,
    banner:
      `as ${agent.kind} ${agent.actor_id} (${agent.name})` +
      (agent.registered ? ", registered just now as this machine's local agent" : '') +
      (bind ? '' : '; it proposes and executes, people decide (--actor <id> binds another agent)'),
  };
}

/**
 * `countersign mcp`: serves every operation as an MCP tool on stdin/stdout, bound to one
 * principal (`options.bind`): by default the tenant's `local-agent`, an agent actor that can
 * propose and execute but never decide, nor name another actor. `--operator` keeps the trusted
 * local operator's mode, where parameters name actors (scripts, the connector's example).
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
  let binding: Binding;
  try {
    binding = await bindConnection(runtime.services.kernel, config.tenant, options.bind);
  } catch (e) {
    await runtime.close();
    throw e;
  }
  const server = createMcpServer(runtime.services, binding.contextFor, {
    requirePurpose: binding.requirePurpose,
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
    log(
      `countersign mcp: serving tenant "${config.tenant}" from ${store} on stdio, ${binding.banner}`,
    );
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
