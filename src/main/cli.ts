import { Command, CommanderError, Option } from 'commander';
import { type CallContext, operatorContext } from '../core/context.js';
import { CountersignError, isCountersignError, toCountersignError } from '../core/errors.js';
import { type Config, configFromEnv } from './config.js';
import { openRuntime, type Runtime } from './compose.js';
import { runDemo } from './demo.js';
import { EXIT, EXIT_HELP, exitCodeFor } from './exit-codes.js';
import { printDemo, printResult, printVerify } from './print.js';

interface GlobalOptions {
  dataDir?: string;
  json?: boolean;
  purpose: string;
  tenant?: string;
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

/** Builds the program; `run` executes it and returns the exit code (never throws). */
export function buildProgram(out: (s: string) => void = (s) => process.stdout.write(s)): Command {
  const program = new Command('countersign')
    .description('Governed execution of AI-agent actions: propose, review, execute, audit.')
    .option(
      '-d, --data-dir <dir>',
      'data directory (env COUNTERSIGN_DATA_DIR, default ./.countersign)',
    )
    .option('--tenant <id>', 'tenant (env COUNTERSIGN_TENANT, default "default")')
    .option('--purpose <text>', 'why you are making this call (recorded in the ledger)', 'cli')
    .option('--json', 'print machine-readable JSON')
    .addHelpText(
      'after',
      `\n${EXIT_HELP}\n\nConfiguration: COUNTERSIGN_DATA_DIR, COUNTERSIGN_DATABASE_URL (Postgres), COUNTERSIGN_POLICY_DIR, COUNTERSIGN_WEBHOOK_URL.`,
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: (s) => process.stderr.write(s) });

  const globals = () => program.opts<GlobalOptions>();
  const withKernel = async (
    fn: (rt: Runtime, ctx: CallContext) => Promise<unknown>,
    what: string,
  ) => {
    const g = globals();
    const config = configOf(g);
    const rt = await openRuntime(config);
    try {
      const result = await fn(rt, operatorContext(g.purpose, config.tenant));
      printResult(out, what, result, g.json ?? false);
    } finally {
      await rt.close();
    }
  };

  program
    .command('demo')
    .description("run seed 002's complete example against a fresh data directory (<data-dir>/demo)")
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

  const actor = program.command('actor').description('actors (people, agents, services)');
  actor
    .command('register')
    .description('register an actor')
    .requiredOption('--name <name>', 'name of the actor')
    .requiredOption('--role <role>', 'role of the actor')
    .addHelpText('after', '\nExample:\n  countersign actor register --name Alice --role Developer')
    .action((o: { name: string; role: string }) =>
      withKernel((rt, ctx) => rt.kernel.registerActor(ctx, o), 'register_actor'),
    );

