//! Caching and CORS headers of playback responses.

use super::blocking::WAIT_TARGET_DURATIONS;
use crate::http::Response;

/// How long a CDN or player may keep a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheControl {
    /// Master playlists change only when renditions come or go.
    Master,
    /// Live media playlists: about half a target duration, at least one second.
    Media { target_duration: u64 },
    /// A blocking reload's answer (`_HLS_msn=n`): it lists segment `n`, so it stays a right
    /// answer to its URL while newer ones appear. Kept as long as such a request may wait
    /// (three target durations): a CDN then answers every player asking for `n` from one
    /// origin response, which only needs `_HLS_msn` in its cache key.
    Blocking { target_duration: u64 },
    /// A segment under its URL never changes.
    Segment,
    /// Not-found answers: short, so content appears as soon as it exists.
    NotFound,
}

/// Master playlist lifetime in seconds: new renditions show up within it.
const MASTER_MAX_AGE: u64 = 2;
/// Segment lifetime in seconds: a year, the conventional "forever".
const SEGMENT_MAX_AGE: u64 = 31_536_000;

impl CacheControl {
    pub fn value(self) -> String {
        match self {
            CacheControl::Master => format!("public, max-age={MASTER_MAX_AGE}"),
            CacheControl::Media { target_duration } => {
                format!("public, max-age={}", (target_duration / 2).max(1))
            }
            CacheControl::Blocking { target_duration } => {
                let max_age = WAIT_TARGET_DURATIONS.saturating_mul(target_duration);
                format!("public, max-age={max_age}")
            }
            CacheControl::Segment => format!("public, max-age={SEGMENT_MAX_AGE}, immutable"),
            CacheControl::NotFound => "public, max-age=1".to_owned(),
        }
    }
}

/// Adds the CORS headers every playback response carries (players run on other origins).
pub fn with_cors(response: Response) -> Response {
    response
        .with_header("access-control-allow-origin", "*")
        .with_header(
            "access-control-expose-headers",
            "content-length, content-type, date, age, x-edgepack-denied",
        )
}

/// Answer to a CORS preflight (`OPTIONS`).
pub fn cors_preflight() -> Response {
    with_cors(Response::new(204))
        .with_header("access-control-allow-methods", "GET, HEAD, OPTIONS")
        .with_header(
            "access-control-allow-headers",
            "authorization, x-tencent-package, range, content-type",
        )
        .with_header("access-control-max-age", "86400")
}

/// Marks a response for the requesting client only (RFC 9111 5.2.2.7): endpoints whose access
/// depends on request headers or the client address must not be served from shared caches.
pub fn private(mut response: Response) -> Response {
    for (k, v) in &mut response.headers {
        if k == "cache-control" {
            *v = v.replace("public", "private");
        }
    }
    response
}
