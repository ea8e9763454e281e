/**
 * One router: identity, hardware and software as enrolled, presence, the interfaces it reports,
 * its live gates with the packets and bytes its usage reports count, and the admin's actions.
 * Counters move without an overview event, so the page also reloads every few seconds.
 */
import { useEffect, useState } from 'preact/hooks';
import { EVENTS, type DeviceDetail, type FleetDeviceView, type GateView, type UsageView } from '../../core/fleet/api.ts';
import { endpoints } from '../api/endpoints.ts';
import { useLiveEvents } from '../api/live.ts';
import { Badge, StateBadge } from '../components/Badge.tsx';
import { DataTable, type Column } from '../components/DataTable.tsx';
import { EfChart } from '../components/EfChart.tsx';
import { Facts } from '../components/Facts.tsx';
import { EmptyState, ErrorNotice, Loading } from '../components/feedback.tsx';
import { ReasonAction } from '../components/ReasonAction.tsx';
import { formatAgo, formatBytes, formatCount, formatEndpoint, formatKbps, formatTime } from '../format.ts';
import { useAction, useResource } from '../hooks.ts';
import { useCan } from '../session.ts';
import { CommandsCard } from './device/CommandsCard.tsx';
import { ConfigCard } from './device/ConfigCard.tsx';
import { latestUsageByGate } from './usage.ts';

const REFRESH_MS = 5000;

type InterfaceRow = DeviceDetail['interfaces'][number];
const interfaceColumns: readonly Column<InterfaceRow>[] = [
  { key: 'name', label: 'Interface', primary: true, render: (i) => <strong>{i.name}</strong> },
  { key: 'role', label: 'Role', render: (i) => i.role.toUpperCase() },
  { key: 'up', label: 'State', render: (i) => <Badge tone={i.up ? 'good' : 'muted'}>{i.up ? 'up' : 'down'}</Badge> },
  { key: 'device', label: 'Device', render: (i) => i.device ?? <span class="muted">–</span> },
  { key: 'ipv4', label: 'IPv4', render: (i) => addressList(i.ipv4.map(prefix)) },
  { key: 'ipv6', label: 'IPv6', render: (i) => addressList([...i.ipv6.map(prefix), ...i.ipv6Prefixes.map((p) => `${prefix(p)} (delegated)`)]) },
];

const prefix = (p: { readonly address: string; readonly prefixLength: number }) => `${p.address}/${p.prefixLength}`;

function addressList(list: readonly string[]) {
  if (list.length === 0) return <span class="muted">–</span>;
  return (
    <span class="addresses">
      {list.map((a) => (
        <code key={a}>{a}</code>
      ))}
    </span>
  );
}

function gateColumns(usage: Map<string, UsageView>): readonly Column<GateView>[] {
  const traffic = (g: GateView, dir: 'up' | 'down') => {
    const u = usage.get(g.id);
    return u ? `${formatCount(u[dir].packets)} pkts · ${formatBytes(u[dir].bytes)}` : <span class="muted">no report yet</span>;
  };
  return [
    { key: 'call', label: 'Call', primary: true, render: (g) => <span class="call-id" title={g.callId}>{g.callId}</span> },
    { key: 'state', label: 'State', render: (g) => <StateBadge state={g.state} title={g.error ?? undefined} /> },
    { key: 'dir', label: 'Direction', render: (g) => g.direction },
    { key: 'lan', label: 'LAN end', render: (g) => <code>{formatEndpoint(g.gate.lan.address, g.gate.lan.port)}</code> },
    { key: 'remote', label: 'Remote end', render: (g) => <code>{formatEndpoint(g.gate.remote.address, g.gate.remote.port)}</code> },
    { key: 'rate', label: 'Rate', numeric: true, render: (g) => `${formatKbps(g.rateKbps)} · DSCP ${g.gate.dscp}` },
    { key: 'upTraffic', label: 'Up', numeric: true, render: (g) => traffic(g, 'up') },
    { key: 'downTraffic', label: 'Down', numeric: true, render: (g) => traffic(g, 'down') },
  ];
}