  const workflow = program.command('workflow').description('workflows');
  workflow
    .command('start')
    .description('start a workflow')
    .requiredOption('--title <title>', 'title of the workflow')
    .option('--idempotency-key <key>', 'the same key returns the same workflow')
    .addHelpText(
      'after',
      '\nExample:\n  countersign workflow start --title "Production Database Migration"',
    )
    .action((o: { title: string; idempotencyKey?: string }) =>
      withKernel(
        (rt, ctx) =>
          rt.kernel.startWorkflow(ctx, {
            title: o.title,
            ...(o.idempotencyKey ? { idempotency_key: o.idempotencyKey } : {}),
          }),
        'start_workflow',
      ),
    );
  workflow
    .command('show <workflow_id>')
    .description('show a workflow and its proposals')
    .action((workflow_id: string) =>
      withKernel((rt, ctx) => rt.kernel.getWorkflow(ctx, { workflow_id }), 'get_workflow'),
    );

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
      `\nExample:\n  countersign propose --workflow workflow_1 --actor actor_1 --tool database_backup \\\n    --params '{"database":"production","backup_type":"full"}' --reason "Backup before migration"`,
    )
    .action(
      (o: { workflow: string; actor: string; tool: string; params: string; reason: string }) =>
        withKernel(
          (rt, ctx) =>
            rt.kernel.proposeAction(ctx, {
              workflow_id: o.workflow,
              actor_id: o.actor,
              tool: o.tool,
              params: parseJson('--params', o.params),
              reason: o.reason,
            }),
          'propose_action',
        ),
    );

  program
    .command('review <proposal_id>')
    .description('approve, reject, edit or send back a proposed call')
    .requiredOption('--reviewer <id>', 'reviewing actor ID (never the proposer)')
    .addOption(
      new Option('--decision <decision>', 'the decision')
        .choices(['approve', 'reject', 'edit', 'request_more_info'])
        .makeOptionMandatory(),
    )
    .option('--edits <json>', 'with --decision edit: params to deep-merge, as {"params":{…}}')
    .option('--comment <text>', 'comment recorded with the decision')
    .addHelpText(
      'after',
      '\nExample:\n  countersign review proposal_1 --reviewer actor_2 --decision approve',
    )
    .action(
      (
        proposal_id: string,
        o: { reviewer: string; decision: string; edits?: string; comment?: string },
      ) =>
        withKernel(
          (rt, ctx) =>
            rt.kernel.reviewAction(ctx, {
              proposal_id,
              reviewer_id: o.reviewer,
              decision: o.decision as 'approve',
              ...(o.edits
                ? { edits: parseJson('--edits', o.edits) as { params: Record<string, never> } }
                : {}),
              ...(o.comment ? { comment: o.comment } : {}),
            }),
          'review_action',
        ),
    );

  program
    .command('revise <proposal_id>')
    .description('as the proposer, answer a request for more information with new parameters')
    .requiredOption('--actor <id>', 'the proposer')
    .requiredOption('--params <json>', 'the complete new parameters')
    .option('--reason <text>', 'an updated reason')
    .action((proposal_id: string, o: { actor: string; params: string; reason?: string }) =>
      withKernel(
        (rt, ctx) =>
          rt.kernel.reviseAction(ctx, {
            proposal_id,
            actor_id: o.actor,
            params: parseJson('--params', o.params),
            ...(o.reason ? { reason: o.reason } : {}),
          }),
        'revise_action',
      ),
    );

  program
    .command('execute <proposal_id>')
    .description('run an approved call (at most once; again returns the same result)')
    .option('--dry-run', "run the tool's plan() instead of apply()")
    .addHelpText(
      'after',
      '\nExample:\n  countersign execute proposal_1 --dry-run\n  countersign execute proposal_1',
    )
    .action((proposal_id: string, o: { dryRun?: boolean }) =>
      withKernel(
        (rt, ctx) =>
          rt.kernel.executeAction(ctx, { proposal_id, ...(o.dryRun ? { dry_run: true } : {}) }),
        'execute_action',
      ),
    );

  program
    .command('execute-parallel')
    .description('run several approved calls concurrently; unapproved ones fail alone')
    .requiredOption('--calls <json>', 'JSON array of {"tool","params"[,"proposal_id"]}')
    .option('--workflow <id>', 'workflow context for calls policy allows without review')
    .option('--actor <id>', 'who asks for calls policy allows without review')
    .option('--dry-run', 'simulate every call')
    .action((o: { calls: string; workflow?: string; actor?: string; dryRun?: boolean }) =>
      withKernel(
        (rt, ctx) =>
          rt.kernel.executeParallel(ctx, {
            calls: parseJson('--calls', o.calls) as never,
            ...(o.workflow ? { workflow_id: o.workflow } : {}),
            ...(o.actor ? { actor_id: o.actor } : {}),
            ...(o.dryRun ? { dry_run: true } : {}),
          }),
        'execute_parallel',
      ),
    );

  program
    .command('proposal <proposal_id>')
    .description('show a proposal: versions, decisions, executions')
    .action((proposal_id: string) =>
      withKernel((rt, ctx) => rt.kernel.getProposal(ctx, { proposal_id }), 'get_proposal'),
    );

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
    .action((o: { workflow?: string; tool?: string; minAge?: number }) =>
      withKernel(
        (rt, ctx) =>
          rt.kernel.listPendingReviews(ctx, {
            ...(o.workflow ? { workflow_id: o.workflow } : {}),
            ...(o.tool ? { tool: o.tool } : {}),
            ...(o.minAge !== undefined ? { min_age_seconds: o.minAge } : {}),
          }),
        'list_pending_reviews',
      ),
    );

  const audit = program.command('audit').description('the tamper-evident ledger');
  audit
    .command('log <workflow_id>')
    .description("a workflow's ledger events in order")
    .action((workflow_id: string) =>
      withKernel((rt, ctx) => rt.kernel.getAuditLog(ctx, { workflow_id }), 'get_audit_log'),
    );
  audit
    .command('verify')
    .description("check the tenant's whole hash chain; exits 5 naming the first broken seq")
    .addHelpText('after', '\nExample:\n  countersign audit verify && echo "ledger intact"')
    .action(async () => {
      const g = globals();
      const config = configOf(g);
      const rt = await openRuntime(config);
      try {
        const report = await rt.kernel.verifyAudit(operatorContext(g.purpose, config.tenant));
        printVerify(out, report, g.json ?? false);
        if (!report.ok) process.exitCode = EXIT.LEDGER_BROKEN;
      } finally {
        await rt.close();
      }
    });

  const policy = program.command('policy').description('system policy settings');
  policy
    .command('set')
    .description('change settings (every change is a ledger event)')
    .addOption(
      new Option('--dry-run <mode>', 'simulate every execution')
        .choices(['on', 'off'])
        .makeOptionMandatory(),
    )
    .addHelpText('after', '\nExample:\n  countersign policy set --dry-run on')
    .action((o: { dryRun: 'on' | 'off' }) =>
      withKernel(
        (rt, ctx) => rt.kernel.setPolicy(ctx, { dry_run: o.dryRun === 'on' }),
        'set_policy',
      ),
    );
  policy
    .command('show')
    .description('current settings and policy version')
    .action(() => withKernel((rt, ctx) => rt.kernel.setPolicy(ctx, {}), 'set_policy'));

  program
    .command('tools')
    .description('list the registered tools with their risk class and parameters')
    .action(() =>
      withKernel(
        (rt) =>
          Promise.resolve({
            tools: rt.kernel.listTools().map((t) => ({
              name: t.name,
              risk: t.risk,
              idempotent: t.idempotent,
              description: t.description,
              input_schema: t.inputSchema,
            })),
          }),
        'tools',
      ),
    );

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
