//! `/vod/v1`: the files of harvested assets, as stored.

use super::CONTENT_TYPE;
use crate::error::{OriginError, OriginResult};
use crate::http::{Method, Request, Response};
use crate::keys;
use crate::store::ObjectStore;

/// `GET|HEAD /vod/v1/{destination}/{job_id}/{path}`: a file of a finished (or partly copied)
/// asset, as stored. Manifests appear only when every file is in place.
pub(crate) async fn serve(
    objects: &impl ObjectStore,
    req: &Request,
    rest: &[&str],
) -> OriginResult<Response> {
    if !matches!(req.method, Method::Get | Method::Head) {
        return Err(OriginError::MethodNotAllowed);
    }
    let path = rest.join("/");
    let not_found = || OriginError::NotFound(format!("asset file {path}"));
    if rest.len() < 3 || rest.iter().any(|p| p.is_empty() || *p == "." || *p == "..") {
        return Err(not_found());
    }
    let object = objects
        .get(&keys::vod(&path))
        .await?
        .ok_or_else(not_found)?;
    let ct = object
        .metadata
        .get(CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| "application/octet-stream".into());
    Ok(Response::new(200).with_body(&ct, object.body).with_header(
        "cache-control",
        crate::playback::CacheControl::Segment.value(),
    ))
}
