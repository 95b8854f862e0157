import { test } from "node:test";
import assert from "node:assert/strict";
import { bytesLabel, layout, linePath, MARGIN, nearestBucket, niceTicks, scale, shortNumber, timeLabel, timeTicks } from "../src/chart";
import { endpointCharts, ingestChart, rangeQuery } from "../src/stats";
import { bucketText, describe } from "../src/svg";
import type { ChannelStats, EndpointStats } from "../src/types";

test("nice ticks end at or above the largest value, from 0", () => {
  assert.deepEqual(niceTicks(184), [0, 50, 100, 150, 200]);
  assert.deepEqual(niceTicks(3), [0, 1, 2, 3]);
  assert.deepEqual(niceTicks(10_231_552), [0, 5_000_000, 10_000_000, 15_000_000]);
  // A chart of zeros (or nothing) still has an axis.
  assert.deepEqual(niceTicks(0), [0, 0.25, 0.5, 0.75, 1]);
  // Counts get whole ticks only.
  assert.deepEqual(niceTicks(1, 4, true), [0, 1]);
  assert.deepEqual(niceTicks(3, 4, true), [0, 1, 2, 3]);
  assert.deepEqual(niceTicks(0, 4, true), [0, 1]);
  assert.deepEqual(niceTicks(184, 4, true), [0, 50, 100, 150, 200]);
  assert.deepEqual(niceTicks(Number.NaN), [0, 0.25, 0.5, 0.75, 1]);
  for (const max of [1, 7, 99, 101, 4_999, 868_000]) {
    const t = niceTicks(max);
    assert.ok((t[t.length - 1] ?? 0) >= max, `${max}: ${t.join(",")}`);
    assert.ok(t.length >= 2 && t.length <= 5, `${max}: ${t.join(",")}`);
  }
});

test("scale maps the domain onto the range, upside down for y", () => {
  const y = scale(0, 200, 150, 10);
  assert.equal(y(0), 150);
  assert.equal(y(200), 10);
  assert.equal(y(100), 80);
  assert.equal(scale(5, 5, 1, 9)(5), 1);
});

test("time ticks fall on whole steps and get labels that fit the span", () => {
  const from = Date.UTC(2026, 11, 6, 20, 0, 7);
  const hour = 3_600_000;
  const ticks = timeTicks(from, from + hour, 540);
  assert.deepEqual(ticks.map((t) => new Date(t).toISOString().slice(11, 16)), ["20:10", "20:20", "20:30", "20:40", "20:50", "21:00"]);
  assert.equal(timeTicks(from, from + hour, 90).length, 1);
  assert.deepEqual(timeTicks(from, from, 500), []);
  assert.equal(timeLabel(Date.UTC(2026, 11, 6, 20, 5, 30), 900_000, 15_000), "20:05:30");
  assert.equal(timeLabel(Date.UTC(2026, 11, 6, 20, 5, 30), hour, 60_000), "20:05");
  assert.equal(timeLabel(Date.UTC(2026, 11, 6, 20, 5, 30), 7 * 86_400_000, hour), "12-06 20:05");
});

test("a line breaks at missing values; a lone point is still drawn", () => {
  assert.equal(linePath([[0, 10], [10, 20], [20, 5]]), "M0 10L10 20L20 5");
  assert.equal(linePath([[0, 10], [10, null], [20, 5], [30, 6]]), "M0 10h0.1M20 5L30 6");
  assert.equal(linePath([[0.04, 1.26]]), "M0 1.3h0.1");
  assert.equal(linePath([]), "");
});

test("layout: bucket middles across the plot, values on the y scale", () => {
  const t0 = Date.UTC(2026, 11, 6, 20, 0, 0);
  const m = layout({ times: [t0, t0 + 60_000, t0 + 120_000], stepMs: 60_000, series: [{ name: "a", values: [0, 150, null] }], width: 356, height: 180 });
  assert.deepEqual(m.plot, { left: MARGIN.left, top: MARGIN.top, right: 348, bottom: 158 });
  assert.deepEqual(m.xs, [98, 198, 298]);
  assert.equal(m.yMax, 150);
  assert.equal(m.y(0), 158);
  assert.equal(m.y(150), 8);
  assert.equal(m.paths[0], "M98 158L198 8");
  assert.deepEqual(m.yTicks.map((t) => t.value), [0, 50, 100, 150]);
  assert.equal(nearestBucket(m.xs, 150), 1);
  assert.equal(nearestBucket(m.xs, 10_000), 2);
  assert.equal(nearestBucket([], 5), -1);
});

