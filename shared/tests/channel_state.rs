//! Channel state in a Durable Object per channel (docs/storage.md, "Channel state in a
//! Durable Object"), on the in-memory model of the deployment (`testing::ChannelObjects`):
//! the Worker forwards committing ingest requests to the channel's object, which runs the same
//! core over its memory and rows; playback reads the state from the object. Every answer must
//! be the one the R2 layout gives, across restarts of the object and for a channel whose state
//! was in R2 before.

mod common;

use common::*;
use edgepack::channel_object::ObjectSetup;
use edgepack::channel_state::Routed;
use edgepack::stats::{DataPoint, NoStats, Rollup, RollupFuture, Stats};
use edgepack::store::{MemoryKv, MemoryObjects};
use edgepack::testing::{ChannelObjects, MemoryStateClient, Observed, Observer, Op};
use edgepack::{Method, Origin, Request, Response};
use serde_json::json;
use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

type Model<O> = Rc<ChannelObjects<MemoryKv, O>>;
type Worker<O> = Origin<Rc<MemoryKv>, Routed<Rc<O>, MemoryStateClient<MemoryKv, O>>>;
type InR2 = Origin<Rc<MemoryKv>, Rc<MemoryObjects>>;

/// A channel with an HLS and a DASH endpoint; the origin it was made on, and both inputs'
/// credentials.
fn channel() -> (TestOrigin, [(String, String); 2]) {
    let o = origin();
    let endpoints = [
        json!({"name": "hls", "protocol": "HLS"}),
        json!({"name": "dash", "protocol": "DASH"}),
    ];
    let ch = channel_with_endpoints(&o, "HLS", &endpoints);
    (o, [credentials(&ch, 1), credentials(&ch, 2)])
}

/// The deployment with state in the channels' objects, over `kv` and `objects`.
fn in_objects<O: edgepack::store::ObjectStore + 'static>(
    o: &TestOrigin,
    kv: Rc<MemoryKv>,
    objects: Rc<O>,
) -> (Worker<O>, Model<O>) {
    let setup = ObjectSetup::new(o.config.clone(), o.random, o.sleep);
    let model = ChannelObjects::new(kv.clone(), objects, setup);
    let worker = Origin::new(kv, model.routed(), o.config.clone(), o.random, o.sleep)
        .with_commit_home(model.commit_home());
    (worker, model)
}

fn in_r2(o: &TestOrigin, kv: Rc<MemoryKv>, objects: Rc<MemoryObjects>) -> InR2 {
    Origin::new(kv, objects, o.config.clone(), o.random, o.sleep)
}

fn ingest(creds: &(String, String), input: u8, path: &str, body: Vec<u8>) -> Request {
    Request::new(Method::Put, &format!("/in/v1/demo/live/{input}/{path}"))
        .with_header("authorization", &basic(&creds.0, &creds.1))
        .with_body(body)
}

/// Segment `n` of `input` and its playlist (a window of 6), as two requests; input 2 is
/// 300 ms behind, both aligned by PTS.
fn pair(creds: &[(String, String); 2], input: u8, n: u64) -> [(Request, u64); 2] {
    let at = T0 + n * 2000 + u64::from(input - 1) * 300;
    let c = &creds[usize::from(input - 1)];
    let segment = ts_with_pts(900_000 + n * 180_000, n as u8, 2);
    let first = n.saturating_sub(5);
    let playlist = media_playlist(first, n - first + 1).into_bytes();
    [
        (ingest(c, input, &format!("v/seg{n}.ts"), segment), at),
        (ingest(c, input, "v/index.m3u8", playlist), at + 5),
    ]
}

const PLAYLISTS: [&str; 3] = [
    "/out/v1/demo/live/hls/manifest.m3u8",
    "/out/v1/demo/live/hls/v/index/media.m3u8",
    "/out/v1/demo/live/dash/manifest.mpd",
];

fn answers<K, O>(o: &Origin<K, O>, now: u64) -> Vec<String>
where
    K: edgepack::store::KvStore,
    O: edgepack::store::ObjectStore,
{
    PLAYLISTS
        .iter()
        .map(|p| {
            let r = block_on(o.handle(Request::new(Method::Get, p), now));
            format!("{} {}", r.status, text(&r))
        })
        .collect()
}

fn status(r: Response) -> u16 {
    assert!(r.status < 300, "{}", text(&r));
    r.status
}

