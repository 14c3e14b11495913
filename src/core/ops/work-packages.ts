import { canonicalJson, sha256Hex } from '../canonical.js';
import { type CallContext, assertContext } from '../context.js';
import { CountersignError } from '../errors.js';
import { EVENT_TYPES } from '../ledger.js';
import type { PolicyPrincipal } from '../ports/policy.js';
import type { StoreReader } from '../ports/store.js';
import type { WorkPackage, WorkPackageVersion } from '../ports/work-packages.js';
import { type WpMove, applyMove, moveRule } from '../work-packages/lifecycle.js';
import { duplicatesIn } from '../work-packages/model.js';
import { renderWorkPackage } from '../work-packages/render.js';
import * as S from '../work-packages/schemas.js';
import { parseInput } from '../validation.js';
import { type Rules, notFound } from './rules.js';

/** A package with its current (or asked-for) version and that version as Markdown. */
export interface WorkPackageView extends WorkPackage {
  readonly spec: WorkPackageVersion['spec'];
  readonly spec_hash: string;
  readonly markdown: string;
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
      return view(wp, v);
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
      return view(wp, v);
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
   * (`wp.verdict`). What it must carry (a reason, findings, a merge commit) is checked before
   * anything is written; a refusal is recorded in the ledger.
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
        const now = this.r.clock.now();
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
            purpose: ctx.purpose,
          },
        });
        const v = await tx.workPackages.getWorkPackageVersion(ctx.tenant_id, wp.id, wp.version);
        return view(moved, v!);
      },
      { last: true },
    );
  }

  private async find(tx: StoreReader, ctx: CallContext, id: string): Promise<WorkPackage> {
    const wp = await tx.workPackages.getWorkPackage(ctx.tenant_id, id);
    if (!wp) throw notFound('work package', id, 'wp_id');
    return wp;
  }

  private async stopGate(tx: StoreReader, wp: WorkPackage): Promise<boolean> {
    const v = await tx.workPackages.getWorkPackageVersion(wp.tenant_id, wp.id, wp.version);
    if (!v) throw new CountersignError('INTERNAL', `${wp.id} has no version ${wp.version}`);
    return v.spec.stop_gate;
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

function view(wp: WorkPackage, v: WorkPackageVersion): WorkPackageView {
  return {
    ...wp,
    spec: v.spec,
    spec_hash: v.hash,
    markdown: renderWorkPackage({ id: wp.id, version: v.version, spec: v.spec }),
  };
}
