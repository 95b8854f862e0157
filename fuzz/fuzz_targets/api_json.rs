//! The control API's JSON input through `Origin` over memory stores. The first byte picks the
//! request (POST/PATCH of a channel or an endpoint, a signed URL, a group, a harvest job); the
//! rest is its body.
//! Never panics; every answer is 2xx or 4xx; a refused request changes nothing; an accepted
//! resource reads back, and PATCHing it with its own GET body is accepted and changes nothing;
//! playback of the endpoint still answers 200, 403 or 404.
//! The set-up (and its state read back) runs once; each input starts on a copy of it.
#![no_main]

use edgepack::testing::{
    memory_origin, reset_counter_random, send_hostile, MemoryOrigin, Snapshot,
};
use edgepack::{Method, Request, Response};
use libfuzzer_sys::fuzz_target;

type TestOrigin = MemoryOrigin;

const TOKEN: &str = "fuzz-admin-token";
/// 2026-11-23T12:00:00Z
const T0: u64 = 1_795_435_200_000;
const GROUP: &str = "/api/v1/groups/g";
const CHANNELS: &str = "/api/v1/groups/g/channels";
const CHANNEL: &str = "/api/v1/groups/g/channels/c";
const ENDPOINTS: &str = "/api/v1/groups/g/channels/c/endpoints";
const ENDPOINT: &str = "/api/v1/groups/g/channels/c/endpoints/e";
const MASTER: &str = "/out/v1/g/c/e/manifest.m3u8";
const HARVEST_JOBS: &str = "/api/v1/groups/g/channels/c/harvest-jobs";

fn send(o: &TestOrigin, req: Request) -> Response {
    send_hostile(o, req, T0)
}

fn api(o: &TestOrigin, m: Method, path: &str, body: &[u8]) -> Response {
    let req = Request::new(m, path)
        .with_header("authorization", &format!("Bearer {TOKEN}"))
        .with_body(body.to_vec());
    send(o, req)
}

fn read(o: &TestOrigin, path: &str) -> Vec<u8> {
    let r = api(o, Method::Get, path, b"");
    assert_eq!(r.status, 200, "GET {path}");
    r.body
}

/// The value of `?token=` in a signed-url answer (no JSON crate in this crate).
fn signed_path(json: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(json).ok()?;
    let start = text.find("\"url\":\"")? + 7;
    let url = &text[start..start + text[start..].find('"')?];
    Some(url.strip_prefix("http://127.0.0.1:8787")?.to_owned())
}

fn setup() -> TestOrigin {
    reset_counter_random();
    let o = memory_origin(TOKEN);
    assert_eq!(
        api(&o, Method::Post, "/api/v1/groups", br#"{"name":"g"}"#).status,
        201
    );
    assert_eq!(
        api(&o, Method::Post, CHANNELS, br#"{"name":"c"}"#).status,
        201
    );
    assert_eq!(
        api(&o, Method::Post, ENDPOINTS, br#"{"name":"e"}"#).status,
        201
    );
    o
}

/// Every stored resource, as the API shows it.
fn state(o: &TestOrigin) -> Vec<Vec<u8>> {
    ["/api/v1/groups", CHANNELS, ENDPOINTS]
        .iter()
        .map(|p| read(o, p))
        .collect()
}

thread_local! {
    /// The set-up origin after its state was read, and that state.
    static START: (Snapshot, Vec<Vec<u8>>) = {
        let o = setup();
        let before = state(&o);
        (Snapshot::take(&o), before)
    };
}

fuzz_target!(|data: &[u8]| {
    let Some((&op, body)) = data.split_first() else {
        return;
    };
    START.with(|(start, before)| run(start, &start.origin(), before, op, body));
});

fn run(start: &Snapshot, o: &TestOrigin, before: &[Vec<u8>], op: u8, body: &[u8]) {
    let (method, path, resource) = match op % 7 {
        0 => (Method::Post, CHANNELS, None),
        1 => (Method::Patch, CHANNEL, Some(CHANNEL)),
        2 => (Method::Post, ENDPOINTS, None),
        3 => (Method::Patch, ENDPOINT, Some(ENDPOINT)),
        4 => (Method::Post, "/api/v1/groups", None),
        6 => (Method::Post, HARVEST_JOBS, None),
        _ => (Method::Patch, ENDPOINT, Some(ENDPOINT)),
    };
    let r = api(o, method, path, body);
    if r.status >= 400 {
        let text = String::from_utf8_lossy(&r.body);
        assert!(
            text.starts_with('{') && text.contains("\"error\":"),
            "error body: {text}"
        );
        // Unchanged stores show the same state (Snapshot::stores_unchanged).
        if !start.stores_unchanged(o) {
            assert_eq!(state(o), before, "a refused request changed stored state");
        }
        return;
    }
    if let Some(resource) = resource {
        // A GET body echoed back is accepted and changes nothing.
        let shown = read(o, resource);
        let again = api(o, Method::Patch, resource, &shown);
        assert_eq!(
            again.status,
            200,
            "{}",
            String::from_utf8_lossy(&again.body)
        );
        assert_eq!(read(o, resource), shown, "echoing a GET body changed it");
    }
    let _ = read(o, GROUP);
    let p = send(o, Request::new(Method::Get, MASTER));
    assert!(matches!(p.status, 200 | 403 | 404), "playback {}", p.status);
    if p.status == 403 {
        assert!(p.header("x-edgepack-denied").is_some() && p.body.is_empty());
    }
    if op % 7 == 5 && r.status == 200 {
        // A signed URL of whatever the endpoint now holds; it must verify at the edge
        // unless another control refuses first.
        let s = api(o, Method::Post, &format!("{ENDPOINT}/signed-url"), b"{}");
        if s.status == 200 {
            let path = signed_path(&s.body).expect("signed url");
            let (p, q) = path.split_once('?').expect("query");
            let mut req = Request::new(Method::Get, p);
            req.query = q.to_owned();
            let g = send(o, req);
            let reason = g.header("x-edgepack-denied").unwrap_or_default();
            assert!(
                !reason.starts_with("token"),
                "own signed URL refused: {reason}"
            );
        }
    }
}
