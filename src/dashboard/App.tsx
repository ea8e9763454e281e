/**
 * The application: finds out whether a session exists (GET /auth/me), shows the login or setup
 * page when not, and otherwise the page the path names inside the shell.
 */
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import type { SessionInfo } from '../core/fleet/api.ts';
import { ApiError, onUnauthorized, setCsrfToken } from './api/client.ts';
import { endpoints } from './api/endpoints.ts';
import { closeLiveEvents } from './api/live.ts';
import { ErrorNotice, Loading } from './components/feedback.tsx';
import { Shell } from './components/Shell.tsx';
import { detached } from './hooks.ts';
import { AuditPage } from './pages/AuditPage.tsx';
import { CallPage } from './pages/CallPage.tsx';
import { CallsPage } from './pages/CallsPage.tsx';
import { ClearinghousePage } from './pages/ClearinghousePage.tsx';
import { DevicePage } from './pages/DevicePage.tsx';
import { DevicesPage } from './pages/DevicesPage.tsx';
import { ConfigPage } from './pages/ConfigPage.tsx';
import { EnrolmentPage } from './pages/EnrolmentPage.tsx';
import { LoginPage } from './pages/LoginPage.tsx';
import { NotFoundPage } from './pages/NotFoundPage.tsx';
import { OperatorsPage } from './pages/OperatorsPage.tsx';
import { OverviewPage } from './pages/OverviewPage.tsx';
import { SetupPage } from './pages/SetupPage.tsx';
import { navigate, useRoute, type Route } from './router.ts';
import { SessionContext, type SessionValue } from './session.ts';

type Auth = { readonly state: 'checking' } | { readonly state: 'out' } | { readonly state: 'failed'; readonly error: ApiError } | { readonly state: 'in'; readonly info: SessionInfo };

function Page({ route }: { readonly route: Route }) {
  switch (route.name) {
    case 'overview':
      return <OverviewPage />;
    case 'devices':
      return <DevicesPage route={route} />;
    case 'device':
      return <DevicePage id={route.params.id ?? ''} />;
    case 'calls':
      return <CallsPage />;
    case 'call':
      return <CallPage callId={route.params.callId ?? ''} />;
    case 'clearinghouse':
      return <ClearinghousePage route={route} />;
    case 'enrolment':
      return <EnrolmentPage />;
    case 'config':
      return <ConfigPage route={route} />;
    case 'audit':
      return <AuditPage />;
    case 'operators':
      return <OperatorsPage />;
    case 'login':
    case 'setup':
      return <OverviewPage />;
    case 'not-found':
      return <NotFoundPage />;
  }
}

export function App() {
  const route = useRoute();
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });
  const [attempt, setAttempt] = useState(0);

  const signedIn = useCallback((info: SessionInfo) => {
    setCsrfToken(info.csrfToken);
    setAuth({ state: 'in', info });
  }, []);

  useEffect(() => {
    const controller = new AbortController();
    detached(
      endpoints.me(controller.signal).then(signedIn, (err: unknown) => {
        if (controller.signal.aborted) return;
        if (err instanceof ApiError && err.status === 401) setAuth({ state: 'out' });
        else setAuth({ state: 'failed', error: err instanceof ApiError ? err : new ApiError(0, 'E_CLIENT', String(err)) });
      }),
    );
    return () => controller.abort();
  }, [attempt, signedIn]);

  // Any 401 later (the session expired or was ended elsewhere) goes back to the login.
  useEffect(
    () =>
      onUnauthorized(() => {
        setCsrfToken(null);
        closeLiveEvents();
        setAuth((a) => (a.state === 'in' ? { state: 'out' } : a));
      }),
    [],
  );

  // Logged in already: the login and setup pages have nothing to do.
  const loggedIn = auth.state === 'in';
  useEffect(() => {
    if (loggedIn && (route.name === 'login' || route.name === 'setup')) navigate('/', { replace: true });
  }, [loggedIn, route.name]);

  const session = useMemo<SessionValue | null>(() => {
    if (auth.state !== 'in') return null;
    return {
      operator: auth.info.operator,
      logout: () => {
        detached(
          endpoints.logout().finally(() => {
            setCsrfToken(null);
            closeLiveEvents();
            setAuth({ state: 'out' });
            navigate('/login');
          }),
        );
      },
    };
  }, [auth]);

  if (route.name === 'setup' && auth.state !== 'in') {
    return (
      <SetupPage
        onDone={signedIn}
      />
    );
  }
  if (auth.state === 'checking') return <Loading what="the dashboard" />;
  if (auth.state === 'failed') {
    return (
      <div class="center-page">
        <div class="card narrow">
          <h1>callqos fleet</h1>
          <ErrorNotice error={auth.error} what="The server did not answer" />
          <button type="button" onClick={() => setAttempt((n) => n + 1)}>
            Try again
          </button>
        </div>
      </div>
    );
  }
  if (auth.state === 'out' || session === null) {
    return (
      <LoginPage
        onDone={signedIn}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Shell route={route.name}>
        <Page route={route} />
      </Shell>
    </SessionContext.Provider>
  );
}
