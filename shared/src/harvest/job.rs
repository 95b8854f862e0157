//! A harvest job's stored state and its JSON view.

use crate::datetime::iso8601_ms;
use crate::model::Endpoint;
use crate::names::Name;
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
            "progress": {
                "segments_done": self.segments_done,
                "segments_total": self.segments_total,
            },
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
