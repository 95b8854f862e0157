//! Storage round trips per request kind (docs/storage.md, "Round trips per request"): every
//! store operation takes one "round"; operations started while another is in flight share its
//! round (they run in parallel), so the count of rounds is a request's critical path: at
//! 150-300 ms per R2 round trip from a distant edge, what its latency is made of. The table is
//! a golden file, so a change in what a request reads shows up in review. "Warm edge" rows ask
//! for the same file again with the platform's cache holding the copy the first answer left
//! (the Worker's Cache API; `testing::memory_edge_cache` here). `TRACE_ROUNDS=1` (with
//! `--nocapture`) prints every operation with its round.

mod common;

use common::speke::*;
use common::*;
use edgepack::content_keys::forget_cached_keys;
use edgepack::playback::forget_remembered_endpoints;
use edgepack::store::{MemoryKv, MemoryObjects};
use edgepack::testing::{
    clear_edge_cache, edge_keep, fake_fetch, memory_edge_cache, MemoryOrigin, Observed, Observer,
    Op,
};
use edgepack::{Method, Origin, Request, Response};
use serde_json::json;
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// What the requests of one measurement did, shared by both stores.
#[derive(Default)]
struct Tracker {
    in_flight: Cell<usize>,
    rounds: Cell<usize>,
    kv: Cell<usize>,
    objects: Cell<usize>,
}

/// Makes every store operation wait one scheduler turn before it runs, and counts it.
#[derive(Clone)]
struct Rounds(Rc<Tracker>);

impl Observer for Rounds {
    fn start(&self, op: Op, key: &str) {
        let t = &self.0;
        if t.in_flight.get() == 0 {
            t.rounds.set(t.rounds.get() + 1);
        }
        if std::env::var("TRACE_ROUNDS").is_ok() {
            eprintln!("  round {} {op:?} {key}", t.rounds.get());
        }
        t.in_flight.set(t.in_flight.get() + 1);
        let count = match op {
            Op::Kv(_) => &t.kv,
            Op::Object(_) => &t.objects,
        };
        count.set(count.get() + 1);
    }
    async fn delay(&self) {
        YieldOnce(false).await;
    }
    fn end(&self, _op: Op) {
        let t = &self.0;
        t.in_flight.set(t.in_flight.get() - 1);
    }
}

type Measured = Origin<Observed<MemoryKv, Rounds>, Observed<MemoryObjects, Rounds>>;

/// Drives a future whose store operations each wait one turn.
fn run<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..100_000 {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
    panic!("the request did not finish");
}

/// The channel of the table: input HLS (MPEG-TS) with one rendition `v` (the fixture
/// segments: H.264 + AAC), endpoints HLS (TS, with a day of time-shift), HLS-CMAF and DASH;
/// and two whose keys rotate every 10 s: HLS (TS) with `AES_128`, HLS-CMAF with `SAMPLE_AES`.
fn channel() -> (MemoryOrigin, (String, String)) {
    provider_answering_every_kid();
    let o = origin();
    let c = setup(&o, json!({"name": "hls", "time_shift_days": 1}));
    let rotating = |method: &str| {
        let drm_systems: &[&str] = match method {
            "AES_128" => &[],
            _ => &["CLEAR_KEY"],
        };
        json!({"method": method, "key_provider_url": PROVIDER, "content_id": method,
            "drm_systems": drm_systems, "key_rotation_interval": 10})
    };
    for (name, protocol, encryption) in [
        ("cmaf", "HLS_CMAF", None),
        ("dash", "DASH", None),
        ("aes", "HLS", Some(rotating("AES_128"))),
        ("cbcs", "HLS_CMAF", Some(rotating("SAMPLE_AES"))),
    ] {
        let mut body = json!({"name": name, "protocol": protocol, "time_shift_days": 1});
        if let Some(encryption) = encryption {
            body["encryption"] = encryption;
        }
        let (s, v) = api(
            &o,
            Method::Post,
            "/api/v1/groups/demo/channels/live/endpoints",
            Some(body),
        );
        assert_eq!(s, 201, "{v}");
    }
    push_fixture_segments(&o, &c);
    (o, c)
}

/// A channel with two renditions of the fixture segments, `v` and `w` (an HLS endpoint with a
/// day of time-shift): a clip of `w` chooses a rendition other than the reference (`v`).
fn two_renditions() -> MemoryOrigin {
    let o = origin();
    let c = setup(&o, json!({"name": "hls", "time_shift_days": 1}));
    push_fixture_segments(&o, &c);
    for (i, name) in ["h264_aac_0.ts", "h264_aac_1.ts"].iter().enumerate() {
        let now = T0 + i as u64 * 2000;
        let r = put(&o, 1, &c, &format!("w/seg{i}.ts"), &fixture(name), now);
        assert_eq!(r.status, 201);
        let pl = media_playlist(0, i as u64 + 1);
        let r = put(&o, 1, &c, "w/index.m3u8", pl.as_bytes(), now + 10);
        assert_eq!(r.status, 201);
    }
    o
}

