//! Cloudflare's Cache API (the data center's cache) for immutable playback objects: a segment
//! or init segment the core marked with `x-edgepack-edge-cache` is kept by URL, and the next
//! GET for that URL in the same data center is answered from it with no storage read
//! (docs/storage.md, "Edge cache").

use edgepack::adapter::EDGE_CACHE_HEADER;
use worker::{Cache, Context, Headers, Response, ResponseBuilder};

/// Where a cached copy keeps the core's `Cache-Control` (its own says how long it stays).
const ORIGINAL_CACHE_CONTROL: &str = "x-edgepack-cache-control";

/// The cache key of a request that may be answered from the cache: a GET of a playback or VOD
/// file without `Range` (ranged answers are not kept).
pub fn key(req: &worker::Request) -> Option<String> {
    let url = req.url().ok()?;
    let playback = url.path().starts_with("/out/v1/") || url.path().starts_with("/vod/v1/");
    let ranged = req.headers().get("range").ok().flatten().is_some();
    (req.method() == worker::Method::Get && playback && !ranged).then(|| url.to_string())
}

/// The cached answer for `key`, marked `x-edgepack-cache: HIT` (on a copy of its headers: a
/// cached response's own are immutable).
pub async fn lookup(key: &str) -> Option<Response> {
    let hit = Cache::default().get(key, false).await.ok()??;
    let headers = hit.headers().clone();
    headers.set("x-edgepack-cache", "HIT").ok()?;
    // Clients get the Cache-Control the core gave, not the copy's lifetime here.
    if let Some(original) = headers.get(ORIGINAL_CACHE_CONTROL).ok().flatten() {
        headers.set("cache-control", &original).ok()?;
        headers.delete(ORIGINAL_CACHE_CONTROL).ok()?;
    }
    let status = hit.status_code();
    let (_, body) = hit.into_parts();
    Some(
        ResponseBuilder::new()
            .with_status(status)
            .with_headers(headers)
            .body(body),
    )
}

/// Whether the core allowed the edge to keep `resp`, and for how long (seconds).
pub fn ttl(resp: &edgepack::Response) -> Option<u64> {
    resp.header(EDGE_CACHE_HEADER)?.parse().ok()
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
