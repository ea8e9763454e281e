/**
 * The first admin, from the one-time link the server prints (`/setup#<token>`): the token is in
 * the fragment, so it never reaches a server log or a Referer header.
 */
import { useState } from 'preact/hooks';
import type { SessionInfo } from '../../core/fleet/api.ts';
import { ApiError } from '../api/client.ts';
import { endpoints } from '../api/endpoints.ts';
import { Field, FormError, valueOf } from '../components/Form.tsx';
import { useAction } from '../hooks.ts';

export function SetupPage({ onDone }: { readonly onDone: (info: SessionInfo) => void }) {
  const token = decodeURIComponent(location.hash.replace(/^#/, ''));
  const [username, setUsername] = useState('admin');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const setup = useAction(async (t: string, u: string, p: string, r: string) => {
    if (p !== r) throw new ApiError(0, 'E_INPUT', 'the two passwords differ', 'repeat');
    return endpoints.setup(t, u, p);
  }, onDone);
  return (
    <div class="center-page">
      <form
        class="card narrow"
        onSubmit={(e) => {
          e.preventDefault();
          setup.run(token, username, password, repeat);
        }}
      >
        <h1>Create the first admin</h1>
        {token === '' ? (
          <div class="notice error" role="alert">
            This page needs the one-time link that <code>npm start</code> prints (it ends in <code>/setup#…</code>). Open that link, or make the first admin with <code>callqos-cloud operators add &lt;name&gt; --role admin</code>.
          </div>
        ) : (
          <p class="muted">This link works once. The account you make here is an admin: it can add operators, enrolment keys and approve routers.</p>
        )}
        <Field label="Username" name="username" error={setup.error}>
          <input name="username" autocomplete="username" required value={username} onInput={(e) => setUsername(valueOf(e))} />
        </Field>
        <Field label="Password" name="password" error={setup.error} hint="At least 12 characters.">
          <input name="password" type="password" autocomplete="new-password" required minLength={12} value={password} onInput={(e) => setPassword(valueOf(e))} />
        </Field>
        <Field label="Password again" name="repeat" error={setup.error}>
          <input name="repeat" type="password" autocomplete="new-password" required value={repeat} onInput={(e) => setRepeat(valueOf(e))} />
        </Field>
        <FormError error={setup.error} fields={['username', 'password', 'repeat']} />
        <button type="submit" class="wide" disabled={setup.busy || token === ''}>
          {setup.busy ? 'Creating…' : 'Create admin and log in'}
        </button>
      </form>
    </div>
  );
}
