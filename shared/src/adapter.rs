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
