// The endpoint settings form: one descriptor per API field, and the pure conversions between
// the API's JSON, the form's text values and the body a create or update sends.

import type { OutputProtocol } from "./types";

export type Kind = "int" | "optional-int" | "bool" | "choice" | "text" | "optional-text" | "lines";

export interface Setting {
  /** The API field, dotted for nested ones (`encryption.method`). */
  field: string;
  label: string;
  kind: Kind;
  help: string;
  choices?: string[];
  /** Protocols the setting applies to; absent: every one. */
  only?: OutputProtocol[];
  /** The form section it is shown in. */
  section: Section;
}

export type Section = "Output" | "Playlists and segments" | "Latency and DASH" | "Access control" | "Encryption";

const SEGMENTED: OutputProtocol[] = ["HLS", "HLS_CMAF", "DASH"];

export const SETTINGS: Setting[] = [
  { field: "protocol", label: "Protocol", kind: "choice", choices: ["HLS", "HLS_CMAF", "DASH", "FLV"], help: "output format", section: "Output" },
  { field: "manifest_name", label: "Manifest name", kind: "text", help: "1-64 of A-Z a-z 0-9 _ -", section: "Output" },
  { field: "segment_count", label: "Playlist segments", kind: "int", help: "2-100", only: SEGMENTED, section: "Playlists and segments" },
  { field: "segment_duration", label: "Segment duration (s)", kind: "int", help: "0 (the input's) or 1-30", only: SEGMENTED, section: "Playlists and segments" },
  { field: "program_date_time_interval", label: "Program date time interval (s)", kind: "int", help: "0 (off) to 3600", only: ["HLS", "HLS_CMAF"], section: "Playlists and segments" },
  { field: "stream_order", label: "Stream order", kind: "choice", choices: ["original", "ascending", "descending"], help: "variant order by bandwidth", only: SEGMENTED, section: "Output" },
  { field: "min_video_bitrate", label: "Min video bitrate (bit/s)", kind: "int", help: "0-2147483647", only: SEGMENTED, section: "Output" },
  { field: "max_video_bitrate", label: "Max video bitrate (bit/s)", kind: "int", help: "0-2147483647, at least the min", only: SEGMENTED, section: "Output" },
  { field: "audio_separation", label: "Audio separation", kind: "bool", help: "HLS (TS): audio as its own rendition", only: ["HLS"], section: "Output" },
  { field: "time_shift_days", label: "Time-shift (days)", kind: "int", help: "0 (off) to 30", section: "Output" },
  { field: "hold_back", label: "Hold back (s)", kind: "optional-int", help: "empty: automatic; 1-3600", only: ["HLS", "HLS_CMAF"], section: "Latency and DASH" },
  { field: "manifest_window", label: "Manifest window (s)", kind: "int", help: "DASH: 1-3600", only: ["DASH"], section: "Latency and DASH" },
  { field: "min_buffer_time", label: "Min buffer time (s)", kind: "int", help: "DASH: 1-30", only: ["DASH"], section: "Latency and DASH" },
  { field: "min_update_period", label: "Min update period (s)", kind: "int", help: "DASH: 1-3600", only: ["DASH"], section: "Latency and DASH" },
  { field: "suggested_presentation_delay", label: "Suggested presentation delay (s)", kind: "optional-int", help: "DASH; empty: automatic; 0-3600", only: ["DASH"], section: "Latency and DASH" },
  { field: "authorization_code", label: "Authorization code", kind: "optional-text", help: "empty: none; 8-256 visible ASCII", section: "Access control" },
  { field: "ip_allowlist", label: "IP allowlist", kind: "lines", help: "one address or CIDR block a line", section: "Access control" },
  { field: "ip_blocklist", label: "IP blocklist", kind: "lines", help: "one address or CIDR block a line", section: "Access control" },
  { field: "referer_allowlist", label: "Referer allowlist", kind: "lines", help: "one host or *.domain a line", section: "Access control" },
  { field: "cdn_authorization.header_name", label: "CDN header name", kind: "optional-text", help: "empty: none", section: "Access control" },
  { field: "cdn_authorization.secret", label: "CDN header value", kind: "optional-text", help: "16-256 visible ASCII", section: "Access control" },
  { field: "signing_keys", label: "Signing keys", kind: "lines", help: "up to 2 lines of id:secret (secret 16-256 visible ASCII)", section: "Access control" },
  { field: "encryption.method", label: "Encryption method", kind: "choice", choices: ["", "AES_128", "SAMPLE_AES", "CBCS", "CENC"], help: "empty: no encryption", only: SEGMENTED, section: "Encryption" },
  { field: "encryption.drm_systems", label: "DRM systems", kind: "lines", help: "WIDEVINE, PLAYREADY, FAIRPLAY, CLEAR_KEY; one a line", only: SEGMENTED, section: "Encryption" },
  { field: "encryption.key_provider_url", label: "Key provider URL", kind: "optional-text", help: "SPEKE v2.0, https://", only: SEGMENTED, section: "Encryption" },
  { field: "encryption.content_id", label: "Content id", kind: "optional-text", help: "empty: generated", only: SEGMENTED, section: "Encryption" },
  { field: "encryption.constant_iv", label: "Constant IV", kind: "optional-text", help: "empty or 32 hex digits", only: SEGMENTED, section: "Encryption" },
  { field: "encryption.key_rotation_interval", label: "Key rotation interval (s)", kind: "int", help: "0 or 10-86400", only: SEGMENTED, section: "Encryption" },
];

