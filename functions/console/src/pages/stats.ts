// Statistics of a channel (docs/stats.md): per endpoint requests by status class, bytes served
// and viewers; per channel ingest bitrate per input and rendition and the stream sessions. Read
// from the stats routes for the range picked, refreshed while the page is open.

import { Api, ApiError, path } from "../api";
import { bytesLabel, type ChartSpec } from "../chart";
import { field, h, link, show } from "../dom";
import { spanLabel } from "../playback";
import { href } from "../route";
import { endpointCharts, ingestChart, rangeQuery, RANGES } from "../stats";
import { chartFigure } from "../svg";
import type { ChannelStats, Endpoint, EndpointStats, StreamSession } from "../types";
import { table } from "./groups";

const REFRESH_MS = 15_000;
/** Redraw this long after the window stops changing size. */
const RESIZE_MS = 200;

export async function statsPage(api: Api, g: string, c: string, onLeave: (f: () => void) => void): Promise<void> {
  const { endpoints } = await api.get<{ endpoints: Endpoint[] }>(path("groups", g, "channels", c, "endpoints"));
  const range = h("select", {}, ...RANGES.map((r, i) => h("option", { value: String(r.seconds), selected: i === 0 }, r.label)));
  const endpoint = h("select", {}, ...endpoints.map((e) => h("option", { value: e.name }, e.name)));
  const refresh = h("button", { type: "button" }, "Refresh");
  const controls = h("form", { class: "stats-controls", "aria-label": "range" },
    field("range", "Time range", range),
    endpoints.length > 0 ? field("endpoint", "Endpoint", endpoint) : null,
    refresh);
  controls.addEventListener("submit", (ev) => ev.preventDefault());
  const endpointBox = h("section", { id: "endpoint-stats", "aria-live": "polite", "aria-busy": "true" });
  const channelBox = h("section", { id: "channel-stats", "aria-busy": "true" });
  let drawn: { specs: ChartSpec[]; box: HTMLElement }[] = [];
  /** The latest load: an older one still answering (a slower range) is dropped. */
  let latest = 0;

  const width = () => (document.getElementById("main")?.clientWidth ?? 0) - 32;
  const draw = () => {
    for (const { specs, box } of drawn) box.replaceChildren(...specs.map((s) => chartFigure(s, width())));
  };
  const load = async () => {
    const mine = ++latest;
    const q = rangeQuery(Number(range.value), Date.now());
    const next: typeof drawn = [];
    const e = endpoint.value;
    const endpointPart = e === "" ? [h("p", {}, "No endpoints: nothing is played yet.")] : await section(() => api.get<EndpointStats>(`${path("groups", g, "channels", c, "endpoints", e, "stats")}${q}`), (r) => {
        const charts = h("div", { class: "charts" });
        next.push({ specs: endpointCharts(r), box: charts });
        return [h("h2", {}, `Endpoint ${e}`), totals(r), charts];
      });
    const channelPart = await section(() => api.get<ChannelStats>(`${path("groups", g, "channels", c, "stats")}${q}`), (r) => {
      const charts = h("div", { class: "charts" });
      next.push({ specs: [ingestChart(r)], box: charts });
      return [h("h2", {}, `Channel ${c}`), charts, h("h3", {}, "Stream sessions"), sessions(r)];
    });
    if (mine !== latest) return;
    endpointBox.replaceChildren(...endpointPart);
    channelBox.replaceChildren(...channelPart);
    drawn = next;
    draw();
    endpointBox.setAttribute("aria-busy", "false");
    channelBox.setAttribute("aria-busy", "false");
  };
  // Only a 401 gets past section(): the session ended, so render() shows the sign-in form.
  const reload = () => void load().catch(() => window.dispatchEvent(new HashChangeEvent("hashchange")));
  range.addEventListener("change", reload);
  endpoint.addEventListener("change", reload);
  refresh.addEventListener("click", reload);
  show(`Statistics ${g}/${c}`,
    h("nav", { class: "sub", "aria-label": "channel" }, link(href("g", g, "c", c), `← channel ${c}`), link(href("g", g, "c", c, "status"), "Live status")),
    h("p", {}, "Figures from the origin's own traffic (docs/stats.md). Times are UTC; use the arrow keys on a chart to read each bucket."),
    controls, endpointBox, channelBox);
  await load();
  let resizing: ReturnType<typeof setTimeout> | undefined;
  const onResize = () => {
    clearTimeout(resizing);
    resizing = setTimeout(draw, RESIZE_MS);
  };
  window.addEventListener("resize", onResize);
  // Not while a chart has the focus: redrawing would take the keyboard cursor away.
  const timer = setInterval(() => {
    if (document.activeElement?.closest(".chart")) return;
    reload();
  }, REFRESH_MS);
  onLeave(() => {
    clearInterval(timer);
    clearTimeout(resizing);
    window.removeEventListener("resize", onResize);
  });
}

/** A report's section, or the API's refusal in its place (a 401 still ends the session). */
async function section<T>(get: () => Promise<T>, render: (r: T) => HTMLElement[]): Promise<HTMLElement[]> {
  try {
    return render(await get());
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) throw e;
    return [h("p", { class: "error", role: "alert" }, `Statistics not available: ${e instanceof Error ? e.message : String(e)}`)];
  }
}

function totals(r: EndpointStats): HTMLElement {
  const item = (id: string, label: string, value: string) => [h("dt", {}, label), h("dd", { id }, value)];
  const s = r.totals.status;
  return h("dl", { class: "totals" },
    ...item("total-requests", "Requests", String(r.totals.requests)),
    ...item("total-bytes", "Bytes served", bytesLabel(r.totals.bytes)),
    ...item("total-status", "Status classes", `2xx ${s["2xx"]} · 3xx ${s["3xx"]} · 4xx ${s["4xx"]} · 5xx ${s["5xx"]}`),
    ...item("total-peak", "Peak concurrent viewers", String(r.totals.peak_viewers)),
    ...item("total-unique", "Unique viewers", String(r.totals.unique_viewers)));
}

function sessions(r: ChannelStats): HTMLElement {
  if (r.sessions.length === 0) return h("p", {}, "No stream session in this range.");
  const time = (iso: string) => iso.slice(0, 19).replace("T", " ");
  return h("div", { id: "sessions" },
    table(["Input", "Start (UTC)", "End (UTC)", "Duration", "Peak viewers", "Cumulative viewers"],
      r.sessions.map((s: StreamSession) => [String(s.input), time(s.start), s.live ? `${time(s.end)} (live)` : time(s.end), spanLabel(s.duration),
        String(s.peak_viewers), String(s.cumulative_viewers)])),
    r.sessions_truncated ? h("p", {}, "Older sessions are not listed.") : null);
}
