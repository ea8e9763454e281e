/** Routers that asked to enrol with a key of an approve-policy group, waiting for an admin. */
import type { DevicesPage, InventoryRowView } from '../../../core/fleet/api.ts';
import { endpoints } from '../../api/endpoints.ts';
import { DataTable, type Column } from '../../components/DataTable.tsx';
import { EmptyState, ErrorNotice, Loading } from '../../components/feedback.tsx';
import { ReasonAction } from '../../components/ReasonAction.tsx';
import { formatAgo } from '../../format.ts';
import { useAction, type Resource } from '../../hooks.ts';
import { useCan } from '../../session.ts';

function Decide({ row, onDone }: { readonly row: InventoryRowView; readonly onDone: () => void }) {
  const approve = useAction(endpoints.approveDevice, onDone);
  const reject = useAction(endpoints.rejectDevice, onDone);
  return (
    <div class="actions tight">
      <button type="button" disabled={approve.busy} onClick={() => approve.run(row.deviceId)}>
        {approve.busy ? 'Approving…' : 'Approve'}
      </button>
      <ReasonAction label="Reject" placeholder="e.g. unknown site" busy={reject.busy} error={reject.error} onSubmit={(r) => reject.run(row.deviceId, r)} />
      {approve.error ? <ErrorNotice error={approve.error} /> : null}
    </div>
  );
}

export function PendingSection({ pending }: { readonly pending: Resource<DevicesPage> }) {
  const admin = useCan('admin');
  const now = Date.now();
  const columns: Column<InventoryRowView>[] = [
    { key: 'device', label: 'Router', primary: true, render: (r) => <a href={`/devices/${encodeURIComponent(r.deviceId)}`}>{r.fleet?.name ?? r.deviceId}</a> },
    { key: 'hw', label: 'Hardware id', render: (r) => <code>{r.fleet?.hardwareId ?? '–'}</code> },
    { key: 'model', label: 'Model', render: (r) => (r.fleet ? `${r.fleet.hardware.model} · OpenWrt ${r.fleet.hardware.release}` : '–') },
    { key: 'group', label: 'Group', render: (r) => r.fleet?.group ?? '–' },
    { key: 'from', label: 'From', render: (r) => (r.fleet?.sourceAddress ? <code>{r.fleet.sourceAddress}</code> : <span class="muted">–</span>) },
    { key: 'asked', label: 'Asked', render: (r) => formatAgo(r.fleet?.requestedAtMs ?? null, now) },
  ];
  if (admin) columns.push({ key: 'decide', label: 'Decision', render: (r) => <Decide row={r} onDone={pending.reload} /> });
  return (
    <div class="card">
      <h2>Waiting for approval</h2>
      {pending.error ? <ErrorNotice error={pending.error} what="The queue could not be loaded" /> : null}
      {!pending.data ? (
        pending.error ? null : <Loading what="the queue" />
      ) : (
        <DataTable
          testId="pending-table"
          columns={columns}
          rows={pending.data.rows}
          rowKey={(r) => r.deviceId}
          empty={
            <EmptyState title="No router is waiting for approval">
              <p>
                A router that enrols with a key of a group whose policy is <strong>approve</strong> waits here until an admin approves or rejects it; groups with the <strong>auto</strong> policy let routers in at once.
              </p>
            </EmptyState>
          }
        />
      )}
    </div>
  );
}
