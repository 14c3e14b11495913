import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CountersignError } from '../core/errors.js';
import type { PolicyFile } from '../core/ports/policy.js';
import type {
  PolicyVerdict,
  ReplayPolicyOutput,
  TestPolicyOutput,
} from '../core/policy-trial-schemas.js';
import { REPLAY_MAX } from '../core/policy-trial-schemas.js';

type Out = (s: string) => void;

interface Deps {
  /** Runs one catalogue operation, locally or against --server. */
  invoke(name: string, input: Record<string, unknown>): Promise<unknown>;
  out: Out;
  json(): boolean;
  /** `@file` reads the value from a file. */
  readArg(value: string): string;
  parseJson(flag: string, text: string): Record<string, unknown>;
  helpFooter: string;
}

/**
 * `countersign policy test` and `policy replay`: try a policy before trusting it. A candidate
 * directory is read here, on the caller's machine, and its .cedar files are sent as text; the
 * server never reads a path it is given.
 */
export function addPolicyTrialCommands(policy: Command, d: Deps): void {
  policy
    .command('test')
    .description(
      'what policy decides for a call, and why, without proposing it (nothing is recorded)',
    )
    .requiredOption('--tool <name>', 'the tool of the call')
    .option('--params <json>', 'the call parameters as JSON, or @file (default {})')
    .requiredOption('--proposer <id>', 'the actor who would propose the call')
    .option(
      '--workflow <id>',
      'the workflow it would be proposed in (the default policies deny a call without one)',
    )
    .option('--candidate <dir>', 'also ask the .cedar files of this directory (sent as text)')
    .addHelpText(
      'after',
      `\nThe call is asked as the proposer's own call over the API would be, with --purpose as its\npurpose. Operators and admins only.\n\nExamples:\n  countersign policy test --tool update_status --params '{"status":"ok"}' --proposer actor_1 --workflow workflow_1\n  countersign policy test --tool database_migration --params @call.json --proposer actor_1 --workflow workflow_1 --candidate ./my-policies --json\n${d.helpFooter}`,
    )
    .action(
      async (o: {
        tool: string;
        params?: string;
        proposer: string;
        workflow?: string;
        candidate?: string;
      }) => {
        const result = (await d.invoke('test_policy', {
          tool: o.tool,
          params: o.params === undefined ? undefined : d.parseJson('--params', d.readArg(o.params)),
          proposer_id: o.proposer,
          workflow_id: o.workflow,
          candidate: o.candidate === undefined ? undefined : readCandidate(o.candidate),
        })) as TestPolicyOutput;
        if (d.json()) d.out(`${JSON.stringify(result, null, 2)}\n`);
        else printTest(d.out, result);
      },
    );
  policy
    .command('replay')
    .description(
      'shadow replay: ask a candidate policy about the most recent proposals and list the decisions that would change',
    )
    .requiredOption('--candidate <dir>', 'the .cedar files of this directory (sent as text)')
    .requiredOption(`--last <n>`, `how many recent proposals, 1 to ${REPLAY_MAX}`, (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > REPLAY_MAX)
        throw new CountersignError(
          'VALIDATION_FAILED',
          `--last must be a whole number from 1 to ${REPLAY_MAX}, got "${v}"`,
          { issues: [{ path: '--last', message: `must be 1 to ${REPLAY_MAX}` }] },
        );
      return n;
    })
    .addHelpText(
      'after',
      `\nNothing is recorded and the active policy is unchanged. Operators and admins only.\n\nExample:\n  countersign policy replay --candidate ./my-policies --last 200\n${d.helpFooter}`,
    )
    .action(async (o: { candidate: string; last: number }) => {
      const result = (await d.invoke('replay_policy', {
        candidate: readCandidate(o.candidate),
        last: o.last,
      })) as ReplayPolicyOutput;
      if (d.json()) d.out(`${JSON.stringify(result, null, 2)}\n`);
      else printReplay(d.out, result);
    });
}

/** The `*.cedar` files of `dir`, sorted by name, as text. */
export function readCandidate(dir: string): PolicyFile[] {
  const bad = (message: string): never => {
    throw new CountersignError('VALIDATION_FAILED', message, {
      issues: [{ path: '--candidate', message }],
    });
  };
  let names: string[] = [];
  try {
    names = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.cedar'))
      .sort();
  } catch (e) {
    bad(`cannot read the directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (names.length === 0) bad(`${dir} holds no .cedar files`);
  return names.map((name) => {
    try {
      return { name, text: fs.readFileSync(path.join(dir, name), 'utf8') };
    } catch (e) {
      return bad(`cannot read ${name}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  });
}

function decisionLine(v: PolicyVerdict | Pick<PolicyVerdict, 'effect' | 'approvals' | 'roles'>) {
  if (v.effect !== 'review') return v.effect;
  const roles = v.roles.length ? ` (${v.roles.join(' or ')})` : '';
  return `review: ${v.approvals} approval${v.approvals === 1 ? '' : 's'}${roles}`;
}

function printVerdict(out: Out, label: string, v: PolicyVerdict): void {
  out(`${label}: ${decisionLine(v)}   [policy ${v.policy_version}]\n`);
  out(`  why: ${v.why}\n`);
  for (const m of v.matched) {
    const notes = Object.entries(m.annotations)
      .filter(([k]) => k !== 'id')
      .map(([k, val]) => `@${k}("${val}")`)
      .join(' ');
    out(`  matched: ${m.id}${notes ? ` ${notes}` : ''}\n`);
  }
}

function printTest(out: Out, r: TestPolicyOutput): void {
  const c = r.call;
  out(
    `call: ${c.tool} (${c.risk}) proposed by ${c.proposer_id} (${c.proposer_kind}, ${c.proposer_roles.join(', ')})` +
      ` in ${c.workflow_id ?? 'no workflow'}\n`,
  );
  printVerdict(out, 'current', r.current);
  if (r.candidate) {
    printVerdict(out, 'candidate', r.candidate);
    out(r.changed ? 'The candidate decides differently.\n' : 'The candidate decides the same.\n');
  }
  for (const n of r.notes) out(`note: ${n}\n`);
}

function printReplay(out: Out, r: ReplayPolicyOutput): void {
  out(
    `replayed ${r.replayed} proposals: ${r.changed} would change, ${r.unchanged} unchanged` +
      `${r.skipped.length ? `, ${r.skipped.length} skipped` : ''}` +
      ` (policy ${r.current_version} → candidate ${r.candidate_version})\n`,
  );
  const tally = (t: { allow: number; review: number; deny: number }) =>
    `allow ${t.allow}, review ${t.review}, deny ${t.deny}`;
  out(`current:   ${tally(r.counts.current)}\ncandidate: ${tally(r.counts.candidate)}\n`);
  for (const ch of r.changes) {
    out(
      `${ch.proposal_id.padEnd(14)} ${ch.tool.padEnd(22)} by ${ch.proposer_id.padEnd(10)} ` +
        `${decisionLine(ch.before)} → ${decisionLine(ch.after)}\n`,
    );
    out(`  current:   ${ch.before.why}\n  candidate: ${ch.after.why}\n`);
  }
  for (const s of r.skipped) out(`skipped ${s.proposal_id}: ${s.reason}\n`);
}