/** The API's defaults, shown on the new-endpoint form (README, "Endpoint"). */
export const DEFAULTS: Record<string, string> = {
  protocol: "HLS",
  manifest_name: "manifest",
  segment_count: "10",
  segment_duration: "0",
  program_date_time_interval: "0",
  stream_order: "original",
  min_video_bitrate: "0",
  max_video_bitrate: "2147483647",
  audio_separation: "false",
  time_shift_days: "0",
  manifest_window: "60",
  min_buffer_time: "4",
  min_update_period: "2",
  "encryption.key_rotation_interval": "0",
};

/** The form's text of every setting, from an endpoint as the API returns it. */
export function toForm(endpoint: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of SETTINGS) {
    const v = lookup(endpoint, s.field);
    out[s.field] = textOf(s, v);
  }
  return out;
}

function textOf(s: Setting, v: unknown): string {
  if (v === undefined || v === null) return "";
  if (s.field === "signing_keys" && Array.isArray(v)) {
    return v.map((k: { id?: unknown; secret?: unknown }) => `${String(k.id)}:${String(k.secret)}`).join("\n");
  }
  if (Array.isArray(v)) return v.map(String).join("\n");
  if (s.kind === "bool") return v === true ? "true" : "false";
  return typeof v === "object" ? JSON.stringify(v) : String(v as string | number);
}

function lookup(o: Record<string, unknown>, field: string): unknown {
  let cur: unknown = o;
  for (const part of field.split(".")) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** A client-side refusal, shaped like the API's (`field` names the setting). */
export class FormError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/**
 * The JSON body of the form's values. Numbers that do not parse go to the API as text, so the
 * API's own rule (and message) is what the user sees: the console adds no rules of its own.
 */
export function toBody(values: Record<string, string>, protocol: OutputProtocol): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const nested: Record<string, Record<string, unknown>> = {};
  for (const s of SETTINGS) {
    if (s.only && !s.only.includes(protocol)) continue;
    const raw = (values[s.field] ?? "").trim();
    const value = parse(s, raw);
    const dot = s.field.indexOf(".");
    if (dot < 0) {
      body[s.field] = value;
    } else {
      const [outer, inner] = [s.field.slice(0, dot), s.field.slice(dot + 1)];
      (nested[outer] ??= {})[inner] = value;
    }
  }
  const cdn = nested.cdn_authorization;
  body.cdn_authorization = cdn && (cdn.header_name !== null || cdn.secret !== null) ? cdn : null;
  const enc = nested.encryption;
  if (enc !== undefined) {
    body.encryption = enc.method === null ? null : enc;
  }
  return body;
}

function parse(s: Setting, raw: string): unknown {
  switch (s.kind) {
    case "int":
      // Empty: left out, so the API's default (or the stored value) stays.
      return raw === "" ? undefined : /^\d+$/.test(raw) ? Number(raw) : raw;
    case "optional-int":
      return raw === "" ? null : /^\d+$/.test(raw) ? Number(raw) : raw;
    case "bool":
      return raw === "true";
    case "choice":
    case "optional-text":
      return raw === "" ? null : raw;
    case "text":
      return raw;
    case "lines": {
      const lines = raw.split("\n").map((l) => l.trim()).filter((l) => l !== "");
      if (s.field !== "signing_keys") return lines;
      return lines.map((l) => {
        const colon = l.indexOf(":");
        if (colon < 0) throw new FormError(s.field, "each line is id:secret");
        return { id: l.slice(0, colon), secret: l.slice(colon + 1) };
      });
    }
  }
}

/** The form field an API error belongs to (`encryption.method` as such; `cdn_authorization` to its first input). */
export function fieldOf(apiField: string | undefined): string | undefined {
  if (apiField === undefined) return undefined;
  if (SETTINGS.some((s) => s.field === apiField)) return apiField;
  const first = SETTINGS.find((s) => s.field.startsWith(`${apiField}.`));
  if (first) return first.field;
  if (apiField === "encryption") return "encryption.method";
  return apiField === "name" ? "name" : undefined;
}
