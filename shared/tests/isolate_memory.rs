//! What ingest keeps in an isolate's memory (docs/ingest.md, "Isolate memory"): a playlist
//! after this isolate's own commit reads neither its timeline nor the upload it lists; a
//! timeline another isolate changed in between is read again and loses nothing; an upload
//! another isolate made is read with a `head`. Two isolates are one origin whose memory is
//! swapped: the stores are shared, as R2 is.

mod common;

use common::*;
use edgepack::ingest_memory::{IngestMemory, DISTRUST_MS};
use edgepack::store::{MemoryKv, MemoryObjects};
use edgepack::testing::{ObjectOp, Observed, Observer, Op};
use edgepack::{Method, Origin, Request, Response};
use serde_json::json;
use std::cell::RefCell;
use std::rc::Rc;

/// Every store call with its key.
#[derive(Clone, Default)]
struct Calls(Rc<RefCell<Vec<(Op, String)>>>);

impl Observer for Calls {
    fn start(&self, op: Op, key: &str) {
        self.0.borrow_mut().push((op, key.to_owned()));
    }
}

impl Calls {
    /// Object calls `op` since the last reset on keys starting with `prefix`; `idx/` stands
    /// for input 1's timeline of rendition `v/index` (input 2's is read for first arrival).
    fn count(&self, op: ObjectOp, prefix: &str) -> usize {
        let matches = |k: &str| match prefix {
            "idx/" => k.starts_with("idx/") && k.ends_with("/1/v/index.json"),
            _ => k.starts_with(prefix),
        };
        self.0
            .borrow()
            .iter()
            .filter(|(o, k)| *o == Op::Object(op) && matches(k))
            .count()
    }

    fn reset(&self) {
        self.0.borrow_mut().clear();
    }
}

type Recorded = Origin<Observed<MemoryKv, Calls>, Observed<MemoryObjects, Calls>>;

fn recorded() -> (Recorded, (String, String), Calls) {
    let o = origin();
    let creds = setup(&o, json!({"name": "hls"}));
    let calls = Calls::default();
    let (kv_calls, object_calls) = (calls.clone(), calls.clone());
    let o = wrap_stores(
        o,
        |inner| Observed {
            inner,
            observer: kv_calls,
        },
        |inner| Observed {
            inner,
            observer: object_calls,
        },
    );
    (o, creds, calls)
}

fn put_file(o: &Recorded, creds: &(String, String), path: &str, body: &[u8], now: u64) -> u16 {
    let req = Request::new(Method::Put, &format!("/in/v1/demo/live/1/{path}"))
        .with_header("authorization", &basic(&creds.0, &creds.1))
        .with_body(body.to_vec());
    let r: Response = block_on(o.handle(req, now));
    assert!(r.status < 300, "{path}: {} {}", r.status, text(&r));
    r.status
}

fn put_segment(o: &Recorded, creds: &(String, String), n: u64, now: u64) {
    assert_eq!(
        put_file(o, creds, &format!("v/seg{n}.ts"), &ts(2, n as u8), now),
        201
    );
}

/// The playlist listing segments up to `n` (a window of 6).
fn put_playlist(o: &Recorded, creds: &(String, String), n: u64, now: u64) -> u16 {
    let first = n.saturating_sub(5);
    let pl = media_playlist(first, n - first + 1);
    put_file(o, creds, "v/index.m3u8", pl.as_bytes(), now + 10)
}

/// Output numbers the live playlist lists.
fn listed(o: &Recorded, now: u64) -> Vec<u64> {
    let r = block_on(o.handle(
        Request::new(Method::Get, "/out/v1/demo/live/hls/v/index/media.m3u8"),
        now,
    ));
    assert_eq!(r.status, 200, "{}", text(&r));
    plain(text(&r))
        .lines()
        .filter(|l| l.ends_with(".ts"))
        .map(|l| l.trim_end_matches(".ts").parse().unwrap())
        .collect()
}

