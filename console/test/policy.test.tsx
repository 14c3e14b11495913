// @vitest-environment happy-dom
import { cleanup, fireEvent, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { Policy } from '../src/views/Policy.js';
import { type Recorded, fakeServer, renderSignedIn, route } from './harness.js';

afterEach(cleanup);

const verdict = (effect: string, id: string, why: string, approvals = 0) => ({
  effect,
  approvals,
  roles: [],
  policy_version: 'v',
  matched: [{ id, annotations: { id } }],
  errors: [],
  why,
});

describe('Policy', () => {
  it('tests a call with a candidate and shows both decisions with the matched policies', async () => {
    const server = fakeServer(
      route('POST', '/policy/test', {
        current: verdict('review', 'calls-need-review', 'Needs 1 approval (calls-need-review).', 1),
        candidate: verdict('deny', 'freeze-status', 'Denied by freeze-status.'),
        changed: true,
        notes: [],
      }),
    );
    renderSignedIn(<Policy />, server);
    fireEvent.change(screen.getByLabelText('Tool'), { target: { value: 'update_status' } });
    fireEvent.change(screen.getByLabelText('Proposer'), { target: { value: 'actor_1' } });
    fireEvent.change(screen.getByLabelText('Workflow'), { target: { value: 'workflow_1' } });
    fireEvent.change(screen.getByLabelText('Parameters (JSON)'), {
      target: { value: '{"status":"x"}' },
    });
    fireEvent.change(screen.getByLabelText('Candidate policy (Cedar, optional)'), {
      target: { value: 'forbid (principal, action, resource);' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Test the call' }));
    expect((await screen.findByTestId('verdict-Candidate')).textContent).toContain(
      'Denied by freeze-status.',
    );
    expect(screen.getByTestId('verdict-Current').textContent).toContain('review: 1 approval');
    expect(screen.getByTestId('changed').textContent).toBe('The candidate decides differently.');
    const sent = server.requests.find((r: Recorded) => r.url.endsWith('/policy/test'))!;
    expect(sent.body).toEqual({
      tool: 'update_status',
      params: { status: 'x' },
      proposer_id: 'actor_1',
      workflow_id: 'workflow_1',
      candidate: [{ name: 'candidate.cedar', text: 'forbid (principal, action, resource);' }],
    });
  });

  it('replays the last N proposals and lists the changed decisions; shows a refusal', async () => {
    const server = fakeServer(
      route('POST', '/policy/replay', (req: Recorded) =>
        (req.body as { last: number }).last === 5
          ? {
              replayed: 5,
              changed: 1,
              unchanged: 4,
              changes: [
                {
                  proposal_id: 'proposal_3',
                  tool: 'update_status',
                  proposer_id: 'actor_1',
                  before: verdict('allow', 'ok', 'Allowed without review by ok.'),
                  after: verdict('deny', 'freeze-status', 'Denied by freeze-status.'),
                },
              ],
            }
          : undefined,
      ),
    );
    renderSignedIn(<Policy />, server);
    fireEvent.click(screen.getByRole('button', { name: 'Replay last 100' }));
    expect((await screen.findByRole('alert')).textContent).toContain('Paste a candidate policy');
    fireEvent.change(screen.getByLabelText('Candidate policy (Cedar, optional)'), {
      target: { value: 'forbid (principal, action, resource);' },
    });
    fireEvent.change(screen.getByLabelText('Last'), { target: { value: '5' } });
    fireEvent.click(screen.getByRole('button', { name: 'Replay last 5' }));
    expect((await screen.findByTestId('replay-summary')).textContent).toBe(
      'Replayed 5 proposals: 1 would change, 4 unchanged.',
    );
    expect(screen.getByRole('link', { name: 'proposal_3' })).toBeTruthy();
    expect(screen.getByText('Denied by freeze-status.')).toBeTruthy();
  });

  it("shows the server's POLICY_INVALID refusal", async () => {
    const server = fakeServer(
      route(
        'POST',
        '/policy/test',
        {
          error: {
            code: 'POLICY_INVALID',
            message: 'Cannot parse candidate.cedar: unexpected end of input',
          },
        },
        422,
      ),
    );
    renderSignedIn(<Policy />, server);
    fireEvent.change(screen.getByLabelText('Tool'), { target: { value: 'update_status' } });
    fireEvent.change(screen.getByLabelText('Proposer'), { target: { value: 'actor_1' } });
    fireEvent.change(screen.getByLabelText('Candidate policy (Cedar, optional)'), {
      target: { value: 'permit (' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Test the call' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('POLICY_INVALID');
    expect(alert.textContent).toContain('candidate.cedar');
  });
});
