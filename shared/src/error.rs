//! The origin-level error: every failure the core reports maps to one HTTP status and a JSON body.

use crate::http::Response;
use crate::store::StoreError;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginError {
    NotFound(String),
    PayloadTooLarge { limit: usize },
    Storage(StoreError),
}

impl OriginError {
    pub fn status(&self) -> u16 {
        match self {
            OriginError::NotFound(_) => 404,
            OriginError::PayloadTooLarge { .. } => 413,
            OriginError::Storage(_) => 503,
        }
    }

    pub fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.to_string() });
        Response::new(self.status()).with_body("application/json", body.to_string())
    }
}

impl fmt::Display for OriginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginError::NotFound(what) => write!(f, "not found: {what}"),
            OriginError::PayloadTooLarge { limit } => {
                write!(f, "request body exceeds {limit} bytes")
            }
            OriginError::Storage(e) => write!(f, "{e}"),
        }
    }
}

impl From<StoreError> for OriginError {
    fn from(e: StoreError) -> Self {
        OriginError::Storage(e)
    }
}
