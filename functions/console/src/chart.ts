// The statistics charts' geometry: scales, "nice" axis ticks, time ticks and SVG paths, as
// pure functions over numbers (unit-tested in test/chart.test.ts). svg.ts draws the result.

/** One line of a chart: a value per bucket (`null`: no figure, the line breaks there). */
export interface Series {
  name: string;
  values: (number | null)[];
}

/** A chart as the page describes it: what svg.ts draws. */
export interface ChartSpec {
  /** Stable id, also `data-chart` (tests find charts by it). */
  id: string;
  title: string;
  /** Bucket start times, Unix ms. */
  times: number[];
  stepMs: number;
  series: Series[];
  /** Axis labels and the readout's figures. */
  format: (v: number) => string;
  /** Counts (requests, viewers): no axis tick between whole numbers. */
  integer?: boolean;
}

export interface ChartInput {
  /** Bucket start times, Unix ms, ascending; one per value of every series. */
  times: number[];
  /** Length of a bucket, ms (the last bucket ends `stepMs` after its start). */
  stepMs: number;
  series: Series[];
  width: number;
  height: number;
  integer?: boolean;
}

export interface Tick {
  /** Position in the chart's pixels. */
  at: number;
  value: number;
}

export interface ChartModel {
  /** The plot area inside the margins. */
  plot: { left: number; top: number; right: number; bottom: number };
  /** One SVG path (`d`) per series, in the input's order. */
  paths: string[];
  yTicks: Tick[];
  /** Tick values are Unix ms. */
  xTicks: Tick[];
  /** The x of each bucket's middle, where its values are drawn. */
  xs: number[];
  /** The y of `values[i]` of series `s`. */
  y: (value: number) => number;
  yMax: number;
}

/** Margins around the plot: room for the y labels on the left and the time labels below. */
export const MARGIN = { left: 48, right: 8, top: 8, bottom: 22 };

/** Axis ticks: about this many on a chart 600 px wide, fewer when narrower. */
const Y_TICKS = 4;
const PX_PER_TIME_TICK = 90;

/**
 * The smallest "nice" upper bound (1, 2, 2.5 or 5 times a power of ten, times `count`) at or
 * above `max`, and the ticks from 0 to it; whole steps only when `integer`. A chart of zeros
 * still gets an axis from 0 to 1.
 */
export function niceTicks(max: number, count = Y_TICKS, integer = false): number[] {
  const top = Number.isFinite(max) && max > 0 ? max : 1;
  const raw = top / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const nice = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s * count >= top) ?? 10 * magnitude;
  const step = integer ? Math.max(1, Math.ceil(nice)) : nice;
  const ticks: number[] = [];
  for (let i = 0; i <= count; i++) ticks.push(round(step * i));
  // Fewer ticks when the top one is already far above the data.
  while (ticks.length > 2 && (ticks[ticks.length - 2] ?? 0) >= top) ticks.pop();
  return ticks;
}

/** `d` maps [d0, d1] onto [r0, r1]; a zero-length domain maps to r0. */
export function scale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const span = d1 - d0;
  return (v) => (span === 0 ? r0 : r0 + ((v - d0) / span) * (r1 - r0));
}

/** Steps between time ticks, ms: the first that leaves `minGapMs` or more between ticks. */
const TIME_STEPS_MS = [
  1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800,
].map((s) => s * 1000);

/** Tick times at whole multiples of a step (UTC), about one per `pxPerTick` pixels. */
export function timeTicks(fromMs: number, toMs: number, widthPx: number, pxPerTick = PX_PER_TIME_TICK): number[] {
  if (!(toMs > fromMs) || widthPx <= 0) return [];
  const wanted = Math.max(1, Math.floor(widthPx / pxPerTick));
  const minGap = (toMs - fromMs) / wanted;
  const step = TIME_STEPS_MS.find((s) => s >= minGap) ?? Math.ceil(minGap / 86_400_000) * 86_400_000;
  const ticks: number[] = [];
  for (let t = Math.ceil(fromMs / step) * step; t <= toMs; t += step) ticks.push(t);
  return ticks;
}

