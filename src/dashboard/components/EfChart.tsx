/**
 * EF admitted on one router per direction over the last hour (GET /devices/:id/ef), drawn by
 * uPlot: the most admitted in each minute, computed by the server from the router's gates.
 */
import { useEffect, useMemo } from 'preact/hooks';
import type uPlot from 'uplot';
import { endpoints } from '../api/endpoints.ts';
import { formatKbps } from '../format.ts';
import { useResource } from '../hooks.ts';
import { ErrorNotice } from './feedback.tsx';
import { TimeChart, type ChartSeries } from './TimeChart.tsx';

const REFRESH_MS = 15_000;
const SERIES: readonly ChartSeries[] = [
  { label: 'EF up', color: '#16a34a', format: formatKbps, stepped: true },
  { label: 'EF down', color: '#d97706', format: formatKbps, dashed: true, stepped: true },
];

export function EfChart({ deviceId }: { readonly deviceId: string }) {
  const series = useResource(`ef:${deviceId}`, (signal) => endpoints.deviceEf(deviceId, signal));
  useEffect(() => {
    const timer = setInterval(() => series.reload(), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  const s = series.data;
  // Each point starts its minute and holds for it (stepped); the minute now running ends at toMs.
  const data = useMemo<uPlot.AlignedData>(() => {
    if (s === null || s.up.length === 0) return [[], [], []];
    const x = [...s.up.map((_v, i) => (s.fromMs + i * s.stepMs) / 1000), s.toMs / 1000];
    const last = s.up.length - 1;
    return [x, [...s.up, s.up[last]!], [...s.down, s.down[last]!]];
  }, [s]);
  if (series.error && !s) return <ErrorNotice error={series.error} what="EF over time could not be loaded" />;
  return (
    <div data-testid="ef-chart">
      <TimeChart title="kbit/s per direction: the most admitted in each minute" series={SERIES} data={data} height={200} />
      {s?.budgetKbps ? (
        <p class="muted small">
          Budget {formatKbps(s.budgetKbps.up)} up · {formatKbps(s.budgetKbps.down)} down.
        </p>
      ) : null}
    </div>
  );
}
