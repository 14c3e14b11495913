// @vitest-environment happy-dom
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { Approval } from '../src/types.js';
import { GateDecision } from '../src/views/GateDecision.js';
import { BOB, fakeServer, renderSignedIn, route } from './harness.js';

afterEach(cleanup);

const T = '2026-12-01T10:00:00.000Z';
const approval = (o: Partial<Approval> = {}): Approval => ({
  id: 'approval_1',
  workflow_id: 'run_aaaaaaaaaaaaaaaaaaaa',
  request_key: 'risk_review',
  title: 'Risk review: tune the pool (low risk)',
  packet: {
    summary: 'Set max_connections to 200; ask dana@example.com.',
    risk_tier: 'low',
    risk: { risk_tier: 'low', score: 15, factors: [{ factor: 'criticality', points: 10 }] },
  },
  required_approvals: 1,
  required_roles: [],
  proposals: [{ proposal_id: 'proposal_4', hash: 'c'.repeat(64) }],
  status: 'pending',
  requested_by: 'operator',
  due_at: null,
  created_at: T,
  updated_at: T,
  ...o,
});

const planOf4 = route('GET', '/proposals/proposal_4/plan', {
  proposal_id: 'proposal_4',
  version: 1,
  tool: 'config_set',
  risk: 'write',
  hash: 'c'.repeat(64),
  plan: { service: 'checkout-api', key: 'max_connections', to: '200' },
});

