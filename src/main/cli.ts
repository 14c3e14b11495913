import fs from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { operatorContext } from '../core/context.js';
import {
  CountersignError,
  ERROR_CODES,
  type ErrorCode,
  isCountersignError,
  toCountersignError,
} from '../core/errors.js';
import { parseQuorum } from '../core/quorum.js';
import type { executeParallelOutput } from '../core/schemas.js';
import { invokeOperation, operation } from '../surfaces/operations.js';
import { type Config, configFromEnv } from './config.js';
import { openRuntime } from './compose.js';
import { runDemo } from './demo.js';
import { EXIT, EXIT_HELP, exitCodeFor } from './exit-codes.js';
import {
  LedgerContradiction,
  auditCheckProof,
  auditCheckpoint,
  auditKey,
  auditProve,
  verifyCheckpoints,
} from './audit-commands.js';
import {
  printCheckpoint,
  printDemo,
  printProofCheck,
  printResult,
  printTrace,
  printVerify,
} from './print.js';
import { runMcpStdio } from './mcp-stdio.js';
import { loadWorker } from './optional-packages.js';
import { addPolicyTrialCommands } from './policy-commands.js';
import { callRemote } from './remote.js';
import { serveCommandMain } from './serve.js';
import { addWorkPackageCommands } from './wp-commands.js';
import type { VerifyReport } from '../core/ledger.js';
import type { TraceReport } from '../core/trace.js';
import type { z } from 'zod';

type ExecuteParallelOutput = z.infer<typeof executeParallelOutput>;

const isErrorCode = (code: string | undefined): code is ErrorCode =>
  code !== undefined && Object.hasOwn(ERROR_CODES, code);

interface GlobalOptions {
  dataDir?: string;
  json?: boolean;
  purpose: string;
  tenant?: string;
  server?: string;
  token?: string;
}

/** `@path` reads the value from a file; anything else is the value itself. */
function readArg(value: string): string {
  if (!value.startsWith('@')) return value;
  const file = value.slice(1);
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CountersignError(
      'VALIDATION_FAILED',
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { issues: [{ path: value, message: 'file cannot be read' }] },
    );
  }
}

function parseJson(flag: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CountersignError(
      'VALIDATION_FAILED',
      `${flag} is not valid JSON: ${(e as Error).message}`,
      {
        issues: [{ path: flag, message: 'not valid JSON' }],
      },
    );
  }
  if (typeof value !== 'object' || value === null)
    throw new CountersignError('VALIDATION_FAILED', `${flag} must be a JSON object or array`, {
      issues: [{ path: flag, message: 'must be a JSON object or array' }],
    });
  return value as Record<string, unknown>;
}

function configOf(opts: GlobalOptions): Config {
  const env = configFromEnv();
  return {
    ...env,
    ...(opts.dataDir
      ? { dataDir: configFromEnv({ COUNTERSIGN_DATA_DIR: opts.dataDir }).dataDir }
      : {}),
    ...(opts.tenant ? { tenant: opts.tenant } : {}),
  };
}

/** Drops undefined values so optional flags do not reach the schema as explicit undefined. */
function defined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90m`, `12h`, `30d`, `45s` or a bare number of seconds. */
function parseDuration(value: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(value.trim());
  if (!m)
    throw new CountersignError(
      'VALIDATION_FAILED',
      `--expires-in must be a duration such as 90m, 12h, 30d or a number of seconds, got "${value}"`,
      { issues: [{ path: '--expires-in', message: 'not a duration' }] },
    );
  return Number(m[1]) * DURATION_UNITS[m[2] || 's']!;
}

const LOCAL_OR_REMOTE = `
Runs against the local data directory as its operator, or with --server and --token
(env COUNTERSIGN_SERVER, COUNTERSIGN_TOKEN) against a running server as the token's actor.`;

