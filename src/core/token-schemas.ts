import { z } from 'zod';
import { text } from './text.js';

/** At most a year; a token without an expiry never expires (until revoked). */
export const MAX_TOKEN_LIFETIME_SECONDS = 366 * 24 * 3600;

const tokenId = z
  .string()
  .regex(/^token_[1-9][0-9]{0,15}$/, 'must look like token_<n>')
  .describe('ID of the token, e.g. token_2');

export const createTokenInput = z.strictObject({
  actor_id: z
    .union([
      z.string().regex(/^actor_[1-9][0-9]{0,15}$/, 'must look like actor_<n>'),
      z.literal('operator'),
    ])
    .describe(
      'The actor the token acts as, or "operator" for an operator token (administers, never acts as an actor)',
    ),
  name: text(100).describe('What the token is for, e.g. "ci" or "claude-desktop"'),
  expires_in_seconds: z
    .number()
    .int()
    .min(60)
    .max(MAX_TOKEN_LIFETIME_SECONDS)
    .optional()
    .describe('Seconds until the token is refused (60 to a year); omit for no expiry'),
  scope: z
    .array(z.string().regex(/^[a-z][a-z_]{0,63}$/, 'must be an operation name'))
    .min(1)
    .max(64)
    .optional()
    .describe(
      'The operations the token may call (e.g. ["propose_action","get_proposal"]); omit for all',
    ),
});
export const createTokenOutput = z.object({
  token_id: z.string(),
  actor_id: z.string(),
  token: z
    .string()
    .nullable()
    .describe(
      'The secret; shown once, stored only as a hash (null when a retry replays the answer)',
    ),
  expires_at: z.string().nullable(),
  scope: z.array(z.string()).nullable(),
  note: z.string().optional(),
});
export type CreateTokenInput = z.input<typeof createTokenInput>;

export const revokeTokenInput = z.strictObject({ token_id: tokenId });
export const revokeTokenOutput = z.object({
  token_id: z.string(),
  actor_id: z.string(),
  revoked_at: z.string(),
  already_revoked: z.boolean(),
});
export type RevokeTokenInput = z.input<typeof revokeTokenInput>;

export const listTokensInput = z.strictObject({
  actor_id: z
    .union([z.string().regex(/^actor_[1-9][0-9]{0,15}$/), z.literal('operator')])
    .optional()
    .describe('Only the tokens of this principal'),
});
const tokenView = z.object({
  token_id: z.string(),
  actor_id: z.string(),
  name: z.string(),
  status: z.enum(['active', 'expired', 'revoked']),
  created_by: z.string(),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  scope: z.array(z.string()).nullable(),
  revoked_at: z.string().nullable(),
  last_used_at: z.string().nullable(),
});
export const listTokensOutput = z.object({ tokens: z.array(tokenView) });
export type ListTokensInput = z.input<typeof listTokensInput>;
export type TokenView = z.infer<typeof tokenView>;
