// Live status of a channel, refreshed every 2 s: each input's health, heartbeat age and
// bitrate per rendition, the active input, and the switch history as a timeline.

import { Api, path } from "../api";
import { h, link, show } from "../dom";
import { bitrateLabel, spanLabel } from "../playback";
import { href } from "../route";
import type { ChannelStatus, InputStatus, Switch } from "../types";
import { table } from "./groups";

const REFRESH_MS = 2000;

export async function statusPage(api: Api, g: string, c: string, onLeave: (f: () => void) => void): Promise<void> {
  const body = h("div", { id: "status", "aria-live": "polite" });
  const load = async () => {
    const s = await api.get<ChannelStatus>(path("groups", g, "channels", c, "status"));
    body.replaceChildren(...render(s));
  };
  await load();
  show(`Live status ${g}/${c}`, h("nav", { class: "sub", "aria-label": "channel" }, link(href("g", g, "c", c), `← channel ${c}`)), body);
  const timer = setInterval(() => void load().catch(() => undefined), REFRESH_MS);
  onLeave(() => clearInterval(timer));
}

function render(s: ChannelStatus): HTMLElement[] {
  return [
    h("p", { class: "active" }, s.active_input === null ? "No active input yet." : `Active input: ${s.active_input}`),
    h("div", { class: "inputs" }, ...s.inputs.map(inputCard)),
    h("h2", {}, "Switch history"),
    timeline(s.switches),
  ];
}

function inputCard(i: InputStatus): HTMLElement {
  const state = i.renditions.length === 0 ? "idle" : i.healthy ? "healthy" : "unhealthy";
  return h("section", { class: `card ${state}`, "data-input": String(i.id), "data-health": state },
    h("h3", {}, `Input ${i.id}`, " ", h("span", { class: `badge ${state}` }, state), i.active ? h("span", { class: "badge active" }, "active") : null),
    i.renditions.length === 0 ? h("p", {}, "Nothing received yet.") : table(["Rendition", "Heartbeat age", "Bitrate", "Last sequence"],
      i.renditions.map((r) => [r.rendition, r.heartbeat_age_ms === undefined ? "–" : spanLabel(r.heartbeat_age_ms / 1000), bitrateLabel(r.bitrate), String(r.last_sequence ?? "–")])));
}

/** The switch log, oldest first, as a vertical timeline. */
function timeline(switches: Switch[]): HTMLElement {
  if (switches.length === 0) return h("p", {}, "No output yet.");
  return h("ol", { class: "timeline" }, ...switches.map((s) => h("li", { class: `input-${s.input}` },
    h("strong", {}, `Input ${s.input}`), ` from output segment ${s.from_sequence}`,
    s.discontinuity ? h("span", { class: "badge" }, "discontinuity") : null,
    h("br"), h("small", {}, [s.at, s.reason].filter(Boolean).join(" · ")))));
}
