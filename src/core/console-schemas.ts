import { z } from 'zod';
import { ledgerEntry, proposalId } from './schemas.js';

/**
 * Inputs and outputs of the reads the approval console needs beyond the connector's
 * operations: who the caller is, the tenant's whole ledger in pages, and a proposal's dry-run
 * plan. Like every operation they are also MCP tools and CLI commands.
 */

/**
 * The tenant-level operations who_am_i answers for in `may`: what the console offers (start a
 * run, activate a plan, register an actor, change a role, change policy, mint a token) only to
 * callers the server would let do it.
 */
export const TENANT_OPERATIONS = [
  'start_workflow_run',
  'activate_plan',
  'register_actor',
  'set_actor_role',
  'set_policy',
  'create_token',
] as const;
export type TenantOperation = (typeof TENANT_OPERATIONS)[number];

export const whoAmIInput = z.strictObject({});
export const whoAmIOutput = z.object({
  tenant_id: z.string(),
  kind: z.enum(['operator', 'actor']),
  /** human, agent or service for an actor; operator for the operator. */
  principal_kind: z.enum(['operator', 'human', 'agent', 'service']),
  /** The token the caller authenticated with (null: the local operator). */
  token_id: z.string().nullable(),
  actor_id: z.string(),
  name: z.string(),
  roles: z.array(z.string()),
  may: z
    .array(z.enum(TENANT_OPERATIONS))
    .describe(
      `Of the tenant-level operations ${TENANT_OPERATIONS.join(', ')}: those this caller would be allowed, ` +
        "by the checks the operations themselves make before looking at any object (the token's scope, " +
        'then policy for this caller on the tenant, with this call’s purpose; only the operator mints tokens). ' +
        'A call may still be refused for its object (a plan not approved, one’s own role): the server decides each call.',
    ),
});
export type WhoAmI = z.infer<typeof whoAmIOutput>;

export const listActorsInput = z.strictObject({
  kind: z
    .enum(['human', 'agent', 'service'])
    .optional()
    .describe('Only actors of this kind (default: all)'),
});
export type ListActorsInput = z.input<typeof listActorsInput>;
export const listActorsOutput = z.object({
  actors: z.array(
    z.object({
      actor_id: z.string(),
      name: z.string(),
      role: z.string(),
      kind: z.enum(['human', 'agent', 'service']),
      created_at: z.string(),
    }),
  ),
});
export type ListActorsOutput = z.infer<typeof listActorsOutput>;

export const LEDGER_PAGE_MAX = 1000;
export const listLedgerInput = z.strictObject({
  after_seq: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Only events after this seq (the last seq of the previous page)'),
  limit: z.number().int().min(1).max(LEDGER_PAGE_MAX).optional().describe('Page size, default 200'),
});
export type ListLedgerInput = z.input<typeof listLedgerInput>;
export const listLedgerOutput = z.object({
  entries: z.array(ledgerEntry),
  next_after_seq: z
    .number()
    .int()
    .nullable()
    .describe('Pass as after_seq for the next page; null on the last page'),
});

export const planActionInput = z.strictObject({ proposal_id: proposalId });
export const planActionOutput = z.object({
  proposal_id: z.string(),
  version: z.number().int(),
  tool: z.string(),
  risk: z.string(),
  hash: z.string(),
  plan: z.record(z.string(), z.json()),
});
