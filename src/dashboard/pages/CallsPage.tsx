/**
 * Calls: the call media lines the server holds, live ones first, each with its state, the reason
 * when it failed or ended, and the QoS state of its gate at each router; a line opens to its gates
 * and, once the routers report, the packets and bytes each counted.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { EVENTS, type SessionView } from '../../core/fleet/api.ts';
import { endpoints } from '../api/endpoints.ts';
import { useLiveEvents } from '../api/live.ts';
import { StateBadge } from '../components/Badge.tsx';
import { DataTable, type Column } from '../components/DataTable.tsx';
import { EmptyState, ErrorNotice, Loading } from '../components/feedback.tsx';
import { formatAgo, formatBytes, formatCount, formatDuration, formatEndpoint, formatKbps, formatTime } from '../format.ts';
import { useResource } from '../hooks.ts';
import { latestUsageByGate } from './usage.ts';

const REFRESH_MS = 5000;
const LIVE_STATES: ReadonlySet<string> = new Set(['pending', 'active', 'ending']);

function duration(s: SessionView, nowMs: number): string {
  const start = s.activeAtMs ?? s.createdAtMs;
  const end = s.endedAtMs ?? nowMs;
  return formatDuration(Math.max(0, end - start));
}

function Routers({ session }: { readonly session: SessionView }) {
  if (session.gates.length === 0) return <span class="muted">none located</span>;
  return (
    <span class="router-states">
      {session.gates.map((g) => (
        <span key={g.id} class="router-state">
          <a href={`/devices/${encodeURIComponent(g.device)}`}>{g.device}</a> <StateBadge state={g.state} title={g.error ?? undefined} />
        </span>
      ))}
    </span>
  );
}

function CallDetail({ session }: { readonly session: SessionView }) {
  const usage = useResource(`usage-call:${session.callId}`, (signal) => endpoints.usage({ callId: session.callId, limit: 200 }, signal));
  const byGate = latestUsageByGate(usage.data?.rows ?? []);
  return (
    <div class="call-detail" data-testid="call-detail">
      <h3>
        Call <span class="call-id">{session.callId}</span>
        {session.line > 0 ? ` · line ${session.line}` : ''}
      </h3>
      {session.reason ? <p>Reason: {session.reason}</p> : null}
      <p class="muted small">
        Asked {formatTime(session.createdAtMs)} by <code>{session.client}</code>
        {session.activeAtMs ? `; QoS active after ${formatDuration(session.activeAtMs - session.createdAtMs)}` : ''}
        {session.endedAtMs ? `; ended ${formatTime(session.endedAtMs)}` : ''}.
      </p>
      <DataTable
        columns={[
          { key: 'router', label: 'Router', primary: true, render: (g) => <a href={`/devices/${encodeURIComponent(g.device)}`}>{g.device}</a> },
          { key: 'state', label: 'QoS', render: (g) => <StateBadge state={g.state} /> },
          { key: 'flow', label: 'Flow', render: (g) => <code>{`${formatEndpoint(g.gate.lan.address, g.gate.lan.port)} ⇄ ${formatEndpoint(g.gate.remote.address, g.gate.remote.port)}`}</code> },
          { key: 'rate', label: 'Rate', numeric: true, render: (g) => formatKbps(g.rateKbps) },
          { key: 'up', label: 'Up', numeric: true, render: (g) => { const u = byGate.get(g.id); return u ? `${formatCount(u.up.packets)} pkts · ${formatBytes(u.up.bytes)}` : '–'; } },
          { key: 'down', label: 'Down', numeric: true, render: (g) => { const u = byGate.get(g.id); return u ? `${formatCount(u.down.packets)} pkts · ${formatBytes(u.down.bytes)}` : '–'; } },
          { key: 'error', label: 'Error', render: (g) => g.error ?? '' },
        ]}
        rows={session.gates}
        rowKey={(g) => g.id}
        empty={<p class="muted">No router was located for this call: its media gets best effort.</p>}
      />
      {usage.error ? <ErrorNotice error={usage.error} what="Usage could not be loaded" /> : null}
    </div>
  );
}

export function CallsPage() {
  const sessions = useResource('sessions', (signal) => endpoints.sessions({ limit: 200 }, signal));
  const [open, setOpen] = useState<string | null>(null);
  useLiveEvents([EVENTS.overview], () => sessions.reload());
  useEffect(() => {
    const timer = setInterval(() => sessions.reload(), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);

  if (sessions.error && !sessions.data) return <ErrorNotice error={sessions.error} what="Calls could not be loaded" />;
  if (!sessions.data) return <Loading what="calls" />;
  const now = Date.now();
  const rows = sessions.data.rows;
  const live = rows.filter((s) => LIVE_STATES.has(s.state));
  const recent = rows.filter((s) => !LIVE_STATES.has(s.state));
  const key = (s: SessionView) => `${s.callId}#${s.line}`;
  const columns: readonly Column<SessionView>[] = [
    {
      key: 'call',
      label: 'Call',
      primary: true,
      render: (s) => (
        <button type="button" class="link" aria-expanded={open === key(s)} title="Show the gates and usage" onClick={() => setOpen(open === key(s) ? null : key(s))}>
          <span aria-hidden="true" class="disclosure">{open === key(s) ? '▾' : '▸'}</span>
          <span class="call-id">{s.callId}</span>
          {s.line > 0 ? <span class="muted"> · line {s.line}</span> : null}
        </button>
      ),
    },
    { key: 'state', label: 'State', render: (s) => <StateBadge state={s.state} /> },
    { key: 'routers', label: 'QoS at routers', render: (s) => <Routers session={s} /> },
    { key: 'reason', label: 'Reason', render: (s) => s.reason ?? <span class="muted">–</span> },
    { key: 'started', label: 'Started', render: (s) => <span title={formatTime(s.createdAtMs)}>{formatAgo(s.createdAtMs, now)}</span> },
    { key: 'length', label: 'Length', numeric: true, render: (s) => duration(s, now) },
  ];
  const table = (list: SessionView[], testId: string, empty: ComponentChildren) => (
    <>
      <DataTable testId={testId} columns={columns} rows={list} rowKey={key} empty={empty} />
      {list.filter((s) => open === key(s)).map((s) => (
        <CallDetail key={key(s)} session={s} />
      ))}
    </>
  );
  return (
    <section>
      <div class="page-head">
        <h1>Calls</h1>
        <span class="muted small">
          {live.length} live · {recent.length} recent
        </span>
      </div>
      {sessions.error ? <ErrorNotice error={sessions.error} what="The last refresh failed" /> : null}
      {rows.length === 0 ? (
        <EmptyState title="No calls yet">
          <p>
            Calls appear here when call control asks for QoS: the built-in SIP proxy (<code>callqos-cloud sip</code>), Kamailio, or a <code>POST /v1/sessions</code>. Run <code>npm run demo</code> to see a call set up and torn down every three seconds.
          </p>
        </EmptyState>
      ) : (
        <>
          <div class="card">
            <h2>Live</h2>
            {table(live, 'live-calls', <p class="muted">No call is live right now.</p>)}
          </div>
          <div class="card">
            <h2>Recent</h2>
            {table(recent, 'recent-calls', <p class="muted">No call has ended yet.</p>)}
          </div>
        </>
      )}
    </section>
  );
}
