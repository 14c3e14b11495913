// @vitest-environment happy-dom
import { cleanup, fireEvent, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../src/types.js';
import { Audit, toJsonLines } from '../src/views/Audit.js';
import { type Recorded, fakeServer, renderSignedIn, route } from './harness.js';

afterEach(cleanup);

const entry = (
  seq: number,
  type = 'ACTION_PROPOSED',
  workflow_id: string | null = 'workflow_1',
): LedgerEntry => ({
  tenant_id: 'default',
  seq,
  time: '2026-12-01T10:00:00.000Z',
  type,
  actor: 'actor_1',
  workflow_id,
  data: {},
  prev_hash: String(seq - 1).padStart(64, '0'),
  hash: String(seq).padStart(64, '0'),
});

describe('Audit', () => {
  it('reads the tenant ledger page by page and verifies the chain', async () => {
    const server = fakeServer(
      route('GET', '/audit/ledger', (req: Recorded) =>
        req.url.includes('after_seq=0')
          ? { entries: [entry(1, 'ACTOR_REGISTERED', null), entry(2)], next_after_seq: 2 }
          : { entries: [entry(3, 'APPROVAL_DECISION')], next_after_seq: null },
      ),
      route('GET', '/audit/verify', { ok: true, events: 3, first_broken_seq: null, problem: null }),
    );
    renderSignedIn(<Audit />, server);
    const rows = await screen.findAllByRole('row');
    expect(rows).toHaveLength(4); // header + 3 events from two pages
    expect(screen.getByText('APPROVAL_DECISION')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Verify the chain' }));
    expect((await screen.findByTestId('verify-result')).textContent).toBe(
      'Chain intact: 3 events verified.',
    );
  });

  it('reports a broken chain', async () => {
    const server = fakeServer(
      route('GET', '/workflows/workflow_1/audit-log', { entries: [entry(1)] }),
      route('GET', '/audit/verify', {
        ok: false,
        events: 9,
        first_broken_seq: 4,
        problem: { kind: 'hash_mismatch' },
      }),
    );
    renderSignedIn(<Audit workflowId="workflow_1" />, server);
    expect(await screen.findByRole('heading', { name: 'Ledger of workflow_1' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Verify the chain' }));
    const result = await screen.findByTestId('verify-result');
    expect(result.textContent).toContain('Chain broken at event 4');
    expect(result.className).toContain('notice-error');
  });

  it("does not show the last scope's rows under a scope that failed to load", async () => {
    const server = fakeServer(
      route('GET', '/workflows/workflow_1/audit-log', { entries: [entry(1), entry(2)] }),
      route(
        'GET',
        '/workflows/run_nope/audit-log',
        { error: { code: 'NOT_FOUND', message: 'No run run_nope.' } },
        404,
      ),
    );
    renderSignedIn(<Audit workflowId="workflow_1" />, server);
    expect(await screen.findAllByRole('row')).toHaveLength(3);
    fireEvent.change(screen.getByLabelText(/Workflow or run ID/), {
      target: { value: 'run_nope' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Show' }));
    expect(await screen.findByRole('heading', { name: 'Ledger of run_nope' })).toBeTruthy();
    expect((await screen.findByRole('alert')).textContent).toContain('NOT_FOUND');
    expect(screen.queryAllByRole('row')).toHaveLength(0);
    expect(
      screen.getByRole<HTMLButtonElement>('button', { name: 'Export JSON lines' }).disabled,
    ).toBe(true);
  });

  it('opens a row to its whole event: data, both hashes, who and with which token', async () => {
    const decided: LedgerEntry = {
      ...entry(7, 'APPROVAL_DECISION'),
      data: { decision: 'approve', token: 'token_3', comment: 'ok' },
    };
    const server = fakeServer(
      route('GET', '/workflows/workflow_1/audit-log', { entries: [entry(6), decided] }),
    );
    renderSignedIn(<Audit workflowId="workflow_1" />, server);
    const open = await screen.findByRole('button', { name: 'Event 7: show all of it' });
    expect(screen.queryByTestId('event-7')).toBeNull();
    fireEvent.click(open);
    const detail = screen.getByTestId('event-7');
    expect(detail.textContent).toContain('with token token_3');
    expect(detail.textContent).toContain(decided.hash);
    expect(detail.textContent).toContain(decided.prev_hash);
    expect(screen.getByLabelText('Data of event 7').textContent).toContain('"comment": "ok"');
    fireEvent.click(screen.getByRole('button', { name: 'Event 7: hide all of it' }));
    expect(screen.queryByTestId('event-7')).toBeNull();
  });

  it('exports one JSON object per line', () => {
    const lines = toJsonLines([entry(1), entry(2)]).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect((JSON.parse(lines[1]!) as LedgerEntry).seq).toBe(2);
    expect(toJsonLines([])).toBe('');
  });
});