#[test]
fn a_playlist_after_this_isolates_commit_reads_neither_its_timeline_nor_its_upload() {
    let (o, creds, calls) = recorded();
    for n in 0..2 {
        put_segment(&o, &creds, n, T0 + n * 2000);
        put_playlist(&o, &creds, n, T0 + n * 2000);
    }
    calls.reset();
    put_segment(&o, &creds, 2, T0 + 4000);
    assert_eq!(put_playlist(&o, &creds, 2, T0 + 4000), 201);
    assert_eq!(
        calls.count(ObjectOp::GetVersioned, "idx/"),
        0,
        "timeline read"
    );
    assert_eq!(calls.count(ObjectOp::Get, "idx/"), 0, "timeline read");
    assert_eq!(calls.count(ObjectOp::Head, "seg/"), 0, "upload read");
    assert_eq!(calls.count(ObjectOp::PutIfVersion, "idx/"), 1);
    assert_eq!(listed(&o, T0 + 5000), [0, 1, 2]);
}

#[test]
fn a_timeline_another_isolate_changed_is_read_again_and_keeps_its_segments() {
    let (mut o, creds, calls) = recorded();
    let isolate_a = o.ingest_memory.clone();
    for n in 0..2 {
        put_segment(&o, &creds, n, T0 + n * 2000);
        put_playlist(&o, &creds, n, T0 + n * 2000);
    }
    // Segment 2 goes through another isolate.
    o.ingest_memory = Rc::new(IngestMemory::default());
    put_segment(&o, &creds, 2, T0 + 4000);
    assert_eq!(put_playlist(&o, &creds, 2, T0 + 4000), 201);
    // Back in the first isolate, whose copy of the timeline lacks segment 2.
    o.ingest_memory = isolate_a;
    calls.reset();
    put_segment(&o, &creds, 3, T0 + 6000);
    assert_eq!(put_playlist(&o, &creds, 3, T0 + 6000), 201);
    assert_eq!(
        (
            calls.count(ObjectOp::PutIfVersion, "idx/"),
            calls.count(ObjectOp::GetVersioned, "idx/"),
        ),
        (2, 1),
        "the stale write fails, the stored timeline is read and written"
    );
    assert_eq!(listed(&o, T0 + 7000), [0, 1, 2, 3]);
    // Distrusted for a while: read, though this isolate wrote it last.
    calls.reset();
    put_segment(&o, &creds, 4, T0 + 8000);
    put_playlist(&o, &creds, 4, T0 + 8000);
    assert_eq!(calls.count(ObjectOp::GetVersioned, "idx/"), 1);
    // Then trusted again.
    let later = T0 + 8000 + DISTRUST_MS;
    calls.reset();
    put_segment(&o, &creds, 5, later);
    put_playlist(&o, &creds, 5, later);
    assert_eq!(calls.count(ObjectOp::GetVersioned, "idx/"), 0);
    assert_eq!(listed(&o, later + 1000), [0, 1, 2, 3, 4, 5]);
}

#[test]
fn the_head_is_skipped_only_for_an_upload_this_isolate_made() {
    let (mut o, creds, calls) = recorded();
    let isolate_a = o.ingest_memory.clone();
    put_segment(&o, &creds, 0, T0);
    put_playlist(&o, &creds, 0, T0);
    // Uploaded through another isolate: this one reads its metadata.
    o.ingest_memory = Rc::new(IngestMemory::default());
    put_segment(&o, &creds, 1, T0 + 2000);
    o.ingest_memory = isolate_a;
    calls.reset();
    assert_eq!(put_playlist(&o, &creds, 1, T0 + 2000), 201);
    assert_eq!(calls.count(ObjectOp::Head, "seg/"), 1);
    // Uploaded here: not read.
    put_segment(&o, &creds, 2, T0 + 4000);
    calls.reset();
    assert_eq!(put_playlist(&o, &creds, 2, T0 + 4000), 201);
    assert_eq!(calls.count(ObjectOp::Head, "seg/"), 0);
    // A listed segment not uploaded is looked for in the store, and nothing is committed
    // without it.
    calls.reset();
    assert_eq!(put_playlist(&o, &creds, 3, T0 + 6000), 200);
    assert!(calls.count(ObjectOp::Head, "seg/") > 0);
    assert_eq!(listed(&o, T0 + 7000), [0, 1, 2]);
}
