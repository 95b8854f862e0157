//! A harvest job's stored state and its JSON view.

use crate::datetime::iso8601_ms;
use crate::media::flv::FlvMuxer;
use crate::model::Endpoint;
use crate::names::{Name, Rendition};
use crate::playback::recording::FilePart;
use crate::store::UploadedPart;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Accepted; waiting for the window's last segment to arrive, or for its first batch.
    Pending,
    /// The file list is fixed; segments are being copied.
    InProgress,
    /// Every file and the manifests are in the asset.
    Succeeded,
    /// Stopped; `reason` says why. Manifests were not written, so nothing plays.
    Failed,
}

impl Status {
    pub fn finished(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed)
    }
}

/// What a job makes: the endpoint's HLS/DASH asset as files, or one MP4 or FLV file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Format {
    /// The endpoint's manifests and segments (HLS, HLS-CMAF or DASH, as the endpoint serves).
    #[default]
    Hls,
    /// One progressive MP4 file (`moov` before `mdat`).
    Mp4,
    /// One FLV file.
    Flv,
}

impl Format {
    pub const ALLOWED: &'static str =
        "\"HLS\" (the endpoint's manifests and segments), \"MP4\" or \"FLV\" (one file)";

    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "HLS" => Some(Format::Hls),
            "MP4" => Some(Format::Mp4),
            "FLV" => Some(Format::Flv),
            _ => None,
        }
    }

    /// The recording's file name, for single-file formats.
    pub fn file_name(self) -> Option<&'static str> {
        match self {
            Format::Hls => None,
            Format::Mp4 => Some("recording.mp4"),
            Format::Flv => Some("recording.flv"),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Mp4 => "video/mp4",
            Format::Flv => "video/x-flv",
            Format::Hls => "application/octet-stream",
        }
    }
}

/// Where a single-file recording is (`docs/timeshift-harvest.md#recordings`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    /// Output segments ([`Plan::parts`]) in the file.
    pub total: u64,
    /// Parts whose sample tables are in the index (MP4's first pass).
    pub indexed: u64,
    /// Parts whose bytes are in uploaded parts or in the tail object.
    pub written: u64,
    /// The multipart upload, once started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
    /// Parts uploaded so far, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uploaded: Vec<UploadedPart>,
    /// Bytes held in the tail object `hv/rec/{job}/tail/{written}` (less than a part).
    #[serde(default)]
    pub tail: u64,
    /// The file's length once known (MP4: after the first pass; FLV: at the end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_total: Option<u64>,
    /// The FLV muxer between batches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flv: Option<FlvMuxer>,
}

impl Recording {
    /// Steps done: each part indexed, the header, each part written (a batch's lease counter).
    pub fn step(&self) -> u64 {
        self.indexed + u64::from(self.upload_id.is_some()) + self.written
    }

    /// Bytes of the file made so far: uploaded parts and the tail.
    pub fn bytes_written(&self) -> u64 {
        self.uploaded.iter().map(|p| p.size).sum::<u64>() + self.tail
    }
}

/// A job, one object in R2, replaced only by conditional puts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub group: Name,
    pub channel: Name,
    /// Storage id of the channel incarnation the job reads.
    pub channel_id: String,
    pub endpoint: Name,
    pub start_ms: i64,
    pub end_ms: i64,
    pub destination: String,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub segments_done: u64,
    pub segments_total: u64,
    /// What the job makes.
    #[serde(default)]
    pub format: Format,
    /// Bytes stored in the asset so far (HLS: files copied).
    #[serde(default)]
    pub bytes_written: u64,
    /// A single-file recording's progress (formats MP4 and FLV).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<Recording>,
    /// The asset's manifest file name (`manifest.m3u8`, `manifest.mpd`).
    pub manifest: String,
    /// The file list is fixed no earlier than this (the window's end plus the channel's
    /// maximum segment duration, by which the last segment has arrived or its input is down).
    pub settle_at_ms: u64,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at_ms: Option<u64>,
    /// The endpoint's settings when the job was created (packaging stays the same throughout).
    pub settings: Endpoint,
}

impl Job {
    /// Asset path below `/vod/v1/` and `vod/` in the bucket.
    pub fn asset_dir(&self) -> String {
        format!("{}/{}/", self.destination, self.id)
    }

    /// Starts copying `plan`: in progress, with its totals.
    pub fn start(&mut self, plan: &Plan) {
        self.status = Status::InProgress;
        if self.format == Format::Hls {
            self.segments_total = plan.files.len() as u64;
        } else {
            self.segments_total = plan.parts.len() as u64;
            self.recording = Some(Recording {
                total: plan.parts.len() as u64,
                ..Recording::default()
            });
        }
    }

    /// Percent done (100 only once the job succeeded): files for HLS; for MP4 the first pass
    /// (sample tables) and the writing count half each; for FLV the parts written.
    pub fn percent(&self) -> u64 {
        if self.status == Status::Succeeded {
            return 100;
        }
        let (done, total) = match (&self.recording, self.format) {
            (Some(r), Format::Mp4) => (r.indexed + r.written, 2 * r.total),
            (Some(r), _) => (r.written, r.total),
            (None, _) => (self.segments_done, self.segments_total),
        };
        (done * 100).checked_div(total).unwrap_or(0).min(99)
    }

    fn progress(&self) -> Value {
        let mut p = json!({
            "segments_done": self.segments_done,
            "segments_total": self.segments_total,
            "percent": self.percent(),
            "bytes_written": self.bytes_written,
        });
        if let Some(total) = self.recording.as_ref().and_then(|r| r.bytes_total) {
            p["bytes_total"] = Value::from(total);
        }
        p
    }

    pub fn view(&self, playback_base: &str) -> Value {
        let t = |ms: i64| iso8601_ms(ms);
        let u = |ms: u64| iso8601_ms(i64::try_from(ms).unwrap_or(i64::MAX));
        let mut v = json!({
            "id": self.id,
            "group": self.group,
            "channel": self.channel,
            "endpoint": self.endpoint,
            "protocol": self.settings.protocol,
            "start": t(self.start_ms),
            "end": t(self.end_ms),
            "destination": self.destination,
            "status": self.status,
            "format": self.format,
            "progress": self.progress(),
            "asset_url": format!("{playback_base}/vod/v1/{}{}", self.asset_dir(), self.manifest),
            "created_at": u(self.created_at_ms),
            "updated_at": u(self.updated_at_ms),
        });
        if let Some(reason) = &self.reason {
            v["reason"] = Value::from(reason.as_str());
        }
        if let Some(f) = self.finished_at_ms {
            v["finished_at"] = Value::from(u(f));
        }
        v
    }
}

/// The fixed file list of a job, written once when the job starts copying.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Init and media segments, in copy order (relative to the asset directory).
    pub files: Vec<String>,
    /// Manifests with time-shift parameters removed, written after every file.
    pub manifests: Vec<ManifestFile>,
    /// A single-file recording's output segments, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<FilePart>,
    /// The video rendition they come from (for error context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rendition: Option<Rendition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub path: String,
    pub content_type: String,
    pub body: String,
}

/// Rule of the `destination` field.
pub const DESTINATION_RULE: &str =
    "a path prefix of 1-200 characters of A-Z a-z 0-9 . _ - /, without empty, `.` or `..` parts \
     and without a leading or trailing `/`";

/// Longest `destination`.
pub const MAX_DESTINATION_LEN: usize = 200;

pub fn parse_destination(s: &str) -> Option<String> {
    let ok = !s.is_empty()
        && s.len() <= MAX_DESTINATION_LEN
        && s.split('/').all(|p| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        });
    ok.then(|| s.to_owned())
}
