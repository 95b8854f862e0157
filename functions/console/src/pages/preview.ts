// The preview player of an endpoint: hls.js (HLS, HLS-CMAF), dash.js (DASH) or mpegts.js
// (FLV), each loaded from the origin only when this page opens, playing from the origin itself
// live, behind live (`offset`) or from a time (`start`) picked on the timeline.

import { Api, path } from "../api";
import { h, link, show } from "../dom";
import { PLAYERS, playerFor, previewPath, spanLabel, timelineSpan, type Position } from "../playback";
import { href } from "../route";
import type { Channel, Endpoint } from "../types";

interface Running {
  destroy(): void;
}

export async function previewPage(api: Api, g: string, c: string, e: string, onLeave: (f: () => void) => void): Promise<void> {
  const ep = await api.get<Endpoint>(path("groups", g, "channels", c, "endpoints", e));
  const channel = await api.get<Channel>(path("groups", g, "channels", c));
  const video = h("video", { id: "preview", controls: true, muted: true, playsinline: true });
  video.muted = true;
  const frames = h("output", { id: "frames" }, "0");
  const span = timelineSpan(ep, channel.max_playlist_duration);
  const slider = h("input", { type: "range", id: "position", min: "0", max: String(span), step: "1", value: "0", "aria-label": "seconds behind live" });
  const mode = h("select", { id: "mode" },
    h("option", { value: "live" }, "Live"),
    h("option", { value: "offset" }, "Behind live (offset)"),
    h("option", { value: "start" }, "From a time (start)"));
  const label = h("output", { id: "position-label" }, "live");
  const shown = h("code", { class: "url", id: "preview-url" });
  let running: Running | undefined;
  const position = (): Position => {
    const back = Number(slider.value);
    if (mode.value === "offset") return { kind: "offset", seconds: back };
    if (mode.value === "start") return { kind: "start", at: new Date(Date.now() - back * 1000) };
    return { kind: "live" };
  };
  const describe = () => {
    const p = position();
    label.value = p.kind === "live" ? "live" : p.kind === "offset" ? `${spanLabel(p.seconds)} behind live` : `from ${p.at.toISOString()}`;
  };
  const play = async () => {
    running?.destroy();
    const token = ep.signing_keys?.length
      ? (await api.post<{ token: string }>(path("groups", g, "channels", c, "endpoints", e, "signed-url"), { expires_in: 3600 })).token
      : undefined;
    const url = previewPath(ep, position(), token);
    shown.textContent = token ? url.replace(token, "…") : url;
    running = await start(ep, url, video);
  };
  const counter = setInterval(() => {
    frames.value = String(video.getVideoPlaybackQuality().totalVideoFrames);
  }, 500);
  onLeave(() => {
    clearInterval(counter);
    running?.destroy();
  });
  slider.addEventListener("input", describe);
  mode.addEventListener("change", describe);
  const form = h("form", { class: "position" },
    h("label", { for: "mode" }, "Start"), mode,
    h("label", { for: "position" }, `Timeline (back to ${spanLabel(span)} ago)`), slider, label,
    h("button", { type: "submit" }, "Play"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void play();
  });
  show(`Preview ${g}/${c}/${e}`,
    h("nav", { class: "sub", "aria-label": "endpoint" }, link(href("g", g, "c", c, "e", e), `← endpoint ${e}`)),
    h("p", {}, `${ep.protocol} with ${PLAYERS[playerFor(ep.protocol)].name}; frames decoded: `, frames),
    video, form, h("p", {}, "Playing ", shown));
  await play();
}

/** Loads the player's script once (same origin, allowed by the CSP). */
function load(src: string): Promise<void> {
  if (document.querySelector(`script[src="${src}"]`)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const s = h("script", { src });
    s.addEventListener("load", () => resolve());
    s.addEventListener("error", () => reject(new Error(`${src} did not load`)));
    document.head.append(s);
  });
}

async function start(ep: Endpoint, url: string, video: HTMLVideoElement): Promise<Running> {
  const kind = playerFor(ep.protocol);
  await load(PLAYERS[kind].script);
  const code = typeof ep.authorization_code === "string" ? ep.authorization_code : undefined;
  const w = window as unknown as Record<string, unknown>;
  switch (kind) {
    case "hls": {
      const Hls = w.Hls as HlsStatic;
      // No web worker: the CSP allows no blob: workers, and a preview is light work.
      const hls = new Hls({ enableWorker: false, xhrSetup: code ? (xhr: XMLHttpRequest) => xhr.setRequestHeader("authorization", code) : undefined });
      hls.loadSource(url);
      hls.attachMedia(video);
      void video.play().catch(() => undefined);
      return { destroy: () => hls.destroy() };
    }
    case "dash": {
      const dashjs = w.dashjs as DashStatic;
      const player = dashjs.MediaPlayer().create();
      if (code) player.addRequestInterceptor?.((r) => { r.headers = { ...r.headers, authorization: code }; return Promise.resolve(r); });
      player.initialize(video, url, true);
      return { destroy: () => player.destroy() };
    }
    case "mpegts": {
      const mpegts = w.mpegts as MpegtsStatic;
      const player = mpegts.createPlayer({ type: "flv", isLive: true, url }, { enableWorker: false, headers: code ? { authorization: code } : undefined });
      player.attachMediaElement(video);
      player.load();
      void Promise.resolve(player.play()).catch(() => undefined);
      return { destroy: () => player.destroy() };
    }
  }
}

interface HlsStatic {
  new (config: Record<string, unknown>): { loadSource(u: string): void; attachMedia(v: HTMLVideoElement): void; destroy(): void };
}
interface DashRequest { headers?: Record<string, string> }
interface DashStatic {
  MediaPlayer(): { create(): { initialize(v: HTMLVideoElement, u: string, autoplay: boolean): void; destroy(): void; addRequestInterceptor?(f: (r: DashRequest) => Promise<DashRequest>): void } };
}
interface MpegtsStatic {
  createPlayer(source: Record<string, unknown>, config: Record<string, unknown>): { attachMediaElement(v: HTMLVideoElement): void; load(): void; play(): unknown; destroy(): void };
}
