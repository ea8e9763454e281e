/** Operators (admins): the accounts with their roles and domains; add one, disable or enable one. */
import { useState } from 'preact/hooks';
import { ROLES, type CreatedOperator, type OperatorView, type Role } from '../../core/fleet/api.ts';
import { endpoints } from '../api/endpoints.ts';
import { Badge, StateBadge } from '../components/Badge.tsx';
import { CopyButton } from '../components/CopyButton.tsx';
import { DataTable, type Column } from '../components/DataTable.tsx';
import { EmptyState, ErrorNotice, Loading } from '../components/feedback.tsx';
import { Field, FormError, valueOf } from '../components/Form.tsx';
import { formatTime } from '../format.ts';
import { useAction, useResource } from '../hooks.ts';
import { useSession } from '../session.ts';

const ROLE_HELP: Readonly<Record<Role, string>> = {
  viewer: 'reads everything in its domain',
  operator: 'also changes devices and runs commands',
  admin: 'also manages operators, keys, groups, approval and revocation',
};

function AddOperator({ onCreated }: { readonly onCreated: (created: CreatedOperator) => void }) {
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [domain, setDomain] = useState('');
  const [password, setPassword] = useState('');
  const create = useAction(endpoints.createOperator, (created) => {
    setUsername('');
    setPassword('');
    onCreated(created);
  });
  return (
    <form
      class="inline-form"
      data-testid="add-operator"
      onSubmit={(e) => {
        e.preventDefault();
        create.run({ username: username.trim(), role, domain: domain.trim() || null, ...(password ? { password } : {}) });
      }}
    >
      <Field label="Username" name="username" error={create.error}>
        <input name="username" required autocomplete="off" value={username} onInput={(e) => setUsername(valueOf(e))} />
      </Field>
      <Field label="Role" name="role" error={create.error} hint={ROLE_HELP[role]}>
        <select name="role" value={role} onChange={(e) => setRole(ROLES.find((r) => r === valueOf(e)) ?? 'viewer')}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Domain" name="domain" error={create.error} hint="Empty: sees every domain.">
        <input name="domain" placeholder="all" value={domain} onInput={(e) => setDomain(valueOf(e))} />
      </Field>
      <Field label="Password" name="password" error={create.error} hint="Empty: the server makes one and shows it once.">
        <input name="password" type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword(valueOf(e))} />
      </Field>
      <FormError error={create.error} fields={['username', 'role', 'domain', 'password']} />
      <button type="submit" disabled={create.busy}>
        {create.busy ? 'Adding…' : 'Add operator'}
      </button>
    </form>
  );
}

function ToggleDisabled({ operator, onDone }: { readonly operator: OperatorView; readonly onDone: () => void }) {
  const { operator: me } = useSession();
  const patch = useAction(endpoints.patchOperator, onDone);
  if (operator.id === me.id) return <span class="muted small">you</span>;
  const disabled = operator.disabledAtMs !== null;
  return (
    <>
      <button type="button" class={disabled ? 'secondary small' : 'danger small'} disabled={patch.busy} onClick={() => patch.run(operator.id, { disabled: !disabled })}>
        {disabled ? 'Enable' : 'Disable'}
      </button>
      {patch.error ? <ErrorNotice error={patch.error} /> : null}
    </>
  );
}

export function OperatorsPage() {
  const operators = useResource('operators', (signal) => endpoints.operators(signal));
  const [created, setCreated] = useState<CreatedOperator | null>(null);
  const columns: readonly Column<OperatorView>[] = [
    { key: 'username', label: 'Username', primary: true, render: (o) => <strong>{o.username}</strong> },
    { key: 'role', label: 'Role', render: (o) => <StateBadge state={o.role} title={ROLE_HELP[o.role]} /> },
    { key: 'domain', label: 'Domain', render: (o) => o.domain ?? <span class="muted">all</span> },
    { key: 'state', label: 'State', render: (o) => (o.disabledAtMs === null ? <Badge tone="good">enabled</Badge> : <Badge tone="bad">disabled {formatTime(o.disabledAtMs)}</Badge>) },
    { key: 'created', label: 'Created', render: (o) => formatTime(o.createdAtMs) },
    { key: 'toggle', label: '', render: (o) => <ToggleDisabled operator={o} onDone={operators.reload} /> },
  ];
  return (
    <section>
      <div class="page-head">
        <h1>Operators</h1>
      </div>
      <div class="card">
        <h2>Add an operator</h2>
        <AddOperator
          onCreated={(c) => {
            setCreated(c);
            operators.reload();
          }}
        />
        {created ? (
          <div class="secret" data-testid="new-operator">
            <p>
              <strong>{created.operator.username}</strong> was added as {created.operator.role}.
              {created.password ? ' Its password is shown only this once:' : ' It logs in with the password you gave.'}
            </p>
            {created.password ? (
              <div class="secret-value">
                <code id="new-password">{created.password}</code>
                <CopyButton text={created.password} label="Copy password" targetId="new-password" />
              </div>
            ) : null}
            <button type="button" class="secondary" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        ) : null}
      </div>
      <div class="card">
        <h2>Accounts</h2>
        {operators.error ? <ErrorNotice error={operators.error} what="The operators could not be loaded" /> : null}
        {!operators.data ? (
          operators.error ? null : <Loading what="operators" />
        ) : (
          <DataTable
            testId="operators-table"
            columns={columns}
            rows={operators.data.rows}
            rowKey={(o) => o.id}
            empty={<EmptyState title="No operators">Add one above.</EmptyState>}
          />
        )}
      </div>
    </section>
  );
}
