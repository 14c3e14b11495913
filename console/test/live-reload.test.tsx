// @vitest-environment happy-dom
import { cleanup, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { createApi } from '../src/api.js';
import type { PendingItem } from '../src/types.js';
import { Inbox } from '../src/views/Inbox.js';
import { ALICE, type Recorded, renderSignedIn } from './harness.js';

afterEach(cleanup);

const item = (id: string, title: string): PendingItem => ({
  kind: 'proposal',
  id,
  workflow_id: 'workflow_1',
  title,
  requested_by: 'actor_3',
  required_roles: [],
  approvals: { received: 0, required: 1 },
  waiting_since: new Date().toISOString(),
  due_at: null,
  tool: 'update_status',
  risk: 'write',
});

/** A server whose `/events` answers an open stream the test writes to. */
function streamingServer(pending: () => PendingItem[]) {
  const encoder = new TextEncoder();
  let push: ((text: string) => void) | undefined;
  let end: (() => void) | undefined;
  const requests: Recorded[] = [];
  const fetchFn = (url: string, init: RequestInit = {}) => {
    const headers = (init.headers ?? {}) as Record<string, string>;
    requests.push({ method: init.method ?? 'GET', url, headers, body: init.body });
    if (url.startsWith('/events')) {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          push = (text) => controller.enqueue(encoder.encode(text));
          end = () => controller.close();
        },
      });
      return Promise.resolve(
        new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
      );
    }
    return Promise.resolve(new Response(JSON.stringify({ approvals: pending() }), { status: 200 }));
  };
  return {
    fetch: fetchFn,
    requests,
    push: (text: string) => push!(text),
    end: () => end!(),
    connected: () => push !== undefined,
  };
}

describe('the console on the event stream', () => {
  it('reloads the inbox when the stream pushes a decision, with no poll', async () => {
    let items = [item('proposal_1', 'first')];
    const server = streamingServer(() => items);
    renderSignedIn(<Inbox pollMs={0} />, server, ALICE);
    await screen.findByRole('link', { name: 'first' });
    await waitFor(() => expect(server.connected()).toBe(true));
    const stream = server.requests.find((r) => r.url.startsWith('/events'))!;
    expect(stream.url).toBe('/events?inbox=true');
    expect(stream.headers.authorization).toMatch(/^Bearer cs_/);
    items = [item('proposal_2', 'second')];
    server.push('id: 7\nevent: APPROVAL_REQUESTED\ndata: {"seq":7}\n\n');
    await screen.findByRole('link', { name: 'second' });
  });

  it('reconnects after a drop from the last event ID it saw', async () => {
    const server = streamingServer(() => []);
    const seen: string[] = [];
    const api = createApi({ token: 'cs_test_token_0123456789', purpose: 'p' }, server.fetch);
    const stop = api.stream(
      '/events',
      { workflow_id: 'workflow_1' },
      {
        onOpen: () => seen.push('open'),
        onEvent: (e) => seen.push(`${e.type}#${e.id ?? ''}`),
        onDrop: () => seen.push('drop'),
      },
    );
    await waitFor(() => expect(seen).toContain('open'));
    server.push(': heartbeat\n\nid: 41\nevent: WORKFLOW_STEP\ndata: {}\n\nid: 42\n\n');
    await waitFor(() => expect(seen).toContain('WORKFLOW_STEP#41'));
    server.end();
    await waitFor(
      () => expect(server.requests.filter((r) => r.url.startsWith('/events'))).toHaveLength(2),
      {
        timeout: 3000,
      },
    );
    stop();
    const again = server.requests.filter((r) => r.url.startsWith('/events'))[1]!;
    // The id-only record moved the resume point past an event this view did not need.
    expect(again.headers['last-event-id']).toBe('42');
    expect(seen).toEqual(['open', 'WORKFLOW_STEP#41', 'drop', 'open']);
  });
});
