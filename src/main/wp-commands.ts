import { type Command, Option } from 'commander';
import { CountersignError } from '../core/errors.js';
import { WP_MOVE_NAMES, WP_STATES, moveRule } from '../core/work-packages/lifecycle.js';
import { EVIDENCE_CLASSES } from '../core/work-packages/evidence.js';

type Out = (s: string) => void;

interface Deps {
  /** Runs one catalogue operation, locally or against --server. */
  invoke(name: string, input: Record<string, unknown>): Promise<unknown>;
  /** Runs one and prints its result (JSON with --json). */
  show(name: string, input: Record<string, unknown>): Promise<void>;
  out: Out;
  json(): boolean;
  /** `@file` reads the value from a file. */
  readArg(value: string): string;
  parseJson(flag: string, text: string): Record<string, unknown>;
  helpFooter: string;
}

/** The verdicts people give, each a move of the same name. */
export const VERDICTS: readonly string[] = WP_MOVE_NAMES.filter((m) => moveRule(m).verdict);

const MOVERS = `
Moves are made by actors: an agent of the package's role claims it, returns its scope, starts
and returns its work; people decide (go, revise_scope, accept, require_revision, reject), never
the agent that claimed it. Without --server the CLI acts as the operator, who books and reads
packages but moves none: move with --server and the acting actor's --token.`;

const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];

/** A whole number from an option, or VALIDATION_FAILED naming the option. */
const wholeNumber =
  (flag: string) =>
  (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n))
      throw new CountersignError('VALIDATION_FAILED', `${flag} must be a whole number`, {
        issues: [{ path: flag, message: 'whole number' }],
      });
    return n;
  };

interface BookOptions {
  spec?: string;
  title?: string;
  objective?: string;
  role?: string;
  owned?: string[];
  forbidden?: string[];
  tool?: string[];
  evidenceTier?: string;
  validation?: string[];
  stopGate?: boolean;
  repository?: string;
}

/** The spec: --spec (JSON or @file) with each given flag laid over it. */
function specOf(o: BookOptions, d: Deps): Record<string, unknown> {
  const base = o.spec === undefined ? {} : d.parseJson('--spec', d.readArg(o.spec));
  const flags: Record<string, unknown> = {
    title: o.title,
    objective: o.objective === undefined ? undefined : d.readArg(o.objective),
    role: o.role,
    owned_surfaces: o.owned,
    forbidden_surfaces: o.forbidden,
    tools: o.tool,
    evidence_tier: o.evidenceTier,
    validation_commands: o.validation,
    stop_gate: o.stopGate === false ? false : undefined,
    repository: o.repository,
  };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) base[k] = v;
  return base;
}

/**
 * `countersign wp …`: book, show, list and move work packages, and the verdict shortcuts. Each
 * is a view of one catalogue operation (book_work_package, get_work_package,
 * list_work_packages, move_work_package).
 */
