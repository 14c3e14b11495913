// @vitest-environment happy-dom
import { cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProposalView } from '../src/types.js';
import { ProposalDecision } from '../src/views/ProposalDecision.js';
import { ALICE, BOB, type Recorded, fakeServer, renderSignedIn, route } from './harness.js';

afterEach(cleanup);

const HASH1 = 'a'.repeat(64);
const HASH2 = 'b'.repeat(64);
const T = '2026-12-01T10:00:00.000Z';

function view(o: { status?: string; edited?: boolean; roles?: string[] } = {}): ProposalView {
  const v1 = {
    version: 1,
    params: {
      version: '2.1.0',
      rollback_plan: 'enabled',
      api_key: 'sk-abcdefghijklmnop1234567890',
    },
    hash: HASH1,
    origin: 'proposed',
    author_id: 'actor_1',
    created_at: T,
  };
  const v2 = {
    ...v1,
    version: 2,
    hash: HASH2,
    origin: 'edit',
    author_id: 'actor_3',
    params: { ...v1.params, maintenance_window: '2:00-4:00 AM UTC' },
  };
  const current = o.edited ? v2 : v1;
  return {
    proposal: {
      id: 'proposal_1',
      workflow_id: 'workflow_1',
      tool: 'database_migration',
      proposer_id: 'actor_1',
      reason: 'Apply the schema change',
      status: o.status ?? 'pending',
      version: current.version,
      required_approvals: 1,
      required_roles: o.roles ?? [],
      created_at: T,
      updated_at: T,
    },
    final_tool_call: {
      tool: 'database_migration',
      params: current.params,
      hash: current.hash,
      version: current.version,
    },
    versions: o.edited ? [v1, v2] : [v1],
    decisions: o.edited
      ? [
          {
            id: 'decision_1',
            version: 1,
            hash: HASH1,
            reviewer_id: 'actor_3',
            decision: 'edit',
            comment: 'Only in the window.',
            edits: { params: { maintenance_window: '2:00-4:00 AM UTC' } },
            created_at: T,
          },
        ]
      : [],
    executions: [],
  };
}

const plan = route('GET', '/proposals/proposal_1/plan', {
  proposal_id: 'proposal_1',
  version: 1,
  tool: 'database_migration',
  risk: 'write',
  hash: HASH1,
  plan: { statements: ['CREATE TABLE feature_flags (name TEXT)'] },
});

