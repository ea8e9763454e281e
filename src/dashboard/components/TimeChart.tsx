/**
 * A time-series chart drawn by uPlot: x is Unix time in seconds, one line per series. The chart is
 * made once per set of series, fed new data with setData, and follows its box's width.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  /** Series on another scale get the right-hand axis (e.g. kbit/s beside a count). */
  readonly scale?: 'count' | 'rate';
  /** How a value reads in the legend and on the axis. */
  readonly format?: (value: number) => string;
  /** A dashed line: a series that often equals another stays visible over it. */
  readonly dashed?: boolean;
  /** A value that holds until the next point (a per-step maximum): drawn as steps, without point marks. */
  readonly stepped?: boolean;
}

const MIN_SPAN_S = 60;

/** The least top of the rate scale, kbit/s: about one voice call, so an idle fleet's axis reads 0..100, not 0..1. */
const MIN_RATE_TOP = 100;

/**
 * The top of a y scale: a quarter above the largest value, so that lines of different scales at
 * their maxima do not lie on one another at the top edge; whole numbers for counts.
 */
function headroom(max: number | null, whole: boolean): number {
  const top = Math.max(whole ? 1 : MIN_RATE_TOP, (max ?? 0) * 1.25);
  return whole ? Math.ceil(top) : top;
}

interface Props {
  readonly title: string;
  readonly series: readonly ChartSeries[];
  /** [x seconds[], ...one array per series] */
  readonly data: uPlot.AlignedData;
  readonly height?: number;
}

export function TimeChart({ title, series, data, height = 220 }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);
  const latest = useRef(data);
  latest.current = data;
  const shape = series.map((s) => `${s.label}/${s.scale ?? 'count'}`).join('|');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const rateFormat = series.find((s) => s.scale === 'rate')?.format;
    const usesRate = series.some((s) => s.scale === 'rate');
    const options: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      // At least a minute wide, so that the first points do not spread over milliseconds.
      scales: { x: { time: true, range: (_u, min, max) => [Math.min(min, max - MIN_SPAN_S), max] }, count: { range: (_u, _min, max) => [0, headroom(max, true)] }, rate: { range: (_u, _min, max) => [0, headroom(max, false)] } },
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          scale: s.scale ?? 'count',
          stroke: s.color,
          width: 2,
          ...(s.dashed ? { dash: [8, 6] } : {}),
          ...(s.stepped ? { paths: uPlot.paths.stepped?.({ align: 1 }), points: { show: false } } : {}),
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : s.format ? s.format(v) : String(v)),
          // uPlot shows points by itself while they are few and far apart (the first samples).
        })),
      ],
      axes: [
        { stroke: '#5b6474', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#d9dde3' } },
        { scale: 'count', stroke: '#5b6474', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#d9dde3' }, values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? String(t) : '')) },
        ...(usesRate
          ? [{ scale: 'rate', side: 1 as const, stroke: '#5b6474', grid: { show: false }, ticks: { stroke: '#d9dde3' }, size: 84, values: (_u: uPlot, ticks: number[]) => ticks.map((t) => (rateFormat ? rateFormat(t) : String(t))) }]
          : []),
      ],
    };
    const plot = new uPlot(options, latest.current, el);
    chart.current = plot;
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 200), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
      chart.current = null;
    };
    // The series' shape and the height make a new chart; their colours and formats ride along.
  }, [shape, height]);

  useEffect(() => {
    chart.current?.setData(data);
  }, [data]);

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} class="chart-box" />
    </figure>
  );
}
