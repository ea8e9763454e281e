/**
 * Calls: live calls first, then recent ones, each with its lines' states, each router's QoS state
 * (a link to the router), the clearinghouse authorization's source and transaction (never the
 * token), and its length. A call opens to its own page with timings, usage and loss.
 */
import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import type { CallSummary } from '../../core/fleet/api-calls.ts';
import { EVENTS } from '../../core/fleet/api.ts';
import { endpoints } from '../api/endpoints.ts';
import { useLiveEvents } from '../api/live.ts';
import { StateBadge } from '../components/Badge.tsx';
import { DataTable, type Column } from '../components/DataTable.tsx';
import { EmptyState, ErrorNotice, Loading } from '../components/feedback.tsx';
import { formatAgo, formatDuration, formatTime } from '../format.ts';
import { useResource } from '../hooks.ts';

const REFRESH_MS = 5000;

export const callHref = (callId: string) => `/calls/${encodeURIComponent(callId)}`;
export const deviceHref = (device: string) => `/devices/${encodeURIComponent(device)}`;

function Routers({ call }: { readonly call: CallSummary }) {
  if (call.routers.length === 0) return <span class="muted">none located</span>;
  return (
    <span class="router-states">
      {call.routers.map((r) => (
        <span key={r.device} class="router-state">
          <a href={deviceHref(r.device)}>{r.device}</a> <StateBadge state={r.state} />
        </span>
      ))}
    </span>
  );
}

function Lines({ call }: { readonly call: CallSummary }) {
  return (
    <span class="router-states">
      {call.lines.map((l) => (
        <span key={l.line} class="router-state">
          {call.lines.length > 1 ? <span class="muted">line {l.line} </span> : null}
          <StateBadge state={l.state} />
        </span>
      ))}
    </span>
  );
}

export function CallsPage() {
  const calls = useResource('calls', (signal) => endpoints.calls({ limit: 200 }, signal));
  useLiveEvents([EVENTS.overview], () => calls.reload());
  useEffect(() => {
    const timer = setInterval(() => calls.reload(), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);

  if (calls.error && !calls.data) return <ErrorNotice error={calls.error} what="Calls could not be loaded" />;
  if (!calls.data) return <Loading what="calls" />;
  const now = Date.now();
  const rows = calls.data.rows;
  const live = rows.filter((c) => c.live);
  const recent = rows.filter((c) => !c.live);
  const columns: readonly Column<CallSummary>[] = [
    { key: 'call', label: 'Call', primary: true, render: (c) => <a class="call-id" href={callHref(c.callId)}>{c.callId}</a> },
    { key: 'state', label: 'State', render: (c) => <Lines call={c} /> },
    { key: 'routers', label: 'QoS at routers', render: (c) => <Routers call={c} /> },
    {
      key: 'auth',
      label: 'Authorization',
      render: (c) => (c.authorization ? <span title="The token itself is never shown">{c.authorization.source} · <code>{c.authorization.transactionId}</code></span> : <span class="muted">none</span>),
    },
    { key: 'reason', label: 'Reason', render: (c) => c.reason ?? <span class="muted">–</span> },
    { key: 'started', label: 'Started', render: (c) => <span title={formatTime(c.createdAtMs)}>{formatAgo(c.createdAtMs, now)}</span> },
    { key: 'length', label: 'Length', numeric: true, render: (c) => formatDuration(Math.max(0, (c.endedAtMs ?? now) - c.createdAtMs)) },
  ];
  const table = (list: CallSummary[], testId: string, empty: ComponentChildren) => <DataTable testId={testId} columns={columns} rows={list} rowKey={(c) => c.callId} empty={empty} />;
  return (
    <section>
      <div class="page-head">
        <h1>Calls</h1>
        <span class="muted small">
          {live.length} live · {recent.length} recent
        </span>
      </div>
      {calls.error ? <ErrorNotice error={calls.error} what="The last refresh failed" /> : null}
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