#[test]
fn the_object_answers_as_the_r2_layout_through_failover_and_restarts() {
    let (o, creds) = channel();
    let r2 = in_r2(&o, Rc::new(o.kv.clone()), Rc::new(o.objects.clone()));
    let (worker, model) = in_objects(&o, Rc::new(o.kv.clone()), Rc::new(o.objects.clone()));
    let mut now = T0;
    // Both inputs for 12 segments, then input 1 stops and input 2 goes on past the failover
    // timeout (15 s).
    for n in 0..24u64 {
        let inputs: &[u8] = if n < 12 { &[1, 2] } else { &[2] };
        for &input in inputs {
            for (req, at) in pair(&creds, input, n) {
                now = at;
                let a = block_on(r2.handle(req.clone(), at));
                let b = block_on(worker.handle(req, at));
                assert_eq!((a.status, text(&a)), (b.status, text(&b)), "segment {n}");
            }
        }
        if n == 8 {
            model.restart();
        }
        assert_eq!(
            answers(&r2, now + 10),
            answers(&worker, now + 10),
            "after {n}"
        );
    }
    let served = answers(&worker, now + 10);
    // (The DASH answer of these synthetic segments is an error, the same in both layouts.)
    assert!(
        served[..2].iter().all(|a| a.starts_with("200 ")),
        "{served:?}"
    );
    let media = &served[1];
    assert!(
        media.contains("seg23") || media.contains("23.ts"),
        "{media}"
    );
    // The object restarted from its rows answers the same.
    model.restart();
    assert_eq!(answers(&r2, now + 10), answers(&worker, now + 10));
    // Nothing of the state was written to R2 by the object's deployment.
    let (_, objects) = (&worker.kv, &worker.objects.objects);
    assert!(
        objects
            .keys()
            .iter()
            .all(|k| !k.starts_with("idx/") || r2.objects.keys().contains(k)),
        "timelines stay in the object"
    );
}

#[test]
fn a_channel_whose_state_was_in_r2_goes_on_in_its_object() {
    let (o, creds) = channel();
    let reference = in_r2(&o, Rc::new(o.kv.clone()), Rc::new(o.objects.clone()));
    let (kv, objects) = (Rc::new(o.kv.clone()), Rc::new(o.objects.clone()));
    let before = in_r2(&o, kv.clone(), objects.clone());
    let (after, model) = in_objects(&o, kv, objects.clone());
    let mut now = T0;
    for n in 0..16u64 {
        for input in [1u8, 2] {
            for (req, at) in pair(&creds, input, n) {
                now = at;
                status(block_on(reference.handle(req.clone(), at)));
                // The upgrade after 8 segments: the same stores, state now in the object.
                if n < 8 {
                    status(block_on(before.handle(req, at)));
                } else {
                    status(block_on(after.handle(req, at)));
                }
            }
        }
    }
    assert_eq!(answers(&reference, now + 10), answers(&after, now + 10));
    // The state read from R2 once is in rows now: a restarted object needs R2 no more for it.
    model.restart();
    let (written, _) = model.rows_billed();
    assert!(written > 0);
    assert_eq!(answers(&reference, now + 10), answers(&after, now + 10));
}

/// Counts object-store reads.
#[derive(Clone, Default)]
struct Reads(Rc<RefCell<Vec<(Op, String)>>>);

impl Observer for Reads {
    fn start(&self, op: Op, key: &str) {
        self.0.borrow_mut().push((op, key.to_owned()));
    }
}

#[test]
fn a_playlist_put_costs_one_object_request_and_one_row_and_no_r2_read() {
    let (o, creds) = channel();
    let reads = Reads::default();
    let objects = Rc::new(Observed {
        inner: o.objects.clone(),
        observer: reads.clone(),
    });
    let (worker, model) = in_objects(&o, Rc::new(o.kv.clone()), objects);
    for n in 0..6u64 {
        for input in [1u8, 2] {
            let [segment, playlist] = pair(&creds, input, n);
            status(block_on(worker.handle(segment.0, segment.1)));
            let requests = model.requests.get();
            let (rows, _) = model.rows_billed();
            reads.0.borrow_mut().clear();
            status(block_on(worker.handle(playlist.0, playlist.1)));
            assert_eq!(model.requests.get() - requests, 1, "one object request");
            if n > 0 {
                // The Worker passed the upload it made: no head, no other R2 call.
                assert_eq!(*reads.0.borrow(), vec![], "segment {n} input {input}");
                assert_eq!(model.rows_billed().0 - rows, 1, "one row written");
            }
        }
    }
    // A cold Worker isolate has no upload to pass: the object heads it.
    let [segment, playlist] = pair(&creds, 1, 6);
    status(block_on(worker.handle(segment.0, segment.1)));
    worker.ingest_memory.clear();
    reads.0.borrow_mut().clear();
    status(block_on(worker.handle(playlist.0, playlist.1)));
    let heads: Vec<_> = reads.0.borrow().iter().map(|(op, _)| *op).collect();
    assert_eq!(heads, vec![Op::Object(edgepack::testing::ObjectOp::Head)]);
    // Playback: one object request per read round.
    let requests = model.requests.get();
    let r = block_on(worker.handle(Request::new(Method::Get, PLAYLISTS[1]), T0 + 13_000));
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(model.requests.get() - requests, 1);
}

