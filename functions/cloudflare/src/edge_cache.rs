//! Cloudflare's Cache API (the data center's cache) for immutable playback files. The core
//! looks a file up through [`lookup`] once the endpoint's access checks have passed, and marks
//! what may be kept with `x-edgepack-edge-cache` (seconds) and `x-edgepack-edge-key` (the key
//! it looks up); [`store`] keeps such an answer after it is sent (docs/storage.md, "Edge
//! cache").

use edgepack::adapter::{EDGE_CACHE_HEADER, EDGE_CACHE_KEY_HEADER};
use edgepack::context::EdgeLookupFuture;
use worker::{Cache, Context, Headers, Response};

/// Where a cached copy keeps the core's `Cache-Control` (its own says how long it stays).
const ORIGINAL_CACHE_CONTROL: &str = "x-edgepack-cache-control";

/// The core's [`edgepack::context::EdgeLookup`]: the copy kept under `key`, as the core gave
/// it (status, content type, `Cache-Control`, body).
pub fn lookup(key: String) -> EdgeLookupFuture {
    Box::pin(async move { read(&key).await })
}

async fn read(key: &str) -> Option<edgepack::Response> {
    let mut hit = Cache::default().get(key, false).await.ok()??;
    let headers = hit.headers().clone();
    let content_type = headers
        .get("content-type")
        .ok()
        .flatten()
        .unwrap_or_default();
    let original = headers.get(ORIGINAL_CACHE_CONTROL).ok().flatten();
    let status = hit.status_code();
    let body = hit.bytes().await.ok()?;
    let copy = edgepack::Response::new(status).with_body(&content_type, body);
    Some(match original {
        Some(cache_control) => copy.with_header("cache-control", cache_control),
        None => copy,
    })
}

/// The key and lifetime (seconds) the core allowed the edge to keep `resp` under.
pub fn hint(resp: &edgepack::Response) -> Option<(String, u64)> {
    let ttl = resp.header(EDGE_CACHE_HEADER)?.parse().ok()?;
    Some((resp.header(EDGE_CACHE_KEY_HEADER)?.to_owned(), ttl))
}

/// Keeps a copy of `resp` under `key` for `ttl_s` after the answer is sent (`wait_until`).
pub fn store(ctx: &Context, key: String, resp: &mut Response, ttl_s: u64) {
    let mut copy = match resp.cloned() {
        Ok(copy) => copy,
        Err(e) => return worker::console_error!("edge cache copy: {e}"),
    };
    // The copy's own lifetime in this cache; the core's Cache-Control rides along for clients.
    let headers: &mut Headers = copy.headers_mut();
    let original = headers
        .get("cache-control")
        .ok()
        .flatten()
        .unwrap_or_default();
    let set = headers
        .set(ORIGINAL_CACHE_CONTROL, &original)
        .and_then(|()| headers.set("cache-control", &format!("public, max-age={ttl_s}")));
    if let Err(e) = set {
        return worker::console_error!("edge cache header: {e}");
    }
    ctx.wait_until(async move {
        if let Err(e) = Cache::default().put(key.as_str(), copy).await {
            worker::console_error!("edge cache put: {e}");
        }
    });
}
