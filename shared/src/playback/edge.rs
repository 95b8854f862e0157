//! The platform's cache of immutable playback answers (docs/storage.md, "Edge cache"):
//! segments, init segments and clips. Playback looks them up only after the endpoint's access
//! checks and its encryption check have passed, so a cached copy never answers a request the
//! endpoint would refuse. The key names the channel's storage id and a hash of the endpoint's
//! settings: a re-created channel, or an endpoint whose settings changed (encryption turned on,
//! a new segment duration), never finds copies made before.

use super::Route;
use crate::access::TOKEN_PARAM;
use crate::adapter::{EDGE_CACHE_HEADER, EDGE_CACHE_KEY_HEADER, EDGE_CACHE_SECONDS};
use crate::http::{Method, Request, Response};
use crate::model::Endpoint;
use crate::store::content_version;

/// Header on an answer the cache gave (`HIT`); the Worker marks a kept answer `MISS`.
pub const CACHE_STATUS_HEADER: &str = "x-edgepack-cache";

/// Path below the request's origin where cache keys live (never a routable URL).
const KEY_PREFIX: &str = "/edgepack-edge-cache";

/// Whether the answer to `req` for `route` may come from, and go to, the cache: a GET or HEAD
/// of an immutable file without `Range` (ranged answers are not kept).
pub(super) fn cacheable(route: &Route, req: &Request) -> bool {
    let immutable = route.is_segment_file() || matches!(route, Route::Clip(_));
    immutable && matches!(req.method, Method::Get | Method::Head) && req.header("range").is_none()
}

/// The cache key of `req`: its URL below [`KEY_PREFIX`], the channel's storage id and the
/// endpoint's settings hash, without the signed-URL token (each viewer's token differs; the
/// token was checked before the lookup).
pub(super) fn key(req: &Request, channel_id: &str, endpoint: &Endpoint) -> String {
    let settings = serde_json::to_vec(endpoint).unwrap_or_default();
    let query: Vec<&str> = req
        .query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(TOKEN_PARAM))
        .collect();
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{}", query.join("&"))
    };
    format!(
        "{}{KEY_PREFIX}/{}/{}{}{query}",
        req.origin.trim_end_matches('/'),
        channel_id,
        content_version(&settings),
        req.path,
    )
}

/// `r` with the hint to keep it under `key`, when it is a whole immutable answer to a GET.
pub(super) fn mark(r: Response, req: &Request, key: &str) -> Response {
    let immutable = r
        .header("cache-control")
        .is_some_and(|c| c.contains("immutable"));
    if r.status == 200 && immutable && req.method == Method::Get {
        r.with_header(EDGE_CACHE_HEADER, EDGE_CACHE_SECONDS.to_string())
            .with_header(EDGE_CACHE_KEY_HEADER, key)
    } else {
        r
    }
}

/// A cached copy as playback answers it.
pub(super) fn hit(mut r: Response) -> Response {
    r.headers
        .retain(|(k, _)| !crate::adapter::internal_header(k));
    r.with_header(CACHE_STATUS_HEADER, "HIT")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(path: &str, query: &str) -> Request {
        let mut req = Request::new(Method::Get, path);
        req.query = query.to_owned();
        req
    }

    #[test]
    fn the_key_leaves_out_the_token_and_keeps_the_rest_of_the_query() {
        let channel = "id1";
        let name = |n: &str| crate::names::Name::parse(n).unwrap();
        let endpoint = Endpoint::new(name("g"), name("c"), name("e"), 0);
        let a = key(
            &request("/out/v1/g/c/e/v/1.ts", &format!("{TOKEN_PARAM}=x&start=5")),
            channel,
            &endpoint,
        );
        let b = key(
            &request("/out/v1/g/c/e/v/1.ts", &format!("start=5&{TOKEN_PARAM}=y")),
            channel,
            &endpoint,
        );
        assert_eq!(a, b);
        assert!(
            a.starts_with("http://127.0.0.1:8787/edgepack-edge-cache/id1/"),
            "{a}"
        );
        assert!(a.ends_with("/out/v1/g/c/e/v/1.ts?start=5"), "{a}");
        let mut other = endpoint.clone();
        other.segment_count += 1;
        let c = key(&request("/out/v1/g/c/e/v/1.ts", ""), channel, &other);
        assert_ne!(
            c,
            key(&request("/out/v1/g/c/e/v/1.ts", ""), channel, &endpoint)
        );
    }
}
