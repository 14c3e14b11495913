import { EVIDENCE_POINTERS } from './evidence.js';
import type { WorkPackageSpec } from './model.js';

/** Markdown inline code for any text (a backtick inside gets a longer fence). */
export function code(s: string): string {
  const longest = Math.max(0, ...(s.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

/** A Markdown list of code items, or one line saying there are none. */
export const list = (xs: readonly string[], empty: string) =>
  xs.length ? xs.map((x) => `- ${code(x)}`).join('\n') : `- ${empty}`;

/** A package as people read it: its eight sections, in Markdown. */
export function renderWorkPackage(wp: {
  readonly id: string;
  readonly version: number;
  readonly spec: WorkPackageSpec;
}): string {
  const s = wp.spec;
  return [
    `# ${s.title.replace(/\n/g, ' ')}`,
    '',
    `Work package ${code(wp.id)}, version ${wp.version}. Role: ${code(s.role)}.`,
    '',
    '## Objective',
    '',
    s.objective,
    '',
    '## Owned surfaces',
    '',
    list(s.owned_surfaces, 'none'),
    '',
    '## Forbidden surfaces',
    '',
    list(s.forbidden_surfaces, 'none beyond what is not owned'),
    '',
    '## Tools',
    '',
    list(s.tools, 'none: the package reads and changes files only'),
    '',
    '## Evidence tier',
    '',
    `${code(s.evidence_tier)}: ${EVIDENCE_POINTERS[s.evidence_tier]}.`,
    '',
    '## Validation commands',
    '',
    list(s.validation_commands, 'none'),
    '',
    '## Stop gate',
    '',
    s.stop_gate
      ? 'Return a scope confirmation first, then wait for a go before changing anything.'
      : 'None: start once the package is claimed.',
    ...(s.repository ? ['', '## Repository', '', code(s.repository)] : []),
    '',
  ].join('\n');
}
