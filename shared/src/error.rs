//! The origin-level error: every failure the core reports maps to one HTTP status and a JSON body.
//! Messages never contain secrets.

use crate::auth::RandomError;
use crate::drm::DrmError;
use crate::http::Response;
use crate::media::mp4::MuxError;
use crate::media::remux::RemuxError;
use crate::media::ts::filter::FilterError;
use crate::store::StoreError;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginError {
    /// A request the API cannot read (bad JSON, wrong type).
    BadRequest(String),
    /// A body field the resource does not have (a typo never passes silently); the answer
    /// names it in `field`, and `allowed` lists the known fields.
    UnknownField {
        field: String,
        known: String,
    },
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
    /// A media segment before the init segment it needs (DASH-IF ingest: 412).
    PreconditionFailed(String),
    PayloadTooLarge {
        limit: usize,
    },
    UnsupportedMediaType(String),
    /// The deployment is missing a setting (e.g. the admin token secret).
    NotConfigured(&'static str),
    /// Stored media could not be packaged: which, where and why ([`MediaError`]).
    Media(Box<MediaError>),
    /// A blocking playlist reload waited as long as it may (RFC 8216bis 6.2.5.2: three target
    /// durations) and the segment asked for is still not there.
    ReloadTimeout {
        msn: u64,
        waited_ms: u64,
    },
    /// The key provider of an encrypted endpoint gave no usable keys (down, slow, refusing,
    /// or a bad answer): 504 when it timed out, else 502. No media is served meanwhile.
    KeyProvider(DrmError),
    /// The endpoint's setting is valid but its packaging is not available yet (e.g. a sample
    /// encryption method): 501, and nothing is served in the clear instead.
    NotImplemented(String),
    /// The platform's random source failed.
    Random(RandomError),
    Storage(StoreError),
}

impl OriginError {
    pub fn status(&self) -> u16 {
        match self {
            OriginError::BadRequest(_)
            | OriginError::UnknownField { .. }
            | OriginError::InvalidField { .. }
            | OriginError::MalformedPlaylist(_) => 400,
            OriginError::Unauthorized | OriginError::IngestUnauthorized => 401,
            OriginError::Forbidden(_) => 403,
            OriginError::TooManyAttempts { .. } => 429,
            OriginError::NotFound(_) => 404,
            OriginError::MethodNotAllowed => 405,
            OriginError::Conflict(_) => 409,
            OriginError::PreconditionFailed(_) => 412,
            OriginError::PayloadTooLarge { .. } => 413,
            OriginError::UnsupportedMediaType(_) => 415,
            OriginError::NotConfigured(_) | OriginError::Random(_) | OriginError::Media(_) => 500,
            OriginError::Storage(_) | OriginError::ReloadTimeout { .. } => 503,
            OriginError::NotImplemented(_) => 501,
            OriginError::KeyProvider(DrmError::Timeout { .. }) => 504,
            OriginError::KeyProvider(_) => 502,
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
        match &self {
            OriginError::InvalidField { field, allowed } => {
                body["field"] = serde_json::Value::from(*field);
                body["allowed"] = serde_json::Value::from(allowed.as_str());
            }
            OriginError::UnknownField { field, known } => {
                body["field"] = serde_json::Value::from(field.as_str());
                body["allowed"] = serde_json::Value::from(known.as_str());
            }
            _ => {}
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
            OriginError::UnknownField { field, known } => {
                write!(f, "bad request: unknown field `{field}`; known fields: {known}")
            }
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
            OriginError::PreconditionFailed(m) => write!(f, "precondition failed: {m}"),
            OriginError::PayloadTooLarge { limit } => {
                write!(f, "request body exceeds {limit} bytes")
            }
            OriginError::UnsupportedMediaType(m) => write!(f, "unsupported file type: {m}"),
            OriginError::NotConfigured(what) => write!(f, "deployment not configured: {what}"),
            OriginError::ReloadTimeout { msn, waited_ms } => write!(
                f,
                "segment {msn} is not in the playlist after waiting {waited_ms} ms; reload the playlist"
            ),
            OriginError::Random(m) => write!(f, "random source failed: {m}"),
            OriginError::KeyProvider(e) => write!(f, "no content keys: {e}"),
            OriginError::NotImplemented(m) => write!(f, "not available yet: {m}"),
            OriginError::Media(e) => write!(f, "segment could not be packaged: {e}"),
            OriginError::Storage(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for OriginError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OriginError::Media(e) => Some(e.as_ref()),
            OriginError::Random(e) => Some(e),
            OriginError::KeyProvider(e) => Some(e),
            OriginError::Storage(e) => Some(e),
            _ => None,
        }
    }
}

/// Why stored media could not be packaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaCause {
    /// The TS segment did not remux (demux, codec or mux failure).
    Remux(RemuxError),
    /// A box could not be written.
    Mux(MuxError),
    /// Audio separation found no stream to keep.
    Filter(FilterError),
    /// A manifest rendered for a harvest could not be turned into the asset's.
    Manifest { path: String, problem: &'static str },
    /// Sample encryption (cenc, cbcs) failed: never served in the clear instead.
    Encrypt(crate::media::cenc::CencError),
}

impl fmt::Display for MediaCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaCause::Remux(e) => e.fmt(f),
            MediaCause::Mux(e) => e.fmt(f),
            MediaCause::Filter(e) => e.fmt(f),
            MediaCause::Manifest { path, problem } => write!(f, "manifest {path}: {problem}"),
            MediaCause::Encrypt(e) => write!(f, "encryption: {e}"),
        }
    }
}

