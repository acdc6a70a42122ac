// The mailwarden console: sign in with an API token, then the pages the token's role may
// see. Pages are addressed by the URL's fragment (#/tenants/acme), which never leaves the
// browser and never holds an address.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './style.css';
import { api, SIGNED_OUT, tokenStore, type Session } from './api';
import { ErrorText, messageOf } from './ui';
import { Overview } from './overview';
import { TenantPage } from './tenant';
import { AuditTrail, ReviewQueue } from './staff';

function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function SignIn({ onSession }: { onSession: (s: Session) => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const input = (e.currentTarget as HTMLFormElement).elements.namedItem('token') as HTMLInputElement;
    const token = input.value.trim();
    if (!token) return setError('Give an API token (mailwarden token create).');
    setBusy(true);
    try {
      const session = await api<Session>('GET', '/session', undefined, token);
      tokenStore.set(token);
      input.value = '';
      onSession(session);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>mailwarden</h1>
      <form onSubmit={submit}>
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" spellcheck={false} required aria-describedby="token-help" />
        <p id="token-help" class="hint">
          An operator, abuse-desk or tenant token, as <code>mailwarden token create</code> prints it. It is kept in this tab only.
        </p>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        <ErrorText error={error} />
      </form>
    </main>
  );
}

function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(tokenStore.get() !== null);
  const [expired, setExpired] = useState<string | null>(null);
  const route = useRoute();
  useEffect(() => {
    if (!tokenStore.get()) return;
    api<Session>('GET', '/session').then(
      (s) => {
        setSession(s);
        setChecking(false);
      },
      (err: unknown) => {
        tokenStore.clear();
        setExpired(messageOf(err));
        setChecking(false);
      },
    );
  }, []);
  useEffect(() => {
    const onSignedOut = (e: Event) => {
      setSession(null);
      setExpired(`Signed out: ${(e as CustomEvent<string>).detail}.`);
    };
    addEventListener(SIGNED_OUT, onSignedOut);
    return () => removeEventListener(SIGNED_OUT, onSignedOut);
  }, []);
  useEffect(() => {
    if (session?.role === 'tenant' && route[0] !== 'tenants') location.hash = `#/tenants/${encodeURIComponent(session.tenant!)}`;
  }, [session, route[0]]);
  if (checking) return <p class="hint">Signing in…</p>;
  if (!session)
    return (
      <>
        <ErrorText error={expired} />
        <SignIn
          onSession={(s) => {
            setExpired(null);
            setSession(s);
          }}
        />
      </>
    );
  const staff = session.role !== 'tenant';
  const signOut = () => {
    tokenStore.clear();
    setSession(null);
    location.hash = '#/';
  };
  let page;
  if (route[0] === 'tenants' && route[1]) page = <TenantPage key={route[1]} id={route[1]} session={session} />;
  else if (staff && route[0] === 'review') page = <ReviewQueue />;
  else if (staff && route[0] === 'audit') page = <AuditTrail />;
  else if (staff) page = <Overview session={session} />;
  else page = null;
  return (
    <>
      <header>
        <a class="brand" href="#/">
          mailwarden
        </a>
        <nav aria-label="main">
          {staff ? (
            <>
              <a href="#/" aria-current={route.length === 0 ? 'page' : undefined}>
                Tenants
              </a>
              <a href="#/review" aria-current={route[0] === 'review' ? 'page' : undefined}>
                Review queue
              </a>
              <a href="#/audit" aria-current={route[0] === 'audit' ? 'page' : undefined}>
                Audit trail
              </a>
            </>
          ) : (
            <a href={`#/tenants/${encodeURIComponent(session.tenant!)}`}>{session.tenant}</a>
          )}
        </nav>
        <span class="who">
          {session.role}
          {session.name ? ` · ${session.name}` : ''}
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>{page}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
