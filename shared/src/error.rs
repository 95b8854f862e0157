//! The origin-level error: every failure the core reports maps to one HTTP status and a JSON body.
//! Messages never contain secrets.

use crate::auth::RandomError;
use crate::http::Response;
use crate::store::StoreError;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginError {
    /// A request the API cannot read (bad JSON, unknown field, wrong type).
    BadRequest(String),
    /// A setting outside its allowed values.
    InvalidField {
        field: &'static str,
        allowed: String,
    },
    /// A playlist the ingest could not accept; the reason comes from the parser or the check.
    MalformedPlaylist(String),
    /// Missing or wrong admin token.
    Unauthorized,
    /// Missing or wrong ingest credentials; answered with a Basic challenge.
    IngestUnauthorized,
    /// Too many failed ingest logins from one address.
    TooManyAttempts {
        retry_after_s: u64,
    },
    /// An endpoint access control refused the request; the text names the control.
    Forbidden(&'static str),
    NotFound(String),
    MethodNotAllowed,
    Conflict(String),
    PayloadTooLarge {
        limit: usize,
    },
    UnsupportedMediaType(String),
    /// The deployment is missing a setting (e.g. the admin token secret).
    NotConfigured(&'static str),
    /// A stored segment could not be packaged (the remux refused it).
    Media(String),
    /// The platform's random source failed.
    Random(RandomError),
    Storage(StoreError),
}

impl OriginError {
    pub fn status(&self) -> u16 {
        match self {
            OriginError::BadRequest(_)
            | OriginError::InvalidField { .. }
            | OriginError::MalformedPlaylist(_) => 400,
            OriginError::Unauthorized | OriginError::IngestUnauthorized => 401,
            OriginError::Forbidden(_) => 403,
            OriginError::TooManyAttempts { .. } => 429,
            OriginError::NotFound(_) => 404,
            OriginError::MethodNotAllowed => 405,
            OriginError::Conflict(_) => 409,
            OriginError::PayloadTooLarge { .. } => 413,
            OriginError::UnsupportedMediaType(_) => 415,
            OriginError::NotConfigured(_) | OriginError::Random(_) | OriginError::Media(_) => 500,
            OriginError::Storage(_) => 503,
        }
    }

    pub fn into_response(self) -> Response {
        if let OriginError::Forbidden(reason) = self {
            // No body: a denial tells nothing about the content.
            return Response::new(403)
                .with_header("x-edgepack-denied", reason)
                .with_header("cache-control", "private, no-store");
        }
        let mut body = serde_json::json!({ "error": self.to_string() });
        if let OriginError::InvalidField { field, allowed } = &self {
            body["field"] = serde_json::Value::from(*field);
            body["allowed"] = serde_json::Value::from(allowed.as_str());
        }
        let mut response = Response::new(self.status())
            .with_body("application/json", body.to_string())
            .with_header("cache-control", "no-store");
        if let OriginError::TooManyAttempts { retry_after_s } = self {
            response = response.with_header("retry-after", retry_after_s.to_string());
        }
        if self == OriginError::Unauthorized {
            response = response.with_header("www-authenticate", "Bearer realm=\"edgepack api\"");
        }
        if self == OriginError::IngestUnauthorized {
            response = response.with_header("www-authenticate", "Basic realm=\"edgepack ingest\"");
        }
        response
    }

    pub fn invalid(field: &'static str, allowed: impl Into<String>) -> OriginError {
        OriginError::InvalidField {
            field,
            allowed: allowed.into(),
        }
    }
}

impl fmt::Display for OriginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginError::BadRequest(m) => write!(f, "bad request: {m}"),
            OriginError::InvalidField { field, allowed } => {
                write!(f, "invalid value for `{field}`: allowed {allowed}")
            }
            OriginError::MalformedPlaylist(m) => write!(f, "malformed playlist: {m}"),
            OriginError::Unauthorized => f.write_str("missing or invalid admin bearer token"),
            OriginError::IngestUnauthorized => f.write_str("missing or invalid ingest credentials"),
            OriginError::TooManyAttempts { retry_after_s } => write!(
                f,
                "too many failed logins from this address; retry in {retry_after_s} s"
            ),
            OriginError::Forbidden(reason) => write!(f, "forbidden: {reason}"),
            OriginError::NotFound(what) => write!(f, "not found: {what}"),
            OriginError::MethodNotAllowed => f.write_str("method not allowed"),
            OriginError::Conflict(m) => write!(f, "conflict: {m}"),
            OriginError::PayloadTooLarge { limit } => {
                write!(f, "request body exceeds {limit} bytes")
            }
            OriginError::UnsupportedMediaType(m) => write!(f, "unsupported file type: {m}"),
            OriginError::NotConfigured(what) => write!(f, "deployment not configured: {what}"),
            OriginError::Random(m) => write!(f, "random source failed: {m}"),
            OriginError::Media(m) => write!(f, "segment could not be packaged: {m}"),
            OriginError::Storage(e) => write!(f, "{e}"),
        }
    }
}

impl From<StoreError> for OriginError {
    fn from(e: StoreError) -> Self {
        OriginError::Storage(e)
    }
}

pub type OriginResult<T> = Result<T, OriginError>;
