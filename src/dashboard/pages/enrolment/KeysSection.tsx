/** Enrolment keys (admins): create one (its whole text is shown once), list them, revoke one. */
import { useState } from 'preact/hooks';
import type { CreatedKey, EnrolmentKeyView, GroupView } from '../../../core/fleet/api.ts';
import { endpoints } from '../../api/endpoints.ts';
import { Badge } from '../../components/Badge.tsx';
import { CopyButton } from '../../components/CopyButton.tsx';
import { DataTable, type Column } from '../../components/DataTable.tsx';
import { EmptyState, ErrorNotice, Loading } from '../../components/feedback.tsx';
import { Field, FormError, valueOf } from '../../components/Form.tsx';
import { formatAgo, formatTime } from '../../format.ts';
import { useAction, useResource } from '../../hooks.ts';
import { brokerGuess, keyState } from './keys.ts';

const DAY_MS = 86_400_000;
const EXPIRY_CHOICES: readonly (readonly [string, number | null])[] = [
  ['never', null],
  ['in 1 day', DAY_MS],
  ['in 7 days', 7 * DAY_MS],
  ['in 30 days', 30 * DAY_MS],
  ['in 1 year', 365 * DAY_MS],
];

function NewKey({ created, onClose }: { readonly created: CreatedKey; readonly onClose: () => void }) {
  const commands = [
    'uci set callqos.cloud=cloud',
    'uci set callqos.cloud.enabled=1',
    `uci set callqos.cloud.broker='${brokerGuess(location.hostname)}'`,
    `uci set callqos.cloud.enrol_key='${created.key}'`,
    'uci commit callqos && /etc/init.d/callqos reload',
  ].join('\n');
  return (
    <div class="secret" data-testid="new-key">
      <p>
        <strong>The enrolment key for group {created.enrolmentKey.group}.</strong> Copy it now: it is shown only this once, and the server keeps only its hash.
      </p>
      <div class="secret-value">
        <code id="new-key-text">{created.key}</code>
        <CopyButton text={created.key} label="Copy key" targetId="new-key-text" />
      </div>
      <p class="muted small">
        On a router (or in its LuCI page), set it as <code>cloud.enrol_key</code>; <code>broker</code> (with <code>port</code> and <code>tls</code>) is where the router reaches this server's MQTT broker:
      </p>
      <pre class="commands">{commands}</pre>
      <button type="button" class="secondary" onClick={onClose}>
        Done, I have copied it
      </button>
    </div>
  );
}

function CreateKeyForm({ groups, onCreated }: { readonly groups: readonly GroupView[]; readonly onCreated: (created: CreatedKey) => void }) {
  const [group, setGroup] = useState('');
  const [label, setLabel] = useState('');
  const [expiry, setExpiry] = useState(0);
  const create = useAction(endpoints.createKey, onCreated);
  const chosenGroup = group || groups[0]?.id || '';
  if (groups.length === 0) {
    return <p class="muted">A key puts routers in a device group: create a group below first.</p>;
  }
  return (
    <form
      class="inline-form"
      data-testid="create-key"
      onSubmit={(e) => {
        e.preventDefault();
        const after = EXPIRY_CHOICES[expiry]?.[1] ?? null;
        create.run({ group: chosenGroup, label: label.trim(), expiresAtMs: after === null ? null : Date.now() + after });
      }}
    >
      <Field label="Group" name="group" error={create.error}>
        <select name="group" value={chosenGroup} onChange={(e) => setGroup(valueOf(e))}>
          {groups.map((g) => (
            <option key={g.id} value={g.id}>
              {g.name} ({g.enrolPolicy === 'auto' ? 'auto-accept' : 'needs approval'})
            </option>
          ))}
        </select>
      </Field>
      <Field label="Label" name="label" error={create.error}>
        <input name="label" maxLength={64} placeholder="e.g. Berlin office batch" value={label} onInput={(e) => setLabel(valueOf(e))} />
      </Field>
      <Field label="Expires" name="expiresAtMs" error={create.error}>
        <select name="expires" value={String(expiry)} onChange={(e) => setExpiry(Number(valueOf(e)))}>
          {EXPIRY_CHOICES.map(([text], i) => (
            <option key={text} value={String(i)}>
              {text}
            </option>
          ))}
        </select>
      </Field>
      <FormError error={create.error} fields={['group', 'label', 'expiresAtMs']} />
      <button type="submit" disabled={create.busy}>
        {create.busy ? 'Creating…' : 'Create key'}
      </button>
    </form>
  );
}

function RevokeKey({ id, onDone }: { readonly id: string; readonly onDone: () => void }) {
  const revoke = useAction(endpoints.revokeKey, onDone);
  return (
    <>
      <button type="button" class="danger small" disabled={revoke.busy} onClick={() => revoke.run(id)}>
        {revoke.busy ? 'Revoking…' : 'Revoke'}
      </button>
      {revoke.error ? <ErrorNotice error={revoke.error} /> : null}
    </>
  );
}

export function KeysSection({ groups }: { readonly groups: readonly GroupView[] }) {
  const keys = useResource('keys', (signal) => endpoints.keys(signal));
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const now = Date.now();
  const columns: readonly Column<EnrolmentKeyView>[] = [
    { key: 'id', label: 'Key id', primary: true, render: (k) => <code>{k.id}</code> },
    { key: 'label', label: 'Label', render: (k) => k.label || <span class="muted">–</span> },
    { key: 'group', label: 'Group', render: (k) => k.group },
    {
      key: 'state',
      label: 'State',
      render: (k) => {
        const state = keyState(k, now);
        return <Badge tone={state === 'active' ? 'good' : state === 'revoked' ? 'bad' : 'muted'}>{state}</Badge>;
      },
    },
    { key: 'created', label: 'Created', render: (k) => `${formatTime(k.createdAtMs)} by ${k.createdBy}` },
    { key: 'expires', label: 'Expires', render: (k) => (k.expiresAtMs === null ? 'never' : formatTime(k.expiresAtMs)) },
    { key: 'uses', label: 'Used', render: (k) => (k.uses === 0 ? 'not yet' : `${k.uses}×, last ${formatAgo(k.lastUsedAtMs, now)}`) },
    { key: 'revoke', label: '', render: (k) => (keyState(k, now) === 'active' ? <RevokeKey id={k.id} onDone={keys.reload} /> : null) },
  ];
  return (
    <div class="card">
      <h2>Enrolment keys</h2>
      <p class="muted small">A router set up with a key enrols by itself into the key's group. Revoking a key stops new enrolments with it; routers already enrolled keep their own logins.</p>
      {created ? (
        <NewKey created={created} onClose={() => setCreated(null)} />
      ) : (
        <CreateKeyForm
          groups={groups}
          onCreated={(c) => {
            setCreated(c);
            keys.reload();
          }}
        />
      )}
      {keys.error ? <ErrorNotice error={keys.error} what="The keys could not be loaded" /> : null}
      {!keys.data ? (
        keys.error ? null : <Loading what="keys" />
      ) : (
        <DataTable
          testId="keys-table"
          columns={columns}
          rows={keys.data.rows}
          rowKey={(k) => k.id}
          empty={
            <EmptyState title="No enrolment keys yet">
              {groups.length === 0 ? 'Create a group below, then a key here' : 'Create one above'}, then set it on a router as <code>cloud.enrol_key</code>.
            </EmptyState>
          }
        />
      )}
    </div>
  );
}
