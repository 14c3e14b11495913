import { canonicalJson, sha256Hex } from '../canonical.js';
import { type CallContext, assertContext } from '../context.js';
import { CountersignError } from '../errors.js';
import { EVENT_TYPES } from '../ledger.js';
import type { PolicyPrincipal } from '../ports/policy.js';
import type { StoreReader } from '../ports/store.js';
import type {
  WorkPackage,
  WorkPackageReturn,
  WorkPackageReturnBody,
  WorkPackageVersion,
} from '../ports/work-packages.js';
import { type EvidenceCheck, checkEvidence } from '../work-packages/evidence-register.js';
import { meetsTier } from '../work-packages/evidence.js';
import { type WpMove, applyMove, moveRule } from '../work-packages/lifecycle.js';
import { duplicatesIn } from '../work-packages/model.js';
import { code, renderWorkPackage } from '../work-packages/render.js';
import { renderReturn } from '../work-packages/return-artifact.js';
import * as S from '../work-packages/schemas.js';
import { parseInput } from '../validation.js';
import { type Rules, notFound } from './rules.js';

/** A scope confirmation or a return as read: its body by kind, and as Markdown. */
export interface WorkPackageReturnView {
  readonly n: number;
  readonly kind: 'scope' | 'return';
  readonly wp_version: number;
  readonly scope: string | null;
  readonly artifact: (WorkPackageReturnBody & { kind: 'return' })['body'] | null;
  readonly hash: string;
  readonly returned_by: string;
  readonly returned_at: string;
  readonly markdown: string;
}

/** A package with its current (or asked-for) version and that version as Markdown. */
export interface WorkPackageView extends WorkPackage {
  readonly spec: WorkPackageVersion['spec'];
  readonly spec_hash: string;
  readonly markdown: string;
  /** Its scope confirmations and returns, newest last. */
  readonly returns: readonly WorkPackageReturnView[];
}

/**
 * Work packages: booked by people (`wp.book`), claimed and worked by agents of the package's
 * role, reviewed and decided by people. Every move goes through the lifecycle table
 * (work-packages/lifecycle.ts) and is a ledger event; a verdict (`wp.verdict`) is never made by
 * the agent that claimed the package, by any agent, or by the operator, whatever policy says.
 */
export class WorkPackageOps {
  constructor(private readonly r: Rules) {}

  async book(ctx: CallContext, input: S.BookWorkPackageInput): Promise<WorkPackageView> {
    assertContext(ctx);
    const { spec } = parseInput(S.bookWorkPackageInput, input, 'book_work_package input');
    for (const [field, list] of [
      ['owned_surfaces', spec.owned_surfaces],
      ['forbidden_surfaces', spec.forbidden_surfaces],
      ['tools', spec.tools],
    ] as const) {
      const dup = duplicatesIn(list);
      if (dup.length)
        throw new CountersignError(
          'VALIDATION_FAILED',
          `spec.${field} lists ${dup.join(', ')} more than once.`,
          { field: `spec.${field}`, duplicates: dup },
        );
    }
    for (const tool of spec.tools)
      if (!this.r.tools.get(tool))
        throw new CountersignError(
          'UNKNOWN_TOOL',
          `spec.tools names ${tool}, which is not registered.`,
          {
            tool,
          },
        );
    return this.r.final(ctx, async (tx) => {
      const principal = await this.r.principalOf(tx, ctx);
      this.r.require(ctx, principal, 'wp.book', { type: 'Tenant', id: ctx.tenant_id });
      const now = this.r.clock.now();
      const id = await tx.nextId(ctx.tenant_id, 'wp');
      const hash = sha256Hex(canonicalJson(spec));
      const wp: WorkPackage = {
        tenant_id: ctx.tenant_id,
        id,
        version: 1,
        state: 'booked',
        held_from: null,
        role: spec.role,
        title: spec.title,
        booked_by: principal.id,
        claimed_by: null,
        created_at: now,
        updated_at: now,
      };
      const v: WorkPackageVersion = {
        tenant_id: ctx.tenant_id,
        wp_id: id,
        version: 1,
        spec,
        hash,
        booked_by: principal.id,
        booked_at: now,
      };
      await tx.workPackages.insertWorkPackage(wp, v);
      await this.r.append(tx, ctx, {
        type: EVENT_TYPES.WP_BOOKED,
        actor: principal.id,
        workflow_id: null,
        data: {
          wp_id: id,
          version: 1,
          hash,
          title: spec.title,
          role: spec.role,
          evidence_tier: spec.evidence_tier,
          stop_gate: spec.stop_gate,
          purpose: ctx.purpose,
        },
      });
      return view(wp, v, []);
    });
  }

