// Harvest jobs of a channel: start one (an endpoint with time-shift, a window, a destination),
// and follow each unfinished job's progress (a GET of a job also advances it one batch).

import { Api, path } from "../api";
import { field, h, link, show } from "../dom";
import { isoSeconds } from "../playback";
import { href } from "../route";
import type { Endpoint, HarvestJob } from "../types";
import { apiForm } from "./form";
import { table } from "./groups";

const POLL_MS = 3000;

export async function harvestPage(api: Api, g: string, c: string, onLeave: (f: () => void) => void): Promise<void> {
  const base = path("groups", g, "channels", c, "harvest-jobs");
  const { endpoints } = await api.get<{ endpoints: Endpoint[] }>(path("groups", g, "channels", c, "endpoints"));
  const list = h("div", { id: "jobs" });
  const load = async () => {
    const { harvest_jobs } = await api.get<{ harvest_jobs: HarvestJob[] }>(base);
    for (const j of harvest_jobs.filter((j) => j.status === "PENDING" || j.status === "IN_PROGRESS")) {
      Object.assign(j, await api.get<HarvestJob>(`${base}/${encodeURIComponent(j.id)}`));
    }
    list.replaceChildren(harvest_jobs.length === 0 ? h("p", {}, "No harvest jobs.") : table(["Job", "Endpoint", "Window", "Status", "Progress", "Asset"],
      harvest_jobs.map((j) => [j.id, j.endpoint, `${j.start} – ${j.end}`, j.reason ? `${j.status}: ${j.reason}` : j.status, progress(j),
        j.asset_url && j.status === "SUCCEEDED" ? h("code", { class: "url" }, j.asset_url) : "–"])));
  };
  const now = Date.now();
  const endpoint = h("select", {}, ...endpoints.filter((e) => e.time_shift_days > 0).map((e) => h("option", { value: e.name }, e.name)));
  const start = h("input", { type: "text", value: isoSeconds(new Date(now - 120_000)) });
  const end = h("input", { type: "text", value: isoSeconds(new Date(now - 60_000)) });
  const destination = h("input", { type: "text", value: `${c}/${isoSeconds(new Date(now)).slice(0, 10)}` });
  const form = apiForm("Start harvest job", [
    field("endpoint", "Endpoint (with time-shift)", endpoint),
    field("start", "Start (UTC)", start, "ISO 8601, e.g. 2026-11-23T12:00:00Z"),
    field("end", "End (UTC)", end, "after start, not in the future, at most 4 h later"),
    field("destination", "Destination", destination, "path prefix in the bucket"),
  ], async () => {
    await api.post(base, { endpoint: endpoint.value, start: start.value.trim(), end: end.value.trim(), destination: destination.value.trim() });
    await load();
  });
  await load();
  show(`Harvest jobs ${g}/${c}`, h("nav", { class: "sub", "aria-label": "channel" }, link(href("g", g, "c", c), `← channel ${c}`)),
    list, h("h2", {}, "New harvest job"), form);
  const timer = setInterval(() => void load().catch(() => undefined), POLL_MS);
  onLeave(() => clearInterval(timer));
}

function progress(j: HarvestJob): HTMLElement | string {
  const p = j.progress;
  if (!p || p.segments_total === 0) return "–";
  return h("span", {}, h("progress", { max: String(p.segments_total), value: String(p.segments_done) }), ` ${p.segments_done}/${p.segments_total}`);
}
