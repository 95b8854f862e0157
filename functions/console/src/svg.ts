// Draws a chart laid out by chart.ts as inline SVG (no library, no inline style: the colours
// come from console.css classes s0, s1, ...). The chart is one focusable image with a title and
// a description; the arrow keys (or the pointer) move a cursor over the buckets and the figures
// of the bucket under it are announced in the readout below.

import { layout, nearestBucket, timeLabel, type ChartSpec } from "./chart";
import { h } from "./dom";

const NS = "http://www.w3.org/2000/svg";
const HEIGHT = 180;
/** Width drawn when the page has not been laid out yet (tests, a hidden tab). */
const FALLBACK_WIDTH = 600;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, ...children: (SVGElement | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

/** A figure with a heading, the chart, its legend and the cursor's readout. */
export function chartFigure(spec: ChartSpec, width: number): HTMLElement {
  const w = Math.max(200, Math.round(width > 0 ? width : FALLBACK_WIDTH));
  const m = layout({ times: spec.times, stepMs: spec.stepMs, series: spec.series, width: w, height: HEIGHT, integer: spec.integer });
  const span = spec.stepMs * spec.times.length;
  const titleId = `t-${spec.id}`;
  const descId = `d-${spec.id}`;
  const readout = h("p", { class: "readout", id: `r-${spec.id}`, "aria-live": "polite" });
  const cursor = svg("line", { class: "cursor", x1: 0, x2: 0, y1: m.plot.top, y2: m.plot.bottom, visibility: "hidden" });
  const image = svg("svg", {
    viewBox: `0 0 ${w} ${HEIGHT}`,
    width: w,
    height: HEIGHT,
    role: "img",
    tabindex: 0,
    "aria-labelledby": titleId,
    "aria-describedby": `${descId} r-${spec.id}`,
    class: "chart",
  },
  svg("title", { id: titleId }, spec.title),
  svg("desc", { id: descId }, describe(spec)),
  ...m.yTicks.map((t) => svg("g", { class: "tick" },
    svg("line", { x1: m.plot.left, x2: m.plot.right, y1: t.at, y2: t.at }),
    svg("text", { x: m.plot.left - 4, y: t.at + 4, "text-anchor": "end" }, spec.format(t.value)))),
  ...m.xTicks.map((t) => svg("text", { class: "tick", x: t.at, y: HEIGHT - 6, "text-anchor": "middle" }, timeLabel(t.value, span, spec.stepMs))),
  svg("line", { class: "axis", x1: m.plot.left, x2: m.plot.right, y1: m.plot.bottom, y2: m.plot.bottom }),
  ...m.paths.map((d, i) => svg("path", { class: `line s${i}`, d })),
  cursor);

  let at = -1;
  const move = (i: number) => {
    if (spec.times.length === 0) return;
    at = Math.min(spec.times.length - 1, Math.max(0, i));
    const x = m.xs[at] ?? 0;
    cursor.setAttribute("x1", String(x));
    cursor.setAttribute("x2", String(x));
    cursor.setAttribute("visibility", "visible");
    readout.textContent = bucketText(spec, at);
  };
  image.addEventListener("keydown", (ev) => {
    const last = spec.times.length - 1;
    const keys: Record<string, number> = { ArrowLeft: at - 1, ArrowRight: at < 0 ? last : at + 1, Home: 0, End: last };
    const next = keys[ev.key];
    if (next === undefined) return;
    ev.preventDefault();
    move(next);
  });
  image.addEventListener("focus", () => {
    if (at < 0) move(spec.times.length - 1);
  });
  image.addEventListener("pointermove", (ev) => {
    const box = image.getBoundingClientRect();
    move(nearestBucket(m.xs, ((ev.clientX - box.left) / Math.max(1, box.width)) * w));
  });
  const legend = h("ul", { class: "legend" }, ...spec.series.map((s, i) => h("li", { class: `s${i}` }, s.name)));
  return h("figure", { class: "chart", "data-chart": spec.id }, h("figcaption", {}, spec.title), image, legend, readout);
}

/** The figures of bucket `i`: its start and each series' value. */
export function bucketText(spec: Pick<ChartSpec, "times" | "series" | "format">, i: number): string {
  const t = spec.times[i];
  if (t === undefined) return "";
  const values = spec.series.map((s) => {
    const v = s.values[i];
    return `${s.name} ${v === null || v === undefined ? "–" : spec.format(v)}`;
  });
  return `${new Date(t).toISOString().slice(0, 19).replace("T", " ")} UTC: ${values.join(", ")}`;
}

/** The chart in words, for screen readers: each series' largest value and when. */
export function describe(spec: Pick<ChartSpec, "times" | "series" | "format">): string {
  if (spec.times.length === 0) return "No data in this range.";
  return spec.series.map((s) => {
    let best = -1;
    for (const [i, v] of s.values.entries()) if (v !== null && (best < 0 || v > (s.values[best] ?? 0))) best = i;
    const t = spec.times[best];
    return best < 0 || t === undefined ? `${s.name}: no data.` : `${s.name}: at most ${spec.format(s.values[best] ?? 0)} (${new Date(t).toISOString().slice(11, 19)} UTC).`;
  }).join(" ");
}