describe('ProposalDecision', () => {
  it('shows the exact call with its hash, redacted params, the risk and the dry-run plan', async () => {
    renderSignedIn(
      <ProposalDecision id="proposal_1" />,
      fakeServer(route('GET', '/proposals/proposal_1', view()), plan),
    );
    expect((await screen.findByTestId('call-hash')).textContent).toBe(HASH1);
    const params = screen.getByLabelText('Parameters of the call').textContent ?? '';
    expect(params).toContain('"rollback_plan": "enabled"');
    expect(params).not.toContain('sk-abcdefghijklmnop1234567890');
    expect(params).toContain('[REDACTED');
    expect((await screen.findByLabelText('Dry-run plan of the call')).textContent).toContain(
      'feature_flags',
    );
    expect(screen.getByText('write')).toBeTruthy();
    expect(screen.queryByRole('heading', { name: /Edited/ })).toBeNull();
  });

  it('explains self-approval up front and shows the server’s refusal', async () => {
    const server = fakeServer(
      route('GET', '/proposals/proposal_1', view()),
      plan,
      route(
        'POST',
        '/proposals/proposal_1/review',
        {
          error: {
            code: 'SELF_APPROVAL',
            message: 'actor_1 proposed proposal_1 and cannot review it.',
          },
        },
        409,
      ),
    );
    renderSignedIn(<ProposalDecision id="proposal_1" />, server, ALICE);
    expect((await screen.findByTestId('ineligible')).textContent).toContain('Separation of duties');
    // No button the rules would refuse is offered.
    for (const name of ['Approve', 'Reject', 'Request more information', 'Propose an edit'])
      expect(screen.getByRole<HTMLButtonElement>('button', { name }).disabled).toBe(true);
    fireEvent.submit(screen.getByRole('button', { name: 'Approve' }).closest('form')!);
    await new Promise((r) => setTimeout(r, 50));
    expect(server.requests.some((r) => r.method === 'POST')).toBe(false);
    cleanup();
    // Someone the console thinks may decide still sees the server's refusal as it comes.
    renderSignedIn(<ProposalDecision id="proposal_1" />, server, BOB);
    await screen.findByTestId('call-hash');
    fireEvent.click(screen.getByRole('button', { name: 'Approve' }));
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('The server refused this decision');
    expect(alert.textContent).toContain('SELF_APPROVAL');
    expect(alert.textContent).toContain('cannot review it');
  });

  it('explains a missing role', async () => {
    renderSignedIn(
      <ProposalDecision id="proposal_1" />,
      fakeServer(route('GET', '/proposals/proposal_1', view({ roles: ['DBA'] })), plan),
      BOB,
    );
    expect((await screen.findByTestId('ineligible')).textContent).toContain(
      'needs a reviewer with the role DBA; you have Senior Developer',
    );
  });

  it('tells the editor of the current version, and an agent, that they cannot decide it', async () => {
    const edited = () =>
      fakeServer(route('GET', '/proposals/proposal_1', view({ edited: true })), plan);
    const CAROL = { ...BOB, actor_id: 'actor_3', name: 'Carol', roles: ['DevOps Engineer'] };
    renderSignedIn(<ProposalDecision id="proposal_1" />, edited(), CAROL);
    expect((await screen.findByTestId('ineligible')).textContent).toContain(
      'You edited this version',
    );
    cleanup();
    const agent = { ...BOB, actor_id: 'actor_9', principal_kind: 'agent' as const };
    renderSignedIn(<ProposalDecision id="proposal_1" />, edited(), agent);
    expect((await screen.findByTestId('ineligible')).textContent).toContain(
      'Agents propose and execute; people decide',
    );
    cleanup();
    // Bob neither proposed nor edited it: he may decide the edited version.
    renderSignedIn(<ProposalDecision id="proposal_1" />, edited(), BOB);
    await screen.findByTestId('call-hash');
    expect(screen.queryByTestId('ineligible')).toBeNull();
  });

  it('sends the decision as the signed-in reviewer with the comment and the purpose typed', async () => {
    let status = 'pending';
    const server = fakeServer(
      route('GET', '/proposals/proposal_1', () => view({ status })),
      plan,
      route('POST', '/proposals/proposal_1/review', () => {
        status = 'rejected';
        return { proposal_id: 'proposal_1', status };
      }),
    );
    renderSignedIn(<ProposalDecision id="proposal_1" />, server, BOB);
    await screen.findByTestId('call-hash');
    fireEvent.change(screen.getByLabelText('Comment'), { target: { value: 'Not this week.' } });
    fireEvent.change(screen.getByLabelText(/^Purpose/), { target: { value: 'CAB 2026-12-01' } });
    fireEvent.click(screen.getByRole('button', { name: 'Reject' }));
    await waitFor(() => expect(screen.getByTestId('proposal-status').textContent).toBe('rejected'));
    const post = server.requests.find((r) => r.method === 'POST');
    expect(post?.body).toEqual({
      reviewer_id: 'actor_2',
      decision: 'reject',
      comment: 'Not this week.',
    });
    expect(post?.headers['x-purpose']).toBe('CAB 2026-12-01');
    expect(post?.headers.authorization).toBe('Bearer cs_test_token_0123456789');
  });

  it('sends edited params and refuses ones that are not a JSON object before sending', async () => {
    const server = fakeServer(
      route('GET', '/proposals/proposal_1', view()),
      plan,
      route('POST', '/proposals/proposal_1/review', { status: 'approved' }),
    );
    renderSignedIn(<ProposalDecision id="proposal_1" />, server, BOB);
    await screen.findByTestId('call-hash');
    const edits = screen.getByLabelText(/Edited parameters/);
    fireEvent.change(edits, { target: { value: '[1, 2' } });
    fireEvent.click(screen.getByRole('button', { name: 'Propose an edit' }));
    const unsent = await screen.findByRole('alert');
    expect(unsent.textContent).toContain('must be a JSON object');
    expect(unsent.textContent).toContain('Nothing was sent');
    expect(unsent.textContent).not.toContain('server refused');
    expect(server.requests.some((r) => r.method === 'POST')).toBe(false);
    fireEvent.change(edits, { target: { value: '{"maintenance_window": "2:00-4:00 AM UTC"}' } });
    fireEvent.click(screen.getByRole('button', { name: 'Propose an edit' }));
    await waitFor(() => expect(server.requests.some((r) => r.method === 'POST')).toBe(true));
    expect(server.requests.find((r) => r.method === 'POST')?.body).toEqual({
      reviewer_id: 'actor_2',
      decision: 'edit',
      edits: { params: { maintenance_window: '2:00-4:00 AM UTC' } },
    });
  });

  it('shows what an edit changed, and the earlier decision', async () => {
    renderSignedIn(
      <ProposalDecision id="proposal_1" />,
      fakeServer(
        route('GET', '/proposals/proposal_1', view({ edited: true, status: 'approved' })),
        plan,
      ),
    );
    expect(await screen.findByRole('heading', { name: 'Edited: version 1 → 2' })).toBeTruthy();
    const diff = screen.getByLabelText('Changes to the parameters');
    const added = [...diff.querySelectorAll('[data-diff=add]')].map((e) => e.textContent);
    expect(added.join('')).toContain('"maintenance_window": "2:00-4:00 AM UTC"');
    expect(screen.getByText(/edited \(a new version for others to approve\)/)).toBeTruthy();
    expect(screen.getByText('Only in the window.')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Approve' })).toBeNull();
  });

  it('says so when the proposal does not exist', async () => {
    renderSignedIn(<ProposalDecision id="proposal_1" />, fakeServer());
    expect((await screen.findByRole('alert')).textContent).toContain('NOT_FOUND');
  });

  it("shows the tool's sentence as text beside the exact parameters and hash, never as markup", async () => {
    const v = view();
    const sentence = 'Restart <img src=x onerror="alert(1)"> **now** in eu-west-1.';
    renderSignedIn(
      <ProposalDecision id="proposal_1" />,
      fakeServer(
        route('GET', '/proposals/proposal_1', {
          ...v,
          final_tool_call: { ...v.final_tool_call, description: sentence },
        }),
        plan,
      ),
    );
    const shown = await screen.findByTestId('call-description');
    expect(shown.textContent).toContain(sentence);
    expect(shown.querySelector('img, strong')).toBeNull();
    expect(screen.getByTestId('call-hash').textContent).toBe(HASH1);
    expect(screen.getByLabelText('Parameters of the call').textContent).toContain(
      '"rollback_plan"',
    );
  });

  it('runs an approved call from the console: a rehearsal first, then the call itself', async () => {
    let status = 'approved';
    const server = fakeServer(
      route('GET', '/proposals/proposal_1', () => view({ status })),
      plan,
      route('POST', '/proposals/proposal_1/execute', (req: Recorded) => {
        const dry = (req.body as { dry_run?: boolean }).dry_run === true;
        if (!dry) status = 'executed';
        return {
          execution_id: dry ? 'execution_1' : 'execution_2',
          result: {
            status: dry ? 'simulated' : 'succeeded',
            output: dry ? { would_set: 'max_connections' } : { ok: true },
            error: null,
          },
        };
      }),
    );
    renderSignedIn(<ProposalDecision id="proposal_1" />, server, BOB);
    const execute = await screen.findByRole<HTMLButtonElement>('button', { name: 'Execute' });
    // Nothing runs before a rehearsal.
    expect(execute.disabled).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Rehearse (dry run)' }));
    expect((await screen.findByTestId('execute-rehearsal')).textContent).toContain('simulated');
    expect(screen.getByLabelText('What the rehearsal says').textContent).toContain('would_set');
    await waitFor(() => expect(execute.disabled).toBe(false));
    fireEvent.click(execute);
    expect((await screen.findByTestId('execute-result')).textContent).toContain('succeeded');
    const posts = server.requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.body)).toEqual([{ dry_run: true }, {}]);
    expect(posts[1]?.headers['x-purpose']).toBeTruthy();
    await waitFor(() => expect(screen.getByTestId('proposal-status').textContent).toBe('executed'));
    // The result stays shown once the call has run.
    expect(screen.getByTestId('execute-result').textContent).toContain('execution_2');
  });

  it('shows the server refusing to run a call, and tells the operator it never runs calls', async () => {
    const server = fakeServer(
      route('GET', '/proposals/proposal_1', view({ status: 'approved' })),
      plan,
      route(
        'POST',
        '/proposals/proposal_1/execute',
        { error: { code: 'POLICY_DENIED', message: 'Policy denies proposal.execute.' } },
        403,
      ),
    );
    renderSignedIn(<ProposalDecision id="proposal_1" />, server, BOB);
    fireEvent.click(await screen.findByRole('button', { name: 'Rehearse (dry run)' }));
    const refusal = await screen.findByRole('alert');
    expect(refusal.textContent).toContain('POLICY_DENIED');
    expect(screen.getByRole<HTMLButtonElement>('button', { name: 'Execute' }).disabled).toBe(true);
    cleanup();
    const operator = {
      ...BOB,
      kind: 'operator' as const,
      actor_id: 'operator',
      principal_kind: 'operator' as const,
    };
    renderSignedIn(<ProposalDecision id="proposal_1" />, server, operator);
    expect((await screen.findByTestId('execute-operator')).textContent).toContain(
      'never runs calls',
    );
    expect(screen.queryByRole('button', { name: 'Execute' })).toBeNull();
  });
});
