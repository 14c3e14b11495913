import type { JsonValue, RiskClass } from '../model.js';

/** The actions policy decides. Later issues add more (agent.invoke, tool.invoke, …). */
export const POLICY_ACTIONS = [
  'actor.register',
  'workflow.start',
  'workflow.read',
  'proposal.create',
  'proposal.review',
  'proposal.execute',
  'policy.set',
  'audit.read',
  'token.create',
] as const;
export type PolicyAction = (typeof POLICY_ACTIONS)[number];

export type PrincipalKind = 'operator' | 'actor' | 'service';

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
  | { readonly type: 'Tenant'; readonly id: string };

export interface PolicyRequest {
  readonly tenant_id: string;
  readonly principal: PolicyPrincipal;
  readonly action: PolicyAction;
  readonly resource: PolicyResource;
  readonly purpose: string;
  readonly workflow_id?: string | undefined;
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
