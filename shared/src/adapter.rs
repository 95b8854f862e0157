//! What the platform adapters in `functions/` share: the answers they give for failures found
//! before the core runs, the request body limit, and the statuses that carry no body.

use crate::error::OriginError;
use crate::http::Response;

pub use crate::http::MAX_BODY_BYTES;

/// The answer when a request body exceeds [`MAX_BODY_BYTES`].
pub fn payload_too_large() -> Response {
    OriginError::PayloadTooLarge {
        limit: MAX_BODY_BYTES,
    }
    .into_response()
}

/// A JSON error in the core's shape (`{"error": message}`), for failures found before the core
/// runs (a missing binding, an unreadable URL). `message` must hold no secret.
pub fn error_response(status: u16, message: &str) -> Response {
    let body = serde_json::json!({ "error": message }).to_string();
    Response::new(status).with_body("application/json", body)
}

/// Fetch's "null body status" (101, 103, 204, 205, 304): the response must carry no body.
pub fn null_body_status(status: u16) -> bool {
    matches!(status, 101 | 103 | 204 | 205 | 304)
}

/// Header naming how long (seconds) the platform's own cache may keep a response (Cloudflare's
/// Cache API in the Worker adapter, docs/storage.md "Edge cache"), set only on immutable
/// playback answers to GETs; the adapter removes it before answering.
pub const EDGE_CACHE_HEADER: &str = "x-edgepack-edge-cache";

/// Header naming the key to keep such a response under (the core's lookup uses the same key);
/// removed before answering like [`EDGE_CACHE_HEADER`].
pub const EDGE_CACHE_KEY_HEADER: &str = "x-edgepack-edge-key";

/// How long an edge keeps a segment. Its bytes never change under its key (the key names the
/// channel's storage id and the endpoint's settings); the bound only frees the cache of
/// segments that left the archive.
pub const EDGE_CACHE_SECONDS: u64 = 600;

/// Whether a response header is the core's hint to the adapter, never sent to clients.
pub fn internal_header(name: &str) -> bool {
    name.eq_ignore_ascii_case(EDGE_CACHE_HEADER) || name.eq_ignore_ascii_case(EDGE_CACHE_KEY_HEADER)
}

/// Whether a request must be answered in full even when its client goes away first: an
/// encoder's upload (`/in/v1/...`). ffmpeg closes an upload's connection as soon as the body is
/// sent, without waiting for the answer; a platform that cancels a request when its client
/// disconnects (a Cloudflare Worker) would drop a segment half stored when the answer comes
/// late, as it does under load. The Worker keeps such a request alive with `waitUntil`.
pub fn outlives_client(path: &str) -> bool {
    path.starts_with("/in/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_uploads_outlive_their_client() {
        assert!(outlives_client("/in/v1/g/c/1/stream_0/seg_00001.ts"));
        assert!(outlives_client("/in/v1/g/c/2/index.m3u8"));
        for path in [
            "/out/v1/g/c/e/manifest.m3u8",
            "/api/v1/groups",
            "/console/",
            "/",
        ] {
            assert!(!outlives_client(path), "{path}");
        }
    }
}