fn measured(o: MemoryOrigin) -> (Measured, Rc<Tracker>) {
    let tracker = Rc::new(Tracker::default());
    let origin = wrap_stores(
        o,
        |inner| Observed {
            inner,
            observer: Rounds(tracker.clone()),
        },
        |inner| Observed {
            inner,
            observer: Rounds(tracker.clone()),
        },
    );
    clear_edge_cache();
    (
        origin
            .with_edge_cache(memory_edge_cache)
            .with_fetch(fake_fetch),
        tracker,
    )
}

/// One request, measured: (status, rounds, KV operations, object operations).
fn measure(o: &Measured, t: &Tracker, req: Request, now: u64) -> (Response, usize, usize, usize) {
    t.rounds.set(0);
    t.kv.set(0);
    t.objects.set(0);
    let r = run(o.handle(req, now));
    // What the Worker does after answering: keep what the core marked.
    edge_keep(&r);
    (r, t.rounds.get(), t.kv.get(), t.objects.get())
}

/// [`measure`] of a request that must succeed: (rounds, KV operations, object operations).
fn measure_ok(
    o: &Measured,
    t: &Tracker,
    name: &str,
    req: Request,
    now: u64,
) -> (usize, usize, usize) {
    let (r, rounds, kv, objects) = measure(o, t, req, now);
    assert!(
        r.status < 300,
        "{name}: {} {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    (rounds, kv, objects)
}

fn get_req(path_query: &str) -> Request {
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let mut req = Request::new(Method::Get, path);
    req.query = query.to_owned();
    req
}

fn ingest_req(creds: &(String, String), path: &str, body: Vec<u8>) -> Request {
    Request::new(Method::Put, &format!("/in/v1/demo/live/1/{path}"))
        .with_header("authorization", &basic(&creds.0, &creds.1))
        .with_body(body)
}

const OUT: &str = "/out/v1/demo/live";

#[test]
fn round_trips_per_request_kind() {
    let (o, creds) = channel();
    let (o, t) = measured(o);
    let now = T0 + 4000;
    let cmaf = run(o.handle(get_req(&format!("{OUT}/cmaf/v/index/video.m3u8")), now));
    let cmaf = text(&cmaf).to_owned();
    let init = cmaf
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\""))
        .expect("EXT-X-MAP")
        .trim_end_matches('"')
        .to_owned();
    let segment = cmaf
        .lines()
        .find(|l| l.ends_with(".m4s"))
        .expect("a segment")
        .to_owned();
    let hls = run(o.handle(get_req(&format!("{OUT}/hls/v/index/media.m3u8")), now));
    let ts_segment = text(&hls)
        .lines()
        .find(|l| l.ends_with(".ts"))
        .expect("a TS segment")
        .to_owned();
    let mpd = run(o.handle(get_req(&format!("{OUT}/dash/manifest.mpd")), now));
    let mpd = text(&mpd).to_owned();
    let attr = |name: &str| {
        let start = mpd.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
        let len = mpd[start..].find('"').expect("a closing quote");
        mpd[start..start + len].to_owned()
    };
    let dash_segment = attr("media").replace("$Time$", &attr(" t"));
    let window = "start=2026-11-23T12:00:00Z&end=2026-11-23T12:00:04Z";
    // A time-shifted playlist names each segment's archive bucket too (`~{id}@{bucket}/`).
    let shifted = run(o.handle(
        get_req(&format!("{OUT}/hls/v/index/media.m3u8?{window}")),
        now,
    ));
    let shifted_segment = text(&shifted)
        .lines()
        .find(|l| l.contains(".ts"))
        .expect("a time-shifted TS segment")
        .to_owned();
    assert!(shifted_segment.contains('@'), "{shifted_segment}");
    // A time-shifted MPD's template names its run's clock and timescale (`~{id}@{clock}_{ts}/`).
    let shifted_mpd = run(o.handle(get_req(&format!("{OUT}/dash/manifest.mpd?{window}")), now));
    let shifted_mpd = text(&shifted_mpd).replace("&amp;", "&");
    let shifted_attr = |name: &str| {
        let start = shifted_mpd.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
        let len = shifted_mpd[start..].find('"').expect("a closing quote");
        shifted_mpd[start..start + len].to_owned()
    };
    let shifted_dash_segment = shifted_attr("media").replace("$Time$", &shifted_attr(" t"));
    assert!(shifted_dash_segment.contains('@'), "{shifted_dash_segment}");
    let shifted_dash_init = shifted_attr("initialization");
    let playback: Vec<(&str, String)> = vec![
        ("HLS (TS) master", format!("{OUT}/hls/manifest.m3u8")),
        (
            "HLS (TS) rendition playlist",
            format!("{OUT}/hls/v/index/media.m3u8"),
        ),
        (
            "HLS (TS) segment",
            format!("{OUT}/hls/v/index/{ts_segment}"),
        ),
        (
            "HLS (TS) segment, URL without the storage id (before this change)",
            format!("{OUT}/hls/v/index/1.ts"),
        ),
        ("HLS-CMAF master", format!("{OUT}/cmaf/manifest.m3u8")),
        (
            "HLS-CMAF rendition playlist",
            format!("{OUT}/cmaf/v/index/video.m3u8"),
        ),
        ("CMAF init segment", format!("{OUT}/cmaf/v/index/{init}")),
        (
            "CMAF media segment",
            format!("{OUT}/cmaf/v/index/{segment}"),
        ),
        ("DASH MPD", format!("{OUT}/dash/manifest.mpd")),
        ("DASH media segment", format!("{OUT}/dash/{dash_segment}")),
        (
            "time-shifted HLS (TS) master (`start`/`end`)",
            format!("{OUT}/hls/manifest.m3u8?{window}"),
        ),
        (
            "time-shifted rendition playlist (`start`/`end`)",
            format!("{OUT}/hls/v/index/media.m3u8?{window}"),
        ),
        (
            "time-shifted HLS (TS) segment (`start`/`end`)",
            format!("{OUT}/hls/v/index/{shifted_segment}"),
        ),
        (
            "time-shifted HLS (TS) segment, URL without the archive bucket (before this change)",
            format!("{OUT}/hls/v/index/{ts_segment}?{window}"),
        ),
        (
            "time-shifted DASH MPD (`start`/`end`)",
            format!("{OUT}/dash/manifest.mpd?{window}"),
        ),
        (
            "time-shifted DASH media segment (`start`/`end`)",
            format!("{OUT}/dash/{shifted_dash_segment}"),
        ),
        (
            "time-shifted DASH media segment, URL without the run's clock (before this change)",
            format!("{OUT}/dash/{dash_segment}?{window}"),
        ),
        (
            "time-shifted DASH init segment (`start`/`end`)",
            format!("{OUT}/dash/{shifted_dash_init}"),
        ),
        (
            "time-shifted HLS (TS) master, `AES_128` keys rotating",
            format!("{OUT}/aes/manifest.m3u8?{window}"),
        ),
        (
            "time-shifted HLS-CMAF master, `SAMPLE_AES` keys rotating (keys stored)",
            format!("{OUT}/cbcs/manifest.m3u8?{window}"),
        ),
        ("clip.mp4 (4 s)", format!("{OUT}/hls/clip.mp4?{window}")),
        (
            "clip.mp4 (both segments)",
            format!("{OUT}/hls/clip.mp4?start=2026-11-23T11:59:57Z&end=2026-11-23T12:00:04Z"),
        ),
    ];
    // A period's content keys are stored by the first request that needs them (a provider
    // call); the table measures the requests after it.
    for endpoint in ["aes", "cbcs"] {
        let r = run(o.handle(
            get_req(&format!("{OUT}/{endpoint}/manifest.m3u8?{window}")),
            now,
        ));
        assert_eq!(r.status, 200, "{}", text(&r));
    }
    let mut table = String::from(
        "| request | cold: round trips | cold: KV + object ops | warm isolate: round trips | warm isolate: KV + object ops | cached copy: round trips | cached copy: KV + object ops |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let cell =
        |(rounds, kv, objects): (usize, usize, usize)| format!("{rounds} | {kv} + {objects}");
    for (name, url) in playback {
        // Cold: nothing remembered in the isolate (endpoints, content keys), nothing in the
        // edge's cache.
        forget_remembered_endpoints();
        forget_cached_keys();
        clear_edge_cache();
        if std::env::var("TRACE_ROUNDS").is_ok() {
            eprintln!("== {name}");
        }
        let cold = measure_ok(&o, &t, name, get_req(&url), now);
        // Warm isolate: the endpoint's settings remembered (reads ahead), no cached copy.
        clear_edge_cache();
        let warm = measure_ok(&o, &t, name, get_req(&url), now);
        // The copy the warm request left, when its answer may be kept.
        let copy = match measure_ok(&o, &t, name, get_req(&url), now) {
            c if c != warm => cell(c),
            _ => "— | —".to_owned(),
        };
        table.push_str(&format!(
            "| {name} | {} | {} | {copy} |\n",
            cell(cold),
            cell(warm)
        ));
    }
    // A clip whose video rendition is not the reference rendition, on its own channel.
    {
        let name = "clip.mp4 (4 s), video rendition not the reference (`rendition=`)";
        let (o, t) = measured(two_renditions());
        let url = format!("{OUT}/hls/clip.mp4?{window}&rendition=w");
        forget_remembered_endpoints();
        let cold = measure_ok(&o, &t, name, get_req(&url), now);
        let warm = measure_ok(&o, &t, name, get_req(&url), now);
        table.push_str(&format!(
            "| {name} | {} | {} | — | — |\n",
            cell(cold),
            cell(warm)
        ));
    }
    let ingest = vec![
        (
            "ingest: segment PUT",
            ingest_req(&creds, "v/seg2.ts", fixture("h264_aac_0.ts")),
        ),
        (
            "ingest: media playlist PUT (one new segment)",
            ingest_req(&creds, "v/index.m3u8", media_playlist(0, 3).into_bytes()),
        ),
    ];
    for (name, req) in ingest {
        let cold = measure_ok(&o, &t, name, req, now);
        table.push_str(&format!("| {name} | {} | — | — | — | — |\n", cell(cold)));
    }
    golden("round_trips.md", &table);
}
