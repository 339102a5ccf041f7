import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, login, logout, storeApiKey, storedCredentials, whenSignedOut, forgetCredentials } from './api.js';
import { ErrorNote } from './components.js';
import { roleLabel, SessionContext, sessionFor, type Me, type Session } from './session.js';
import { OverviewPage } from './pages/overview.js';
import { OperationsPage } from './pages/operations.js';
import { OperationPage } from './pages/operation.js';
import { WorkflowsPage } from './pages/workflows.js';
import { WorkflowPage } from './pages/workflow.js';
import { ServersPage } from './pages/servers.js';

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/overview');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/overview');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function Login({ onSignedIn }: { onSignedIn: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = (fn: () => Promise<void>) => async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await fn();
      onSignedIn();
    } catch (err) {
      forgetCredentials();
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [apiKey, setApiKey] = useState('');
  return (
    <main class="container login">
      <h1>Provisioning engine</h1>
      <article>
        <form onSubmit={submit(() => login(username, password))} aria-labelledby="login-title">
          <h2 id="login-title">Sign in</h2>
          <label>
            Username
            <input name="username" autoComplete="username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
          </label>
          <label>
            Password
            <input name="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          </label>
          <button type="submit" aria-busy={busy} disabled={busy}>
            Sign in
          </button>
        </form>
        <details>
          <summary>Use an API key instead</summary>
          <form
            onSubmit={submit(async () => {
              storeApiKey(apiKey.trim());
              await api('GET', '/v1/auth/me');
            })}
          >
            <label>
              API key
              <input name="api_key" type="password" autoComplete="off" required placeholder="pe_…" value={apiKey} onInput={(e) => setApiKey(e.currentTarget.value)} />
            </label>
            <button type="submit" class="secondary" disabled={busy}>
              Use this key
            </button>
          </form>
        </details>
        <ErrorNote error={error} />
      </article>
    </main>
  );
}

const NAV = [
  ['#/overview', 'Overview'],
  ['#/operations', 'Operations'],
  ['#/workflows', 'Workflows'],
  ['#/servers', 'Servers'],
] as const;

function Shell({ session, hash }: { session: Session; hash: string }) {
  const path = hash.replace(/^#/, '').split('?')[0]!;
  const parts = path.split('/').filter(Boolean);
  let page;
  if (parts[0] === 'operations' && parts[1]) page = <OperationPage id={decodeURIComponent(parts[1])} />;
  else if (parts[0] === 'operations') page = <OperationsPage />;
  else if (parts[0] === 'workflows' && parts[1]) page = <WorkflowPage id={decodeURIComponent(parts[1])} />;
  else if (parts[0] === 'workflows') page = <WorkflowsPage />;
  else if (parts[0] === 'servers') page = <ServersPage />;
  else page = <OverviewPage />;
  const section = `#/${parts[0] ?? 'overview'}`;
  return (
    <>
      <header class="container-fluid topbar">
        <nav aria-label="Main">
          <ul>
            <li>
              <strong>Provisioning engine</strong>
            </li>
          </ul>
          <ul class="nav-links">
            {NAV.map(([href, label]) => (
              <li key={href}>
                <a href={href} aria-current={section === href ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
          <ul>
            <li class="who" data-testid="who">
              <span data-testid="username">{session.me.username}</span>
              {session.me.kind === 'api_key' ? <small> (API key)</small> : null} · <small data-testid="role">{roleLabel(session.me)}</small>
            </li>
            <li>
              <button type="button" class="secondary outline small" onClick={session.signOut}>
                Sign out
              </button>
            </li>
          </ul>
        </nav>
      </header>
      <main class="container-fluid page">{page}</main>
    </>
  );
}

function App() {
  const hash = useHash();
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(storedCredentials() !== null);
  const [error, setError] = useState<unknown>(null);
  const signOut = () => {
    void logout().finally(() => setSession(null));
  };
  const load = async () => {
    setChecking(true);
    try {
      const me = await api<Me>('GET', '/v1/auth/me');
      setSession(sessionFor(me, signOut));
      setError(null);
    } catch (err) {
      setError(err);
      setSession(null);
    } finally {
      setChecking(false);
    }
  };
  useEffect(() => {
    whenSignedOut(() => setSession(null));
    if (storedCredentials()) void load();
  }, []);
  if (checking) return <main class="container" aria-busy="true">Loading…</main>;
  if (!session)
    return (
      <>
        {error && storedCredentials() ? <ErrorNote error={error} /> : null}
        <Login onSignedIn={load} />
      </>
    );
  return (
    <SessionContext.Provider value={session}>
      <Shell session={session} hash={hash} />
    </SessionContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
