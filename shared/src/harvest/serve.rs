//! `/vod/v1`: the files of harvested assets, as stored.

use super::CONTENT_TYPE;
use crate::error::{OriginError, OriginResult};
use crate::http::{range, Method, Request, Response};
use crate::keys;
use crate::store::ObjectStore;

/// `GET|HEAD /vod/v1/{destination}/{job_id}/{path}`: a file of a finished (or partly copied)
/// asset, as stored. Manifests appear only when every file is in place. Single byte ranges
/// are served ([`range`]); HEAD answers from the object listing without reading the body.
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
    let key = keys::vod(&path);
    let content_type = |metadata: &crate::store::Metadata| {
        metadata
            .get(CONTENT_TYPE)
            .cloned()
            .unwrap_or_else(|| "application/octet-stream".into())
    };
    let full = |ct: &str, body: Vec<u8>| {
        Response::new(200).with_body(ct, body).with_header(
            "cache-control",
            crate::playback::CacheControl::Segment.value(),
        )
    };
    if req.method == Method::Head {
        // The length and type from the listing: the body is not read.
        let info = objects
            .list(&key)
            .await?
            .into_iter()
            .find(|o| o.key == key)
            .ok_or_else(not_found)?;
        let ct = content_type(&info.metadata);
        return Ok(range::serve(req, full(&ct, Vec::new()), info.size));
    }
    let object = objects.get(&key).await?.ok_or_else(not_found)?;
    let len = u64::try_from(object.body.len()).unwrap_or(u64::MAX);
    let ct = content_type(&object.metadata);
    Ok(range::serve(req, full(&ct, object.body), len))
}
