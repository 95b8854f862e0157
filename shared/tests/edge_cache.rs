//! The platform's cache of immutable playback files (docs/storage.md, "Edge cache"): a copy
//! answers without storage reads, but only after the endpoint's access checks pass, and never
//! across a change of the endpoint's settings (encryption turned on serves no clear copy).

mod common;

use common::*;
use edgepack::context::EdgeLookupFuture;
use edgepack::store::{MemoryKv, MemoryObjects};
use edgepack::testing::{block_on, clear_edge_cache, edge_keep, memory_edge_cache, Counting};
use edgepack::{HeldBody, Method, Origin, Request, Response};
use serde_json::json;

const EP: &str = "/api/v1/groups/demo/channels/live/endpoints/hls";
const SEGMENT: &str = "/out/v1/demo/live/hls/v/index/2.ts";
const NOW: u64 = T0 + 10_000;

type Measured = Origin<Counting<MemoryKv>, Counting<MemoryObjects>>;

/// A live channel (4 segments on input 1) with endpoint `hls` patched with `settings`, its
/// stores counting, the memory edge cache empty.
fn live(settings: serde_json::Value) -> Measured {
    let o = origin();
    let creds = setup(&o, json!({"name": "hls"}));
    push_live(&o, 1, &creds, "v", 4);
    let (s, v) = api(&o, Method::Patch, EP, Some(settings));
    assert_eq!(s, 200, "{v}");
    clear_edge_cache();
    wrap_stores(o, Counting::new, Counting::new).with_edge_cache(memory_edge_cache)
}

/// A GET as the Worker serves it: the answer, kept when the core marked it; with the object
/// reads it made.
fn fetch(o: &Measured, path_and_query: &str, headers: &[(&str, &str)]) -> (Response, usize) {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut req = Request::new(Method::Get, path);
    req.query = query.to_owned();
    for (k, v) in headers {
        req = req.with_header(k, v);
    }
    o.objects.reset();
    let r = block_on(o.handle(req, NOW));
    edge_keep(&r);
    (r, o.objects.reads())
}

fn cache_status(r: &Response) -> Option<&str> {
    r.header("x-edgepack-cache")
}

#[test]
fn a_cached_segment_still_needs_the_authorization_code() {
    let o = live(json!({"authorization_code": "code-1234567"}));
    let code = [("authorization", "code-1234567")];
    let (first, reads) = fetch(&o, SEGMENT, &code);
    assert_eq!(first.status, 200);
    assert!(reads > 0);
    assert_eq!(cache_status(&first), None);
    // The copy is there, and a request without the code is refused all the same.
    let (refused, _) = fetch(&o, SEGMENT, &[]);
    assert_eq!(refused.status, 403);
    assert!(refused.body.is_empty());
    let (refused, _) = fetch(&o, SEGMENT, &[("authorization", "wrong-code-123")]);
    assert_eq!(refused.status, 403);
    let (second, reads) = fetch(&o, SEGMENT, &code);
    assert_eq!(second.status, 200);
    assert_eq!(cache_status(&second), Some("HIT"));
    assert_eq!(reads, 0, "a copy needs no object read");
    assert_eq!(second.body, first.body);
    assert_eq!(
        second.header("cache-control"),
        first.header("cache-control")
    );
    assert_eq!(second.header("x-edgepack-edge-key"), None);
}

#[test]
fn signed_urls_share_one_copy_and_an_expired_token_gets_none() {
    let o = live(json!({"signing_keys": [{"id": "k1", "secret": "first-secret-0123456789"}]}));
    let token = |expires_in: u64, at: u64| {
        let req = Request::new(Method::Post, &format!("{EP}/signed-url"))
            .with_header("authorization", &format!("Bearer {TOKEN}"))
            .with_body(json!({"expires_in": expires_in}).to_string());
        let r = block_on(o.handle(req, at));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        v["token"].as_str().unwrap().to_owned()
    };
    // The third expired a minute before the requests.
    let (a, b, short) = (token(600, T0), token(601, T0), token(60, NOW - 120_000));
    assert_ne!(a, b);
    let (first, _) = fetch(&o, &format!("{SEGMENT}?token={a}"), &[]);
    assert_eq!(first.status, 200);
    // Another viewer's token: the same copy.
    let (second, reads) = fetch(&o, &format!("{SEGMENT}?token={b}"), &[]);
    assert_eq!(cache_status(&second), Some("HIT"));
    assert_eq!(reads, 0);
    assert_eq!(second.body, first.body);
    // No token, or an expired one: refused before the cache is asked.
    assert_eq!(fetch(&o, SEGMENT, &[]).0.status, 403);
    let (expired, _) = fetch(&o, &format!("{SEGMENT}?token={short}"), &[]);
    assert_eq!(expired.status, 403);
    assert_eq!(expired.header("x-edgepack-denied"), Some("token expired"));
}

#[test]
fn an_address_refused_by_the_allowlist_gets_no_copy() {
    let o = live(json!({"ip_allowlist": ["192.0.2.0/24"]}));
    let from = |ip: &str| {
        let mut req = Request::new(Method::Get, SEGMENT);
        req.client_ip = ip.parse().ok();
        o.objects.reset();
        let r = block_on(o.handle(req, NOW));
        edge_keep(&r);
        r
    };
    assert_eq!(from("192.0.2.7").status, 200);
    let hit = from("192.0.2.8");
    assert_eq!(cache_status(&hit), Some("HIT"));
    // Access depends on the client: the copy goes out private, as the first answer did.
    assert!(hit.header("cache-control").unwrap().starts_with("private"));
    assert_eq!(from("198.51.100.1").status, 403);
}

