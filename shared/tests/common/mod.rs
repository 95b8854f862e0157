//! Test harness: the core over in-memory stores, driven without an async runtime.
#![allow(dead_code)]

use edgepack::store::{MemoryKv, MemoryObjects};
use edgepack::{Config, Method, Origin, Request, Response};
use serde_json::Value;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

pub const TOKEN: &str = "test-admin-token";
/// 2026-11-23T12:00:00Z
pub const T0: u64 = 1_795_435_200_000;

pub type TestOrigin = Origin<MemoryKv, MemoryObjects>;

/// Polls a future that never waits (the memory stores complete at once).
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    match f.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("memory-store future must not wait"),
    }
}

fn counter_random(buf: &mut [u8]) -> Result<(), String> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    for b in buf.iter_mut() {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        *b = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8;
    }
    Ok(())
}

pub fn origin() -> TestOrigin {
    let config = Config {
        admin_token: Some(TOKEN.into()),
        ..Config::default()
    };
    Origin::new(
        MemoryKv::default(),
        MemoryObjects::default(),
        config,
        counter_random,
    )
}

pub fn send(o: &TestOrigin, req: Request, now_ms: u64) -> Response {
    block_on(o.handle(req, now_ms))
}

pub fn api(o: &TestOrigin, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req =
        Request::new(method, path).with_header("authorization", &format!("Bearer {TOKEN}"));
    if let Some(b) = body {
        req = req.with_body(b.to_string());
    }
    let r = send(o, req, T0);
    let v = if r.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&r.body).expect("API answers JSON")
    };
    (r.status, v)
}

pub fn text(r: &Response) -> &str {
    std::str::from_utf8(&r.body).expect("UTF-8 body")
}

/// A channel `demo/live` with endpoint `hls`; returns input 1's (user, password).
pub fn setup(o: &TestOrigin, endpoint: Value) -> (String, String) {
    assert_eq!(
        api(
            o,
            Method::Post,
            "/api/v1/groups",
            Some(serde_json::json!({"name": "demo"}))
        )
        .0,
        201
    );
    let (s, ch) = api(
        o,
        Method::Post,
        "/api/v1/groups/demo/channels",
        Some(serde_json::json!({"name": "live", "protocol": "HLS"})),
    );
    assert_eq!(s, 201, "{ch}");
    let (s, ep) = api(
        o,
        Method::Post,
        "/api/v1/groups/demo/channels/live/endpoints",
        Some(endpoint),
    );
    assert_eq!(s, 201, "{ep}");
    credentials(&ch, 1)
}

pub fn credentials(channel: &Value, input: usize) -> (String, String) {
    let i = &channel["inputs"][input - 1];
    (
        i["username"].as_str().unwrap().into(),
        i["password"].as_str().unwrap().into(),
    )
}

pub fn basic(user: &str, pass: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// PUT of an encoder file to `demo/live` input `input`.
pub fn put(
    o: &TestOrigin,
    input: u8,
    creds: &(String, String),
    path: &str,
    body: &[u8],
    now_ms: u64,
) -> Response {
    let req = Request::new(Method::Put, &format!("/in/v1/demo/live/{input}/{path}"))
        .with_header("authorization", &basic(&creds.0, &creds.1))
        .with_body(body.to_vec());
    send(o, req, now_ms)
}

pub fn get(o: &TestOrigin, path: &str, now_ms: u64) -> Response {
    send(o, Request::new(Method::Get, path), now_ms)
}

/// A fake TS segment: `n` null packets with a recognisable payload byte.
pub fn ts(n: usize, tag: u8) -> Vec<u8> {
    let mut v = Vec::with_capacity(n * 188);
    for _ in 0..n {
        let mut p = [tag; 188];
        p[..4].copy_from_slice(&[0x47, 0x1f, 0xff, 0x10]);
        v.extend_from_slice(&p);
    }
    v
}

/// An ffmpeg-style live media playlist with 2-second segments `seg{n}.ts`.
pub fn media_playlist(first: u64, count: u64) -> String {
    let mut s = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{first}\n"
    );
    for n in first..first + count {
        s.push_str(&format!("#EXTINF:2.000000,\nseg{n}.ts\n"));
    }
    s
}

/// Pushes segments `0..n` of rendition `dir` like an encoder: each segment, then the playlist
/// (a sliding window of 6), 2 s apart starting at `T0`.
pub fn push_live(o: &TestOrigin, input: u8, creds: &(String, String), dir: &str, n: u64) {
    for i in 0..n {
        let now = T0 + i * 2000;
        assert_eq!(
            put(
                o,
                input,
                creds,
                &format!("{dir}/seg{i}.ts"),
                &ts(2, i as u8),
                now
            )
            .status,
            201
        );
        let first = i.saturating_sub(5);
        let pl = media_playlist(first, i - first + 1);
        let r = put(
            o,
            input,
            creds,
            &format!("{dir}/index.m3u8"),
            pl.as_bytes(),
            now + 10,
        );
        assert!(r.status == 201 || r.status == 200, "{}", text(&r));
    }
}

/// Compares with a golden file; `UPDATE_GOLDEN=1` rewrites it.
pub fn golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing golden {name}; run with UPDATE_GOLDEN=1"));
    assert_eq!(actual, expected, "golden {name} differs");
}
