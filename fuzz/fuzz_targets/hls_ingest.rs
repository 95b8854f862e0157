//! The HLS playlist ingest path through `Origin` over memory stores: a channel is created by the
//! API and fed a valid live start, then the input is PUT as a media playlist (twice, time
//! moving) and as a master playlist, and the endpoint is read back. Never panics; every answer is
//! 2xx or 4xx; a refused playlist leaves the served rendition playlist byte-identical.
#![no_main]

use edgepack::testing::{block_on, memory_origin, reset_counter_random, MemoryOrigin};
use edgepack::{Method, Request, Response};
use libfuzzer_sys::fuzz_target;

type TestOrigin = MemoryOrigin;

const TOKEN: &str = "fuzz-admin-token";
/// 2026-11-23T12:00:00Z
const T0: u64 = 1_795_435_200_000;
const MEDIA: &str = "/out/v1/g/c/e/v/index/media.m3u8";



fn send(o: &TestOrigin, req: Request, now: u64) -> Response {
    let r = block_on(o.handle(req, now));
    assert!(
        (200..500).contains(&r.status),
        "status {} body {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    r
}

fn api(o: &TestOrigin, m: Method, path: &str, body: &str) -> Response {
    let req = Request::new(m, path)
        .with_header("authorization", &format!("Bearer {TOKEN}"))
        .with_body(body.as_bytes().to_vec());
    send(o, req, T0)
}

fn put(o: &TestOrigin, auth: &str, path: &str, body: &[u8], now: u64) -> Response {
    let req = Request::new(Method::Put, &format!("/in/v1/g/c/1/{path}"))
        .with_header("authorization", auth)
        .with_body(body.to_vec());
    send(o, req, now)
}

fn get(o: &TestOrigin, path: &str, now: u64) -> Response {
    let r = send(o, Request::new(Method::Get, path), now);
    assert!(matches!(r.status, 200 | 404), "GET {path}: {}", r.status);
    r
}

/// A TS segment of `n` packets: PAT-less null packets are enough for ingest.
fn ts(n: usize, tag: u8) -> Vec<u8> {
    let mut v = Vec::with_capacity(n * 188);
    for _ in 0..n {
        let mut p = [tag; 188];
        p[..4].copy_from_slice(&[0x47, 0x1f, 0xff, 0x10]);
        v.extend_from_slice(&p);
    }
    v
}

fn basic(user: &str, pass: &str) -> String {
    use std::fmt::Write;
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let raw = format!("{user}:{pass}").into_bytes();
    let mut out = String::from("Basic ");
    for chunk in raw.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let _ = out.write_char(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The first `"name":"value"` string in a JSON text (input 1 comes first; no JSON crate here).
fn field<'a>(json: &'a str, name: &str) -> &'a str {
    let key = format!("\"{name}\":\"");
    let start = json.find(&key).expect("field present") + key.len();
    let len = json[start..].find('"').expect("closing quote");
    &json[start..start + len]
}

fn setup() -> (TestOrigin, String) {
    reset_counter_random();
    let o = memory_origin(TOKEN);
    assert_eq!(
        api(&o, Method::Post, "/api/v1/groups", r#"{"name":"g"}"#).status,
        201
    );
    let ch = api(
        &o,
        Method::Post,
        "/api/v1/groups/g/channels",
        r#"{"name":"c"}"#,
    );
    assert_eq!(ch.status, 201);
    let ch = String::from_utf8(ch.body).expect("channel JSON");
    let (user, pass) = (field(&ch, "username"), field(&ch, "password"));
    let ep = api(
        &o,
        Method::Post,
        "/api/v1/groups/g/channels/c/endpoints",
        r#"{"name":"e"}"#,
    );
    assert_eq!(ep.status, 201);
    (o, basic(user, pass))
}

fuzz_target!(|data: &[u8]| {
    let (o, auth) = setup();
    // Segments the input may name, uploaded at the playlist's directory and at the top.
    for i in 0..4u8 {
        assert_eq!(
            put(&o, &auth, &format!("v/seg{i}.ts"), &ts(2, i), T0).status,
            201
        );
    }
    assert_eq!(put(&o, &auth, "seg0.ts", &ts(1, 9), T0).status, 201);
    let start = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.0,\nseg0.ts\n#EXTINF:2.0,\nseg1.ts\n";
    assert_eq!(
        put(&o, &auth, "v/index.m3u8", start.as_bytes(), T0 + 10).status,
        201
    );
    let served = get(&o, MEDIA, T0 + 20);
    assert_eq!(served.status, 200);

    for (i, now) in [T0 + 2_000, T0 + 4_000].into_iter().enumerate() {
        let before = get(&o, MEDIA, now);
        let r = put(&o, &auth, "v/index.m3u8", data, now);
        let after = get(&o, MEDIA, now);
        if r.status >= 400 {
            assert_eq!(after.status, before.status, "round {i}");
            assert_eq!(
                after.body, before.body,
                "a refused playlist changed the output"
            );
        }
    }
    put(&o, &auth, "master.m3u8", data, T0 + 5_000);
    // The input as another rendition's playlist, then everything read back.
    put(&o, &auth, "w/index.m3u8", data, T0 + 5_500);
    let master = get(&o, "/out/v1/g/c/e/manifest.m3u8", T0 + 6_000);
    if master.status == 200 {
        let text = String::from_utf8(master.body).expect("master is UTF-8");
        for uri in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            get(&o, &format!("/out/v1/g/c/e/{uri}"), T0 + 6_000);
        }
    }
    let media = get(&o, MEDIA, T0 + 6_000);
    if media.status == 200 {
        let text = String::from_utf8(media.body).expect("playlist is UTF-8");
        for uri in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            get(&o, &format!("/out/v1/g/c/e/v/index/{uri}"), T0 + 6_000);
        }
    }
});
