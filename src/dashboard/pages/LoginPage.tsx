/** Log in with a username and password; the session cookie is set by the server. */
import { useState } from 'preact/hooks';
import type { SessionInfo } from '../../core/fleet/api.ts';
import { endpoints } from '../api/endpoints.ts';
import { Field, FormError, valueOf } from '../components/Form.tsx';
import { useAction } from '../hooks.ts';

export function LoginPage({ onDone }: { readonly onDone: (info: SessionInfo) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const login = useAction(endpoints.login, onDone);
  return (
    <div class="center-page">
      <form
        class="card narrow"
        onSubmit={(e) => {
          e.preventDefault();
          login.run(username, password);
        }}
      >
        <h1>
          callqos <span class="brand-sub">fleet</span>
        </h1>
        <p class="muted">Log in to manage routers, calls and enrolment.</p>
        <Field label="Username" name="username" error={login.error}>
          <input name="username" autocomplete="username" required value={username} onInput={(e) => setUsername(valueOf(e))} />
        </Field>
        <Field label="Password" name="password" error={login.error}>
          <input name="password" type="password" autocomplete="current-password" required value={password} onInput={(e) => setPassword(valueOf(e))} />
        </Field>
        <FormError error={login.error} fields={['username', 'password']} />
        <button type="submit" class="wide" disabled={login.busy}>
          {login.busy ? 'Logging in…' : 'Log in'}
        </button>
        <p class="muted small-print">
          No account yet? The first admin is made with the one-time setup link that <code>npm start</code> prints, or with <code>callqos-cloud operators add &lt;name&gt; --role admin</code>.
        </p>
      </form>
    </div>
  );
}