/** Builds the program. Every operation command is a view of one entry of OPERATIONS. */
export function buildProgram(out: (s: string) => void = (s) => process.stdout.write(s)): Command {
  const program = new Command('countersign')
    .description('Governed execution of AI-agent actions: propose, review, execute, audit.')
    .option(
      '-d, --data-dir <dir>',
      'data directory (env COUNTERSIGN_DATA_DIR, default ./.countersign)',
    )
    .option('--tenant <id>', 'tenant (env COUNTERSIGN_TENANT, default "default")')
    .option('--server <url>', 'call a running server instead (env COUNTERSIGN_SERVER)')
    .option('--token <token>', 'API token for --server (env COUNTERSIGN_TOKEN)')
    .option('--purpose <text>', 'why you are making this call (recorded in the ledger)', 'cli')
    .option('--json', 'print machine-readable JSON')
    .addHelpText(
      'after',
      `\n${EXIT_HELP}\n\nConfiguration: COUNTERSIGN_DATA_DIR, COUNTERSIGN_DATABASE_URL (Postgres), COUNTERSIGN_POLICY_DIR,\nCOUNTERSIGN_WEBHOOK_URL, COUNTERSIGN_SERVER and COUNTERSIGN_TOKEN (remote mode),\nCOUNTERSIGN_TEMPORAL_ADDRESS (run workflows on Temporal; see countersign worker --help),\nCOUNTERSIGN_TOOLS (your own tools: tool modules and HTTP-tool JSON files, comma-separated;\nunset, ./countersign.config.json if present).`,
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: (s) => process.stderr.write(s) });

  const globals = () => program.opts<GlobalOptions>();

  /** Runs one catalogue operation locally or remotely and returns its result. */
  const invoke = async (name: string, input: Record<string, unknown>): Promise<unknown> => {
    const g = globals();
    const op = operation(name);
    const server = g.server ?? process.env.COUNTERSIGN_SERVER;
    if (server) {
      const token = g.token ?? process.env.COUNTERSIGN_TOKEN;
      if (!token)
        throw new CountersignError(
          'UNAUTHENTICATED',
          '--server needs an API token: pass --token or set COUNTERSIGN_TOKEN.',
        );
      return callRemote(server, token, g.purpose, op, defined(input));
    }
    const config = configOf(g);
    const rt = await openRuntime(config);
    try {
      return await invokeOperation(
        rt.services,
        op,
        operatorContext(g.purpose, config.tenant),
        defined(input),
      );
    } finally {
      await rt.close();
    }
  };
  /**
   * The reviewer of a decision: --reviewer, or, against a server, whoever the token belongs to
   * (the server fills it in). Locally the CLI acts as the operator, who decides nothing itself.
   */
  const reviewerOf = (reviewer: string | undefined): string | undefined => {
    if (reviewer !== undefined || (globals().server ?? process.env.COUNTERSIGN_SERVER))
      return reviewer;
    throw new CountersignError(
      'VALIDATION_FAILED',
      "--reviewer is required here: without --server the CLI acts as the operator, who decides nothing itself. Name the reviewing actor (--reviewer actor_2), or decide with that actor's token (--server URL --token TOKEN).",
      { issues: [{ path: 'reviewer_id', message: 'name the reviewing actor with --reviewer' }] },
    );
  };
  const show = async (name: string, input: Record<string, unknown>) => {
    printResult(out, name, await invoke(name, input), globals().json ?? false);
  };

  program
    .command('demo')
    .description(
      'run the complete example (register, propose, review, execute, audit) against a fresh data directory (<data-dir>/demo)',
    )
    .addHelpText(
      'after',
      '\nExample:\n  npx countersign demo\n  npx countersign demo --json > demo.json',
    )
    .action(async () => {
      const g = globals();
      const transcript = await runDemo(configOf(g));
      printDemo(out, transcript, g.json ?? false);
      if (!transcript.verify.ok) process.exitCode = EXIT.LEDGER_BROKEN;
    });

  program
    .command('serve')
    .description(
      'serve the approval console at /, the HTTP API and MCP over Streamable HTTP at /mcp, until interrupted',
    )
    .option('-p, --port <port>', 'port on 127.0.0.1 (env PORT, default 8787; 0 picks a free one)')
    .option(
      '--demo',
      'start on a fresh <data dir>/console-demo with sample people (tokens printed), a pending proposal and a change-control run at its risk gate',
    )
    .addHelpText(
      'after',
      '\nOn the first start it creates an operator token (it administers: actors, tokens, policy,\nreads; it never acts as an actor) and prints it once, with the MCP client configuration. Open the printed URL in a browser for the console and sign in with a\ntoken. With COUNTERSIGN_TEMPORAL_ADDRESS set, runs execute on Temporal (start `countersign worker`\ntoo), and COUNTERSIGN_TEMPORAL_UI_URL (e.g. http://localhost:8233) links each run to the Temporal UI. Ctrl-C stops it cleanly.\n\nSlack approvals (needs npm install @slack/web-api): COUNTERSIGN_SLACK_BOT_TOKEN (or _FILE),\nCOUNTERSIGN_SLACK_SIGNING_SECRET (or _FILE), COUNTERSIGN_SLACK_CHANNEL, COUNTERSIGN_SLACK_USERS (or _FILE:\nJSON mapping Slack user IDs to actor IDs), COUNTERSIGN_SLACK_API_URL (default https://slack.com/api/);\nSlack sends its interactivity requests to /integrations/slack/actions.\n\nOpenTelemetry (needs the OpenTelemetry packages, see the README): with OTEL_EXPORTER_OTLP_ENDPOINT (or\n…_TRACES_ENDPOINT, …_METRICS_ENDPOINT) set, traces and metrics go out over OTLP/HTTP (also\nOTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_METRIC_EXPORT_INTERVAL, OTEL_SDK_DISABLED).\n\nExamples:\n  npx countersign serve --demo\n  npx countersign serve --port 8787',
    )
    .action((o: { port?: string; demo?: boolean }) =>
      serveCommandMain(configOf(globals()), o.port, { out, demo: o.demo ?? false }),
    );

  program
    .command('mcp')
    .description(
      'serve MCP on stdin/stdout for a local client (Claude Desktop, Claude Code, Cursor)',
    )
    .option('--actor <id>', 'act as this agent or service actor')
    .option(
      '--operator',
      'act as the trusted local operator, naming actors in parameters (scripts and demos only)',
    )
    .addHelpText(
      'after',
      '\nThe connection acts as one agent: --actor <id>, or the actor of the token in COUNTERSIGN_TOKEN\n' +
        '(or --token), or else this data directory\'s "local-agent" (kind agent, registered on first use).\n' +
        'An agent proposes and executes what people approved; it never reviews, decides or names\n' +
        'another actor. Privileged calls need a "purpose" argument. --operator is for scripts and\n' +
        'demos: parameters then name the acting actors, as the local CLI does.\n\n' +
        'Client configuration:\n  {"mcpServers":{"countersign":{"command":"npx","args":["countersign","mcp"]}}}\n' +
        '  {"mcpServers":{"countersign":{"command":"npx","args":["countersign","mcp","--actor","actor_3"]}}}',
    )
    .action((o: { actor?: string; operator?: boolean }) => {
      const g = globals();
      const token = g.token ?? process.env.COUNTERSIGN_TOKEN;
      const chosen = [o.operator && '--operator', o.actor && '--actor', token && 'a token'].filter(
        Boolean,
      );
      if (chosen.length > 1)
        throw new CountersignError(
          'VALIDATION_FAILED',
          `countersign mcp binds to one principal; choose one of ${chosen.join(', ')}.`,
        );
      return runMcpStdio(configOf(g), {
        bind: o.operator
          ? { operator: true }
          : o.actor
            ? { actor: o.actor }
            : token
              ? { token }
              : undefined,
      });
    });

  program
    .command('worker')
    .description(
      'run a Temporal worker: executes workflow runs started with COUNTERSIGN_TEMPORAL_ADDRESS set',
    )
    .addHelpText(
      'after',
      '\nNeeds COUNTERSIGN_TEMPORAL_ADDRESS (host:port of a Temporal frontend) and the same store as the\nserver (COUNTERSIGN_DATABASE_URL). Optional: COUNTERSIGN_TEMPORAL_NAMESPACE (default "default"),\nCOUNTERSIGN_TEMPORAL_TASK_QUEUE (default "countersign"), COUNTERSIGN_TEMPORAL_KEY_FILE (the keys that\nencrypt what Temporal stores; default <data dir>/temporal-keys.json, the same file as the server uses). Ctrl-C or SIGTERM stops it cleanly.\n\nExample:\n  temporal server start-dev &\n  COUNTERSIGN_TEMPORAL_ADDRESS=127.0.0.1:7233 COUNTERSIGN_DATABASE_URL=postgres://localhost/countersign \\\n    npx countersign worker',
    )
    .action(async () => {
      // The Temporal SDK loads only for this command (it costs every other command a second).
      const { workerCommandMain } = await loadWorker();
      await workerCommandMain(configOf(globals()));
    });

  const actor = program.command('actor').description('actors (people, agents, services)');
  actor
    .command('register')
    .description('register an actor')
    .requiredOption('--name <name>', 'name of the actor')
    .requiredOption('--role <role>', 'role of the actor')
    .addOption(
      new Option('--kind <kind>', 'a person decides; an agent proposes and executes')
        .choices(['human', 'agent', 'service'])
        .default('human'),
    )
    .addHelpText(
      'after',
      `\nExamples:\n  countersign actor register --name Alice --role Developer\n  countersign actor register --name "Claude Code" --role agent --kind agent\n${LOCAL_OR_REMOTE}`,
    )
    .action((o: { name: string; role: string; kind: string }) => show('register_actor', o));
  actor
    .command('set-role <actor_id> <role>')
    .description("change another actor's role (approvals already given keep theirs)")
    .addHelpText(
      'after',
      `\nExample:\n  countersign actor set-role actor_3 security\n${LOCAL_OR_REMOTE}`,
    )
    .action((actor_id: string, role: string) => show('set_actor_role', { actor_id, role }));
  actor
    .command('list')
    .description('who the actor IDs stand for: ID, kind, role and name')
    .addOption(
      new Option('--kind <kind>', 'only actors of this kind').choices([
        'human',
        'agent',
        'service',
      ]),
    )
    .addHelpText('after', `\nExample:\n  countersign actor list --kind human\n${LOCAL_OR_REMOTE}`)
    .action((o: { kind?: string }) => show('list_actors', { kind: o.kind }));

  const workflow = program.command('workflow').description('workflows');
  workflow
    .command('start')
    .description('start a workflow')
    .requiredOption('--title <title>', 'title of the workflow')
    .option('--idempotency-key <key>', 'the same key returns the same workflow')
    .addHelpText(
      'after',
      `\nExample:\n  countersign workflow start --title "Production Database Migration"\n${LOCAL_OR_REMOTE}`,
    )
    .action((o: { title: string; idempotencyKey?: string }) =>
      show('start_workflow', { title: o.title, idempotency_key: o.idempotencyKey }),
    );
  workflow
    .command('show <workflow_id>')
    .description('show a workflow and its proposals')
    .action((workflow_id: string) => show('get_workflow', { workflow_id }));

  program
    .command('propose')
    .description('propose a tool call for review')
    .requiredOption('--workflow <id>', 'workflow ID')
    .requiredOption('--actor <id>', 'proposing actor ID')
    .requiredOption('--tool <name>', 'tool name (see `countersign tools`)')
    .requiredOption('--params <json>', 'tool parameters as a JSON object')
    .requiredOption('--reason <text>', 'why the call is needed')
    .addHelpText(
      'after',
      `\nExample:\n  countersign propose --workflow workflow_1 --actor actor_1 --tool database_backup \\\n    --params '{"database":"production","backup_type":"full"}' --reason "Backup before migration"\n${LOCAL_OR_REMOTE}`,
    )
    .action(
      (o: { workflow: string; actor: string; tool: string; params: string; reason: string }) =>
        show('propose_action', {
          workflow_id: o.workflow,
          actor_id: o.actor,
          tool: o.tool,
          params: parseJson('--params', o.params),
          reason: o.reason,
        }),
    );

  program
    .command('review <proposal_id>')
    .description('approve, reject, edit or send back a proposed call')
    .option(
      '--reviewer <id>',
      "reviewing actor ID (never the proposer); with an actor's token, that actor by default",
    )
    .addOption(
      new Option('--decision <decision>', 'the decision')
        .choices(['approve', 'reject', 'edit', 'request_more_info'])
        .makeOptionMandatory(),
    )
    .option('--edits <json>', 'with --decision edit: params to deep-merge, as {"params":{…}}')
    .option('--comment <text>', 'comment recorded with the decision')
    .addHelpText(
      'after',
      `\nExamples:\n  countersign review proposal_1 --reviewer actor_2 --decision approve\n  countersign review proposal_2 --reviewer actor_3 --decision edit --edits '{"params":{"maintenance_window":"2:00-4:00 AM UTC"}}'\n${LOCAL_OR_REMOTE}`,
    )
    .action(
      (
        proposal_id: string,
        o: { reviewer?: string; decision: string; edits?: string; comment?: string },
      ) =>
        show('review_action', {
          proposal_id,
          reviewer_id: reviewerOf(o.reviewer),
          decision: o.decision,
          edits: o.edits === undefined ? undefined : parseJson('--edits', o.edits),
          comment: o.comment,
        }),
    );

  program
    .command('revise <proposal_id>')
    .description('as the proposer, answer a request for more information with new parameters')
    .requiredOption('--actor <id>', 'the proposer')
    .requiredOption('--params <json>', 'the complete new parameters')
    .option('--reason <text>', 'an updated reason')
    .action((proposal_id: string, o: { actor: string; params: string; reason?: string }) =>
      show('revise_action', {
        proposal_id,
        actor_id: o.actor,
        params: parseJson('--params', o.params),
        reason: o.reason,
      }),
    );

  program
    .command('execute <proposal_id>')
    .description('run an approved call (at most once; again returns the same result)')
    .option('--dry-run', "run the tool's plan() instead of apply()")
    .addHelpText(
      'after',
      `\nExample:\n  countersign execute proposal_1 --dry-run\n  countersign execute proposal_1\n${LOCAL_OR_REMOTE}`,
    )
    .action((proposal_id: string, o: { dryRun?: boolean }) =>
      show('execute_action', { proposal_id, dry_run: o.dryRun }),
    );

  program
    .command('execute-parallel')
    .description('run several approved calls concurrently; unapproved ones fail alone')
    .requiredOption('--calls <json>', 'JSON array of {"tool","params"[,"proposal_id"]}')
    .option('--workflow <id>', 'workflow context for calls policy allows without review')
    .option('--actor <id>', 'who asks for calls policy allows without review')
    .option('--dry-run', 'simulate every call')
    .addHelpText(
      'after',
      `\nExits 0 only when every call ran (or, with --dry-run, was simulated); a refused call exits as\nits refusal does (3 for REVIEW_REQUIRED), a failed one with 1, after printing every result.\n\nExample:\n  countersign execute-parallel --calls '[{"tool":"update_status","params":{"status":"done"}}]'\n${LOCAL_OR_REMOTE}`,
    )
    .action(async (o: { calls: string; workflow?: string; actor?: string; dryRun?: boolean }) => {
      const answer = (await invoke('execute_parallel', {
        calls: parseJson('--calls', o.calls),
        workflow_id: o.workflow,
        actor_id: o.actor,
        dry_run: o.dryRun,
      })) as ExecuteParallelOutput;
      printResult(out, 'execute_parallel', answer, globals().json ?? false);
      const missed = answer.results.filter((r) => r.status === 'refused' || r.status === 'failed');
      if (missed.length === 0) return;
      // One call that did not run makes the command fail, as it would have alone: a refusal
      // exits as that refusal does (3 for REVIEW_REQUIRED), a failed tool with 1.
      const first = missed.find((r) => r.status === 'refused') ?? missed[0]!;
      const code = first.error?.code ?? first.status;
      const message = `${missed.length} of ${answer.results.length} calls did not run (first: call ${first.index}, ${code}).`;
      process.stderr.write(
        globals().json
          ? `${JSON.stringify({ error: { code, message, details: { not_run: missed.map((r) => r.index) } } })}\n`
          : `${message}\n`,
      );
      process.exitCode = isErrorCode(code) ? exitCodeFor(code) : EXIT.FAILURE;
    });

  program
    .command('proposal <proposal_id>')
    .description('show a proposal: versions, decisions, executions')
    .action((proposal_id: string) => show('get_proposal', { proposal_id }));

  program
    .command('plan <proposal_id>')
    .description(
      "the dry-run plan of a proposal's current version: what it would change (nothing runs)",
    )
    .addHelpText('after', `\nExample:\n  countersign plan proposal_2 --json\n${LOCAL_OR_REMOTE}`)
    .action((proposal_id: string) => show('plan_action', { proposal_id }));

  program
    .command('wait')
    .description(
      'block until a reviewer decides a proposal or a workflow gate (or the timeout passes)',
    )
    .option('--proposal <id>', 'the proposal to wait on')
    .option('--approval <id>', 'the approval request (workflow gate) to wait on')
    .option('--timeout <seconds>', 'how long to wait, 1 to 300 (default 30)', (v) => Number(v))
    .addHelpText(
      'after',
      `\nPrints the status with the latest decision (reviewer, comment); "pending (timed out)"\nwhen nobody decided in time: run it again. It reads only: it decides nothing.\n\nExample:\n  countersign wait --proposal proposal_2 --timeout 120\n${LOCAL_OR_REMOTE}`,
    )
    .action((o: { proposal?: string; approval?: string; timeout?: number }) =>
      show('wait_for_decision', {
        proposal_id: o.proposal,
        approval_id: o.approval,
        timeout_seconds: o.timeout,
      }),
    );

  program
    .command('whoami')
    .description(
      'the tenant, actor and roles the token (or the local operator) stands for, and what it may do (may)',
    )
    .addHelpText(
      'after',
      `\nExample:\n  countersign whoami --server http://127.0.0.1:8787 --token cs_…`,
    )
    .action(() => show('who_am_i', {}));

  program
    .command('pending')
    .description('list calls waiting for review, newest first')
    .option('--workflow <id>', 'only this workflow')
    .option('--tool <name>', 'only this tool')
    .option('--min-age <seconds>', 'only calls waiting at least this long', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0)
        throw new CountersignError(
          'VALIDATION_FAILED',
          '--min-age must be a whole number of seconds',
        );
      return n;
    })
    .addHelpText(
      'after',
      `\nExample:\n  countersign pending --tool database_migration --min-age 3600\n${LOCAL_OR_REMOTE}`,
    )
    .action((o: { workflow?: string; tool?: string; minAge?: number }) =>
      show('list_pending_reviews', {
        workflow_id: o.workflow,
        tool: o.tool,
        min_age_seconds: o.minAge,
      }),
    );

  const audit = program.command('audit').description('the tamper-evident ledger');
  audit
    .command('log <workflow_id>')
    .description("a workflow's ledger events in order")
    .action((workflow_id: string) => show('get_audit_log', { workflow_id }));
  audit
    .command('ledger')
    .description("one page of the tenant's whole ledger in seq order (the read is recorded)")
    .option('--after <seq>', 'only events after this seq', (v) => Number(v))
    .option('--limit <n>', 'page size (default 200, at most 1000)', (v) => Number(v))
    .addHelpText(
      'after',
      `\nExample:\n  countersign audit ledger --after 200 --limit 100 --json\n${LOCAL_OR_REMOTE}`,
    )
    .action((o: { after?: number; limit?: number }) =>
      show('list_ledger', { after_seq: o.after, limit: o.limit }),
    );
  audit
    .command('verify')
    .description(
      "check the tenant's whole hash chain and its signed checkpoints; exits 5 naming the first break",
    )
    .option(
      '--checkpoints <file>',
      'a checkpoint log to hold the database to (default <data dir>/checkpoints.jsonl, when it exists)',
    )
    .option(
      '--public-key <key>',
      'the key checkpoints must be signed with: a file (SPKI PEM or base64), or the key itself (default: the local signing key)',
    )
    .addHelpText(
      'after',
      `\nEvery checkpoint of the tenant in the log must carry a good signature and match the database:
the same head and Merkle root at its seq (else history was rewritten), and no fewer events
(else the tail was cut). An auditor passes a copy of the log and the public key they were given
(countersign audit key), material a database writer never held.

Examples:
  countersign audit verify && echo "ledger intact"
  countersign audit verify --checkpoints ./received/checkpoints.jsonl --public-key ./countersign.pub
${LOCAL_OR_REMOTE}
Checkpoints are checked only locally: with --server it verifies the chain alone.`,
    )
    .action(async (o: { checkpoints?: string; publicKey?: string }) => {
      const g = globals();
      const remote = Boolean(g.server ?? process.env.COUNTERSIGN_SERVER);
      if (remote && (o.checkpoints !== undefined || o.publicKey !== undefined))
        throw new CountersignError(
          'VALIDATION_FAILED',
          '--checkpoints and --public-key check the local database: leave out --server.',
        );
      const report = (await invoke('verify_audit', {})) as VerifyReport;
      const checkpoints = remote ? undefined : await verifyCheckpoints(configOf(g), o);
      printVerify(out, report, g.json ?? false, checkpoints);
      if (!report.ok || checkpoints?.ok === false) process.exitCode = EXIT.LEDGER_BROKEN;
    });
  /** Key, checkpoint and prove work on the local data directory and database only. */
  const localConfig = (command: string) => {
    const g = globals();
    if (g.server ?? process.env.COUNTERSIGN_SERVER)
      throw new CountersignError(
        'VALIDATION_FAILED',
        `audit ${command} works on the local data directory (its key, checkpoint log and database): leave out --server.`,
      );
    return configOf(g);
  };
  audit
    .command('key')
    .description(
      'print the public key checkpoints are signed with (SPKI PEM; --json adds the key ID and base64 raw key)',
    )
    .addHelpText(
      'after',
      `\nThe Ed25519 signing key is <data dir>/signing-key.pem (mode 0600), or the file named by
COUNTERSIGN_SIGNING_KEY_FILE; it is created on first need. Give the public key to whoever audits.

Example:
  countersign audit key > countersign.pub`,
    )
    .action(() => {
      const info = auditKey(localConfig('key'));
      out(globals().json ? `${JSON.stringify(info, null, 2)}\n` : info.public_key_pem);
    });
  audit
    .command('checkpoint')
    .description(
      "sign the tenant's ledger at its head and append the checkpoint to <data dir>/checkpoints.jsonl",
    )
    .addHelpText(
      'after',
      `\nIt first verifies the chain and every checkpoint already in the log, and signs nothing (exit 5)
when the database contradicts them. With COUNTERSIGN_CHECKPOINT_WEBHOOK set, the checkpoint is also
POSTed there (a failure is a warning). countersign serve checkpoints every
COUNTERSIGN_CHECKPOINT_INTERVAL_SECONDS (default 300; 0 turns it off) when a head moved.

Example:
  countersign audit checkpoint`,
    )
    .action(async () => {
      const { outcome, log } = await auditCheckpoint(localConfig('checkpoint'), (line) =>
        process.stderr.write(`warning: ${line}\n`),
      );
      printCheckpoint(out, outcome, log, globals().json ?? false);
      if (outcome.status === 'refused') process.exitCode = EXIT.LEDGER_BROKEN;
    });
  audit
    .command('prove <seq>')
    .description(
      'print an RFC 6962 inclusion proof of one event against the newest checkpoint (JSON)',
    )
    .addHelpText(
      'after',
      `\nThe proof holds the event, its leaf index (seq - 1), the tree size, the audit path and the
signed checkpoint; countersign audit check-proof verifies it with the public key alone.

Example:
  countersign audit prove 42 > event-42.proof.json`,
    )
    .action(async (seqText: string) => {
      const seq = Number(seqText);
      if (!Number.isSafeInteger(seq) || seq < 1)
        throw new CountersignError('VALIDATION_FAILED', `<seq> must be a positive whole number`, {
          issues: [{ path: 'seq', message: 'positive integer' }],
        });
      try {
        out(`${JSON.stringify(await auditProve(localConfig('prove'), seq), null, 2)}\n`);
      } catch (e) {
        if (!(e instanceof LedgerContradiction)) throw e;
        process.stderr.write(`LEDGER BROKEN, no proof: ${e.message}\n`);
        process.exitCode = EXIT.LEDGER_BROKEN;
      }
    });
  audit
    .command('check-proof')
    .description(
      'verify an inclusion proof with a public key, without any database; exits 5 if it does not hold',
    )
    .requiredOption('--proof <file>', 'the proof (from countersign audit prove); - reads stdin')
    .requiredOption(
      '--public-key <key>',
      "the signing key's public half: a file (SPKI PEM or base64), or the key itself",
    )
    .addHelpText(
      'after',
      `\nExample:\n  countersign audit check-proof --proof event-42.proof.json --public-key countersign.pub`,
    )
    .action((o: { proof: string; publicKey: string }) => {
      const check = auditCheckProof(o.proof, o.publicKey);
      printProofCheck(out, check, globals().json ?? false);
      if (!check.valid) process.exitCode = EXIT.LEDGER_BROKEN;
    });

  const policy = program
    .command('policy')
    .description('system policy settings; try a policy before trusting it');
  policy
    .command('set')
    .description('change settings (every change is a ledger event)')
    .addOption(
      new Option('--dry-run <mode>', 'simulate every execution')
        .choices(['on', 'off'])
        .makeOptionMandatory(),
    )
    .addHelpText('after', `\nExample:\n  countersign policy set --dry-run on\n${LOCAL_OR_REMOTE}`)
    .action((o: { dryRun: 'on' | 'off' }) => show('set_policy', { dry_run: o.dryRun === 'on' }));
  policy
    .command('show')
    .description('current settings and policy version')
    .action(() => show('set_policy', {}));
  addPolicyTrialCommands(policy, {
    invoke,
    out,
    json: () => globals().json ?? false,
    readArg,
    parseJson,
    helpFooter: LOCAL_OR_REMOTE,
  });

  const token = program
    .command('token')
    .description('API tokens for the HTTP API and MCP over HTTP');
  token
    .command('create')
    .description('create a token acting as an actor (the secret is printed once)')
    .requiredOption('--actor <id>', 'the actor the token acts as')
    .requiredOption('--name <name>', 'what the token is for')
    .option('--expires-in <duration>', 'expire after 90m, 12h, 30d or N seconds', parseDuration)
    .option('--scope <operations>', 'only these operations, comma-separated', (v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .addHelpText(
      'after',
      `\nOnly the operator mints tokens. Examples:\n  countersign token create --actor actor_2 --name "bob's laptop" --expires-in 30d\n  countersign token create --actor actor_3 --name ci --scope propose_action,execute_action\n${LOCAL_OR_REMOTE}`,
    )
    .action((o: { actor: string; name: string; expiresIn?: number; scope?: string[] }) =>
      show('create_token', {
        actor_id: o.actor,
        name: o.name,
        expires_in_seconds: o.expiresIn,
        scope: o.scope,
      }),
    );
  token
    .command('revoke <token_id>')
    .description('revoke a token: its next request is refused')
    .addHelpText('after', `\nExample:\n  countersign token revoke token_3\n${LOCAL_OR_REMOTE}`)
    .action((token_id: string) => show('revoke_token', { token_id }));
  token
    .command('list')
    .description('tokens with status, expiry, scope, who minted them and last use')
    .addHelpText('after', `\nExample:\n  countersign token list --json\n${LOCAL_OR_REMOTE}`)
    .action(() => show('list_tokens', {}));

  program
    .command('tools')
    .description('list the registered tools with their risk class and parameters')
    .action(() => show('list_tools', {}));

  // ---- durable workflows ----------------------------------------------------------------

  workflow
    .command('definitions')
    .description('list the workflow definitions this runtime runs')
    .action(() => show('list_workflow_definitions', {}));
  workflow
    .command('run <definition>')
    .description('start a durable workflow run (ops_change_control, safe_ai_assisted, …)')
    .requiredOption('--input <json>', "the definition's input as JSON, or @file.json")
    .requiredOption('--key <idempotency_key>', 'the same key is the same run')
    .addHelpText(
      'after',
      `\nExample:\n  countersign workflow run ops_change_control --input @change.json --key CHG-1042\n\nThe command returns once the run waits (usually at a human gate) or ends.\n${LOCAL_OR_REMOTE}`,
    )
    .action((definition: string, o: { input: string; key: string }) =>
      show('start_workflow_run', {
        definition,
        input: parseJson('--input', readArg(o.input)),
        idempotency_key: o.key,
      }),
    );
  workflow
    .command('status <workflow_id>')
    .description("a run's status, stage, artifacts and trace")
    .action((workflow_id: string) => show('get_workflow_status', { workflow_id }));
  workflow
    .command('activate <run_id>')
    .description("run a plan-only run's approved plan, phase by phase, each phase at its own gate")
    .option(
      '--plan-hash <hash>',
      'the hash of the plan version you approved (refused if it differs)',
    )
    .addHelpText(
      'after',
      `\nExample:\n  countersign workflow activate run_3f0c… --plan-hash 9b1e…\n\nRefused with PLAN_STALE when what the plan read has changed since it was made, and with\nPOLICY_DENIED when policy does not let you activate plans (action plan.activate).\n${LOCAL_OR_REMOTE}`,
    )
    .action((workflow_id: string, o: { planHash?: string }) =>
      show('activate_plan', { workflow_id, plan_hash: o.planHash }),
    );
  workflow
    .command('runs')
    .description('list runs, newest first')
    .option('--status <status>', 'running | waiting | completed | failed | cancelled')
    .option('--definition <name>', 'only runs of this definition')
    .option('--stage <stage>', 'only runs in this stage')
    .action((o: { status?: string; definition?: string; stage?: string }) =>
      show('list_workflow_runs', { status: o.status, definition: o.definition, stage: o.stage }),
    );
  workflow
    .command('cancel <workflow_id>')
    .description('stop a running or waiting run (its pending gates are cancelled)')
    .requiredOption('--reason <text>', 'why')
    .action((workflow_id: string, o: { reason: string }) =>
      show('cancel_workflow_run', { workflow_id, reason: o.reason }),
    );
  workflow
    .command('report <workflow_id>')
    .description("print a finished run's audit report (Markdown; --json for the JSON form)")
    .action(async (workflow_id: string) => {
      const run = (await invoke('get_workflow_status', { workflow_id })) as {
        artifacts: Record<string, unknown>;
        status: string;
      };
      const report = run.artifacts.audit_report as { markdown?: string } | undefined;
      if (!report)
        throw new CountersignError(
          'INVALID_STATE',
          `${workflow_id} has no audit report yet (it is ${run.status}).`,
        );
      out(globals().json ? `${JSON.stringify(report, null, 2)}\n` : `${report.markdown ?? ''}\n`);
    });

  const approvals = program
    .command('approvals')
    .description('everything waiting on a human: workflow gates and proposed calls');
  approvals
    .command('pending')
    .description('the inbox, newest first')
    .option('--workflow <id>', 'only this workflow')
    .addOption(new Option('--kind <kind>', 'only gates or proposals').choices(['gate', 'proposal']))
    .action((o: { workflow?: string; kind?: string }) =>
      show('list_pending_approvals', { workflow_id: o.workflow, kind: o.kind }),
    );
  approvals
    .command('show <approval_id>')
    .description('an approval request: its review packet and decisions')
    .action((approval_id: string) => show('get_approval', { approval_id }));
  approvals
    .command('decide <approval_id>')
    .description('approve, reject or send back a workflow gate (the run goes on at once)')
    .option(
      '--reviewer <id>',
      "reviewing actor ID (never who asked); with an actor's token, that actor by default",
    )
    .addOption(
      new Option('--decision <decision>', 'the decision')
        .choices(['approve', 'reject', 'request_more_info'])
        .makeOptionMandatory(),
    )
    .option('--comment <text>', 'comment recorded with the decision')
    .addHelpText(
      'after',
      `\nExample:\n  countersign approvals decide approval_1 --reviewer actor_2 --decision approve --comment "risk tier confirmed"\n${LOCAL_OR_REMOTE}`,
    )
    .action((approval_id: string, o: { reviewer?: string; decision: string; comment?: string }) =>
      show('decide_approval', {
        approval_id,
        reviewer_id: reviewerOf(o.reviewer),
        decision: o.decision,
        comment: o.comment,
      }),
    );
  approvals
    .command('request')
    .description('ask for a human decision inside an open workflow')
    .requiredOption('--workflow <id>', 'workflow ID')
    .requiredOption('--key <request_key>', 'the same key returns the first request')
    .requiredOption('--title <title>', 'what to decide')
    .option('--packet <json>', 'review packet as JSON (or @file.json)', '{}')
    .option('--roles <roles>', 'comma-separated roles a reviewer must hold one of')
    .option(
      '--quorum <roles>',
      'approvals per role, all of them needed: "change_manager,security" or "change_manager:1,security:2"',
    )
    .action(
      (o: {
        workflow: string;
        key: string;
        title: string;
        packet: string;
        roles?: string;
        quorum?: string;
      }) =>
        show('request_approval', {
          workflow_id: o.workflow,
          request_key: o.key,
          title: o.title,
          packet: parseJson('--packet', readArg(o.packet)),
          required_roles: o.roles ? o.roles.split(',').map((r) => r.trim()) : undefined,
          role_quorum: o.quorum === undefined ? undefined : quorumOption(o.quorum),
        }),
    );

  program
    .command('trace')
    .description('audit trace checks')
    .command('validate <workflow_id>')
    .description("check a run's ledger events tell a complete, governed story; exits 5 if not")
    .addHelpText(
      'after',
      `\nExample:\n  countersign trace validate run_3f0c2a9e41b7d6c58a10 && echo "trace valid"\n${LOCAL_OR_REMOTE}`,
    )
    .action(async (workflow_id: string) => {
      const report = (await invoke('validate_trace', { workflow_id })) as TraceReport;
      printTrace(out, report, globals().json ?? false);
      if (!report.valid) process.exitCode = EXIT.LEDGER_BROKEN;
    });

  const knowledge = program.command('knowledge').description("the tenant's knowledge base");
  knowledge
    .command('add')
    .description('add a document (runbook, policy, FAQ) for workflows to retrieve')
    .requiredOption('--title <title>', 'document title')
    .requiredOption('--body <text>', 'the text, or @file to read it from a file')
    .option('--tags <tags>', 'comma-separated tags')
    .action((o: { title: string; body: string; tags?: string }) =>
      show('add_document', {
        title: o.title,
        body: readArg(o.body),
        tags: o.tags
          ? o.tags
              .split(',')
              .map((t) => t.trim())
              .filter(Boolean)
          : undefined,
      }),
    );
  knowledge
    .command('search <query>')
    .description('full-text search, best first')
    .option('--limit <n>', 'at most n hits', (v) => Number(v))
    .action((query: string, o: { limit?: number }) =>
      show('search_knowledge', { query, limit: o.limit }),
    );

  addWorkPackageCommands(program, {
    invoke,
    show,
    out,
    json: () => globals().json ?? false,
    readArg,
    parseJson,
    helpFooter: LOCAL_OR_REMOTE,
  });

  return program;
}

/** Runs the CLI and returns its exit code. Errors become a message and a code, never a trace. */
export async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.version' ||
        e.code === 'commander.help'
      )
        return EXIT.OK;
      return EXIT.USAGE;
    }
    const err = isCountersignError(e) ? e : toCountersignError(e);
    const json = program.opts<GlobalOptions>().json ?? false;
    if (json) process.stderr.write(`${JSON.stringify({ error: err.toJSON() })}\n`);
    else {
      process.stderr.write(`error ${err.code}: ${err.message}\n`);
      for (const issue of err.details.issues ?? [])
        process.stderr.write(`  - ${issue.path || '(input)'}: ${issue.message}\n`);
    }
    if (err.code === 'INTERNAL' && process.env.COUNTERSIGN_DEBUG) console.error(e);
    return exitCodeFor(err.code);
  }
}

/** `--quorum change_manager,security:2` → `{ change_manager: 1, security: 2 }`. */
function quorumOption(text: string): Record<string, number> {
  const q = parseQuorum(text);
  if (typeof q === 'string')
    throw new CountersignError('VALIDATION_FAILED', `--quorum: ${q}.`, { option: '--quorum' });
  return { ...q };
}
