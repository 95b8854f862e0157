//! The HLS playlist ingest path through `Origin` over memory stores: a channel is created by the
//! API and fed a valid live start, then the input is PUT as a media playlist (twice, time
//! moving) and as a master playlist, and the endpoint is read back. Never panics; every answer is
//! 2xx or 4xx; a refused playlist leaves the served rendition playlist byte-identical.
//! The set-up (channel, segments, live start) runs once; each input starts on a copy of it.
#![no_main]

use edgepack::testing::{
    memory_channel, reset_counter_random, send_hostile, MemoryOrigin, Snapshot,
};
use edgepack::{Method, Request, Response};
use libfuzzer_sys::fuzz_target;

type TestOrigin = MemoryOrigin;

const TOKEN: &str = "fuzz-admin-token";
/// 2026-11-23T12:00:00Z
const T0: u64 = 1_795_435_200_000;
const MEDIA: &str = "/out/v1/g/c/e/v/index/media.m3u8";

fn send(o: &TestOrigin, req: Request, now: u64) -> Response {
    send_hostile(o, req, now)
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

/// The channel with its segments uploaded and a valid live start served.
fn setup() -> (TestOrigin, String) {
    reset_counter_random();
    let (o, auth) = memory_channel(TOKEN, "HLS", &[("e", "HLS")], T0);
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
    (o, auth)
}

thread_local! {
    static START: (Snapshot, String) = {
        let (o, auth) = setup();
        (Snapshot::take(&o), auth)
    };
}

fuzz_target!(|data: &[u8]| {
    START.with(|(start, auth)| run(&start.origin(), auth, data));
});

fn run(o: &TestOrigin, auth: &str, data: &[u8]) {
    for (i, now) in [T0 + 2_000, T0 + 4_000].into_iter().enumerate() {
        let before = get(o, MEDIA, now);
        let r = put(o, auth, "v/index.m3u8", data, now);
        let after = get(o, MEDIA, now);
        if r.status >= 400 {
            assert_eq!(after.status, before.status, "round {i}");
            assert_eq!(
                after.body, before.body,
                "a refused playlist changed the output"
            );
        }
    }
    put(o, auth, "master.m3u8", data, T0 + 5_000);
    // The input as another rendition's playlist, then everything read back.
    put(o, auth, "w/index.m3u8", data, T0 + 5_500);
    let master = get(o, "/out/v1/g/c/e/manifest.m3u8", T0 + 6_000);
    if master.status == 200 {
        let text = String::from_utf8(master.body).expect("master is UTF-8");
        for uri in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            get(o, &format!("/out/v1/g/c/e/{uri}"), T0 + 6_000);
        }
    }
    let media = get(o, MEDIA, T0 + 6_000);
    if media.status == 200 {
        let text = String::from_utf8(media.body).expect("playlist is UTF-8");
        for uri in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            get(o, &format!("/out/v1/g/c/e/v/index/{uri}"), T0 + 6_000);
        }
    }
}
