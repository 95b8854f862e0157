//! `/vod/v1`: the files of harvested assets, as stored.

use super::CONTENT_TYPE;
use crate::error::{OriginError, OriginResult};
use crate::http::range::{self, RangeRequest};
use crate::http::{Method, Request, Response};
use crate::keys;
use crate::store::ObjectStore;

/// Largest answer body read in one piece; longer answers (an hours-long recording) stream
/// in pieces of this size, so memory stays bounded whatever the file's length.
pub const SERVE_PIECE_BYTES: u64 = 4 << 20;

/// The rest of a long answer: `key`'s bytes `next..end`, read a piece at a time.
pub struct ObjectBody {
    key: String,
    next: u64,
    end: u64,
}

impl ObjectBody {
    /// The next piece; `None` at the end (or when the object went away: the answer is cut
    /// short, which the client sees as a short body).
    pub async fn next_chunk(&mut self, objects: &impl ObjectStore) -> Option<Vec<u8>> {
        if self.next >= self.end {
            return None;
        }
        let to = self.end.min(self.next + SERVE_PIECE_BYTES);
        let piece = objects.get_range(&self.key, self.next..to).await.ok()??;
        if piece.is_empty() {
            return None;
        }
        self.next += piece.len() as u64;
        Some(piece)
    }
}

/// `GET|HEAD /vod/v1/{destination}/{job_id}/{path}`: a file of a finished (or partly copied)
/// asset, as stored. Manifests appear only when every file is in place. Single byte ranges
/// are served ([`range`]); HEAD answers from the object's size without reading the body; an
/// answer longer than [`SERVE_PIECE_BYTES`] streams (the returned [`ObjectBody`]).
pub(crate) async fn serve(
    objects: &impl ObjectStore,
    req: &Request,
    rest: &[&str],
) -> OriginResult<(Response, Option<ObjectBody>)> {
    if !matches!(req.method, Method::Get | Method::Head) {
        return Err(OriginError::MethodNotAllowed);
    }
    let path = rest.join("/");
    let not_found = || OriginError::NotFound(format!("asset file {path}"));
    if rest.len() < 3 || rest.iter().any(|p| p.is_empty() || *p == "." || *p == "..") {
        return Err(not_found());
    }
    let key = keys::vod(&path);
    let info = objects.head(&key).await?.ok_or_else(not_found)?;
    let ct = info
        .metadata
        .get(CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| "application/octet-stream".into());
    let len = info.size;
    let full = Response::new(200).with_body(&ct, Vec::new()).with_header(
        "cache-control",
        crate::playback::CacheControl::Segment.value(),
    );
    let span = match range::requested(req, len) {
        RangeRequest::Full => 0..len,
        RangeRequest::Partial(r) => r.first..r.last + 1,
        RangeRequest::Unsatisfiable => 0..0,
    };
    if req.method == Method::Head || span.is_empty() {
        return Ok((range::serve(&head_of(req), full, len), None));
    }
    // The head as for a HEAD (status, Content-Range, Content-Length), then the body.
    let mut response = range::serve(&head_of(req), full, len);
    let first_end = span.end.min(span.start + SERVE_PIECE_BYTES);
    response.body = objects
        .get_range(&key, span.start..first_end)
        .await?
        .ok_or_else(not_found)?;
    let rest = (first_end < span.end).then_some(ObjectBody {
        key,
        next: first_end,
        end: span.end,
    });
    // The platform sets the length of a body it has whole, and streams the rest chunked
    // (`Content-Range` still tells the client the total).
    response.headers.retain(|(k, _)| k != "content-length");
    Ok((response, rest))
}

/// `req` as a HEAD: [`range::serve`] then answers with the headers only.
fn head_of(req: &Request) -> Request {
    let mut head = req.clone();
    head.method = Method::Head;
    head
}