#[test]
fn encryption_turned_on_never_serves_the_clear_copy() {
    let o = live(json!({"segment_count": 10}));
    let (clear, _) = fetch(&o, SEGMENT, &[]);
    assert_eq!(clear.status, 200);
    assert_eq!(cache_status(&fetch(&o, SEGMENT, &[]).0), Some("HIT"));
    let encryption = json!({"encryption": {"method": "AES_128", "static_key": {
        "key_id": "00112233445566778899aabbccddeeff",
        "key": "f0e1d2c3b4a5968778695a4b3c2d1e0f",
        "iv": "0a0b0c0d0e0f10111213141516171819",
        "key_url": "https://keys.example.com/hls/k1"}}});
    let req = Request::new(Method::Patch, EP)
        .with_header("authorization", &format!("Bearer {TOKEN}"))
        .with_body(encryption.to_string());
    let r = block_on(o.handle(req, NOW));
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let (encrypted, reads) = fetch(&o, SEGMENT, &[]);
    assert_eq!(encrypted.status, 200);
    assert_eq!(
        cache_status(&encrypted),
        None,
        "a new key: the clear copy is not found"
    );
    assert!(reads > 0);
    assert_ne!(encrypted.body, clear.body);
    // Its own copy from then on.
    let (again, _) = fetch(&o, SEGMENT, &[]);
    assert_eq!(cache_status(&again), Some("HIT"));
    assert_eq!(again.body, encrypted.body);
}

#[test]
fn playlists_ranges_and_heads_are_never_kept() {
    let o = live(json!({"segment_count": 10}));
    let (playlist, _) = fetch(&o, "/out/v1/demo/live/hls/v/index/media.m3u8", &[]);
    assert_eq!(playlist.status, 200);
    assert_eq!(playlist.header("x-edgepack-edge-cache"), None);
    let (ranged, _) = fetch(&o, SEGMENT, &[("range", "bytes=0-99")]);
    assert_eq!(ranged.header("x-edgepack-edge-cache"), None);
    let head = block_on(o.handle(Request::new(Method::Head, SEGMENT), NOW));
    assert_eq!(head.header("x-edgepack-edge-cache"), None);
    assert!(!edge_keep(&head));
    // A HEAD may be answered from a GET's copy.
    let (get, _) = fetch(&o, SEGMENT, &[]);
    assert!(get.header("x-edgepack-edge-cache").is_some());
    let head = block_on(o.handle(Request::new(Method::Head, SEGMENT), NOW));
    assert_eq!(cache_status(&head), Some("HIT"));
    assert!(head.body.is_empty());
}

#[test]
fn a_deleted_endpoint_is_not_read_ahead_for() {
    let o = live(json!({"segment_count": 10}));
    let playlist = "/out/v1/demo/live/hls/v/index/media.m3u8";
    let (r, cold) = fetch(&o, playlist, &[]);
    assert_eq!(r.status, 200);
    // Warm: the same reads, made ahead in the settings' round trip.
    let (r, warm) = fetch(&o, playlist, &[]);
    assert_eq!((r.status, warm), (200, cold));
    let req =
        Request::new(Method::Delete, EP).with_header("authorization", &format!("Bearer {TOKEN}"));
    assert!(block_on(o.handle(req, NOW)).status < 300);
    // Gone: the first request read ahead once; from then on nothing is read.
    assert_eq!(fetch(&o, playlist, &[]).0.status, 404);
    let (r, reads) = fetch(&o, playlist, &[]);
    assert_eq!((r.status, reads), (404, 0));
}

/// The Worker's lookup: a copy whose body the adapter holds, the core seeing its length only.
fn held_edge_cache(key: String) -> EdgeLookupFuture {
    Box::pin(async move {
        let copy = memory_edge_cache(key).await?;
        let held = HeldBody {
            token: 7,
            len: copy.body.len() as u64,
        };
        let content_type = copy.header("content-type").unwrap_or_default().to_owned();
        let mut answer = Response::new(copy.status).with_held_body(&content_type, held);
        for (k, v) in copy.headers.iter().filter(|(k, _)| k != "content-type") {
            answer = answer.with_header(k, v.clone());
        }
        Some(answer)
    })
}

#[test]
fn a_held_copy_passes_through_with_its_length() {
    let o = live(json!({"segment_count": 10}));
    let (miss, _) = fetch(&o, SEGMENT, &[]);
    assert!(miss.header("x-edgepack-edge-cache").is_some());
    let len = miss.body.len() as u64;
    let o = o.with_edge_cache(held_edge_cache);
    let (hit, reads) = fetch(&o, SEGMENT, &[]);
    assert_eq!(
        (hit.status, reads, cache_status(&hit)),
        (200, 0, Some("HIT"))
    );
    assert_eq!(hit.held_body, Some(HeldBody { token: 7, len }));
    assert!(hit.body.is_empty());
    assert_eq!(hit.body_len(), len);
    // A HEAD answers the length and lets the held body go.
    let head = block_on(o.handle(Request::new(Method::Head, SEGMENT), NOW));
    assert_eq!((head.status, head.held_body), (200, None));
    assert_eq!(
        head.header("content-length"),
        Some(len.to_string().as_str())
    );
}
