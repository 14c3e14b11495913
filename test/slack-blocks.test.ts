/**
 * What a Slack message says a gate or a call needs: "any one of" for roles, "each of" for a
 * quorum, so a reviewer in Slack is never told a change manager alone will do when security
 * must sign too.
 */
import { describe, expect, it } from 'vitest';
import { whoMustApprove } from '../src/adapters/notify/slack-blocks.js';
import { gateMessage } from '../src/adapters/notify/slack-gate-blocks.js';
import type { ApprovalRequest } from '../src/core/model.js';

const gate = (o: Partial<ApprovalRequest>): ApprovalRequest => ({
  tenant_id: 'default',
  id: 'approval_1',
  workflow_id: 'run_00000000000000000001',
  request_key: 'plan_approval#1',
  title: 'Plan approval',
  packet: {},
  required_approvals: 2,
  required_roles: ['change_manager', 'security'],
  proposals: [],
  status: 'pending',
  requested_by: 'actor_1',
  due_at: null,
  on_timeout: null,
  created_at: '2026-12-01T10:00:00.000Z',
  updated_at: '2026-12-01T10:00:00.000Z',
  ...o,
});

const textOf = (blocks: unknown) => JSON.stringify(blocks);

describe('who must approve, in Slack', () => {
  it('says "each of" for a quorum and "or" only for any-of', () => {
    expect(whoMustApprove({ required_roles: ['a', 'b'] })).toBe(' from a or b');
    expect(whoMustApprove({ required_roles: [] })).toBe('');
    expect(
      whoMustApprove({
        required_roles: ['change_manager', 'security'],
        role_quorum: { change_manager: 1, security: 2 },
      }),
    ).toBe(' from each of: change_manager, 2 × security');
  });

  it('a quorum gate never reads as "change_manager or security"', () => {
    const quorum = textOf(
      gateMessage({
        approval: gate({ role_quorum: { change_manager: 1, security: 1 } }),
        decisions: [],
        definition: 'ops_change_control',
        calls: [],
      }).blocks,
    );
    expect(quorum).toContain('needs 2 approvals from each of: change_manager, security');
    expect(quorum).not.toContain('change_manager or security');
    const anyOf = textOf(
      gateMessage({ approval: gate({}), decisions: [], definition: null, calls: [] }).blocks,
    );
    expect(anyOf).toContain('needs 2 approvals from change_manager or security');
  });
});
