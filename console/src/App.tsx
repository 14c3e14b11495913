import { useContext, useEffect, useMemo, useRef, useState } from 'react';
import { ActorsProvider } from './actors.js';
import { type Credentials, createApi } from './api.js';
import { ErrorNotice } from './components/ErrorNotice.js';
import { Loading } from './components/Loading.js';
import { useHashRoute, useLoad } from './hooks.js';
import { type Session, SessionContext, loadCredentials, saveCredentials } from './session.js';
import type { Me } from './types.js';
import { Audit } from './views/Audit.js';
import { GateDecision } from './views/GateDecision.js';
import { Inbox } from './views/Inbox.js';
import { People } from './views/People.js';
import { Policy } from './views/Policy.js';
import { ProposalDecision } from './views/ProposalDecision.js';
import { type ConsoleConfig, RunView } from './views/RunView.js';
import { Runs } from './views/Runs.js';
import { SignIn } from './views/SignIn.js';
import { Work } from './views/Work.js';
import { WorkPackageView } from './views/WorkPackageView.js';
import { WorkflowView } from './views/WorkflowView.js';

/** The console: sign-in, then inbox, decisions, runs, work packages and audit behind hash routes. */
export function App() {
  const [creds, setCreds] = useState<Credentials | null>(loadCredentials);
  const [me, setMe] = useState<Me | null>(null);
  const [restoreError, setRestoreError] = useState<unknown>();

  // A stored session is checked once with /me; a revoked token lands on the sign-in form.
  useEffect(() => {
    if (!creds || me) return;
    createApi(creds)
      .get<Me>('/me')
      .then(setMe, (e: unknown) => {
        saveCredentials(null);
        setCreds(null);
        setRestoreError(e);
      });
  }, [creds, me]);

  const session = useMemo<Session | null>(
    () =>
      creds && me
        ? {
            creds,
            me,
            api: createApi(creds),
            setPurpose: (purpose) => {
              const next = { ...creds, purpose };
              saveCredentials(next);
              setCreds(next);
            },
            signOut: () => {
              saveCredentials(null);
              setCreds(null);
              setMe(null);
            },
          }
        : null,
    [creds, me],
  );

  if (!creds)
    return (
      <>
        {restoreError ? <ErrorNotice error={restoreError} title="Your session ended" /> : null}
        <SignIn
          onSignedIn={(c, m) => {
            saveCredentials(c);
            setCreds(c);
            setMe(m);
            setRestoreError(undefined);
          }}
        />
      </>
    );
  if (!session) return <Loading what="your session" />;
  return (
    <SessionContext.Provider value={session}>
      <ActorsProvider>
        <Shell />
      </ActorsProvider>
    </SessionContext.Provider>
  );
}

function Shell() {
  const route = useHashRoute();
  // A new page moves focus to its content, so keyboard and screen-reader users start there.
  const firstRoute = useRef(true);
  useEffect(() => {
    if (firstRoute.current) {
      firstRoute.current = false;
      return;
    }
    document.getElementById('main')?.focus();
  }, [route]);
  return (
    <SessionContext.Consumer>
      {(s) =>
        s && (
          <>
            <a className="skip" href="#main">
              Skip to content
            </a>
            <header className="topbar">
              <span className="brand">Countersign</span>
              <nav aria-label="Main">
                <a href="#/" aria-current={route === '/' ? 'page' : undefined}>
                  Inbox
                </a>
                <a href="#/runs" aria-current={route.startsWith('/runs') ? 'page' : undefined}>
                  Runs
                </a>
                <a
                  href="#/work"
                  aria-current={
                    route === '/work' || route.startsWith('/work/') ? 'page' : undefined
                  }
                >
                  Work
                </a>
                <a href="#/audit" aria-current={route.startsWith('/audit') ? 'page' : undefined}>
                  Audit
                </a>
                <a href="#/policy" aria-current={route.startsWith('/policy') ? 'page' : undefined}>
                  Policy
                </a>
                <a href="#/people" aria-current={route.startsWith('/people') ? 'page' : undefined}>
                  People
                </a>
              </nav>
              <span className="who" data-testid="signed-in-as">
                {s.me.name} · {s.me.roles.join(', ')} · {s.me.tenant_id}
              </span>
              <button type="button" onClick={() => s.signOut()}>
                Sign out
              </button>
            </header>
            <main id="main" tabIndex={-1}>
              <Routed route={route} />
            </main>
          </>
        )
      }
    </SessionContext.Consumer>
  );
}

function Routed({ route }: { route: string }) {
  const config = useConsoleConfig();
  const runtime = useRuntime();
  const [, section, id] = route.split('/').map(decodeURIComponent);
  if (section === '' || section === undefined) return <Inbox />;
  if (section === 'proposals' && id) return <ProposalDecision key={id} id={id} />;
  if (section === 'approvals' && id) return <GateDecision key={id} id={id} />;
  if (section === 'runs' && id)
    return <RunView key={id} id={id} runtime={runtime} config={config} />;
  if (section === 'runs') return <Runs />;
  if (section === 'workflows' && id)
    return id.startsWith('run_') ? (
      <RunView key={id} id={id} runtime={runtime} config={config} />
    ) : (
      <WorkflowView key={id} id={id} />
    );
  if (section === 'work' && id) return <WorkPackageView key={id} id={id} />;
  if (section === 'work') return <Work />;
  if (section === 'policy') return <Policy />;
  if (section === 'people') return <People />;
  if (section === 'audit') return <Audit key={id ?? ''} {...(id ? { workflowId: id } : {})} />;
  return (
    <div className="empty" role="alert">
      No page at <code>#{route}</code>. <a href="#/">Go to the inbox</a>.
    </div>
  );
}

/** The console's settings from the server that ships it (the Temporal UI link template). */
function useConsoleConfig(): ConsoleConfig {
  const cfg = useLoad(async () => {
    const res = await fetch('console-config.json');
    return res.ok ? ((await res.json()) as ConsoleConfig) : { temporal_ui_url: null };
  }, []);
  return cfg.data ?? { temporal_ui_url: null };
}

/** Which runtime runs the workflows ('embedded' or 'temporal'). */
function useRuntime(): string | undefined {
  const s = useContext(SessionContext);
  const defs = useLoad(
    async () =>
      s
        ? (await s.api.get<{ definitions: { runtime: string }[] }>('/workflows/definitions'))
            .definitions
        : [],
    [s?.api],
  );
  return defs.data?.[0]?.runtime;
}
