// @vitest-environment happy-dom
import { cleanup, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { timeline } from '../src/stages.js';
import type { Run } from '../src/types.js';
import { RunView } from '../src/views/RunView.js';
import { fakeServer, renderSignedIn, route } from './harness.js';

afterEach(cleanup);

const ID = 'run_aaaaaaaaaaaaaaaaaaaa';
const run = (o: Partial<Run> = {}): Run => ({
  workflow_id: ID,
  definition: 'ops_change_control',
  status: 'completed',
  stage: 'closed',
  waiting_on: null,
  wake_at: null,
  context: {},
  artifacts: {
    intake: { title: 'Tune the pool' },
    audit_report: {
      outcome: 'closed',
      headline: 'Closed',
      markdown: '# Change audit report\n\n| Step | Status |\n|---|---|\n| s1 | succeeded |\n',
      summary: {},
    },
  },
  trace: [
    {
      type: 'decision',
      gate: 'risk_review',
      reviewer_id: 'actor_2',
      decision: 'approve',
      comment: 'ok',
    },
    {
      type: 'tool',
      step_id: 's1',
      tool: 'config_set',
      status: 'succeeded',
      proposal_id: 'proposal_5',
      execution_id: 'execution_2',
      hash: 'd'.repeat(64),
      error: null,
    },
  ],
  error: null,
  created_at: '2026-12-01T10:00:00.000Z',
  updated_at: '2026-12-01T10:05:00.000Z',
  ...o,
});

const TEMPORAL = {
  temporal_ui_url: 'http://localhost:8233/namespaces/default/workflows/{workflow_id}',
};

describe('RunView', () => {
  it('shows the stage timeline, the rendered audit report, the artifacts and the ordered trace', async () => {
    renderSignedIn(
      <RunView id={ID} runtime="embedded" config={TEMPORAL} pollMs={0} />,
      fakeServer(route('GET', `/workflows/${ID}/status`, run())),
    );
    expect((await screen.findByTestId('run-stage')).textContent).toBe('closed');
    const stages = screen.getByRole('list', { name: 'Stage timeline' });
    expect(stages.textContent).toBe(
      'intake (done)risk review (done)plan approved (done)execution (done)closed (done)',
    );
    expect(screen.getByRole('heading', { name: 'Change audit report' })).toBeTruthy();
    expect(screen.getByRole('table')).toBeTruthy();
    expect(screen.getByText('intake', { selector: 'summary' })).toBeTruthy();
    const trace = screen.getAllByRole('listitem').filter((li) => li.closest('ol.trace'));
    expect(trace.map((li) => li.textContent)).toEqual([
      'actor_2 approve at gate risk_review — “ok”',
      expect.stringContaining('config_set (s1) succeeded — proposal_5, execution_2'),
    ]);
    // The embedded runtime has no Temporal UI to link to.
    expect(screen.queryByRole('link', { name: /Temporal UI/ })).toBeNull();
  });

  it('links to the run in the Temporal UI when the Temporal runtime runs it', async () => {
    renderSignedIn(
      <RunView id={ID} runtime="temporal" config={TEMPORAL} pollMs={0} />,
      fakeServer(route('GET', `/workflows/${ID}/status`, run())),
    );
    const link = await screen.findByRole('link', { name: 'Open in the Temporal UI' });
    expect(link.getAttribute('href')).toBe(
      `http://localhost:8233/namespaces/default/workflows/${ID}`,
    );
  });

  it('hides the Temporal link when no template is configured', async () => {
    renderSignedIn(
      <RunView id={ID} runtime="temporal" config={{ temporal_ui_url: null }} pollMs={0} />,
      fakeServer(route('GET', `/workflows/${ID}/status`, run())),
    );
    await screen.findByTestId('run-stage');
    expect(screen.queryByRole('link', { name: /Temporal UI/ })).toBeNull();
  });

  it('marks the current stage and links the gate the run waits on', async () => {
    const waiting = run({
      status: 'waiting',
      stage: 'risk_review',
      waiting_on: { kind: 'approval', approval_id: 'approval_2' },
      artifacts: {},
      trace: [],
    });
    renderSignedIn(
      <RunView id={ID} runtime="embedded" config={TEMPORAL} pollMs={0} />,
      fakeServer(route('GET', `/workflows/${ID}/status`, waiting)),
    );
    const current = await screen.findByText('risk review');
    expect(current.closest('li')?.getAttribute('aria-current')).toBe('step');
    expect(screen.getByRole('link', { name: 'approval_2' }).getAttribute('href')).toBe(
      '#/approvals/approval_2',
    );
    expect(screen.getByText('No decisions or tool write-backs yet.')).toBeTruthy();
  });
});

describe('timeline', () => {
  it('shows where a rejected run left the path', () => {
    expect(timeline('ops_change_control', 'rejected', 'completed')).toEqual([
      { stage: 'intake', state: 'done' },
      { stage: 'rejected', state: 'off-path' },
    ]);
  });
});