/** A tick's label: `HH:MM` (with `:SS` below a minute's step), the date too over a day. */
export function timeLabel(ms: number, spanMs: number, stepMs: number): string {
  const iso = new Date(ms).toISOString();
  const hm = stepMs < 60_000 ? iso.slice(11, 19) : iso.slice(11, 16);
  return spanMs > 86_400_000 ? `${iso.slice(5, 10)} ${hm}` : hm;
}

/**
 * An SVG path through the points, `M` at the start and after every gap (a `null` y), `L`
 * between; coordinates rounded to a tenth of a pixel. A point alone is drawn as a short dash.
 */
export function linePath(points: [number, number | null][]): string {
  const out: string[] = [];
  let drawing = false;
  for (const [i, [x, y]] of points.entries()) {
    if (y === null) {
      drawing = false;
      continue;
    }
    const next = points[i + 1];
    const alone = !drawing && (next === undefined || next[1] === null);
    out.push(`${drawing ? "L" : "M"}${round1(x)} ${round1(y)}`);
    if (alone) out.push(`h0.1`);
    drawing = true;
  }
  return out.join("");
}

/** Lays a chart out: scales from the series' largest value, ticks, and a path per series. */
export function layout(input: ChartInput): ChartModel {
  const plot = {
    left: MARGIN.left,
    top: MARGIN.top,
    right: Math.max(MARGIN.left + 1, input.width - MARGIN.right),
    bottom: Math.max(MARGIN.top + 1, input.height - MARGIN.bottom),
  };
  const max = Math.max(0, ...input.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v))));
  const yTickValues = niceTicks(max, Y_TICKS, input.integer);
  const yMax = yTickValues[yTickValues.length - 1] ?? 1;
  const y = scale(0, yMax, plot.bottom, plot.top);
  const from = input.times[0] ?? 0;
  const to = (input.times[input.times.length - 1] ?? from) + input.stepMs;
  const x = scale(from, to, plot.left, plot.right);
  const xs = input.times.map((t) => x(t + input.stepMs / 2));
  const paths = input.series.map((s) => linePath(xs.map((px, i) => {
    const v = s.values[i];
    return [px, v === null || v === undefined || !Number.isFinite(v) ? null : y(v)];
  })));
  return {
    plot,
    paths,
    yTicks: yTickValues.map((value) => ({ at: y(value), value })),
    xTicks: timeTicks(from, to, plot.right - plot.left).map((value) => ({ at: x(value), value })),
    xs,
    y,
    yMax,
  };
}

/** The bucket whose middle is nearest to `px` (for the pointer), or -1 without buckets. */
export function nearestBucket(xs: number[], px: number): number {
  let best = -1;
  let distance = Infinity;
  for (const [i, x] of xs.entries()) {
    const d = Math.abs(x - px);
    if (d < distance) {
      best = i;
      distance = d;
    }
  }
  return best;
}

/** Short figures for axis labels: 950, 1.2k, 3.4M, 5G. */
export function shortNumber(v: number): string {
  const abs = Math.abs(v);
  for (const [unit, size] of [["G", 1e9], ["M", 1e6], ["k", 1e3]] as const) {
    if (abs >= size) return `${trim(v / size)}${unit}`;
  }
  return trim(v);
}

/** Bytes with binary-free SI units, as players and CDNs report traffic: 1.5 MB. */
export function bytesLabel(v: number): string {
  return v < 1000 ? `${v} B` : `${shortNumber(v)}B`;
}

function trim(v: number): string {
  return (Math.abs(v) >= 100 || Number.isInteger(v) ? Math.round(v) : Math.round(v * 10) / 10).toString();
}

function round(v: number): number {
  return Math.round(v * 1e9) / 1e9;
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
