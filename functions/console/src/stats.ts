// The statistics page's data: the time ranges it offers, the stats routes' query, and the
// charts (chart.ts specs) built from the API's reports (docs/stats.md, "API").

import { bytesLabel, shortNumber, type ChartSpec } from "./chart";
import type { ChannelStats, EndpointStats } from "./types";

/** The range picker's choices, seconds back from now. */
export const RANGES: { seconds: number; label: string }[] = [
  { seconds: 900, label: "Last 15 minutes" },
  { seconds: 3600, label: "Last hour" },
  { seconds: 6 * 3600, label: "Last 6 hours" },
  { seconds: 86_400, label: "Last 24 hours" },
  { seconds: 7 * 86_400, label: "Last 7 days" },
];

/** Buckets per chart: the API's default (60) keeps the lines readable at 360 px. */
const BUCKETS = 60;

/**
 * `?from=..&to=..&step=..` for the last `seconds` before `nowMs`: whole seconds, the step a
 * whole number of seconds, `to` rounded up to a step so that buckets stay put between
 * refreshes.
 */
export function rangeQuery(seconds: number, nowMs: number): string {
  const step = Math.max(1, Math.ceil(seconds / BUCKETS));
  const to = Math.ceil(nowMs / 1000 / step) * step;
  return `?from=${to - step * Math.ceil(seconds / step)}&to=${to}&step=${step}`;
}

function times(buckets: { start: string }[]): number[] {
  return buckets.map((b) => Date.parse(b.start));
}

/** Requests by status class, bytes served, and viewers of one endpoint. */
export function endpointCharts(r: EndpointStats): ChartSpec[] {
  const t = times(r.buckets);
  const stepMs = r.step * 1000;
  const classes = ["2xx", "3xx", "4xx", "5xx"] as const;
  return [
    {
      id: "requests",
      title: `Requests per ${r.step} s`,
      times: t,
      stepMs,
      series: [
        { name: "all", values: r.buckets.map((b) => b.requests) },
        ...classes.map((c) => ({ name: c, values: r.buckets.map((b) => b.status[c]) })),
      ],
      format: shortNumber,
      integer: true,
    },
    {
      id: "bytes",
      title: `Bytes served per ${r.step} s`,
      times: t,
      stepMs,
      series: [{ name: "bytes", values: r.buckets.map((b) => b.bytes) }],
      format: bytesLabel,
    },
    {
      id: "viewers",
      title: `Viewers (concurrent in ${r.viewer_window} s windows)`,
      times: t,
      stepMs,
      series: [
        { name: "concurrent", values: r.buckets.map((b) => b.viewers) },
        { name: "peak", values: r.buckets.map((b) => b.peak_viewers) },
        { name: "unique", values: r.buckets.map((b) => b.unique_viewers) },
      ],
      format: shortNumber,
      integer: true,
    },
  ];
}

/**
 * Ingest bitrate per input and rendition; a bucket without segments of a rendition has no
 * figure (the line breaks) rather than a false zero.
 */
export function ingestChart(r: ChannelStats): ChartSpec {
  const first = r.ingest[0];
  return {
    id: "ingest",
    title: `Ingest bitrate per rendition (per ${r.step} s)`,
    times: first ? times(first.buckets) : [],
    stepMs: r.step * 1000,
    series: r.ingest.map((s) => ({
      name: `input ${s.input} ${s.rendition}`,
      values: s.buckets.map((b) => (b.segments > 0 ? b.bitrate : null)),
    })),
    format: (v) => `${shortNumber(v)}b/s`,
  };
}
