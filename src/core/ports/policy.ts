import type { JsonValue, RiskClass } from '../model.js';
import type { RoleQuorum } from '../quorum.js';

/** The actions policy decides. */
export const POLICY_ACTIONS = [
  'actor.register',
  'actor.set_role',
  'workflow.start',
  'plan.activate',
  'workflow.read',
  'workflow.cancel',
  'proposal.create',
  'proposal.review',
  'proposal.execute',
  'policy.set',
  'audit.read',
  'token.create',
  'agent.invoke',
  'tool.invoke',
  'approval.request',
  'approval.decide',
  'approval.read',
  'knowledge.add',
  'knowledge.search',
  'proposal.approve_own_edit',
  'wp.book',
  'wp.read',
  'wp.move',
  'wp.verdict',
] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

/** The operator, or the kind of an actor (human, agent, service). */
export type PrincipalKind = 'operator' | 'human' | 'agent' | 'service';

export interface PolicyPrincipal {
  readonly id: string;
  readonly kind: PrincipalKind;
  readonly roles: readonly string[];
}

export type PolicyResource =
  | { readonly type: 'Tool'; readonly id: string; readonly risk: RiskClass }
  | {
      readonly type: 'Proposal';
      readonly id: string;
      readonly tool: string;
      readonly risk: RiskClass;
      readonly proposer: string;
      readonly workflow: string;
    }
  | { readonly type: 'Workflow'; readonly id: string }
  | {
      readonly type: 'Approval';
      readonly id: string;
      readonly requested_by: string;
      readonly workflow: string;
    }
  | { readonly type: 'Agent'; readonly id: string }
  | {
      readonly type: 'WorkPackage';
      readonly id: string;
      /** The agent role the package is addressed to. */
      readonly role: string;
      readonly state: string;
    }
  | { readonly type: 'Tenant'; readonly id: string };

export interface PolicyRequest {
  readonly tenant_id: string;
  readonly principal: PolicyPrincipal;
  readonly action: PolicyAction;
  readonly resource: PolicyResource;
  readonly purpose: string;
  readonly workflow_id?: string | undefined;
  /** The archetype of the run `workflow_id` names, when it has one (`proposal_only`). */
  readonly workflow_archetype?: string | undefined;
  /** Set by a workflow for the agent invocation it generated (seed 001, prompt 11.4). */
  readonly agent_invocation_id?: string | undefined;
  /** True when the local operator (no token) makes the call, naming actors in parameters. */
  readonly local_operator?: boolean | undefined;
  readonly extra?: Readonly<Record<string, JsonValue>>;
}

/**
 * Three-way outcome: `deny`; `allow` (no human review needed); `review` (needs `approvals`
 * approvals from reviewers holding one of `roles`, any role when empty).
 */
export interface PolicyDecision {
  readonly effect: 'deny' | 'allow' | 'review';
  readonly approvals: number;
  readonly roles: readonly string[];
  /**
   * With `review`: approvals per role (a policy's `@quorum`), on top of which `approvals` and
   * `roles` still apply; absent: any-of.
   */
  readonly quorum?: RoleQuorum | undefined;
  /** Content hash of the policy set that decided. */
  readonly policy_version: string;
  /** IDs of the policies that determined the outcome. */
  readonly reasons: readonly string[];
  /** Evaluation errors; any error makes the outcome a deny. */
  readonly errors: readonly string[];
}

export interface PolicyEngine {
  decide(request: PolicyRequest): PolicyDecision;
  readonly version: string;
}

/** One policy file as text: a candidate set is sent as files, never as a server-side path. */
export interface PolicyFile {
  readonly name: string;
  readonly text: string;
}

/** A policy set that can say why it decided: the annotations of each of its policies. */
export interface ExplainedPolicy extends PolicyEngine {
  /** The annotations (`@id`, `@approvals`, `@roles`…) of the policy with this ID, if any. */
  annotations(policyId: string): Readonly<Record<string, string>> | undefined;
}

/**
 * Policy to try before trusting it (test_policy, replay_policy): the active set, explained, and
 * candidates compiled from text. A candidate is only ever asked, never installed.
 */
export interface PolicyWorkbench {
  readonly active: ExplainedPolicy;
  /** Throws POLICY_INVALID naming the file and the error when the text is not valid policy. */
  compile(files: readonly PolicyFile[]): ExplainedPolicy;
}
