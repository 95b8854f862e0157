//! Cloudflare's Cache API (the data center's cache) for immutable playback files. The core
//! looks a file up through [`lookup`] once the endpoint's access checks have passed, and marks
//! what may be kept with `x-edgepack-edge-cache` (seconds) and `x-edgepack-edge-key` (the key
//! it looks up); [`store`] keeps such an answer after it is sent (docs/storage.md, "Edge
//! cache").
//!
//! A copy's body never enters the WebAssembly memory: the lookup holds it here under a token
//! (the core sees its length, [`edgepack::HeldBody`]), and the answer takes it back
//! ([`take_held`]). Copied in, each hit cost its segment's bytes twice over while the request
//! waited, so concurrent hits set the isolate's memory (tests/bench/README.md, soak).

use edgepack::adapter::{EDGE_CACHE_HEADER, EDGE_CACHE_KEY_HEADER};
use edgepack::context::EdgeLookupFuture;
use edgepack::HeldBody;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use worker::{Cache, Context, Date, Headers, Response, ResponseBody};

/// How long a held body waits for its answer, ms; one the core dropped (a `HEAD`, a copy it
/// did not use) is let go after this.
const HOLD_MS: u64 = 60_000;
/// Most bodies held at once (each is a handle to the cache's stream, not its bytes).
const MAX_HELD: usize = 4_096;

thread_local! {
    /// Bodies held for answers, by token, with when each was held.
    static HELD: RefCell<BTreeMap<u64, (u64, ResponseBody)>> = RefCell::default();
    static NEXT_TOKEN: Cell<u64> = const { Cell::new(0) };
}

fn hold(body: ResponseBody, now_ms: u64) -> u64 {
    let token = NEXT_TOKEN.with(|n| {
        let t = n.get();
        n.set(t.wrapping_add(1));
        t
    });
    HELD.with(|held| {
        let mut held = held.borrow_mut();
        // Tokens grow with time: the oldest are first.
        while let Some((_, (at, _))) = held.first_key_value() {
            if held.len() < MAX_HELD && now_ms.saturating_sub(*at) < HOLD_MS {
                break;
            }
            held.pop_first();
        }
        held.insert(token, (now_ms, body));
    });
    token
}

/// The body held under `token`, once.
pub fn take_held(token: u64) -> Option<ResponseBody> {
    HELD.with(|held| held.borrow_mut().remove(&token))
        .map(|(_, body)| body)
}

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
    let len = headers
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|l| l.trim().parse::<u64>().ok());
    let copy = match (len, hit.body()) {
        (Some(len), ResponseBody::Stream(_)) => {
            let (_, body) = hit.into_parts();
            let token = hold(body, Date::now().as_millis());
            edgepack::Response::new(status).with_held_body(&content_type, HeldBody { token, len })
        }
        // No stream or no length (never from the Cache API): the bytes, as the core gives them.
        _ => {
            let body = hit.bytes().await.ok()?;
            edgepack::Response::new(status).with_body(&content_type, body)
        }
    };
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
