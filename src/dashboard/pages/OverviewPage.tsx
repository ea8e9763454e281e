/**
 * Overview: routers by state, live calls and fleet-wide EF, and a chart of calls and EF over the
 * minutes this page has been open, fed by the server's `overview` events (one point per event, and
 * the last value carried forward every few seconds so the lines reach the present).
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { DEVICE_COUNT_KEYS, EVENTS, type Overview } from '../../core/fleet/api.ts';
import { endpoints } from '../api/endpoints.ts';
import { useLiveEvents } from '../api/live.ts';
import { EmptyFleet } from '../components/EmptyFleet.tsx';
import { ErrorNotice, Loading } from '../components/feedback.tsx';
import { TimeChart, type ChartSeries } from '../components/TimeChart.tsx';
import { formatCount, formatKbps, formatTime } from '../format.ts';
import { useResource } from '../hooks.ts';
import { appendSample, emptySeries, type OverviewSeries } from './overview-series.ts';

const SAMPLE_MS = 5000;

const SERIES: readonly ChartSeries[] = [
  { label: 'Live calls', color: '#2563eb', scale: 'count', format: (v) => formatCount(v) },
  { label: 'EF up', color: '#16a34a', scale: 'rate', format: formatKbps },
  // Dashed: a call admits as much down as up, so this line usually lies on EF up.
  { label: 'EF down', color: '#d97706', scale: 'rate', format: formatKbps, dashed: true },
];

/** How many seconds the samples cover: below one sample interval the lines are too short to see. */
function spanS(series: OverviewSeries): number {
  return series.t.length < 2 ? 0 : series.t[series.t.length - 1]! - series.t[0]!;
}

function Stat({ label, value, tone, href, testId }: { readonly label: string; readonly value: string; readonly tone?: string; readonly href?: string; readonly testId: string }) {
  const body = (
    <>
      <span class="stat-value">{value}</span>
      <span class="stat-label">{label}</span>
    </>
  );
  return href ? (
    <a class={`stat ${tone ?? ''}`} href={href} data-testid={testId}>
      {body}
    </a>
  ) : (
    <div class={`stat ${tone ?? ''}`} data-testid={testId}>
      {body}
    </div>
  );
}

export function OverviewPage() {
  const first = useResource('overview', (signal) => endpoints.overview(signal));
  const [latest, setLatest] = useState<Overview | null>(null);
  const [series, setSeries] = useState<OverviewSeries>(emptySeries);
  const latestRef = useRef<Overview | null>(null);
  latestRef.current = latest;

  useEffect(() => {
    if (first.data) {
      setLatest((l) => l ?? first.data);
      setSeries((s) => appendSample(s, first.data!, Date.now()));
    }
  }, [first.data]);

  useLiveEvents([EVENTS.overview], (event) => {
    const overview = event.data as Overview;
    setLatest(overview);
    setSeries((s) => appendSample(s, overview, Date.now()));
  });

  useEffect(() => {
    const timer = setInterval(() => {
      const l = latestRef.current;
      if (l) setSeries((s) => appendSample(s, l, Date.now()));
    }, SAMPLE_MS);
    return () => clearInterval(timer);
  }, []);

  const data = useMemo(() => [series.t, series.calls, series.efUp, series.efDown] as [number[], number[], number[], number[]], [series]);

  if (first.error && !latest) return <ErrorNotice error={first.error} what="The overview could not be loaded" />;
  if (!latest) return <Loading what="the overview" />;
  const d = latest.devices;
  const known = DEVICE_COUNT_KEYS.reduce((sum, key) => sum + (key === 'online' || key === 'offline' ? 0 : d[key]), 0) + d.online + d.offline;
  return (
    <section>
      <div class="page-head">
        <h1>Overview</h1>
        <span class="muted small">as of {formatTime(latest.atMs)}</span>
      </div>
      {known === 0 ? <EmptyFleet /> : null}
      <h2 class="section-title">Routers</h2>
      <div class="stats">
        <Stat label="online" value={formatCount(d.online)} tone="good" href="/devices?status=online" testId="stat-online" />
        <Stat label="offline" value={formatCount(d.offline)} tone={d.offline > 0 ? 'muted' : ''} href="/devices?status=offline" testId="stat-offline" />
        <Stat label="waiting for approval" value={formatCount(d.pending)} tone={d.pending > 0 ? 'warn' : ''} href="/enrolment" testId="stat-pending" />
        <Stat label="approved, not yet connected" value={formatCount(d.approved)} href="/devices?status=approved" testId="stat-approved" />
        <Stat label="revoked" value={formatCount(d.revoked)} tone={d.revoked > 0 ? 'bad' : ''} href="/devices?status=revoked" testId="stat-revoked" />
        <Stat label="without enrolment (hand-made login)" value={formatCount(d.unenrolled)} testId="stat-unenrolled" />
      </div>
      <h2 class="section-title">Calls and EF</h2>
      <div class="stats">
        <Stat label="live call media lines" value={formatCount(latest.sessions.active)} tone="info" href="/calls" testId="stat-calls" />
        <Stat label="being set up" value={formatCount(latest.sessions.pending)} href="/calls" testId="stat-setup" />
        <Stat label="EF admitted up" value={formatKbps(latest.efKbps.up)} testId="stat-ef-up" />
        <Stat label="EF admitted down" value={formatKbps(latest.efKbps.down)} testId="stat-ef-down" />
      </div>
      <div class="card">
        <TimeChart title="Live calls and EF admitted since this page was opened" series={SERIES} data={data} />
        {spanS(series) < SAMPLE_MS / 1000 ? <p class="muted small">The chart fills in as the server sends updates (every change, and a point every {SAMPLE_MS / 1000} s).</p> : null}
      </div>
    </section>
  );
}