  async get(ctx: CallContext, input: S.GetWorkPackageInput): Promise<WorkPackageView> {
    assertContext(ctx);
    const args = parseInput(S.getWorkPackageInput, input, 'get_work_package input');
    return this.r.store.read(async (tx) => {
      const principal = await this.r.principalOf(tx, ctx);
      const wp = await this.find(tx, ctx, args.wp_id);
      this.r.require(ctx, principal, 'wp.read', resourceOf(wp));
      const v = await tx.workPackages.getWorkPackageVersion(
        ctx.tenant_id,
        wp.id,
        args.version ?? wp.version,
      );
      if (!v) throw notFound('version', `${args.version} of ${wp.id}`, 'version');
      return view(wp, v, await tx.workPackages.listReturns(ctx.tenant_id, wp.id));
    });
  }

  async list(ctx: CallContext, input: S.ListWorkPackagesInput): Promise<WorkPackage[]> {
    assertContext(ctx);
    const args = parseInput(S.listWorkPackagesInput, input, 'list_work_packages input');
    return this.r.store.read(async (tx) => {
      const principal = await this.r.principalOf(tx, ctx);
      this.r.require(ctx, principal, 'wp.read', { type: 'Tenant', id: ctx.tenant_id });
      return tx.workPackages.listWorkPackages(ctx.tenant_id, args);
    });
  }

