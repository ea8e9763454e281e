/** Device groups: each has an enrolment policy (auto or approve) and a re-enrolment policy; admins add them. */
import { useState } from 'preact/hooks';
import type { GroupView, Rows } from '../../../core/fleet/api.ts';
import { endpoints } from '../../api/endpoints.ts';
import { DataTable, type Column } from '../../components/DataTable.tsx';
import { EmptyState, ErrorNotice, Loading } from '../../components/feedback.tsx';
import { Field, FormError, valueOf } from '../../components/Form.tsx';
import { formatTime } from '../../format.ts';
import { useAction, type Resource } from '../../hooks.ts';
import { useCan } from '../../session.ts';

const columns: readonly Column<GroupView>[] = [
  { key: 'id', label: 'Id', primary: true, render: (g) => <code>{g.id}</code> },
  { key: 'name', label: 'Name', render: (g) => g.name },
  { key: 'domain', label: 'Domain', render: (g) => g.domain ?? <span class="muted">all operators</span> },
  { key: 'enrol', label: 'New routers', render: (g) => (g.enrolPolicy === 'auto' ? 'accepted at once' : 'wait for approval') },
  { key: 'reenrol', label: 'Reflashed routers', render: (g) => (g.reenrolPolicy === 'replace' ? 'new login, history kept' : 'held for approval') },
  { key: 'created', label: 'Created', render: (g) => formatTime(g.createdAtMs) },
];

function CreateGroupForm({ onCreated }: { readonly onCreated: () => void }) {
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const [domain, setDomain] = useState('');
  const [enrolPolicy, setEnrolPolicy] = useState<'auto' | 'approve'>('approve');
  const [reenrolPolicy, setReenrolPolicy] = useState<'replace' | 'hold'>('hold');
  const create = useAction(endpoints.createGroup, () => {
    setId('');
    setName('');
    onCreated();
  });
  return (
    <form
      class="inline-form"
      data-testid="create-group"
      onSubmit={(e) => {
        e.preventDefault();
        create.run({ id: id.trim(), name: name.trim() || id.trim(), domain: domain.trim() || null, enrolPolicy, reenrolPolicy });
      }}
    >
      <Field label="Id" name="id" error={create.error}>
        <input name="id" required placeholder="e.g. berlin" value={id} onInput={(e) => setId(valueOf(e))} />
      </Field>
      <Field label="Name" name="name" error={create.error}>
        <input name="name" placeholder="e.g. Berlin offices" value={name} onInput={(e) => setName(valueOf(e))} />
      </Field>
      <Field label="Domain" name="domain" error={create.error}>
        <input name="domain" placeholder="none: all operators" value={domain} onInput={(e) => setDomain(valueOf(e))} />
      </Field>
      <Field label="New routers" name="enrolPolicy" error={create.error}>
        <select name="enrolPolicy" value={enrolPolicy} onChange={(e) => setEnrolPolicy(valueOf(e) === 'auto' ? 'auto' : 'approve')}>
          <option value="approve">wait for approval</option>
          <option value="auto">accept at once</option>
        </select>
      </Field>
      <Field label="Reflashed routers" name="reenrolPolicy" error={create.error}>
        <select name="reenrolPolicy" value={reenrolPolicy} onChange={(e) => setReenrolPolicy(valueOf(e) === 'replace' ? 'replace' : 'hold')}>
          <option value="hold">hold for approval</option>
          <option value="replace">new login, keep history</option>
        </select>
      </Field>
      <FormError error={create.error} fields={['id', 'name', 'domain', 'enrolPolicy', 'reenrolPolicy']} />
      <button type="submit" disabled={create.busy}>
        {create.busy ? 'Creating…' : 'Create group'}
      </button>
    </form>
  );
}

export function GroupsSection({ groups }: { readonly groups: Resource<Rows<GroupView>> }) {
  const admin = useCan('admin');
  return (
    <div class="card">
      <h2>Device groups</h2>
      {admin ? <CreateGroupForm onCreated={groups.reload} /> : null}
      {groups.error ? <ErrorNotice error={groups.error} what="The groups could not be loaded" /> : null}
      {!groups.data ? (
        groups.error ? null : <Loading what="groups" />
      ) : (
        <DataTable
          testId="groups-table"
          columns={columns}
          rows={groups.data.rows}
          rowKey={(g) => g.id}
          empty={<EmptyState title="No device groups yet">{admin ? 'Create one above: every enrolment key belongs to a group.' : 'An admin creates groups; every enrolment key belongs to one.'}</EmptyState>}
        />
      )}
    </div>
  );
}
