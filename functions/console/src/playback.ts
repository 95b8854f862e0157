// Preview and signed-URL helpers: which player an endpoint needs and the same-origin URL the
// preview plays, with the time-shift parameters picked on the timeline.

import type { Endpoint, OutputProtocol } from "./types";

export type Player = "hls" | "dash" | "mpegts";

export const PLAYERS: Record<Player, { name: string; script: string }> = {
  hls: { name: "hls.js", script: "players/hls.min.js" },
  dash: { name: "dash.js", script: "players/dash.mediaplayer.min.js" },
  mpegts: { name: "mpegts.js", script: "players/mpegts.js" },
};

export function playerFor(protocol: OutputProtocol): Player {
  switch (protocol) {
    case "HLS":
    case "HLS_CMAF":
      return "hls";
    case "DASH":
      return "dash";
    case "FLV":
      return "mpegts";
  }
}

export function extension(protocol: OutputProtocol): string {
  return protocol === "DASH" ? "mpd" : protocol === "FLV" ? "flv" : "m3u8";
}

/** Where playback starts: live, `offset` seconds behind live, or from a `start` time. */
export type Position = { kind: "live" } | { kind: "offset"; seconds: number } | { kind: "start"; at: Date };

/**
 * The manifest path on this origin (not the CDN base: the console's CSP allows only its own
 * origin), with the time-shift query and, for an endpoint with signing keys, the token.
 */
export function previewPath(e: Endpoint, position: Position, token?: string): string {
  const base = `/out/v1/${enc(e.group)}/${enc(e.channel)}/${enc(e.name)}/${enc(e.manifest_name)}.${extension(e.protocol)}`;
  const q = new URLSearchParams();
  if (position.kind === "offset" && position.seconds > 0) q.set("offset", String(Math.round(position.seconds)));
  if (position.kind === "start") q.set("start", isoSeconds(position.at));
  if (token !== undefined) q.set("token", token);
  const s = q.toString();
  return s === "" ? base : `${base}?${s}`;
}

/** ISO 8601 UTC to the second, as the origin's time-shift parameters take it. */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * How far back the preview timeline reaches, in seconds: the endpoint's time-shift retention,
 * or else the channel's live window.
 */
export function timelineSpan(e: Endpoint, maxPlaylistDuration: number): number {
  return e.time_shift_days > 0 ? e.time_shift_days * 86_400 : maxPlaylistDuration;
}

/** "1 h 05 min" style label of a span of seconds. */
export function spanLabel(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${String(m % 60).padStart(2, "0")} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** A bit rate for people: "812 kbit/s". */
export function bitrateLabel(bps: number | undefined): string {
  if (bps === undefined) return "–";
  if (bps >= 1_000_000) return `${(bps / 1_000_000).toFixed(2)} Mbit/s`;
  return `${Math.round(bps / 1000)} kbit/s`;
}

function enc(s: string): string {
  return encodeURIComponent(s);
}
