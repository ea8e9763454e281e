/**
 * One call: its authorization (source and transaction, never the token), and per line each
 * router's gates with their QoS state, timings (requested, installed, time to install) and the
 * reason in words; each router's usage per direction once it reports (final after hang-up); and,
 * where both ends' routers count the line, the loss measured between them per direction.
 */
import { useEffect } from 'preact/hooks';
import type { CallDetail, CallGate, CallLine } from '../../core/fleet/api-calls.ts';
import { endpoints } from '../api/endpoints.ts';
import { StateBadge } from '../components/Badge.tsx';
import { Facts } from '../components/Facts.tsx';
import { EmptyState, ErrorNotice, Loading } from '../components/feedback.tsx';
import { formatAgo, formatBytes, formatCount, formatDuration, formatEndpoint, formatKbps, formatTime } from '../format.ts';
import { useResource } from '../hooks.ts';
import { lossText } from './calls/words.ts';
import { deviceHref } from './CallsPage.tsx';

const REFRESH_MS = 3000;

function Usage({ g }: { readonly g: CallGate }) {
  const u = g.usage;
  if (u === null) return <p class="muted small">No usage report yet.</p>;
  return (
    <div class="gate-usage" data-testid="gate-usage">
      <span>
        Up (leaving) {formatCount(u.up.packets)} pkts · {formatBytes(u.up.bytes)}
      </span>
      <span>
        Down (arriving) {formatCount(u.down.packets)} pkts · {formatBytes(u.down.bytes)}
      </span>
      <span class="muted small">{u.ended !== null ? `final report (${u.ended})` : `interim, ${formatAgo(u.receivedAtMs, Date.now())}`}</span>
    </div>
  );
}

function Gate({ g }: { readonly g: CallGate }) {
  const gate = g.gate;
  return (
    <div class="call-gate">
      <p class="call-gate-head">
        <StateBadge state={gate.state} /> <span class="muted small">{gate.direction === 'both' ? 'both ways' : gate.direction} · {formatKbps(gate.rateKbps)}</span>
      </p>
      <Facts
        items={[
          ['Flow', <code>{`${formatEndpoint(gate.gate.lan.address, gate.gate.lan.port)} ⇄ ${formatEndpoint(gate.gate.remote.address, gate.gate.remote.port)}`}</code>],
          ['Requested', formatTime(g.requestedAtMs)],
          ['Installed', g.installedAtMs === null ? null : formatTime(g.installedAtMs)],
          ['Time to install', g.installMs === null ? null : formatDuration(g.installMs)],
          [gate.state === 'installed' ? 'Last change' : `${gate.state[0]!.toUpperCase()}${gate.state.slice(1)}`, formatTime(g.stateAtMs)],
          ['Reason', g.reason],
        ]}
      />
      <Usage g={g} />
    </div>
  );
}

function Line({ line, lines }: { readonly line: CallLine; readonly lines: number }) {
  return (
    <div class="card" data-testid={`call-line-${line.line}`}>
      <h2>
        {lines > 1 ? `Line ${line.line} · ` : 'QoS '} <StateBadge state={line.state} />
      </h2>
      <p class="muted small">
        Asked {formatTime(line.createdAtMs)} by <code>{line.client}</code>
        {line.activeAtMs !== null ? `; QoS active after ${formatDuration(line.activeAtMs - line.createdAtMs)}` : ''}
        {line.endedAtMs !== null ? `; ended ${formatTime(line.endedAtMs)}` : ''}.
      </p>
      {line.reason ? <p data-testid="line-reason">{line.reason}</p> : null}
      {line.routers.length === 0 ? (
        <EmptyState title="No router located">No router of this domain holds either end of this line: its media gets best effort.</EmptyState>
      ) : (
        <div class="router-panels">
          {line.routers.map((r) => (
            <section key={r.device} class="router-panel" data-testid="router-panel">
              <h3>
                Router <a href={deviceHref(r.device)}>{r.device}</a>
              </h3>
              {r.gates.map((g) => (
                <Gate key={g.gate.id} g={g} />
              ))}
            </section>
          ))}
        </div>
      )}
      <div class="between-routers" data-testid="between-routers">
        <h3>Loss measured between the routers</h3>
        {line.betweenRouters.length === 0 ? (
          <p class="muted small">Shown when both ends' routers count this line: packets counted leaving one router against those counted arriving at the other.</p>
        ) : (
          <ul>
            {line.betweenRouters.map((b) => (
              <li key={`${b.from}>${b.to}`}>
                {lossText(b)} <span class="muted small">{b.final ? '· for the whole call' : `· live, as of ${formatAgo(b.asOfMs, Date.now())}`}</span>
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}

function Authorization({ call }: { readonly call: CallDetail }) {
  const a = call.authorization;
  return (
    <div class="card">
      <h2>Authorization</h2>
      {a === null ? (
        <p class="muted">No clearinghouse authorization: this call asked for QoS within the domain without a token.</p>
      ) : (
        <Facts
          testId="authorization"
          items={[
            ['Source', a.source === 'token' ? 'a token presented by call control' : 'the clearinghouse, asked by this server'],
            ['Transaction', <code>{a.transactionId}</code>],
            ['Authorized', formatTime(a.authorizedAtMs)],
            ['Longest allowed', formatDuration(a.maxDurationS * 1000)],
            ['Released by', a.releasedBy === null ? null : `${a.releasedBy}${a.sipStatus !== null ? ` (SIP ${a.sipStatus})` : ''}`],
            ['Usage sent', a.usageConfirmedAtMs === null ? null : `confirmed ${formatTime(a.usageConfirmedAtMs)}`],
          ]}
        />
      )}
    </div>
  );
}

export function CallPage({ callId }: { readonly callId: string }) {
  const call = useResource(`call:${callId}`, (signal) => endpoints.call(callId, signal));
  const live = call.data?.live ?? true;
  // Counters and states move without an overview event: look again while the call is live.
  useEffect(() => {
    if (!live) return undefined;
    const timer = setInterval(() => call.reload(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [live]);

  if (call.error && !call.data) return <ErrorNotice error={call.error} what={call.error.status === 404 ? 'No such call (or not in your domain)' : 'The call could not be loaded'} />;
  if (!call.data) return <Loading what="the call" />;
  const c = call.data;
  return (
    <section data-testid="call-detail">
      <p class="small">
        <a href="/calls">← Calls</a>
      </p>
      <div class="page-head">
        <h1>
          Call <span class="call-id">{c.callId}</span>
        </h1>
        <StateBadge state={c.live ? 'active' : 'ended'} />
      </div>
      {call.error ? <ErrorNotice error={call.error} what="The last refresh failed" /> : null}
      {c.lines.map((l) => (
        <Line key={l.line} line={l} lines={c.lines.length} />
      ))}
      <Authorization call={c} />
    </section>
  );
}
