import * as C from '../core/console-schemas.js';
import { listActors, listLedger, planAction, whoAmI } from '../core/console-reads.js';
import { type Operation, defineOperation } from './operation.js';

/**
 * The reads the approval console needs beyond the connector's operations. They are ordinary
 * catalogue entries, so the console uses the same HTTP API as any client, and MCP clients and
 * the CLI get them too.
 */
export const CONSOLE_OPERATIONS: readonly Operation[] = [
  defineOperation({
    name: 'who_am_i',
    title: 'Who am I',
    description:
      'The caller this token stands for: tenant, actor ID, name and roles (what approval requests check), ' +
      `and may: which of the tenant-level operations ${C.TENANT_OPERATIONS.join(', ')} this caller would be allowed, ` +
      "by the server's own checks (the token's scope, policy for this caller on the tenant). A listed operation may still be refused for its object; the server decides each call.",
    input: C.whoAmIInput,
    output: C.whoAmIOutput,
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/me' },
    run: ({ kernel }, c) => whoAmI(kernel, c),
  }),
  defineOperation({
    name: 'list_actors',
    title: "List the tenant's actors",
    description:
      'Who the actor IDs stand for: every actor of the tenant with its name, role and kind, in registration order. ' +
      'Filter with kind. Any caller that may read the tenant’s workflows may list them; no secret is included.',
    input: C.listActorsInput,
    output: C.listActorsOutput,
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/actors' },
    run: ({ kernel }, c, i) => listActors(kernel, c, i),
  }),
  defineOperation({
    name: 'list_ledger',
    title: "Read the tenant's ledger",
    description:
      "One page of the tenant's whole hash-chained ledger in seq order (every workflow and tenant-level event). " +
      'Page with after_seq = next_after_seq until it is null. The read itself is recorded.',
    input: C.listLedgerInput,
    output: C.listLedgerOutput,
    write: true, // the read itself is recorded
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/audit/ledger' },
    run: ({ kernel }, c, i) => listLedger(kernel, c, i),
  }),
  defineOperation({
    name: 'plan_action',
    title: 'Dry-run plan of a proposed call',
    description:
      "What the proposal's current version would change, from the tool's plan(): nothing runs and nothing is recorded. " +
      'Returns the hash an approval of this version binds to.',
    input: C.planActionInput,
    output: C.planActionOutput,
    write: false,
    privileged: false,
    actorFields: [],
    http: { method: 'GET', path: '/proposals/{proposal_id}/plan' },
    run: ({ kernel }, c, i) => planAction(kernel, c, i),
  }),
];