export function addWorkPackageCommands(program: Command, d: Deps): void {
  const wp = program
    .command('wp')
    .description(
      'work packages: bounded units of agent work, claimed by agents, decided by people',
    );

  wp.command('book')
    .description('book a work package for an agent role (people and the operator book)')
    .option('--spec <json>', 'the whole spec as JSON, or @file.json; flags below override it')
    .option('--title <title>', 'title')
    .option('--objective <text>', 'what done means, or @file')
    .option('--role <role>', 'the agent role it is addressed to')
    .option('--owned <glob>', 'a path glob the agent may change (repeatable)', collect)
    .option('--forbidden <glob>', 'a path glob the agent must never change (repeatable)', collect)
    .option('--tool <name>', 'a tool the package allows (repeatable)', collect)
    .addOption(
      new Option('--evidence-tier <class>', 'the evidence class the return must reach').choices(
        EVIDENCE_CLASSES,
      ),
    )
    .option('--validation <command>', 'a validation command (repeatable)', collect)
    .option('--no-stop-gate', 'let the agent start without returning its scope for a go')
    .option('--repository <path>', 'a git repository to give the agent a worktree of')
    .addHelpText(
      'after',
      `\nExamples:\n  countersign wp book --spec @package.json\n  countersign wp book --title "Fix the login timeout" --objective "Sessions last 30 minutes" \\\n    --role coder --owned "src/auth/**" --forbidden "migrations/**" --evidence-tier local_command_proof\n${d.helpFooter}`,
    )
    .action((o: BookOptions) => d.show('book_work_package', { spec: specOf(o, d) }));

  wp.command('show <wp_id>')
    .description('a work package: state, claimant and spec; --markdown prints its eight sections')
    .option('--version <n>', 'a version other than the current one', wholeNumber('--version'))
    .option('--markdown', 'print the package as Markdown, then its latest return')
    .addHelpText(
      'after',
      `\nExamples:\n  countersign wp show wp_1\n  countersign wp show wp_1 --markdown > wp_1.md\n${d.helpFooter}`,
    )
    .action(async (wp_id: string, o: { version?: number; markdown?: boolean }) => {
      if (!o.markdown) return d.show('get_work_package', { wp_id, version: o.version });
      const r = (await d.invoke('get_work_package', { wp_id, version: o.version })) as {
        markdown: string;
        returns?: { kind: string; markdown: string }[];
      };
      const latest = (r.returns ?? []).filter((x) => x.kind === 'return').at(-1);
      const nl = (s: string) => (s.endsWith('\n') ? s : `${s}\n`);
      d.out(nl(r.markdown) + (latest ? `\n${nl(latest.markdown)}` : ''));
    });

  wp.command('list')
    .description('work packages in booking order, filtered by state or role')
    .addOption(new Option('--state <state>', 'only packages in this state').choices(WP_STATES))
    .option('--role <role>', 'only packages addressed to this role')
    .option('--after <wp_id>', 'the page after this package')
    .option('--limit <n>', 'at most n packages (default 50)', wholeNumber('--limit'))
    .addHelpText(
      'after',
      `\nExample:\n  countersign wp list --state booked --role coder\n${d.helpFooter}`,
    )
    .action((o: { state?: string; role?: string; after?: string; limit?: number }) =>
      d.show('list_work_packages', {
        state: o.state,
        role: o.role,
        after: o.after,
        limit: o.limit,
      }),
    );

  wp.command('move <wp_id> <move>')
    .description(`move a package one step: ${WP_MOVE_NAMES.join(', ')}`)
    .option('--reason <text>', 'why (needed to hold, stop or reject)')
    .option('--finding <text>', 'what must change (repeatable; needed to revise)', collect)
    .option('--merge-proof <sha>', 'the merge commit (needed to merge)')
    .option('--scope <text>', 'the scope as the agent understands it, or @file (return_scope)')
    .option(
      '--artifact <json>',
      'the return as JSON, or @file.json: summary, changed, validated, not_touched, evidence, non_claims, risks, next_gate (return)',
    )
    .addHelpText(
      'after',
      `\nAn illegal move exits 4 with INVALID_STATE, naming the moves legal from where the package stands.\n${MOVERS}\n\nExamples:\n  countersign wp move wp_1 claim --server http://127.0.0.1:8787 --token cs_…\n  countersign wp move wp_1 return_scope --scope "src/auth/session.ts only; no schema change" --server … --token cs_…\n  countersign wp move wp_1 return --artifact @return.json --server http://127.0.0.1:8787 --token cs_…\n  countersign wp move wp_1 merge --merge-proof 3f2a9c1 --server http://127.0.0.1:8787 --token cs_…\n${d.helpFooter}`,
    )
    .action(
      (
        wp_id: string,
        move: string,
        o: {
          reason?: string;
          finding?: string[];
          mergeProof?: string;
          scope?: string;
          artifact?: string;
        },
      ) =>
        d.show('move_work_package', {
          wp_id,
          move,
          reason: o.reason,
          findings: o.finding,
          merge_proof: o.mergeProof,
          scope: o.scope === undefined ? undefined : d.readArg(o.scope),
          artifact:
            o.artifact === undefined ? undefined : d.parseJson('--artifact', d.readArg(o.artifact)),
        }),
    );

  wp.command('verdict <wp_id> <verdict>')
    .description(`a person's verdict on a package: ${VERDICTS.join(', ')}`)
    .option('--reason <text>', 'why (needed to reject)')
    .option(
      '--finding <text>',
      'what must change (repeatable; needed for revise_scope and require_revision)',
      collect,
    )
    .option(
      '--override <reason>',
      'accept a return below the evidence tier, saying why (recorded in the ledger)',
    )
    .addHelpText(
      'after',
      `\ngo and revise_scope answer a returned scope; accept, require_revision and reject a package in review.\nAn accept whose return does not reach the package's evidence tier exits 4 with\nEVIDENCE_BELOW_TIER, naming the unverified claims, unless --override gives a reason.\n${MOVERS}\n\nExamples:\n  countersign wp verdict wp_1 require_revision --finding "no test covers the timeout" \\\n    --server http://127.0.0.1:8787 --token cs_…\n  countersign wp verdict wp_1 accept --override "ran the suite myself" --server … --token cs_…\n${d.helpFooter}`,
    )
    .action(
      (
        wp_id: string,
        verdict: string,
        o: { reason?: string; finding?: string[]; override?: string },
      ) => {
        if (!VERDICTS.includes(verdict))
          throw new CountersignError(
            'VALIDATION_FAILED',
            `<verdict> must be one of ${VERDICTS.join(', ')}; other moves go through countersign wp move.`,
            { issues: [{ path: 'verdict', message: `one of ${VERDICTS.join(', ')}` }] },
          );
        return d.show('move_work_package', {
          wp_id,
          move: verdict,
          reason: o.reason,
          findings: o.finding,
          override_reason: o.override,
        });
      },
    );
}
