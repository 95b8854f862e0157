//! Time-shifted segment URLs that name their archive bucket (docs/round-trips.md,
//! "Time-shifted segment URLs"): a time-shifted playlist writes `~{id}@{bucket}/{n}.ts`, each
//! segment answers the same bytes as by the URLs before it (without the bucket, without the
//! storage id), reading the archive beside the settings; a bucket that is wrong still serves
//! the same bytes (the whole window is read then), one that is malformed or outside the
//! window reads no archive ahead.

mod common;

use common::*;
use edgepack::playback::forget_remembered_endpoints;
use edgepack::store::{MemoryKv, MemoryObjects};
use edgepack::testing::{MemoryOrigin, Observed};
use edgepack::{Method, Origin, Request, Response};
use serde_json::json;

const OUT: &str = "/out/v1/demo/live/hls/s/index";
const NOW: u64 = T0 + 80_000;
/// The length of an archive bucket (`archive::BUCKET_MS`).
const BUCKET_MS: i64 = 600_000;

type Recorded = Origin<MemoryKv, Observed<MemoryObjects, Keys>>;

/// 80 s of 2 s segments with a 30 s live timeline and a day of time-shift: segments 0-24
/// archived, in the buckets before and from T0.
fn archived() -> (Recorded, Keys) {
    let o: MemoryOrigin = origin();
    let c = setup(&o, json!({"name": "hls", "time_shift_days": 1}));
    let (s, _) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo/channels/live",
        Some(json!({"max_playlist_duration": 30})),
    );
    assert_eq!(s, 200);
    push_live(&o, 1, &c, "s", 40);
    let keys = Keys::default();
    let observer = keys.clone();
    (
        wrap_stores(o, |kv| kv, |inner| Observed { inner, observer }),
        keys,
    )
}

fn get(o: &Recorded, uri: &str) -> Response {
    forget_remembered_endpoints();
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let mut req = Request::new(Method::Get, path);
    req.query = query.to_owned();
    block_on(o.handle(req, NOW))
}

const WINDOW: &str = "start=2026-11-23T11:59:57Z&vodend=2026-11-23T12:01:18Z";

/// The segment lines of the window's playlist.
fn segment_uris(o: &Recorded) -> Vec<String> {
    let r = get(o, &format!("{OUT}/media.m3u8?{WINDOW}"));
    assert_eq!(r.status, 200, "{}", text(&r));
    text(&r)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// `~{id}@{bucket}/{file}` → (id, bucket, file).
fn parts(uri: &str) -> (String, i64, String) {
    let (dir, file) = uri.split_once('/').unwrap();
    let (id, bucket) = dir.trim_start_matches('~').split_once('@').unwrap();
    (id.to_owned(), bucket.parse().unwrap(), file.to_owned())
}

#[test]
fn every_segment_of_a_window_answers_the_same_bytes_by_every_url() {
    let (o, keys) = archived();
    let uris = segment_uris(&o);
    assert_eq!(uris.len(), 40, "{uris:?}");
    let buckets: Vec<i64> = uris.iter().map(|u| parts(u).1).collect();
    // Both buckets of the window are named: segment 0 starts 1.99 s before T0.
    let t0 = i64::try_from(T0).unwrap();
    assert_eq!(buckets[0], t0 - BUCKET_MS);
    assert!(buckets[1..].iter().all(|b| *b == t0), "{buckets:?}");
    for (n, uri) in uris.iter().enumerate() {
        let (id, _, file) = parts(uri);
        keys.take();
        let new = get(&o, &format!("{OUT}/{uri}"));
        assert_eq!(new.status, 200, "{uri}: {}", text(&new));
        let read = keys.take();
        // The settings' round trip read the archive; the next one only the bytes.
        let archive = read.iter().filter(|k| k.starts_with("arc/")).count();
        assert!((1..=6).contains(&archive), "{uri}: {read:?}");
        let by_id = get(&o, &format!("{OUT}/~{id}/{file}"));
        let old = get(&o, &format!("{OUT}/{file}"));
        assert_eq!((by_id.status, old.status), (200, 200), "{uri}");
        assert!(new.body == by_id.body && new.body == old.body, "{uri}");
        assert_eq!(new.body, ts(2, n as u8), "{uri}");
    }
}

#[test]
fn a_wrong_bucket_still_answers_the_same_bytes() {
    let (o, keys) = archived();
    let uris = segment_uris(&o);
    let (id, bucket, file) = parts(&uris[3]);
    let expected = get(&o, &format!("{OUT}/{file}")).body;
    // Another bucket of the window (none of the segment's neighbours: the whole window is read
    // after them), and one the window never reaches (nothing read ahead).
    for other in [bucket + 2 * BUCKET_MS, bucket - 50 * BUCKET_MS] {
        keys.take();
        let r = get(&o, &format!("{OUT}/~{id}@{other}/{file}"));
        assert_eq!((r.status, &r.body), (200, &expected), "bucket {other}");
        let read = keys.take();
        let far = format!("@{:013}", bucket - 50 * BUCKET_MS);
        assert!(!read.iter().any(|k| k.contains(&far)), "{read:?}");
    }
}

#[test]
fn hostile_buckets_read_nothing() {
    let (o, keys) = archived();
    let uris = segment_uris(&o);
    let (id, bucket, file) = parts(&uris[3]);
    let other = "A".repeat(id.len());
    for dir in [
        format!("~{id}@{}", bucket + 1),
        format!("~{id}@"),
        format!("~{id}@-{bucket}"),
        format!("~{id}@{bucket}0000000"),
        format!("~{id}@{bucket}@{bucket}"),
        format!("~{id}@0x10"),
    ] {
        keys.take();
        let r = get(&o, &format!("{OUT}/{dir}/{file}"));
        assert_eq!(r.status, 404, "{dir}: {}", text(&r));
        assert!(keys.take().is_empty(), "{dir}");
    }
    // Another channel's id: a 404, without a segment read.
    keys.take();
    let r = get(&o, &format!("{OUT}/~{other}@{bucket}/{file}"));
    assert_eq!(r.status, 404);
    assert!(!keys.take().iter().any(|k| k.starts_with("seg/")));
}