/// Makes every object-store call wait one turn and records it, so two requests interleave.
#[derive(Clone, Default)]
struct Interleaved(Rc<RefCell<Vec<String>>>);

impl Observer for Interleaved {
    fn start(&self, _op: Op, key: &str) {
        self.0.borrow_mut().push(key.to_owned());
    }
    async fn delay(&self) {
        YieldOnce(false).await;
    }
}

/// Polls `a` and `b` in turn to completion.
fn both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let mut cx = Context::from_waker(Waker::noop());
    let (mut ra, mut rb) = (None, None);
    for _ in 0..100_000 {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(&mut cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(&mut cx) {
                rb = Some(v);
            }
        }
        if let (Some(_), Some(_)) = (&ra, &rb) {
            break;
        }
    }
    (ra.expect("a finished"), rb.expect("b finished"))
}

#[test]
fn commits_of_both_inputs_run_one_at_a_time_in_the_object() {
    let (o, creds) = channel();
    let calls = Interleaved::default();
    let objects = Rc::new(Observed {
        inner: o.objects.clone(),
        observer: calls.clone(),
    });
    let (worker, _model) = in_objects(&o, Rc::new(o.kv.clone()), objects);
    for round in 0..3u64 {
        // Three segments on each input, then both playlists at once: each commit heads its
        // three uploads in R2 (none is in memory) and awaits each.
        let mut playlists = Vec::new();
        for n in round * 3..round * 3 + 3 {
            let [s1, p1] = pair(&creds, 1, n);
            let [s2, p2] = pair(&creds, 2, n);
            status(both(worker.handle(s1.0, s1.1), worker.handle(s2.0, s2.1)).0);
            playlists = vec![p1, p2];
        }
        worker.ingest_memory.clear();
        calls.0.borrow_mut().clear();
        let p2 = playlists.pop().expect("input 2");
        let p1 = playlists.pop().expect("input 1");
        let (a, b) = both(worker.handle(p1.0, p1.1), worker.handle(p2.0, p2.1 - 300));
        assert!(
            a.status < 300 && b.status < 300,
            "{} {}",
            text(&a),
            text(&b)
        );
        // The first commit's calls all come before the second's.
        let inputs: Vec<char> = calls
            .0
            .borrow()
            .iter()
            .filter_map(|k| k.strip_prefix("seg/"))
            .filter_map(|k| k.split('/').nth(1))
            .filter_map(|i| i.chars().next())
            .collect();
        let mut sorted = inputs.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), 2, "both commits read R2: {inputs:?}");
    }
}

/// The data points a backend was given.
#[derive(Default)]
struct Points(RefCell<Vec<DataPoint>>);

impl Stats for Points {
    fn record(&self, point: &DataPoint) {
        self.0.borrow_mut().push(point.clone());
    }
    fn rollup<'a>(&'a self, query: &'a Rollup) -> RollupFuture<'a> {
        NoStats.rollup(query)
    }
}

#[test]
fn ingest_statistics_of_a_commit_in_the_object_reach_the_workers_backend() {
    let (o, creds) = channel();
    let (in_r2_points, in_object_points) = (Rc::new(Points::default()), Rc::new(Points::default()));
    let r2 = in_r2(&o, Rc::new(o.kv.clone()), Rc::new(o.objects.clone()))
        .with_stats(in_r2_points.clone());
    let (worker, _model) = in_objects(&o, Rc::new(o.kv.clone()), Rc::new(o.objects.clone()));
    let worker = worker.with_stats(in_object_points.clone());
    for n in 0..4u64 {
        for input in [1u8, 2] {
            for (req, at) in pair(&creds, input, n) {
                status(block_on(r2.handle(req.clone(), at)));
                status(block_on(worker.handle(req, at)));
            }
        }
    }
    let ingest = |p: &Points| -> Vec<DataPoint> {
        let points = p.0.borrow();
        points
            .iter()
            .filter(|p| matches!(p, DataPoint::Ingest(_)))
            .cloned()
            .collect()
    };
    let expected = ingest(&in_r2_points);
    assert_eq!(
        expected.len(),
        8,
        "one per playlist that committed a segment"
    );
    // The object returns what its commits recorded; the Worker records it (the stats API
    // reads the Worker's backend, not the object's memory).
    assert_eq!(ingest(&in_object_points), expected);
}

fn admin(method: Method, path: &str) -> Request {
    Request::new(method, &format!("/api/v1/groups/demo/channels/live{path}"))
        .with_header("authorization", &format!("Bearer {TOKEN}"))
}

