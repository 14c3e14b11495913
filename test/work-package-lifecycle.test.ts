import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CountersignError } from '../src/core/errors.js';
import { meetsTier, reachedTier } from '../src/core/work-packages/evidence.js';
import {
  WP_MOVE_NAMES,
  WP_STATES,
  type WpMove,
  type WpPosition,
  type WpState,
  applyMove,
  legalMoves,
  moveRule,
} from '../src/core/work-packages/lifecycle.js';
import { workPackageSpec } from '../src/core/work-packages/model.js';
import { renderWorkPackage } from '../src/core/work-packages/render.js';
import { checkSurfaces } from '../src/core/work-packages/surfaces.js';

/**
 * The lifecycle as the issue states it, written out independently of the module's table:
 * `[from, move, to, stop gate]` (undefined: either). Holds, releases and stops are checked
 * by their own rules below.
 */
const SPEC: readonly [WpState, WpMove, WpState, boolean?][] = [
  ['booked', 'claim', 'claimed'],
  ['claimed', 'return_scope', 'scope_returned', true],
  ['scope_revision', 'return_scope', 'scope_returned', true],
  ['scope_returned', 'go', 'go', true],
  ['scope_returned', 'revise_scope', 'scope_revision', true],
  ['go', 'start', 'executing'],
  ['claimed', 'start_without_scope', 'executing', false],
  ['executing', 'return', 'returned'],
  ['returned', 'open_review', 'in_review'],
  ['in_review', 'accept', 'accepted'],
  ['in_review', 'require_revision', 'revision_required'],
  ['in_review', 'reject', 'rejected'],
  ['revision_required', 'start', 'executing'],
  ['accepted', 'merge', 'merged'],
];
const ACTIVE: readonly WpState[] = [
  'booked',
  'claimed',
  'scope_returned',
  'scope_revision',
  'go',
  'executing',
  'returned',
  'in_review',
  'revision_required',
];

/** The reference answer: the next position, or null when the move is illegal. */
function expected(at: WpPosition, move: WpMove): WpPosition | null {
  if (move === 'hold')
    return ACTIVE.includes(at.state) ? { ...at, state: 'held', held_from: at.state } : null;
  if (move === 'release')
    return at.state === 'held' ? { ...at, state: at.held_from!, held_from: null } : null;
  if (move === 'stop')
    return ACTIVE.includes(at.state) || at.state === 'held'
      ? { ...at, state: 'stopped', held_from: null }
      : null;
  const row = SPEC.find(
    ([from, m, , gate]) =>
      from === at.state && m === move && (gate === undefined || gate === at.stop_gate),
  );
  return row ? { ...at, state: row[2], held_from: null } : null;
}

const start = (stop_gate: boolean): WpPosition => ({ state: 'booked', held_from: null, stop_gate });

