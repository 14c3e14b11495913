/**
 * `npm run soak -- [--cycles N] [--clients N] [--seed N] [--database-url URL] …`: the kill -9
 * soak loop (src/main/soak-harness.ts) from the command line. Prints progress, then the summary;
 * exits 0 when every check held, 1 when one failed (the work directory is kept then), 2 on a
 * usage error.
 */
import { parseArgs } from 'node:util';
import { type SoakOptions, formatSummary, runSoak } from './soak-harness.js';

const USAGE = `Usage: npm run soak -- [options]

Runs real \`countersign serve\` processes, SIGKILLs them at random moments and restarts them on
the same data, while concurrent clients propose, approve and execute calls and drive workflow
runs, retrying every unanswered request with the same Idempotency-Key. Then checks that nothing
acknowledged was lost, nothing applied or ran twice, retries replayed, and the ledger verifies.

Options:
  --cycles N           kill cycles (default 25)
  --clients N          concurrent clients (default 4)
  --seed N             seeds the kill targets, timing draws, flows and reviewers (default 1)
  --database-url URL   run on this Postgres database (default: SQLite in the work directory);
                       a fresh tenant is used, so the database may hold other data
  --servers N          serve processes (default 1 on SQLite, 2 on Postgres)
  --min-up MS          shortest time a server is up before its kill (default 300)
  --max-up MS          longest time a server is up before its kill (default 1500)
  --around-writes P    share of kills aimed at an in-flight write (default 0.6)
  --workflow-share P   share of client flows that are workflow runs (default 0.3)
  --resend-share P     share of acknowledged writes re-sent at once to check the replay (default 0.2)
  --verify-every N     GET /audit/verify after every N-th cycle (default 5; 0: only at the end)
  --deadline S         stop killing after S seconds, whatever --cycles says
  --work-dir DIR       where the data, server logs, journal and report go (default: a temp dir)
  --keep               keep the work directory even when every check held
  --quiet              print only the summary
  -h, --help           this text

Ctrl-C stops the killing early: the clients finish, then the checks run and the summary prints.
`;

function num(name: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isFinite(n) || n < min || n > max)
    throw new Error(`--${name} must be a number from ${min} to ${max}, not ${value}`);
  return n;
}

export async function soakMain(argv: readonly string[]): Promise<number> {
  let options: SoakOptions;
  let quiet: boolean;
  try {
    const { values } = parseArgs({
      args: [...argv],
      options: {
        cycles: { type: 'string' },
        clients: { type: 'string' },
        seed: { type: 'string' },
        'database-url': { type: 'string' },
        servers: { type: 'string' },
        'min-up': { type: 'string' },
        'max-up': { type: 'string' },
        'around-writes': { type: 'string' },
        'workflow-share': { type: 'string' },
        'resend-share': { type: 'string' },
        'verify-every': { type: 'string' },
        deadline: { type: 'string' },
        'work-dir': { type: 'string' },
        keep: { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    quiet = values.quiet ?? false;
    const opt = (name: keyof typeof values, min: number, max: number) => {
      const v = values[name];
      return typeof v === 'string' ? num(name, v, min, max) : undefined;
    };
    const minUp = opt('min-up', 0, 3_600_000);
    const maxUp = opt('max-up', 0, 3_600_000);
    const deadline = opt('deadline', 1, 30 * 24 * 3600);
    options = {
      ...(values.cycles !== undefined ? { cycles: opt('cycles', 0, 1e9)! } : {}),
      ...(values.clients !== undefined ? { clients: opt('clients', 1, 256)! } : {}),
      ...(values.seed !== undefined ? { seed: opt('seed', 0, 2 ** 32 - 1)! } : {}),
      ...(values['database-url'] ? { databaseUrl: values['database-url'] } : {}),
      ...(values.servers !== undefined ? { servers: opt('servers', 1, 16)! } : {}),
      ...(minUp !== undefined ? { minUpMs: minUp } : {}),
      ...(maxUp !== undefined ? { maxUpMs: maxUp } : {}),
      ...(values['around-writes'] !== undefined
        ? { aroundWrites: opt('around-writes', 0, 1)! }
        : {}),
      ...(values['workflow-share'] !== undefined
        ? { workflowShare: opt('workflow-share', 0, 1)! }
        : {}),
      ...(values['resend-share'] !== undefined ? { resendShare: opt('resend-share', 0, 1)! } : {}),
      ...(values['verify-every'] !== undefined
        ? { verifyEvery: opt('verify-every', 0, 1e9)! }
        : {}),
      ...(deadline !== undefined ? { deadlineMs: deadline * 1000 } : {}),
      ...(values['work-dir'] ? { workDir: values['work-dir'] } : {}),
      ...(values.keep ? { keep: true } : {}),
    };
    if ((options.minUpMs ?? 300) > (options.maxUpMs ?? 1500))
      throw new Error('--min-up must not be larger than --max-up');
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  // The first Ctrl-C stops the killing and runs the checks; the second one exits.
  const stop = new AbortController();
  const onSigint = () => {
    if (stop.signal.aborted) process.exit(130);
    process.stderr.write(
      '\nstopping: no more kills; the clients finish, then the checks run (Ctrl-C again to quit)\n',
    );
    stop.abort();
  };
  process.on('SIGINT', onSigint);
  const report = await runSoak({
    ...options,
    signal: stop.signal,
    log: quiet ? () => undefined : (line) => process.stdout.write(`${line}\n`),
  });
  process.off('SIGINT', onSigint);
  process.stdout.write(`\n${formatSummary(report)}\n`);
  return report.ok ? 0 : 1;
}

// Exits explicitly: a handle left open somewhere must not keep a finished soak alive.
process.exit(await soakMain(process.argv.slice(2)));