  /**
   * Moves a package one step of its lifecycle. Who may: an agent move only by an agent (or
   * service) of the package's role, and after the claim only by the one that claimed it; a
   * move of the review authority only by a person, never the claimant; a verdict as such
   * (`wp.verdict`). What it must carry (a reason, findings, a merge commit, the scope, the
   * return) is checked before anything is written; a refusal is recorded in the ledger.
   *
   * A scope confirmation or a return is appended to the package's returns, its hash in the
   * WP_MOVED event. An accept checks the latest return's evidence register against the
   * package's tier: below it, EVIDENCE_BELOW_TIER, unless the reviewer gives an override reason,
   * recorded as `override` in the WP_MOVED event.
   */
  async move(ctx: CallContext, input: S.MoveWorkPackageInput): Promise<WorkPackageView> {
    assertContext(ctx);
    const args = parseInput(S.moveWorkPackageInput, input, 'move_work_package input');
    const move = args.move as WpMove;
    const rule = moveRule(move);
    if (rule.needs === 'reason' && !args.reason) throw invalid(`${move} needs a reason.`, 'reason');
    if (rule.needs === 'findings' && !args.findings)
      throw invalid(`${move} needs findings: what must change.`, 'findings');
    if (rule.needs === 'merge_proof' && !args.merge_proof)
      throw invalid('merge needs merge_proof: the merge commit.', 'merge_proof');
    if (move === 'return_scope' && !args.scope)
      throw invalid('return_scope needs scope: the scope as the agent understands it.', 'scope');
    if (move === 'return' && !args.artifact)
      throw invalid(
        'return needs artifact: what changed, what was validated, the evidence register.',
        'artifact',
      );
    for (const [field, only] of [
      ['scope', 'return_scope'],
      ['artifact', 'return'],
      ['override_reason', 'accept'],
    ] as const)
      if (args[field] !== undefined && move !== only)
        throw invalid(`${field} goes with ${only} only, not ${move}.`, field);
    const body: WorkPackageReturnBody | null =
      move === 'return_scope'
        ? { kind: 'scope', body: { scope: args.scope! } }
        : move === 'return'
          ? { kind: 'return', body: args.artifact! }
          : null;
    const actor = ctx.caller.kind === 'operator' ? 'operator' : ctx.caller.actor_id;
    return this.r.recording(
      ctx,
      {
        workflow_id: null,
        actor,
        operation: 'move_work_package',
        subject: { wp_id: args.wp_id, move },
      },
      async (tx) => {
        const principal = await this.r.principalOf(tx, ctx);
        const wp = await tx.workPackages.lockWorkPackage(ctx.tenant_id, args.wp_id);
        if (!wp) throw notFound('work package', args.wp_id, 'wp_id');
        checkMover(principal, wp, move);
        this.r.require(ctx, principal, rule.verdict ? 'wp.verdict' : 'wp.move', resourceOf(wp));
        const next = applyMove(
          { state: wp.state, held_from: wp.held_from, stop_gate: await this.stopGate(tx, wp) },
          move,
          wp.id,
        );
        let override: { reason: string; required: string; reached: string } | null = null;
        if (move === 'accept') {
          const required = (await this.spec(tx, wp)).evidence_tier;
          const check = await this.checkReturn(tx, wp);
          if (!meetsTier(check.reached, required)) {
            if (!args.override_reason) throw belowTier(wp, required, check);
            override = { reason: args.override_reason, required, reached: check.reached };
          }
        }
        const now = this.r.clock.now();
        let returned: WorkPackageReturn | null = null;
        if (body) {
          const previous = await tx.workPackages.listReturns(ctx.tenant_id, wp.id);
          returned = {
            ...body,
            tenant_id: ctx.tenant_id,
            wp_id: wp.id,
            wp_version: wp.version,
            n: previous.length + 1,
            hash: sha256Hex(canonicalJson(body.body)),
            returned_by: principal.id,
            returned_at: now,
          };
          await tx.workPackages.insertReturn(returned);
        }
        const moved: WorkPackage = {
          ...wp,
          state: next.state,
          held_from: next.held_from,
          claimed_by: move === 'claim' ? principal.id : wp.claimed_by,
          updated_at: now,
        };
        await tx.workPackages.updateWorkPackage(ctx.tenant_id, wp.id, {
          state: moved.state,
          held_from: moved.held_from,
          claimed_by: moved.claimed_by,
          updated_at: now,
        });
        await this.r.append(tx, ctx, {
          type: EVENT_TYPES.WP_MOVED,
          actor: principal.id,
          workflow_id: null,
          data: {
            wp_id: wp.id,
            version: wp.version,
            move,
            verdict: rule.verdict,
            from: wp.state,
            to: moved.state,
            reason: args.reason ?? null,
            findings: args.findings ?? null,
            merge_proof: args.merge_proof ?? null,
            ...(returned
              ? { return: { n: returned.n, kind: returned.kind, hash: returned.hash } }
              : {}),
            ...(override ? { override } : {}),
            purpose: ctx.purpose,
          },
        });
        const v = await tx.workPackages.getWorkPackageVersion(ctx.tenant_id, wp.id, wp.version);
        return view(moved, v!, await tx.workPackages.listReturns(ctx.tenant_id, wp.id));
      },
      { last: true },
    );
  }

  private async find(tx: StoreReader, ctx: CallContext, id: string): Promise<WorkPackage> {
    const wp = await tx.workPackages.getWorkPackage(ctx.tenant_id, id);
    if (!wp) throw notFound('work package', id, 'wp_id');
    return wp;
  }

  private async spec(tx: StoreReader, wp: WorkPackage): Promise<WorkPackageVersion['spec']> {
    const v = await tx.workPackages.getWorkPackageVersion(wp.tenant_id, wp.id, wp.version);
    if (!v) throw new CountersignError('INTERNAL', `${wp.id} has no version ${wp.version}`);
    return v.spec;
  }

  private async stopGate(tx: StoreReader, wp: WorkPackage): Promise<boolean> {
    return (await this.spec(tx, wp)).stop_gate;
  }

  /**
   * The latest return's evidence register, checked against the tenant's records. A package in
   * review is not merged, so no merge proof is recorded yet: a merge_proof claim cannot count
   * at accept.
   */
  private async checkReturn(tx: StoreReader, wp: WorkPackage): Promise<EvidenceCheck> {
    const returns = await tx.workPackages.listReturns(wp.tenant_id, wp.id);
    const latest = returns.filter((r) => r.kind === 'return').at(-1);
    const evidence = latest?.kind === 'return' ? latest.body.evidence : [];
    return checkEvidence(evidence, {
      execution: async (id) => (await tx.getExecution(wp.tenant_id, id))?.status,
      run: async (id) =>
        (await tx.runs.getRun(wp.tenant_id, id))?.status ??
        (await tx.getWorkflow(wp.tenant_id, id))?.status,
      merge_proof: null,
    });
  }
}