/// Stored media the packager could not use, with what it concerns: the rendition, the output
/// sequence number and the storage key of the input segment. The message
/// names the rendition and the segment (both public in URLs), never the storage key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaError {
    pub rendition: Option<String>,
    pub sequence: Option<u64>,
    pub key: Option<String>,
    pub cause: MediaCause,
}

impl MediaError {
    pub fn new(cause: MediaCause) -> MediaError {
        MediaError {
            rendition: None,
            sequence: None,
            key: None,
            cause,
        }
    }

    pub fn rendition(mut self, rendition: &str) -> MediaError {
        self.rendition = Some(rendition.to_owned());
        self
    }

    pub fn sequence(mut self, sequence: u64) -> MediaError {
        self.sequence = Some(sequence);
        self
    }

    pub fn key(mut self, key: &str) -> MediaError {
        self.key = Some(key.to_owned());
        self
    }
}

impl fmt::Display for MediaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.rendition, self.sequence) {
            (Some(r), Some(n)) => write!(f, "rendition {r}, segment {n}: ")?,
            (Some(r), None) => write!(f, "rendition {r}: ")?,
            (None, Some(n)) => write!(f, "segment {n}: ")?,
            (None, None) => {}
        }
        self.cause.fmt(f)
    }
}

impl std::error::Error for MediaError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            MediaCause::Remux(e) => Some(e),
            MediaCause::Mux(e) => Some(e),
            MediaCause::Filter(e) => Some(e),
            MediaCause::Manifest { .. } => None,
            MediaCause::Encrypt(e) => Some(e),
        }
    }
}

impl From<MediaError> for OriginError {
    fn from(e: MediaError) -> Self {
        OriginError::Media(Box::new(e))
    }
}

impl From<StoreError> for OriginError {
    fn from(e: StoreError) -> Self {
        OriginError::Storage(e)
    }
}

pub type OriginResult<T> = Result<T, OriginError>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::ts::TsError;
    use std::error::Error;

    #[test]
    fn a_media_error_keeps_its_context_and_cause() {
        let remux = RemuxError::Ts(TsError::MissingPat);
        let e: OriginError = MediaError::new(MediaCause::Remux(remux.clone()))
            .rendition("stream_0/index")
            .sequence(42)
            .key("seg/c1/1/stream_0/seg42.ts@0001795435200000")
            .into();
        assert_eq!(e.status(), 500);
        let text = e.to_string();
        assert_eq!(
            text,
            format!("segment could not be packaged: rendition stream_0/index, segment 42: {remux}")
        );
        assert!(
            !text.contains("seg/c1"),
            "the storage key stays out of answers"
        );
        let media = e.source().expect("the media error");
        let OriginError::Media(m) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(
            m.key.as_deref(),
            Some("seg/c1/1/stream_0/seg42.ts@0001795435200000")
        );
        let cause = media.source().expect("the remux error");
        assert_eq!(cause.to_string(), remux.to_string());
        assert_eq!(
            cause.source().map(ToString::to_string),
            Some(TsError::MissingPat.to_string())
        );
    }

    #[test]
    fn storage_and_random_failures_keep_their_cause() {
        let e = OriginError::from(StoreError("r2 down".into()));
        assert_eq!(
            e.source().map(ToString::to_string).as_deref(),
            Some("storage: r2 down")
        );
        let e = OriginError::Random(RandomError("no entropy".into()));
        assert_eq!(e.to_string(), "random source failed: no entropy");
        assert!(e.source().is_some());
        assert!(OriginError::MethodNotAllowed.source().is_none());
    }
}
