import * as T from '../core/policy-trial-schemas.js';
import { replayPolicy, testPolicy } from '../core/policy-trial.js';
import { type Operation, defineOperation } from './operation.js';

/**
 * Policy to try before trusting it: what the active policy and a candidate decide for one
 * call, and a shadow replay of recent proposals under a candidate. Both only read; whoever may
 * set policy (the operator, admins) may call them.
 */
export const POLICY_OPERATIONS: readonly Operation[] = [
  defineOperation({
    name: 'test_policy',
    title: 'Test a call against the policy',
    description:
      'What policy decides for a call (tool, params, proposer, workflow) without proposing it: effect (allow, review, deny), ' +
      'required approvals and roles, and why (the IDs and annotations of the matching policies). With `candidate` ' +
      '(the text of Cedar policy files), also what that candidate would decide. Nothing is created or recorded and the ' +
      'active policy is unchanged. Invalid candidate text is POLICY_INVALID naming the file. For the operator and admins.',
    input: T.testPolicyInput,
    output: T.testPolicyOutput,
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'POST', path: '/policy/test' },
    run: ({ kernel }, c, i) => testPolicy(kernel, c, i),
  }),
  defineOperation({
    name: 'replay_policy',
    title: 'Replay recent proposals under a candidate policy',
    description:
      'A shadow replay: the `last` N most recently active proposals of the tenant (their tool, proposer and workflow) ' +
      'asked of the active policy and of a candidate (the text of Cedar policy files). Lists every decision that would ' +
      'change (before and after, with the matching policies) and counts by effect. Nothing is created or recorded. ' +
      'For the operator and admins.',
    input: T.replayPolicyInput,
    output: T.replayPolicyOutput,
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'POST', path: '/policy/replay' },
    run: ({ kernel }, c, i) => replayPolicy(kernel, c, i),
  }),
];