describe('the work-package lifecycle', () => {
  it('matches the stated lifecycle on random move sequences: legal moves move, illegal ones are INVALID_STATE naming the legal ones', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.constantFrom(...WP_MOVE_NAMES), { maxLength: 40 }),
        (stop_gate, moves) => {
          let at = start(stop_gate);
          for (const move of moves) {
            const want = expected(at, move);
            if (want) {
              at = applyMove(at, move, 'wp_1');
              expect(at).toEqual(want);
            } else {
              let err: unknown;
              try {
                applyMove(at, move, 'wp_1');
              } catch (e) {
                err = e;
              }
              expect(err).toBeInstanceOf(CountersignError);
              const ce = err as CountersignError;
              expect(ce.code).toBe('INVALID_STATE');
              const legal = WP_MOVE_NAMES.filter((m) => expected(at, m) !== null);
              expect(ce.details).toMatchObject({ state: at.state, move, legal_moves: legal });
              for (const m of legal) expect(ce.message).toContain(m);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('lists exactly the legal moves from every state, with and without a stop gate', () => {
    for (const stop_gate of [true, false])
      for (const state of WP_STATES)
        for (const held_from of state === 'held' ? ACTIVE : [null]) {
          const at: WpPosition = { state, held_from, stop_gate };
          expect(legalMoves(at)).toEqual(WP_MOVE_NAMES.filter((m) => expected(at, m) !== null));
        }
  });

  it('ends nowhere once rejected, stopped or merged', () => {
    for (const state of ['rejected', 'stopped', 'merged'] as const) {
      const at: WpPosition = { state, held_from: null, stop_gate: true };
      expect(legalMoves(at)).toEqual([]);
      expect(() => applyMove(at, 'claim')).toThrow(/final: no move is legal/);
    }
  });

  it('releases a hold back where it was placed, and a stop ends a held package', () => {
    let at = applyMove(applyMove(start(true), 'claim'), 'return_scope');
    at = applyMove(at, 'hold');
    expect(at).toMatchObject({ state: 'held', held_from: 'scope_returned' });
    expect(() => applyMove(at, 'go')).toThrow(/held from scope_returned.*release, stop/);
    expect(applyMove(at, 'release')).toMatchObject({ state: 'scope_returned', held_from: null });
    expect(applyMove(at, 'stop')).toMatchObject({ state: 'stopped' });
  });

  it('without a stop gate goes from claimed to executing; with one it must confirm scope first', () => {
    expect(applyMove(applyMove(start(false), 'claim'), 'start_without_scope').state).toBe(
      'executing',
    );
    const claimed = applyMove(start(true), 'claim');
    expect(() => applyMove(claimed, 'start_without_scope')).toThrow(
      /legal moves from claimed: return_scope,/,
    );
    expect(() => applyMove(applyMove(start(false), 'claim'), 'return_scope')).toThrow(
      CountersignError,
    );
  });

  it('marks verdicts as the authority’s and names what each move must carry', () => {
    const verdicts = WP_MOVE_NAMES.filter((m) => moveRule(m).verdict);
    expect(verdicts.sort()).toEqual(
      ['accept', 'go', 'reject', 'require_revision', 'revise_scope'].sort(),
    );
    for (const m of verdicts) expect(moveRule(m).by).toBe('authority');
    for (const m of ['claim', 'return_scope', 'start', 'start_without_scope', 'return'] as const)
      expect(moveRule(m).by).toBe('agent');
    expect(moveRule('require_revision').needs).toBe('findings');
    expect(moveRule('revise_scope').needs).toBe('findings');
    expect(moveRule('merge').needs).toBe('merge_proof');
    expect(moveRule('hold').needs).toBe('reason');
  });
});

describe('a work package', () => {
  const valid = {
    title: 'Add retry to the exporter',
    objective: 'Retry failed exports three times with backoff.',
    role: 'implementer',
    owned_surfaces: ['src/exporter/**', 'test/exporter*.test.ts'],
    forbidden_surfaces: ['src/exporter/secrets.ts', '.github/**'],
    tools: ['read_file'],
    evidence_tier: 'local_command_proof',
    validation_commands: ['npm test -- exporter'],
  };

  it('takes the eight sections, with defaults for the optional ones', () => {
    const wp = workPackageSpec.parse(valid);
    expect(wp).toMatchObject({ stop_gate: true, repository: null, tools: ['read_file'] });
    expect(
      workPackageSpec.parse({ ...valid, forbidden_surfaces: undefined }).forbidden_surfaces,
    ).toEqual([]);
  });

  it('refuses surfaces that reach outside the workspace and sections that are missing or blank', () => {
    for (const bad of ['/etc/passwd', '../other/**', 'src/../../x', 'C:/x', 'src\\x', 'a\u0000b'])
      expect(workPackageSpec.safeParse({ ...valid, owned_surfaces: [bad] }).success, bad).toBe(
        false,
      );
    expect(workPackageSpec.safeParse({ ...valid, owned_surfaces: [] }).success).toBe(false);
    expect(workPackageSpec.safeParse({ ...valid, role: ' ' }).success).toBe(false);
    expect(workPackageSpec.safeParse({ ...valid, evidence_tier: 'vibes' }).success).toBe(false);
    expect(workPackageSpec.safeParse({ ...valid, extra: 1 }).success).toBe(false);
  });

  it('renders its sections as Markdown, code kept as code', () => {
    const md = renderWorkPackage({
      id: 'wp_1',
      version: 2,
      spec: workPackageSpec.parse({ ...valid, validation_commands: ['echo `date`'] }),
    });
    expect(md).toContain('# Add retry to the exporter');
    expect(md).toContain('Work package `wp_1`, version 2. Role: `implementer`.');
    expect(md).toContain('- `src/exporter/**`');
    expect(md).toContain('- `` echo `date` ``');
    expect(md).toMatch(
      /## Evidence tier\n\n`local_command_proof`: a validation command the runner ran/,
    );
    expect(md).toContain('Return a scope confirmation first');
  });
});

describe('surfaces of a return', () => {
  const owned = ['src/exporter/**', 'docs/*.md'];
  const forbidden = ['src/exporter/secrets.ts', '**/*.pem'];

  it('accepts changes inside the owned surfaces', () => {
    expect(checkSurfaces(['src/exporter/retry.ts', './docs/export.md'], owned, forbidden)).toEqual({
      ok: true,
      outside_owned: [],
      forbidden: [],
    });
  });

  it('lists changes outside the owned surfaces and those a forbidden surface covers', () => {
    const v = checkSurfaces(
      [
        'src/exporter/secrets.ts',
        'src/other.ts',
        'docs/deep/x.md',
        'src/exporter/k.pem',
        '.github/ci.yml',
      ],
      owned,
      forbidden,
    );
    expect(v.ok).toBe(false);
    expect(v.outside_owned).toEqual(['src/other.ts', 'docs/deep/x.md', '.github/ci.yml']);
    expect(v.forbidden).toEqual([
      { path: 'src/exporter/secrets.ts', surface: 'src/exporter/secrets.ts' },
      { path: 'src/exporter/k.pem', surface: '**/*.pem' },
    ]);
  });

  it('never counts a path that climbs out of the workspace as owned', () => {
    expect(checkSurfaces(['src/exporter/../../etc/passwd'], ['**'], []).outside_owned).toEqual([
      'src/exporter/../../etc/passwd',
    ]);
    expect(checkSurfaces(['/etc/passwd'], ['**'], []).ok).toBe(false);
  });
});

describe('the evidence ladder', () => {
  it('reaches the strongest verified class, and a tier is met at or above it', () => {
    expect(reachedTier([])).toBe('not_proven');
    expect(reachedTier(['source_trace', 'runtime_proof', 'static_proof'])).toBe('runtime_proof');
    expect(meetsTier('runtime_proof', 'local_command_proof')).toBe(true);
    expect(meetsTier('static_proof', 'local_command_proof')).toBe(false);
    expect(meetsTier('merge_proof', 'merge_proof')).toBe(true);
  });
});