describe('GateDecision', () => {
  it('shows the redacted context, the risk assessment and the calls it binds to', async () => {
    const server = fakeServer(
      route('GET', '/approvals/approval_1', { approval: approval(), decisions: [] }),
      planOf4,
    );
    renderSignedIn(<GateDecision id="approval_1" />, server);
    expect(await screen.findByRole('heading', { name: /Risk review: tune the pool/ })).toBeTruthy();
    const summary = screen.getByText(/Set max_connections to 200/, { selector: 'p.lead' });
    expect(summary.textContent).toContain('[REDACTED:email]');
    expect(document.body.textContent).not.toContain('dana@example.com');
    expect(screen.getByText('score')).toBeTruthy();
    expect(screen.getByText('15')).toBeTruthy();
    expect(screen.getByText(/Needs 1 approval from any reviewer but the requester/)).toBeTruthy();
    expect(screen.getByRole('link', { name: 'proposal_4' })).toBeTruthy();
    expect((await screen.findByLabelText('Dry-run plan of proposal_4')).textContent).toContain(
      'max_connections',
    );
    expect(screen.queryByRole('button', { name: 'Propose an edit' })).toBeNull();
  });

  it('shows the intake warnings as warnings, and the risk tier of a plan gate', async () => {
    const planGate = approval({
      request_key: 'plan_approval',
      title: 'Plan approval: tune the pool (2 steps)',
      packet: {
        summary: 'Set max_connections to 200.',
        risk_tier: 'low',
        warnings: ['The window is shorter than the change needs.'],
        plan: { steps: [] },
      },
    });
    const server = fakeServer(
      route('GET', '/approvals/approval_1', { approval: planGate, decisions: [] }),
      planOf4,
    );
    renderSignedIn(<GateDecision id="approval_1" />, server);
    const warned = await screen.findByTestId('gate-warnings');
    expect(warned.getAttribute('role')).toBe('note');
    expect(warned.textContent).toContain('One warning');
    expect(warned.textContent).toContain('The window is shorter than the change needs.');
    expect(screen.getByTestId('risk-tier').textContent).toContain('low');
    expect(document.body.textContent).not.toContain('carries no risk assessment');
    // The warning is not repeated inside the context's JSON.
    expect(
      screen.getByLabelText('Context summary', { selector: '[role=group]' }).textContent,
    ).not.toContain('shorter');
  });

  it('lists the bound calls as steps, each rollback labelled under the step it undoes, in words', async () => {
    const proposals = ['proposal_4', 'proposal_5', 'proposal_6'].map((proposal_id, i) => ({
      proposal_id,
      hash: String(i).repeat(64),
    }));
    const gate = approval({
      proposals,
      packet: {
        summary: 'Two steps.',
        risk_tier: 'low',
        calls: [
          {
            label: 's1',
            tool: 'config_set',
            proposal_id: 'proposal_4',
            hash: proposals[0]!.hash,
            rollback_for: null,
          },
          {
            label: 's1.rollback',
            tool: 'config_set',
            proposal_id: 'proposal_5',
            hash: proposals[1]!.hash,
            rollback_for: 's1',
          },
          {
            label: 's2',
            tool: 'update_status',
            proposal_id: 'proposal_6',
            hash: proposals[2]!.hash,
            rollback_for: null,
          },
        ],
      },
    });
    const described = (id: string, description: string) =>
      route('GET', `/proposals/${id}`, { final_tool_call: { description } });
    const server = fakeServer(
      route('GET', '/approvals/approval_1', { approval: gate, decisions: [] }),
      described('proposal_4', 'Set max_connections of checkout-api to 200.'),
      described('proposal_5', 'Set max_connections of checkout-api back to 100.'),
      described('proposal_6', 'Mark the change as done.'),
    );
    renderSignedIn(<GateDecision id="approval_1" />, server);
    expect((await screen.findByTestId('calls-count')).textContent).toContain(
      '2 calls, with 1 rollback call that run only to undo them after a failure',
    );
    const s1 = screen.getByTestId('bound-proposal_4');
    const undo = within(s1).getByRole('list', { name: 'Rollback of s1' });
    expect(within(undo).getByTestId('rollback-tag').textContent).toBe('rollback of s1');
    expect(within(undo).getByRole('link', { name: 'proposal_5' })).toBeTruthy();
    await waitFor(() =>
      expect(within(undo).getByTestId('bound-description').textContent).toBe(
        'Set max_connections of checkout-api back to 100.',
      ),
    );
    expect(within(screen.getByTestId('bound-proposal_6')).queryByTestId('rollback-tag')).toBeNull();
    // The calls are not repeated in the context summary.
    expect(screen.getByRole('group', { name: 'Context summary' }).textContent).not.toContain(
      'proposal_5',
    );
  });

  it('says a quorum gate needs each role, and which role is still missing', async () => {
    const server = fakeServer(
      route('GET', '/approvals/approval_1', {
        approval: approval({ role_quorum: { change_manager: 1, security: 1 } }),
        decisions: [],
        missing: { security: 1 },
      }),
      planOf4,
    );
    renderSignedIn(<GateDecision id="approval_1" />, server);
    expect((await screen.findByTestId('gate-quorum')).textContent).toBe(
      'Needs approvals from each of these roles: change_manager, security.',
    );
    expect(screen.getByTestId('gate-missing').textContent).toBe('Still needed: security.');
    expect(document.body.textContent).not.toContain('change_manager or security');
  });

  it('explains a missing role before anyone tries', async () => {
    const server = fakeServer(
      route('GET', '/approvals/approval_1', {
        approval: approval({ required_roles: ['change_manager', 'service_owner'] }),
        decisions: [],
      }),
      planOf4,
    );
    renderSignedIn(<GateDecision id="approval_1" />, server, BOB);
    expect((await screen.findByTestId('ineligible')).textContent).toContain(
      'This needs a reviewer with the role change_manager or service_owner; you have Senior Developer.',
    );
  });

  it('approves as the signed-in reviewer and says where the run went', async () => {
    let status = 'pending';
    const server = fakeServer(
      route('GET', '/approvals/approval_1', () => ({
        approval: approval({ status }),
        decisions: [],
      })),
      planOf4,
      route('POST', '/approvals/approval_1/decision', () => {
        status = 'approved';
        return {
          run: { workflow_id: 'run_aaaaaaaaaaaaaaaaaaaa', status: 'waiting', stage: 'risk_review' },
        };
      }),
    );
    renderSignedIn(<GateDecision id="approval_1" />, server, BOB);
    fireEvent.click(await screen.findByRole('button', { name: 'Approve' }));
    const moved = await screen.findByTestId('run-after-decision');
    expect(moved.textContent).toContain('The run is now waiting at stage risk_review');
    await waitFor(() => expect(screen.getByTestId('approval-status').textContent).toBe('approved'));
    expect(server.requests.find((r) => r.method === 'POST')?.body).toEqual({
      reviewer_id: 'actor_2',
      decision: 'approve',
    });
  });
});
