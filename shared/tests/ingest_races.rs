//! Concurrent ingest requests for one rendition (docs/storage.md, "One writer per key"): an
//! encoder's playlist PUTs can overlap when the origin is slow (ffmpeg sends the next one when
//! it is due, not when the last was answered). Whatever the interleaving, a committed segment
//! must never leave the timeline again: a playlist that lost the race is applied again on the
//! stored state, never written over it.

mod common;

use common::*;
use edgepack::store::{MemoryKv, MemoryObjects};
use edgepack::testing::{memory_origin, Observed, Observer, Op};
use edgepack::{Method, Origin, Request, Response};
use serde_json::json;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Makes every object call wait one turn, so two requests interleave; each call then runs at
/// once (conditional puts stay atomic, as R2's `onlyIf` is).
struct Interleave;

impl Observer for Interleave {
    fn start(&self, _op: Op, _key: &str) {}
    async fn delay(&self) {
        YieldOnce(false).await;
    }
}

type Raced = Origin<MemoryKv, Observed<MemoryObjects, Interleave>>;

fn raced() -> Raced {
    wrap_stores(
        memory_origin(TOKEN),
        |kv| kv,
        |inner| Observed {
            inner,
            observer: Interleave,
        },
    )
}

/// Drives `b` alone for `head_start` polls, then `a` and `b` in turn, to completion.
fn staggered<A: Future, B: Future>(a: A, b: B, head_start: usize) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let mut cx = Context::from_waker(Waker::noop());
    let (mut ra, mut rb) = (None, None);
    let mut polls = 0usize;
    while ra.is_none() || rb.is_none() {
        if ra.is_none() && polls >= head_start {
            if let Poll::Ready(v) = a.as_mut().poll(&mut cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(&mut cx) {
                rb = Some(v);
            }
        }
        polls += 1;
        assert!(polls < 100_000, "the requests did not finish");
    }
    (ra.expect("a"), rb.expect("b"))
}

fn run<F: Future>(f: F) -> F::Output {
    staggered(async {}, f, 0).1
}

fn send_raced(o: &Raced, req: Request, now: u64) -> Response {
    run(o.handle(req, now))
}

fn ingest(creds: &(String, String), path: &str, body: Vec<u8>) -> Request {
    Request::new(Method::Put, &format!("/in/v1/demo/live/1/{path}"))
        .with_header("authorization", &basic(&creds.0, &creds.1))
        .with_body(body)
}

fn playlist(last: u64) -> Vec<u8> {
    let mut s = String::from(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n",
    );
    for n in 0..=last {
        s.push_str(&format!("#EXTINF:2.000000,\nseg{n}.ts\n"));
    }
    s.into_bytes()
}

/// The segment URIs the endpoint's rendition playlist lists.
fn listed(o: &Raced, now: u64) -> Vec<String> {
    let r = send_raced(
        o,
        Request::new(Method::Get, "/out/v1/demo/live/hls/v/index/media.m3u8"),
        now,
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    plain(text(&r))
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn an_older_playlist_committing_last_never_drops_a_newer_segment() {
    for head_start in 0..24 {
        let o = raced();
        let admin = |method, path: &str, body: serde_json::Value| {
            let r = send_raced(
                &o,
                Request::new(method, path)
                    .with_header("authorization", &format!("Bearer {TOKEN}"))
                    .with_body(body.to_string()),
                T0,
            );
            assert!(r.status < 300, "{path}: {}", text(&r));
            serde_json::from_slice::<serde_json::Value>(&r.body).expect("JSON")
        };
        admin(Method::Post, "/api/v1/groups", json!({"name": "demo"}));
        let ch = admin(
            Method::Post,
            "/api/v1/groups/demo/channels",
            json!({"name": "live", "protocol": "HLS"}),
        );
        admin(
            Method::Post,
            "/api/v1/groups/demo/channels/live/endpoints",
            json!({"name": "hls", "protocol": "HLS"}),
        );
        let creds = credentials(&ch, 1);
        for n in 0..7u64 {
            let body = ts_with_pts(90_000 + n * 180_000, n as u8, 2);
            let r = send_raced(
                &o,
                ingest(&creds, &format!("v/seg{n}.ts"), body),
                T0 + n * 10,
            );
            assert_eq!(r.status, 201, "{}", text(&r));
        }
        let now = T0 + 1000;
        let r = send_raced(&o, ingest(&creds, "v/index.m3u8", playlist(4)), now);
        assert_eq!(r.status, 201, "{}", text(&r));

        // The encoder's playlist listing seg5, then the one listing seg6, overlapping.
        let older = o.handle(ingest(&creds, "v/index.m3u8", playlist(5)), now + 2000);
        let newer = o.handle(ingest(&creds, "v/index.m3u8", playlist(6)), now + 2010);
        let (a, b) = staggered(older, newer, head_start);
        assert!(a.status < 300, "older: {} {}", a.status, text(&a));
        assert!(b.status < 300, "newer: {} {}", b.status, text(&b));

        let uris = listed(&o, now + 3000);
        assert_eq!(
            uris.last().map(String::as_str),
            Some("6.ts"),
            "head start {head_start}: the newest committed segment left the playlist: {uris:?}"
        );
    }
}
