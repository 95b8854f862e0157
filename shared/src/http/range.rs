//! HTTP range requests on complete files (RFC 9110 14): `Range: bytes=first-last`, `first-`
//! and `-suffix` give 206 with `Content-Range`, a range that starts past the end gives 416 with
//! `Content-Range: bytes */len`, and every full answer says `Accept-Ranges: bytes`.
//!
//! Single ranges only. A request for several ranges gets the whole file (200), as RFC 9110
//! 14.2 lets a server ignore `Range`; so does a syntactically invalid one, a unit other than
//! `bytes`, and any request with `If-Range` (the files carry no validator to compare it with,
//! and a stale partial answer would corrupt the client's copy). See
//! `docs/timeshift-harvest.md`.

use super::{Method, Request, Response};

/// The range unit we serve (RFC 9110 14.1).
pub const BYTES: &str = "bytes";

/// An inclusive byte range within a representation: `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub first: u64,
    pub last: u64,
}

impl ByteRange {
    /// Bytes in the range (at least one).
    pub fn length(&self) -> u64 {
        self.last - self.first + 1
    }
}

/// What a request asks of a representation of known length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeRequest {
    /// No (usable) `Range`: the whole representation.
    Full,
    /// One satisfiable range, clamped to the representation.
    Partial(ByteRange),
    /// A range none of whose bytes exist (416).
    Unsatisfiable,
}

/// Digits as a `u64`, saturating (a position past 2^64 is past any file); `None` unless the
/// text is one or more ASCII digits.
fn position(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

/// Reads a `Range` value (RFC 9110 14.1.1: `bytes=first-last`, `bytes=first-`,
/// `bytes=-suffix`) against a representation of `len` bytes.
pub fn parse(value: &str, len: u64) -> RangeRequest {
    let Some((unit, ranges)) = value.trim().split_once('=') else {
        return RangeRequest::Full;
    };
    if !unit.trim().eq_ignore_ascii_case(BYTES) || ranges.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = ranges.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let range = match (first, last) {
        // suffix-range: the last `suffix` bytes.
        ("", suffix) => {
            let Some(suffix) = position(suffix) else {
                return RangeRequest::Full;
            };
            if suffix == 0 || len == 0 {
                return RangeRequest::Unsatisfiable;
            }
            ByteRange {
                first: len.saturating_sub(suffix),
                last: len - 1,
            }
        }
        (first, last) => {
            let Some(first) = position(first) else {
                return RangeRequest::Full;
            };
            let last = match last {
                "" => u64::MAX,
                text => match position(text) {
                    Some(last) if last >= first => last,
                    // last-pos below first-pos: invalid, ignored (14.1.1).
                    _ => return RangeRequest::Full,
                },
            };
            if first >= len {
                return RangeRequest::Unsatisfiable;
            }
            ByteRange {
                first,
                last: last.min(len - 1),
            }
        }
    };
    RangeRequest::Partial(range)
}

/// What `req` asks of a representation of `len` bytes: its `Range` unless `If-Range` is
/// present (see the module documentation) or the method is neither GET nor HEAD.
pub fn requested(req: &Request, len: u64) -> RangeRequest {
    if !matches!(req.method, Method::Get | Method::Head) || req.header("if-range").is_some() {
        return RangeRequest::Full;
    }
    match req.header("range") {
        Some(value) => parse(value, len),
        None => RangeRequest::Full,
    }
}

/// Answers `req` from `full`, the 200 response for a complete file of `len` bytes whose body
/// is the file, or is empty for a HEAD whose body was not built: 206 with the requested bytes
/// and `Content-Range`, 416 with `Content-Range: bytes */len`, or `full` itself, always with
/// `Accept-Ranges: bytes`. A HEAD answer carries the `Content-Length` a GET would have and no
/// body.
pub fn serve(req: &Request, full: Response, len: u64) -> Response {
    let mut response = match requested(req, len) {
        RangeRequest::Full => {
            let mut r = full;
            if req.method == Method::Head {
                r.body.clear();
                r = r.with_header("content-length", len.to_string());
            }
            r
        }
        RangeRequest::Unsatisfiable => {
            let mut r = Response::new(416).with_header("content-range", format!("bytes */{len}"));
            if req.method == Method::Head {
                r = r.with_header("content-length", "0");
            }
            r
        }
        RangeRequest::Partial(range) => {
            let mut r = full;
            r.status = 206;
            if req.method == Method::Head {
                r.body.clear();
                r = r.with_header("content-length", range.length().to_string());
            } else {
                let start = usize::try_from(range.first).unwrap_or(usize::MAX);
                let end = usize::try_from(range.last)
                    .map_or(usize::MAX, |l| l.saturating_add(1))
                    .min(r.body.len());
                r.body = r
                    .body
                    .get(start..end)
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default();
            }
            r.with_header(
                "content-range",
                format!("bytes {}-{}/{len}", range.first, range.last),
            )
        }
    };
    response.headers.retain(|(k, _)| k != "accept-ranges");
    response.with_header("accept-ranges", BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partial(first: u64, last: u64) -> RangeRequest {
        RangeRequest::Partial(ByteRange { first, last })
    }

    #[test]
    fn forms() {
        assert_eq!(parse("bytes=0-99", 1000), partial(0, 99));
        assert_eq!(parse("bytes=500-", 1000), partial(500, 999));
        assert_eq!(parse("bytes=-100", 1000), partial(900, 999));
        assert_eq!(parse("bytes=990-2000", 1000), partial(990, 999));
        assert_eq!(parse("bytes=-5000", 1000), partial(0, 999));
        assert_eq!(parse(" Bytes = 7-7 ", 1000), partial(7, 7));
        assert_eq!(parse("bytes=999-", 1000), partial(999, 999));
    }

    #[test]
    fn unsatisfiable() {
        assert_eq!(parse("bytes=1000-", 1000), RangeRequest::Unsatisfiable);
        assert_eq!(parse("bytes=1000-1001", 1000), RangeRequest::Unsatisfiable);
        assert_eq!(parse("bytes=-0", 1000), RangeRequest::Unsatisfiable);
        assert_eq!(parse("bytes=0-", 0), RangeRequest::Unsatisfiable);
        assert_eq!(parse("bytes=-1", 0), RangeRequest::Unsatisfiable);
        assert_eq!(
            parse("bytes=99999999999999999999999-", 10),
            RangeRequest::Unsatisfiable
        );
    }

    #[test]
    fn ignored() {
        for value in [
            "bytes=5-4",
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=a-b",
            "bytes=-",
            "bytes 0-1",
            "bytes=+1-2",
            "bytes=0x1-2",
            "",
        ] {
            assert_eq!(parse(value, 1000), RangeRequest::Full, "{value:?}");
        }
    }

    #[test]
    fn huge_last_is_clamped() {
        assert_eq!(parse("bytes=3-99999999999999999999999", 10), partial(3, 9));
    }
}
