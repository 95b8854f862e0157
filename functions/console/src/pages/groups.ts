// Channel groups: list and create; a group's page: its CDN playback domain and its channels.

import { Api, path } from "../api";
import { confirmDialog, field, h, link, notice, show } from "../dom";
import { href } from "../route";
import type { Channel, Group } from "../types";
import { apiForm } from "./form";

export async function groupsPage(api: Api): Promise<void> {
  const { groups } = await api.get<{ groups: Group[] }>("/groups");
  const name = h("input", { type: "text", autocomplete: "off" });
  const base = h("input", { type: "url", autocomplete: "off", placeholder: "https://cdn.example.com" });
  const form = apiForm("Create group", [
    field("name", "Name", name, "1-64 of A-Z a-z 0-9 _ -"),
    field("playback_base_url", "CDN playback domain", base, "optional; endpoint URLs start with it"),
  ], async () => {
    await api.post("/groups", { name: name.value.trim(), playback_base_url: base.value.trim() || null });
    location.hash = href("g", name.value.trim());
  });
  show("Channel groups",
    groups.length === 0 ? h("p", {}, "No groups yet.") : table(["Group", "CDN playback domain", "Created"],
      groups.map((g) => [link(href("g", g.name), g.name), g.playback_base_url ?? "(origin)", g.created_at])),
    h("h2", {}, "New group"), form);
}

export async function groupPage(api: Api, g: string): Promise<void> {
  const group = await api.get<Group>(path("groups", g));
  const { channels } = await api.get<{ channels: Channel[] }>(path("groups", g, "channels"));
  const base = h("input", { type: "url", autocomplete: "off", value: group.playback_base_url ?? "", placeholder: "https://cdn.example.com" });
  const cdn = apiForm("Save CDN domain", [
    field("playback_base_url", "CDN playback domain", base, "empty: the origin's PUBLIC_BASE_URL or its own host"),
  ], async () => {
    await api.patch(path("groups", g), { playback_base_url: base.value.trim() || null });
    notice("CDN playback domain saved");
  });
  const name = h("input", { type: "text", autocomplete: "off" });
  const protocol = h("select", {}, ...["HLS", "HLS_CMAF", "DASH", "CMAF"].map((p) => h("option", { value: p }, p)));
  const maxSeg = h("input", { type: "text", inputmode: "numeric", value: "15" });
  const maxPl = h("input", { type: "text", inputmode: "numeric", value: "600" });
  const create = apiForm("Create channel", [
    field("name", "Name", name, "1-64 of A-Z a-z 0-9 _ -"),
    field("protocol", "Input protocol", protocol),
    field("max_segment_duration", "Max segment duration (s)", maxSeg, "1-60; also the failover timeout"),
    field("max_playlist_duration", "Max playlist duration (s)", maxPl, "30-3600"),
  ], async () => {
    await api.post(path("groups", g, "channels"), {
      name: name.value.trim(),
      protocol: protocol.value,
      max_segment_duration: num(maxSeg.value),
      max_playlist_duration: num(maxPl.value),
    });
    location.hash = href("g", g, "c", name.value.trim());
  });
  const del = h("button", { type: "button", class: "danger", onclick: () => {
    void confirmDialog(`Delete group ${g}? It must have no channels.`, "Delete group").then(async (yes) => {
      if (!yes) return;
      try {
        await api.delete(path("groups", g));
        location.hash = "#/";
      } catch (e) {
        notice(e instanceof Error ? e.message : String(e), "error");
      }
    });
  } }, "Delete group");
  show(`Group ${g}`,
    h("h2", {}, "CDN playback domain"), cdn,
    h("h2", {}, "Channels"),
    channels.length === 0 ? h("p", {}, "No channels yet.") : table(["Channel", "Input protocol", "Max segment (s)"],
      channels.map((c) => [link(href("g", g, "c", c.name), c.name), c.protocol, String(c.max_segment_duration)])),
    h("h2", {}, "New channel"), create,
    h("h2", {}, "Danger zone"), del);
}

/** A number when the text is one, else the text itself (the API names the field). */
export function num(s: string): number | string {
  return /^\d+$/.test(s.trim()) ? Number(s.trim()) : s;
}

export function table(head: string[], rows: (string | Node)[][]): HTMLElement {
  return h("div", { class: "scroll" }, h("table", {},
    h("thead", {}, h("tr", {}, ...head.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c)))))));
}
