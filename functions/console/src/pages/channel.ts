// A channel: its two inputs (ingest URL and credentials to copy, password revealed on click,
// rotation after a confirmation) and its endpoints (playback URL to copy, edit, preview).

import { Api, path } from "../api";
import { confirmDialog, copyButton, h, link, notice, show } from "../dom";
import { href } from "../route";
import type { Channel, Endpoint, Input } from "../types";
import { table } from "./groups";

export async function channelPage(api: Api, g: string, c: string): Promise<void> {
  const channel = await api.get<Channel>(path("groups", g, "channels", c));
  const { endpoints } = await api.get<{ endpoints: Endpoint[] }>(path("groups", g, "channels", c, "endpoints"));
  const inputs = h("div", { class: "inputs" }, ...channel.inputs.map((i) => inputCard(api, g, c, i)));
  const del = h("button", { type: "button", class: "danger", onclick: () => {
    void confirmDialog(`Delete channel ${c}? It must have no endpoints.`, "Delete channel").then(async (yes) => {
      if (!yes) return;
      try {
        await api.delete(path("groups", g, "channels", c));
        location.hash = href("g", g);
      } catch (e) {
        notice(e instanceof Error ? e.message : String(e), "error");
      }
    });
  } }, "Delete channel");
  show(`Channel ${g}/${c}`,
    h("nav", { class: "sub", "aria-label": "channel" },
      link(href("g", g), `← group ${g}`), link(href("g", g, "c", c, "status"), "Live status"),
      link(href("g", g, "c", c, "harvest"), "Harvest jobs"), link(href("g", g, "c", c, "stats"), "Statistics")),
    h("p", {}, `Input protocol ${channel.protocol}; failover after ${channel.max_segment_duration} s without a segment; ${channel.max_playlist_duration} s kept live.`),
    h("h2", {}, "Inputs"), inputs,
    h("h2", {}, "Endpoints"),
    endpoints.length === 0 ? h("p", {}, "No endpoints yet.") : table(["Endpoint", "Protocol", "Playback URL", ""],
      endpoints.map((e) => [
        link(href("g", g, "c", c, "e", e.name), e.name),
        e.protocol,
        h("code", { class: "url" }, e.url),
        h("span", { class: "actions" }, copyButton("playback URL", () => e.url), link(href("g", g, "c", c, "e", e.name, "preview"), "Preview")),
      ])),
    h("p", {}, link(href("g", g, "c", c, "e", "new"), "New endpoint")),
    h("h2", {}, "Danger zone"), del);
}

function inputCard(api: Api, g: string, c: string, input: Input): HTMLElement {
  let current = input;
  const url = h("code", { class: "url" }, current.url);
  const user = h("code", {}, current.username);
  const secret = h("code", { class: "secret" }, "••••••••");
  let revealed = false;
  const reveal = h("button", { type: "button", "aria-pressed": "false", onclick: () => {
    revealed = !revealed;
    secret.textContent = revealed ? current.password : "••••••••";
    reveal.textContent = revealed ? "Hide" : "Reveal";
    reveal.setAttribute("aria-pressed", String(revealed));
  } }, "Reveal");
  const rotate = h("button", { type: "button", class: "danger", onclick: () => {
    void confirmDialog(`Rotate the credentials of input ${input.id}? The encoder must be given the new ones: the old ones stop working at once.`, "Rotate").then(async (yes) => {
      if (!yes) return;
      try {
        const ch = await api.post<Channel>(path("groups", g, "channels", c, "inputs", String(input.id), "rotate-credentials"), {});
        const next = ch.inputs.find((i) => i.id === input.id);
        if (!next) return;
        current = next;
        user.textContent = next.username;
        secret.textContent = revealed ? next.password : "••••••••";
        notice(`Input ${input.id}: new credentials`);
      } catch (e) {
        notice(e instanceof Error ? e.message : String(e), "error");
      }
    });
  } }, "Rotate credentials");
  return h("section", { class: "card", "aria-label": `input ${input.id}`, "data-input": String(input.id) },
    h("h3", {}, input.id === 1 ? "Input 1 (primary)" : "Input 2 (backup)"),
    h("dl", {},
      h("dt", {}, "Ingest URL"), h("dd", {}, url, copyButton("ingest URL", () => current.url)),
      h("dt", {}, "Username"), h("dd", {}, user, copyButton("username", () => current.username)),
      h("dt", {}, "Password"), h("dd", {}, secret, reveal, copyButton("password", () => current.password))),
    rotate);
}
