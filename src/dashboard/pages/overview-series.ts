/** The overview chart's data: a bounded window of samples, oldest first (pure). */
import type { Overview } from '../../core/fleet/api.ts';

/** Two hours of 5 s samples; older points drop off the front. */
export const MAX_POINTS = 1440;

export interface OverviewSeries {
  /** Unix seconds, as uPlot wants them. */
  readonly t: number[];
  readonly calls: number[];
  readonly efUp: number[];
  readonly efDown: number[];
}

export const emptySeries: OverviewSeries = { t: [], calls: [], efUp: [], efDown: [] };

/** Adds one sample at `nowMs` (times never go back: a sample in the same or an earlier second replaces the last). */
export function appendSample(series: OverviewSeries, overview: Overview, nowMs: number): OverviewSeries {
  let t = nowMs / 1000;
  const last = series.t[series.t.length - 1];
  const replace = last !== undefined && t <= last;
  if (replace) t = last;
  const keep = (xs: number[], x: number) => {
    const base = replace ? xs.slice(0, -1) : xs;
    const next = [...base, x];
    return next.length > MAX_POINTS ? next.slice(next.length - MAX_POINTS) : next;
  };
  return {
    t: keep(series.t, t),
    calls: keep(series.calls, overview.sessions.active),
    efUp: keep(series.efUp, overview.efKbps.up),
    efDown: keep(series.efDown, overview.efKbps.down),
  };
}
