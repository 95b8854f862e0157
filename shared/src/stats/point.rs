//! One data point per request (docs/stats.md, "What is recorded").

use super::viewer::viewer_key;
use crate::names::Name;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// What one request contributes (serialized only by local backends, e.g. Spin's `kv`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum DataPoint {
    Play(PlayPoint),
    Ingest(IngestPoint),
}

impl DataPoint {
    /// Unix milliseconds at which it happened.
    pub fn at_ms(&self) -> u64 {
        match self {
            DataPoint::Play(p) => p.at_ms,
            DataPoint::Ingest(p) => p.at_ms,
        }
    }

    /// The group and channel it concerns (the analytics engine's sampling index).
    pub fn channel(&self) -> (&str, &str) {
        match self {
            DataPoint::Play(p) => (&p.group, &p.channel),
            DataPoint::Ingest(p) => (&p.group, &p.channel),
        }
    }
}

/// A playback answer (`/out/v1/...`): one request, or a stretch of a long-lived response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlayPoint {
    pub at_ms: u64,
    pub group: String,
    pub channel: String,
    pub endpoint: String,
    pub status: u16,
    /// Body bytes sent (0 for `HEAD`).
    pub bytes: u64,
    /// The viewer key ([`viewer_key`]) of a successful `GET`; `None` otherwise, or when the
    /// deployment records no viewer keys.
    pub viewer: Option<String>,
}

/// Segments an input committed to one rendition's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestPoint {
    pub at_ms: u64,
    pub group: String,
    pub channel: String,
    /// 1 or 2.
    pub input: u8,
    pub rendition: String,
    /// Stored size of the new segments.
    pub bytes: u64,
    /// Their media duration (EXTINF or the track's timing), milliseconds.
    pub duration_ms: u64,
}

/// How viewer keys are made for the data points of one deployment.
#[derive(Debug, Clone, Copy)]
pub struct ViewerPolicy<'a> {
    /// The HMAC key (the `STATS_SECRET`, else the admin token); `None`: no viewer keys.
    pub secret: Option<&'a [u8]>,
}

/// The data point of a playback request, or `None` when the path names no endpoint.
/// `route` is the path below `/out/v1/`; `bytes` what the answer's body carried.
pub fn play_point(
    route: &[&str],
    get: bool,
    client: Option<IpAddr>,
    user_agent: &str,
    (status, bytes): (u16, u64),
    viewers: ViewerPolicy<'_>,
    now_ms: u64,
) -> Option<PlayPoint> {
    let [g, c, e, ..] = route else {
        return None;
    };
    let (g, c, e) = (Name::parse(g)?, Name::parse(c)?, Name::parse(e)?);
    let served = get && (200..300).contains(&status);
    let viewer = viewers
        .secret
        .filter(|_| served)
        .and_then(|s| viewer_key(s, now_ms, client, user_agent));
    Some(PlayPoint {
        at_ms: now_ms,
        group: g.as_str().to_owned(),
        channel: c.as_str().to_owned(),
        endpoint: e.as_str().to_owned(),
        status,
        bytes,
        viewer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: ViewerPolicy<'static> = ViewerPolicy {
        secret: Some(b"secret"),
    };

    #[test]
    fn a_served_get_carries_a_viewer_key() {
        let ip = "192.0.2.7".parse().ok();
        let p = play_point(
            &["g", "c", "e", "1.ts"],
            true,
            ip,
            "ua",
            (200, 10),
            POLICY,
            5,
        );
        let p = p.expect("a point");
        assert_eq!((p.group.as_str(), p.endpoint.as_str()), ("g", "e"));
        assert!(p.viewer.is_some());
        let miss = play_point(&["g", "c", "e", "x"], true, ip, "ua", (404, 10), POLICY, 5);
        assert_eq!(miss.and_then(|p| p.viewer), None);
        let head = play_point(&["g", "c", "e", "x"], false, ip, "ua", (200, 0), POLICY, 5);
        assert_eq!(head.and_then(|p| p.viewer), None);
        let off = ViewerPolicy { secret: None };
        let p = play_point(&["g", "c", "e", "x"], true, ip, "ua", (200, 0), off, 5);
        assert_eq!(p.and_then(|p| p.viewer), None);
    }

    #[test]
    fn paths_without_an_endpoint_or_with_bad_names_give_none() {
        assert_eq!(
            play_point(&["g", "c"], true, None, "", (404, 0), POLICY, 0),
            None
        );
        let bad = play_point(&["g", "c", "../x"], true, None, "", (404, 0), POLICY, 0);
        assert_eq!(bad, None);
    }
}
