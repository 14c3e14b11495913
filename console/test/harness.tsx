import { render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { createApi } from '../src/api.js';
import { type Session, SessionContext } from '../src/session.js';
import type { Me } from '../src/types.js';

export interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

export type Handler = (req: Recorded) => { status?: number; body: unknown } | undefined;

/**
 * A stand-in for the server behind `fetch`: each request goes to the first handler that
 * answers it; anything unanswered is a 404 in the API's error shape. Requests are recorded.
 */
export function fakeServer(...handlers: Handler[]) {
  const requests: Recorded[] = [];
  const fetchFn = (url: string, init: RequestInit = {}) => {
    const req: Recorded = {
      method: init.method ?? 'GET',
      url,
      headers: init.headers as Record<string, string>,
      body: typeof init.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined,
    };
    requests.push(req);
    for (const h of handlers) {
      const answer = h(req);
      if (answer)
        return Promise.resolve(
          new Response(JSON.stringify(answer.body), { status: answer.status ?? 200 }),
        );
    }
    return Promise.resolve(
      new Response(
        JSON.stringify({ error: { code: 'NOT_FOUND', message: `No route ${req.method} ${url}` } }),
        { status: 404 },
      ),
    );
  };
  return { fetch: fetchFn, requests };
}

/** Answers `method path` (the query string ignored) with `body`, or a function of the request. */
export function route(method: string, path: string, body: unknown, status = 200): Handler {
  return (req) =>
    req.method === method && req.url.split('?')[0] === path
      ? {
          status,
          body: typeof body === 'function' ? (body as (r: Recorded) => unknown)(req) : body,
        }
      : undefined;
}

export const BOB: Me = {
  tenant_id: 'default',
  kind: 'actor',
  actor_id: 'actor_2',
  name: 'Bob',
  roles: ['Senior Developer'],
  // What the default policies let an actor do at the tenant level.
  may: ['start_workflow_run', 'activate_plan'],
};

export const ALICE: Me = { ...BOB, actor_id: 'actor_1', name: 'Alice', roles: ['Developer'] };

/** Renders a view inside a signed-in session whose API calls go to `server`. */
export function renderSignedIn(
  ui: ReactElement,
  server: ReturnType<typeof fakeServer>,
  me: Me = BOB,
  purpose = 'component test',
) {
  const creds = { token: 'cs_test_token_0123456789', purpose };
  const session: Session = {
    creds,
    me,
    api: createApi(creds, server.fetch),
    setPurpose: () => undefined,
    signOut: () => undefined,
  };
  return render(<SessionContext.Provider value={session}>{ui}</SessionContext.Provider>);
}
