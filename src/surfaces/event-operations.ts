import * as E from '../core/event-schemas.js';
import { EventFeed } from '../core/events.js';
import { waitForDecision } from '../core/ops/decision-waits.js';
import { type Operation, defineOperation } from './operation.js';

/**
 * Decisions pushed, not polled: the operation an agent blocks on until a human decides. The
 * `/events` stream (http/events-route.ts) reads the same feed.
 */
export const EVENT_OPERATIONS: readonly Operation[] = [
  defineOperation({
    name: 'wait_for_decision',
    title: 'Wait for a human decision',
    description:
      'Block until a reviewer decides a proposal (proposal_id) or a workflow gate (approval_id), or timeout_seconds ' +
      '(1 to 300, default 30) pass. Returns the status (approved, rejected, needs_info…) with the latest decision, ' +
      'the reviewer and their comment; on timeout status is "pending" and timed_out true: call again. ' +
      'Reads only: it decides nothing. An agent may wait on its own proposals and gates.',
    input: E.waitForDecisionInput,
    output: E.waitForDecisionOutput,
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/decisions/wait' },
    run: ({ kernel }, c, i) => waitForDecision(kernel.r, EventFeed.of(kernel.r.store), c, i),
  }),
];
