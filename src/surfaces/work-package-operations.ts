import * as W from '../core/work-packages/schemas.js';
import { type Operation, defineOperation } from './operation.js';

/**
 * The work-package operations: book, read, list and move a package through its lifecycle. Each
 * is an MCP tool, an HTTP route and a CLI command (`countersign wp …`); every move goes through
 * the same lifecycle table and the same checks of who may make it, whatever the door.
 */
export const WORK_PACKAGE_OPERATIONS: readonly Operation[] = [
  defineOperation({
    name: 'book_work_package',
    title: 'Book a work package',
    description:
      'Book a bounded unit of agent work, addressed to an agent role: title, objective, owned and forbidden surfaces (path globs), ' +
      'the tools it allows, the evidence tier its return must reach, validation commands, a stop gate and a repository. ' +
      'People (and the operator) book packages; an agent cannot. The package starts booked, for an agent of its role to claim with move_work_package.',
    input: W.bookWorkPackageInput,
    output: W.workPackageOutput,
    write: true,
    privileged: true,
    actorFields: [],
    http: { method: 'POST', path: '/work-packages' },
    run: ({ kernel }, c, i) => kernel.bookWorkPackage(c, i),
  }),
  defineOperation({
    name: 'get_work_package',
    title: 'Get a work package',
    description:
      'A work package: its state, who booked and who claimed it, its spec (the current version, or the one asked for) and that spec as Markdown, ' +
      'and the scope confirmations and returns its agent handed back (newest last, each with its hash and as Markdown). ' +
      "Any caller of the package's tenant may read it.",
    input: W.getWorkPackageInput,
    output: W.workPackageOutput,
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/work-packages/{wp_id}' },
    run: ({ kernel }, c, i) => kernel.getWorkPackage(c, i),
  }),
  defineOperation({
    name: 'list_work_packages',
    title: 'List work packages',
    description:
      "The tenant's work packages in booking order, without their specs, filtered by state or role (an agent looking for work: state booked, its own role). " +
      'Page with after = next_after until it is null.',
    input: W.listWorkPackagesInput,
    output: W.listWorkPackagesOutput,
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/work-packages' },
    run: async ({ kernel }, c, i) => {
      const work_packages = await kernel.listWorkPackages(c, i);
      const last = work_packages.at(-1);
      return {
        work_packages,
        next_after: last && work_packages.length === i.limit ? last.id : null,
      };
    },
  }),
  defineOperation({
    name: 'move_work_package',
    title: 'Move a work package',
    description:
      'Move a package one step of its lifecycle. An agent of the package’s role claims it (claim), returns its scope (return_scope), starts (start, or start_without_scope without a stop gate) and returns its work (return); ' +
      'after the claim only the claiming agent makes these moves. People decide: go or revise_scope (with findings) on a returned scope, open_review, then accept, require_revision (with findings) or reject (with a reason); ' +
      'they also hold (with a reason), release, stop (with a reason) and merge (with merge_proof, the merge commit). ' +
      'A verdict is never made by the agent that claimed the package, by any agent, or by the operator: those are refused with POLICY_DENIED or SELF_APPROVAL. ' +
      'return_scope carries scope (the scope as the agent understands it); return carries artifact, the return: summary, changed, validated, not_touched, ' +
      'the evidence register (each claim with its class and a pointer to its record), non_claims, risks and next_gate; both are stored append-only and their hash is in the ledger. ' +
      'accept checks the latest return against the package’s evidence tier: a runtime_proof counts when it points at a succeeded execution or a completed run of the tenant; ' +
      'classes the runner records are not verifiable yet. Below the tier accept is refused with EVIDENCE_BELOW_TIER (details: required, reached, unverified) ' +
      'unless the reviewer gives override_reason, recorded as the override in the ledger. ' +
      'A move not legal from where the package stands is refused with INVALID_STATE, whose details list legal_moves.',
    input: W.moveWorkPackageInput,
    output: W.workPackageOutput,
    write: true,
    privileged: true,
    actorFields: [],
    http: { method: 'POST', path: '/work-packages/{wp_id}/moves' },
    run: ({ kernel }, c, i) => kernel.moveWorkPackage(c, i),
  }),
];
