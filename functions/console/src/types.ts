// The API's resources as the console reads them (shared/openapi.json describes them all).

export interface Group {
  name: string;
  playback_base_url: string | null;
  created_at: string;
}

export interface Input {
  id: number;
  url: string;
  username: string;
  password: string;
}

export interface Channel {
  group: string;
  name: string;
  protocol: string;
  max_segment_duration: number;
  max_playlist_duration: number;
  archive_retention: number;
  inputs: Input[];
}

export type OutputProtocol = "HLS" | "HLS_CMAF" | "DASH" | "FLV";

export interface Endpoint {
  group: string;
  channel: string;
  name: string;
  protocol: OutputProtocol;
  manifest_name: string;
  url: string;
  time_shift_days: number;
  signing_keys?: { id: string; secret: string }[];
  authorization_code?: string | null;
  [setting: string]: unknown;
}

export interface RenditionStatus {
  rendition: string;
  last_segment_at?: string;
  heartbeat_age_ms?: number;
  last_sequence?: number;
  bitrate?: number;
}

export interface InputStatus {
  id: number;
  healthy: boolean;
  active: boolean;
  last_segment_at?: string;
  renditions: RenditionStatus[];
}

export interface Switch {
  input: number;
  from_sequence: number;
  discontinuity: boolean;
  at?: string;
  reason?: string;
  media_time?: number;
}

export interface ChannelStatus {
  active_input: number | null;
  inputs: InputStatus[];
  switches: Switch[];
}

export interface HarvestJob {
  id: string;
  endpoint: string;
  start: string;
  end: string;
  destination: string;
  status: "PENDING" | "IN_PROGRESS" | "SUCCEEDED" | "FAILED";
  progress?: { segments_done: number; segments_total: number };
  asset_url?: string;
  reason?: string;
  created_at?: string;
}

export interface StatusClasses {
  "2xx": number;
  "3xx": number;
  "4xx": number;
  "5xx": number;
}

/** `GET .../endpoints/{e}/stats` (docs/stats.md, "API"). */
export interface EndpointStats {
  from: string;
  to: string;
  step: number;
  viewer_window: number;
  buckets: {
    start: string;
    requests: number;
    bytes: number;
    status: StatusClasses;
    viewers: number;
    peak_viewers: number;
    unique_viewers: number;
  }[];
  totals: { requests: number; bytes: number; status: StatusClasses; peak_viewers: number; unique_viewers: number };
}

export interface StreamSession {
  input: number;
  start: string;
  end: string;
  duration: number;
  live: boolean;
  segments: number;
  bytes: number;
  peak_viewers: number;
  cumulative_viewers: number;
}

/** `GET .../channels/{c}/stats`. */
export interface ChannelStats {
  from: string;
  to: string;
  step: number;
  ingest: {
    input: number;
    rendition: string;
    bitrate: number;
    buckets: { start: string; segments: number; bytes: number; media_seconds: number; bitrate: number }[];
  }[];
  sessions: StreamSession[];
  sessions_truncated: boolean;
}