const resourceOf = (wp: WorkPackage) =>
  ({ type: 'WorkPackage', id: wp.id, role: wp.role, state: wp.state }) as const;

function invalid(message: string, field: string): CountersignError {
  return new CountersignError('VALIDATION_FAILED', message, { field });
}

/** The caller in a refusal: "the operator", or "actor_3 (an agent)". */
const who = (p: PolicyPrincipal): string =>
  p.kind === 'operator' ? 'the operator' : `${p.id} (${p.kind === 'agent' ? 'an' : 'a'} ${p.kind})`;

/** The separation of duties of a move, before policy: no policy can lift these. */
function checkMover(principal: PolicyPrincipal, wp: WorkPackage, move: WpMove): void {
  const rule = moveRule(move);
  if (rule.by === 'agent') {
    if (principal.kind !== 'agent' && principal.kind !== 'service')
      throw new CountersignError(
        'POLICY_DENIED',
        `Denied: ${move} is the agent's move, and the caller is ${who(principal)}.`,
        { move, principal: principal.id },
      );
    if (!principal.roles.includes(wp.role))
      throw new CountersignError(
        'MISSING_ROLE',
        `${wp.id} is addressed to the role ${wp.role}; ${principal.id} holds ${principal.roles.join(', ') || 'no role'}.`,
        { role: wp.role, principal: principal.id },
      );
    if (move !== 'claim' && wp.claimed_by !== principal.id)
      throw new CountersignError(
        'POLICY_DENIED',
        `Denied: ${wp.id} is worked by ${wp.claimed_by ?? 'nobody yet'}; only that agent makes its moves.`,
        { claimed_by: wp.claimed_by, principal: principal.id },
      );
    return;
  }
  if (principal.kind !== 'human')
    throw new CountersignError(
      'POLICY_DENIED',
      `Denied: ${move} is the review authority's; people review work, and the caller is ${who(principal)}.`,
      { move, principal: principal.id },
    );
  if (
    principal.id === wp.claimed_by ||
    (principal.id === wp.booked_by && wp.booked_by === wp.claimed_by)
  )
    throw new CountersignError(
      'SELF_APPROVAL',
      `${principal.id} worked ${wp.id}; someone else reviews it.`,
      { wp_id: wp.id, principal: principal.id },
    );
}

/** EVIDENCE_BELOW_TIER: the tiers, and what each claim of the register proved or did not. */
function belowTier(wp: WorkPackage, required: string, check: EvidenceCheck): CountersignError {
  const unverified = check.claims.filter((c) => !c.verified);
  return new CountersignError(
    'EVIDENCE_BELOW_TIER',
    `Cannot accept ${wp.id}: its return reaches ${check.reached}, its tier is ${required}` +
      (unverified.length
        ? `; unverified: ${unverified.map((c) => `${c.class} "${c.claim}" (${c.why})`).join('; ')}`
        : '; its register verifies no claim') +
      '. Accept with an override reason, or require a revision.',
    {
      wp_id: wp.id,
      required,
      reached: check.reached,
      unverified: unverified.map((c) => ({ claim: c.claim, class: c.class, why: c.why })),
    },
  );
}

function returnView(r: WorkPackageReturn): WorkPackageReturnView {
  const common = {
    n: r.n,
    kind: r.kind,
    wp_version: r.wp_version,
    hash: r.hash,
    returned_by: r.returned_by,
    returned_at: r.returned_at,
  };
  if (r.kind === 'scope')
    return {
      ...common,
      scope: r.body.scope,
      artifact: null,
      markdown: `# Scope ${r.n} of ${code(r.wp_id)}\n\n${r.body.scope}\n`,
    };
  return {
    ...common,
    scope: null,
    artifact: r.body,
    markdown: renderReturn({ wp_id: r.wp_id, n: r.n, artifact: r.body }),
  };
}

function view(
  wp: WorkPackage,
  v: WorkPackageVersion,
  returns: readonly WorkPackageReturn[],
): WorkPackageView {
  return {
    ...wp,
    spec: v.spec,
    spec_hash: v.hash,
    markdown: renderWorkPackage({ id: wp.id, version: v.version, spec: v.spec }),
    returns: returns.map(returnView),
  };
}