function Actions({ device, onChanged }: { readonly device: FleetDeviceView; readonly onChanged: () => void }) {
  const admin = useCan('admin');
  const approve = useAction(endpoints.approveDevice, onChanged);
  const reject = useAction(endpoints.rejectDevice, onChanged);
  const revoke = useAction(endpoints.revokeDevice, onChanged);
  if (!admin) return null;
  const id = device.deviceId;
  return (
    <div class="actions">
      {device.state === 'pending' ? (
        <>
          <button type="button" disabled={approve.busy} onClick={() => approve.run(id)}>
            {approve.busy ? 'Approving…' : 'Approve'}
          </button>
          <ReasonAction label="Reject" placeholder="e.g. not one of ours" busy={reject.busy} error={reject.error} onSubmit={(r) => reject.run(id, r)} />
        </>
      ) : null}
      {device.state === 'accepted' || device.state === 'approved' ? (
        <ReasonAction label="Revoke" placeholder="e.g. router stolen" busy={revoke.busy} error={revoke.error} onSubmit={(r) => revoke.run(id, r)} />
      ) : null}
      {approve.error ? <ErrorNotice error={approve.error} what="Approval failed" /> : null}
    </div>
  );
}

export function DevicePage({ id }: { readonly id: string }) {
  const detail = useResource(`device:${id}`, (signal) => endpoints.device(id, signal));
  const usage = useResource(`usage:${id}`, (signal) => endpoints.usage({ device: id, limit: 200 }, signal));
  const [tick, setTick] = useState(0);
  const reload = () => {
    detail.reload();
    usage.reload();
    setTick((t) => t + 1);
  };
  useLiveEvents([EVENTS.overview], reload);
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [id]);

  if (detail.error && !detail.data) {
    return (
      <section>
        <h1>{id}</h1>
        {detail.error.status === 404 ? (
          <EmptyState title="No such router">
            <p>
              There is no router <code>{id}</code> that you may see. Back to <a href="/devices">Devices</a>.
            </p>
          </EmptyState>
        ) : (
          <ErrorNotice error={detail.error} what="The router could not be loaded" />
        )}
      </section>
    );
  }
  if (!detail.data) return <Loading what={`router ${id}`} />;
  const d = detail.data;
  const f = d.fleet;
  const p = d.presence;
  const usageByGate = latestUsageByGate(usage.data?.rows ?? []);
  const features = f ? (['cake', 'fqCodel', 'ctinfo', 'flowOffload'] as const).filter((k) => f.features[k]).map((k) => (k === 'fqCodel' ? 'fq_codel' : k === 'flowOffload' ? 'flow offloading' : k)) : [];
  return (
    <section>
      <p class="crumbs">
        <a href="/devices">Devices</a> /
      </p>
      <div class="page-head">
        <h1>{f?.name && f.name !== d.deviceId ? `${f.name} (${d.deviceId})` : d.deviceId}</h1>
        <span class="badges">
          {p ? <StateBadge state={p.status} /> : <Badge tone="muted">never connected</Badge>}
          {f ? <StateBadge state={f.state} title={f.stateReason ?? undefined} /> : <Badge tone="muted">hand-made login</Badge>}
        </span>
      </div>
      {f?.stateReason ? <p class="muted">Reason: {f.stateReason}</p> : null}
      {f ? <Actions device={f} onChanged={reload} /> : null}
      {detail.error ? <ErrorNotice error={detail.error} what="The last refresh failed" /> : null}

      <div class="grid-2">
        <div class="card">
          <h2>Identity</h2>
          <Facts
            testId="identity"
            items={[
              ['Device id', <code>{d.deviceId}</code>],
              ['Hardware id', f ? <code>{f.hardwareId}</code> : null],
              ['Group', f?.group],
              ['Tags', f && f.tags.length > 0 ? f.tags.map((t) => <span key={t} class="tag">{t}</span>) : null],
              ['Site', f?.site],
              ['Hostname', f?.hostname],
              ['Seen from', f?.sourceAddress ? <code>{f.sourceAddress}</code> : null],
              ['Enrolment key', f ? <code>{f.keyId}</code> : null],
              ['Asked to enrol', f ? formatTime(f.requestedAtMs) : null],
              ['Enrolled', f?.enrolledAtMs ? `${formatTime(f.enrolledAtMs)}${f.enrolments > 1 ? ` (${f.enrolments} enrolments)` : ''}` : null],
            ]}
          />
        </div>
        <div class="card">
          <h2>Hardware and software</h2>
          <Facts
            testId="hardware"
            items={[
              ['Model', f?.hardware.model ?? p?.board?.model],
              ['Board', f?.hardware.boardName ?? p?.board?.name],
              ['OpenWrt', f?.hardware.release ?? p?.board?.release],
              ['Target', f?.hardware.target ?? p?.board?.target],
              ['Kernel', f?.hardware.kernel],
              ['Agent', p?.agentVersion ?? f?.versions.agent],
              ['QuickJS', f?.versions.quickjs],
              ['nftables', f?.features.nft],
              ['Kernel features', f ? (features.length > 0 ? features.join(', ') : 'none of cake, fq_codel, ctinfo, flow offloading') : null],
            ]}
          />
        </div>
      </div>

      <div class="card">
        <h2>Presence and EF</h2>
        {p ? (
          <Facts
            testId="presence"
            items={[
              ['Status', <StateBadge state={p.status} />],
              ['Since', `${formatTime(p.statusAtMs)} (${formatAgo(p.statusAtMs, Date.now())})`],
              ['Last seen', formatAgo(p.lastSeenMs, Date.now())],
              ['Line', p.link ? `${formatKbps(p.link.upKbps)} up · ${formatKbps(p.link.downKbps)} down` : null],
              ['EF budget', p.link ? `${p.link.efBudgetPercent}% of each direction` : null],
              ['EF admitted', `${formatKbps(d.admittedKbps.up)} up · ${formatKbps(d.admittedKbps.down)} down`],
              ['Desired state', p.reportedVersion === p.desiredVersion ? `version ${p.desiredVersion}, applied` : `version ${p.desiredVersion}; the router reports ${p.reportedVersion ?? 'none yet'}`],
            ]}
          />
        ) : (
          <EmptyState title="This router has not connected yet">
            <p>It appears here once it logs in to the broker with its own credentials (after approval, at its next enrolment request).</p>
          </EmptyState>
        )}
      </div>

      {p ? (
        <div class="card">
          <h2>EF admitted over the last hour</h2>
          <EfChart deviceId={d.deviceId} />
        </div>
      ) : null}

      {f ? <ConfigCard deviceId={d.deviceId} refresh={tick} /> : null}
      {f || p ? <CommandsCard deviceId={d.deviceId} /> : null}

      <div class="card">
        <h2>Live gates</h2>
        <DataTable
          testId="gates-table"
          columns={gateColumns(usageByGate)}
          rows={d.gates}
          rowKey={(g) => g.id}
          empty={<EmptyState title="No live gates">A gate appears here while a call through this router has QoS; its packets and bytes come from the router's usage reports.</EmptyState>}
        />
      </div>

      <div class="card">
        <h2>Interfaces</h2>
        {d.interfacesAtMs ? <p class="muted small">Reported {formatAgo(d.interfacesAtMs, Date.now())}.</p> : null}
        <DataTable
          testId="interfaces-table"
          columns={interfaceColumns}
          rows={d.interfaces}
          rowKey={(i) => i.name}
          empty={<EmptyState title="No interface report yet">The router reports its interfaces when it connects and whenever they change.</EmptyState>}
        />
      </div>
    </section>
  );
}
