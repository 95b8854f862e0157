//! The HLS playlist ingest path through `Origin` over memory stores: a channel is created by the
//! API and fed a valid live start, then the input is PUT as a media playlist (twice, time
//! moving) and as a master playlist, and the endpoint is read back. Never panics; every answer is
//! 2xx or 4xx; a refused playlist leaves the served rendition playlist byte-identical.
//! The set-up (channel, segments, live start) runs once; each input starts on a copy of it.
//! Reads are made again only when the input changed the stores: an origin whose stores equal
//! the set-up's answers every read as the set-up did at the same time
//! (`Snapshot::stores_unchanged`), and those answers were read and checked once, at the set-up.
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

/// The set-up, and what it serves at each round's time.
struct Start {
    origin: Snapshot,
    auth: String,
    /// The rendition playlist at each of `ROUNDS`.
    served: Vec<Response>,
}

/// When the input is PUT as the media playlist.
const ROUNDS: [u64; 2] = [T0 + 2_000, T0 + 4_000];

thread_local! {
    static START: Start = {
        let (o, auth) = setup();
        let origin = Snapshot::take(&o);
        let copy = origin.origin();
        let served = ROUNDS.iter().map(|&now| get(&copy, MEDIA, now)).collect();
        // What an input that leaves the stores as they are reads at the end (checked here once).
        read_back(&copy);
        Start {
            origin,
            auth,
            served,
        }
    };
}

fuzz_target!(|data: &[u8]| {
    START.with(|start| run(start, data));
});

fn run(start: &Start, data: &[u8]) {
    let o = &start.origin.origin();
    let auth = &start.auth;
    for (i, now) in ROUNDS.into_iter().enumerate() {
        let unchanged = start.origin.stores_unchanged(o);
        let read = (!unchanged).then(|| get(o, MEDIA, now));
        let before = read.as_ref().unwrap_or(&start.served[i]);
        let r = put(o, auth, "v/index.m3u8", data, now);
        // Stores as at the set-up before and after: the playlist served is `served[i]` both times.
        if r.status < 400 || !unchanged || !start.origin.stores_unchanged(o) {
            let after = get(o, MEDIA, now);
            if r.status >= 400 {
                assert_eq!(after.status, before.status, "round {i}");
                assert_eq!(
                    after.body, before.body,
                    "a refused playlist changed the output"
                );
            }
        }
    }
    put(o, auth, "master.m3u8", data, T0 + 5_000);
    // The input as another rendition's playlist, then everything read back.
    put(o, auth, "w/index.m3u8", data, T0 + 5_500);
    if !start.origin.stores_unchanged(o) {
        read_back(o);
    }
}

/// The master playlist and every playlist it names, the rendition playlist and every segment it
/// names.
fn read_back(o: &TestOrigin) {
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