/// State keys of channel `id` in the object store.
fn state_in_r2(objects: &MemoryObjects, id: &str) -> Vec<String> {
    let roots = [
        format!("idx/{id}/"),
        format!("fa/{id}/"),
        format!("switch/{id}"),
    ];
    objects
        .keys()
        .into_iter()
        .filter(|k| roots.iter().any(|r| k.starts_with(r.as_str())))
        .collect()
}

#[test]
fn deleting_a_channel_purges_its_objects_rows_and_its_state_left_in_r2() {
    let (o, creds) = channel();
    let (kv, objects) = (Rc::new(o.kv.clone()), Rc::new(o.objects.clone()));
    // State in R2 for 4 segments, then in the object (the R2 copies stay behind).
    let before = in_r2(&o, kv.clone(), objects.clone());
    let (worker, model) = in_objects(&o, kv.clone(), objects.clone());
    // Another location's Worker, whose configuration cache still holds the channel.
    let late = Origin::new(kv, model.routed(), o.config.clone(), o.random, o.sleep)
        .with_commit_home(model.commit_home());
    let mut now = T0;
    for n in 0..8u64 {
        for input in [1u8, 2] {
            for (req, at) in pair(&creds, input, n) {
                now = at;
                let o: &dyn Fn(Request, u64) -> Response = if n < 4 {
                    &|r, t| block_on(before.handle(r, t))
                } else {
                    &|r, t| block_on(worker.handle(r, t))
                };
                status(o(req, at));
            }
        }
    }
    status(block_on(late.handle(pair(&creds, 1, 8)[0].0.clone(), now)));
    let [id] = model.ids().try_into().expect("one channel's object");
    assert!(model.stored_rows(&id) > 0);
    assert!(!state_in_r2(&objects, &id).is_empty());

    for endpoint in ["hls", "dash"] {
        let path = format!("/endpoints/{endpoint}");
        status(block_on(worker.handle(admin(Method::Delete, &path), now)));
    }
    status(block_on(worker.handle(admin(Method::Delete, ""), now)));
    // A commit forwarded late by the other location writes rows again.
    for (req, at) in pair(&creds, 1, 8) {
        status(block_on(late.handle(req, at)));
    }
    assert!(model.stored_rows(&id) > 0);

    // The scheduled runs: every row and every R2 copy goes, and stays gone.
    let runs = [now + 300_000, now + 600_000, now + 900_000];
    for at in runs {
        block_on(worker.scheduled(at)).expect("expiry runs");
        assert_eq!(model.stored_rows(&id), 0, "rows of the deleted channel");
        assert_eq!(state_in_r2(&objects, &id), Vec::<String>::new());
    }
    let left: Vec<_> = objects
        .keys()
        .into_iter()
        .filter(|k| k.contains(id.as_str()))
        .collect();
    assert_eq!(
        left,
        Vec::<String>::new(),
        "the marker goes after the grace period"
    );

    // The channel made again has a new storage id, so a new object: it starts empty.
    let body = json!({"name": "live", "protocol": "HLS"}).to_string();
    let create = Request::new(Method::Post, "/api/v1/groups/demo/channels")
        .with_header("authorization", &format!("Bearer {TOKEN}"))
        .with_body(body);
    let created = block_on(worker.handle(create, now));
    assert_eq!(created.status, 201, "{}", text(&created));
    let ch: serde_json::Value = serde_json::from_slice(&created.body).expect("JSON");
    assert_ne!(ch["id"], json!(id));
    let creds = [credentials(&ch, 1), credentials(&ch, 2)];
    let at = T0 + 40_000;
    let segment = ts_with_pts(900_000 + 20 * 180_000, 20, 2);
    status(block_on(
        worker.handle(ingest(&creds[0], 1, "v/seg20.ts", segment), at),
    ));
    let playlist = media_playlist(20, 1).into_bytes();
    status(block_on(worker.handle(
        ingest(&creds[0], 1, "v/index.m3u8", playlist),
        at + 5,
    )));
    let playlist = Request::new(Method::Get, "/out/v1/demo/live/hls/v/index/media.m3u8");
    let hls = json!({"name": "hls", "protocol": "HLS"}).to_string();
    let endpoint = admin(Method::Post, "/endpoints").with_body(hls);
    status(block_on(worker.handle(endpoint, now)));
    let r = block_on(worker.handle(playlist, at + 1000));
    assert_eq!(r.status, 200, "{}", text(&r));
    let segments: Vec<_> = text(&r).lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        segments.len(),
        1,
        "only the new channel's segment: {}",
        text(&r)
    );
    assert_eq!(model.ids().len(), 2);
    assert_eq!(model.stored_rows(&id), 0);
}