test("short figures for axes", () => {
  assert.equal(shortNumber(950), "950");
  assert.equal(shortNumber(1_250), "1.3k");
  assert.equal(shortNumber(10_231_552), "10.2M");
  assert.equal(shortNumber(0.25), "0.3");
  assert.equal(bytesLabel(999), "999 B");
  assert.equal(bytesLabel(1_500_000), "1.5MB");
});

const T0 = "2026-12-06T20:00:00.000Z";
const T1 = "2026-12-06T20:01:00.000Z";
const status = (ok: number) => ({ "2xx": ok, "3xx": 0, "4xx": 1, "5xx": 0 });
const ENDPOINT: EndpointStats = {
  from: T0, to: "2026-12-06T20:02:00.000Z", step: 60, viewer_window: 4,
  buckets: [
    { start: T0, requests: 10, bytes: 1000, status: status(9), viewers: 1, peak_viewers: 2, unique_viewers: 2 },
    { start: T1, requests: 0, bytes: 0, status: status(0), viewers: 0, peak_viewers: 0, unique_viewers: 0 },
  ],
  totals: { requests: 10, bytes: 1000, status: status(9), peak_viewers: 2, unique_viewers: 2 },
};

test("an endpoint report becomes requests, bytes and viewers charts", () => {
  const [requests, bytes, viewers] = endpointCharts(ENDPOINT);
  assert.deepEqual(requests?.series.map((s) => [s.name, s.values]), [["all", [10, 0]], ["2xx", [9, 0]], ["3xx", [0, 0]], ["4xx", [1, 1]], ["5xx", [0, 0]]]);
  assert.deepEqual(requests?.times, [Date.parse(T0), Date.parse(T1)]);
  assert.equal(requests?.stepMs, 60_000);
  assert.deepEqual(bytes?.series[0]?.values, [1000, 0]);
  assert.deepEqual(viewers?.series.map((s) => s.values), [[1, 0], [2, 0], [2, 0]]);
  assert.equal(viewers?.integer, true);
  assert.ok(viewers && describe(viewers).startsWith("concurrent: at most 1 (20:00:00 UTC)."), viewers && describe(viewers));
  assert.ok(bytes && bucketText(bytes, 0) === "2026-12-06 20:00:00 UTC: bytes 1kB", bytes && bucketText(bytes, 0));
});

test("ingest: a line per input and rendition, no false zero where no segment came", () => {
  const r: ChannelStats = {
    from: T0, to: T1, step: 60, sessions: [], sessions_truncated: false,
    ingest: [{ input: 1, rendition: "stream_0/index", bitrate: 868_000, buckets: [
      { start: T0, segments: 30, bytes: 6_510_000, media_seconds: 60, bitrate: 868_000 },
      { start: T1, segments: 0, bytes: 0, media_seconds: 0, bitrate: 0 },
    ] }],
  };
  const c = ingestChart(r);
  assert.deepEqual(c.series, [{ name: "input 1 stream_0/index", values: [868_000, null] }]);
  assert.equal(c.format(868_000), "868kb/s");
  assert.deepEqual(ingestChart({ ...r, ingest: [] }).times, []);
});

test("range queries: whole steps, about 60 buckets, stable between refreshes", () => {
  const now = Date.UTC(2026, 11, 6, 20, 0, 7, 500);
  assert.equal(rangeQuery(900, now), `?from=${1_796_587_215 - 900}&to=1796587215&step=15`);
  assert.equal(rangeQuery(3600, now), `?from=${1_796_587_260 - 3600}&to=1796587260&step=60`);
  assert.equal(rangeQuery(900, now + 2000), rangeQuery(900, now));
});
