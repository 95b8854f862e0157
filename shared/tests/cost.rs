//! Billed operations per channel-hour (docs/cost.md): a 24/7 channel's ingest, and its
//! playback behind a CDN, counted by billing class on stores that count every call. The
//! channel of the table: 3 renditions pushed to both inputs (aligned, the second 300 ms
//! behind), 2 s segments (ffmpeg's, H.264 + AAC, made once by the test), one HLS (TS), one
//! HLS-CMAF and one DASH endpoint, the channel defaults otherwise; the scheduled run every 5
//! minutes as `wrangler.toml` sets it. Five minutes are simulated after a minute of warm-up and
//! scaled to an hour. The table is a golden file: a change in what ingest or playback costs
//! shows up in review.

mod common;

use common::*;
use edgepack::channel_object::ObjectSetup;
use edgepack::channel_state::Routed;
use edgepack::store::{MemoryKv, MemoryObjects};
use edgepack::testing::{
    ChannelObjects, KvOp, MemoryOrigin, MemoryStateClient, ObjectOp, Observed, Observer, Op,
};
use edgepack::{Method, Origin, Request, Response};
use serde_json::json;
use std::cell::Cell;
use std::rc::Rc;

/// Calls per billing class: Workers KV (reads, writes, deletes, lists) and R2 (class A:
/// writes and lists; class B: reads; deletes are free).
#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
struct Bill {
    kv_read: u64,
    kv_write: u64,
    kv_delete: u64,
    kv_list: u64,
    r2_class_a: u64,
    r2_class_b: u64,
    r2_delete: u64,
    /// Listings of either store (also in their classes): on Spin, each reads every key.
    lists: u64,
    /// Durable Object requests (forwarded commits, state reads), rows written and read.
    do_requests: u64,
    do_rows_written: u64,
    do_rows_read: u64,
}

impl Bill {
    fn minus(self, o: Bill) -> Bill {
        Bill {
            kv_read: self.kv_read - o.kv_read,
            kv_write: self.kv_write - o.kv_write,
            kv_delete: self.kv_delete - o.kv_delete,
            kv_list: self.kv_list - o.kv_list,
            r2_class_a: self.r2_class_a - o.r2_class_a,
            r2_class_b: self.r2_class_b - o.r2_class_b,
            r2_delete: self.r2_delete - o.r2_delete,
            lists: self.lists - o.lists,
            do_requests: self.do_requests - o.do_requests,
            do_rows_written: self.do_rows_written - o.do_rows_written,
            do_rows_read: self.do_rows_read - o.do_rows_read,
        }
    }
    fn times(self, k: u64) -> Bill {
        Bill {
            kv_read: self.kv_read * k,
            kv_write: self.kv_write * k,
            kv_delete: self.kv_delete * k,
            kv_list: self.kv_list * k,
            r2_class_a: self.r2_class_a * k,
            r2_class_b: self.r2_class_b * k,
            r2_delete: self.r2_delete * k,
            lists: self.lists * k,
            do_requests: self.do_requests * k,
            do_rows_written: self.do_rows_written * k,
            do_rows_read: self.do_rows_read * k,
        }
    }
    fn add(self, o: Bill) -> Bill {
        Bill {
            kv_read: self.kv_read + o.kv_read,
            kv_write: self.kv_write + o.kv_write,
            kv_delete: self.kv_delete + o.kv_delete,
            kv_list: self.kv_list + o.kv_list,
            r2_class_a: self.r2_class_a + o.r2_class_a,
            r2_class_b: self.r2_class_b + o.r2_class_b,
            r2_delete: self.r2_delete + o.r2_delete,
            lists: self.lists + o.lists,
            do_requests: self.do_requests + o.do_requests,
            do_rows_written: self.do_rows_written + o.do_rows_written,
            do_rows_read: self.do_rows_read + o.do_rows_read,
        }
    }
    /// Billed operations on Cloudflare (R2 deletes are free).
    fn billed(self) -> u64 {
        self.kv_read
            + self.kv_write
            + self.kv_delete
            + self.kv_list
            + self.r2_class_a
            + self.r2_class_b
            + self.do_requests
            + self.do_rows_written
            + self.do_rows_read
    }
    /// Spin's key-value store holds both: every call is one operation.
    fn spin_ops(self) -> u64 {
        self.kv_read
            + self.kv_write
            + self.kv_delete
            + self.kv_list
            + self.r2_class_a
            + self.r2_class_b
            + self.r2_delete
    }
    /// A table row; the Spin column only where the layout is Spin's (state in the store).
    fn row(self, what: &str, requests: u64, mode: Mode) -> String {
        let spin = match mode {
            Mode::R2 => self.spin_ops().to_string(),
            Mode::Object => "—".to_owned(),
        };
        format!(
            "| {what} | {requests} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {spin} |\n",
            self.kv_read,
            self.kv_write,
            self.kv_delete + self.kv_list,
            self.r2_class_a,
            self.r2_class_b,
            self.r2_delete,
            self.do_requests,
            self.do_rows_written,
            self.do_rows_read,
        )
    }
}

/// Counts each call in its billing class.
#[derive(Clone)]
struct Billed(Rc<Cell<Bill>>);

impl Observer for Billed {
    fn start(&self, op: Op, _key: &str) {
        let mut b = self.0.get();
        if matches!(
            op,
            Op::Kv(KvOp::List) | Op::Object(ObjectOp::List | ObjectOp::ListFirst)
        ) {
            b.lists += 1;
        }
        match op {
            Op::Kv(KvOp::Get) => b.kv_read += 1,
            Op::Kv(KvOp::Put | KvOp::PutExpiring) => b.kv_write += 1,
            Op::Kv(KvOp::Delete) => b.kv_delete += 1,
            Op::Kv(KvOp::List) => b.kv_list += 1,
            Op::Object(ObjectOp::Delete) => b.r2_delete += 1,
            // R2 class B: reads, heads, ranged reads.
            Op::Object(
                ObjectOp::Get | ObjectOp::GetVersioned | ObjectOp::Head | ObjectOp::GetRange,
            ) => b.r2_class_b += 1,
            // R2 class A: writes, listings, multipart steps.
            Op::Object(_) => b.r2_class_a += 1,
        }
        self.0.set(b);
    }
}

/// Where the channel state lives in a counted deployment (docs/storage.md).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// In R2, as on Spin (`CHANNEL_STATE = "r2"`).
    R2,
    /// In a Durable Object per channel (`CHANNEL_STATE = "durable-object"`).
    Object,
}

type CountedKv = Observed<MemoryKv, Billed>;
type CountedObjects = Observed<MemoryObjects, Billed>;
/// The Worker's store with state in the channels' objects.
type RoutedObjects = Routed<Rc<CountedObjects>, MemoryStateClient<CountedKv, CountedObjects>>;

/// A counted deployment: the Worker's origin and, in [`Mode::Object`], the channels' objects.
enum Counted {
    R2(Origin<CountedKv, CountedObjects>),
    Object(
        Origin<Rc<CountedKv>, RoutedObjects>,
        Rc<ChannelObjects<CountedKv, CountedObjects>>,
    ),
}

impl Counted {
    fn send(&self, req: Request, now: u64) -> Response {
        match self {
            Counted::R2(o) => block_on(o.handle(req, now)),
            Counted::Object(o, _) => block_on(o.handle(req, now)),
        }
    }
    fn scheduled(&self, now: u64) {
        match self {
            Counted::R2(o) => block_on(o.scheduled(now)).map(|_| ()),
            Counted::Object(o, _) => block_on(o.scheduled(now)).map(|_| ()),
        }
        .expect("scheduled run");
    }
    /// A new Worker isolate: its channel cache and ingest memory empty (the objects stay).
    fn new_isolate(&self) {
        let (channels, memory) = match self {
            Counted::R2(o) => (&o.channels, &o.ingest_memory),
            Counted::Object(o, _) => (&o.channels, &o.ingest_memory),
        };
        channels.clear();
        memory.clear();
    }
}

fn counted(o: MemoryOrigin, mode: Mode) -> (Counted, Rc<Cell<Bill>>) {
    let bill = Rc::new(Cell::new(Bill::default()));
    let billed = |inner| Observed {
        inner,
        observer: Billed(bill.clone()),
    };
    let (config, random, sleep) = (o.config.clone(), o.random, o.sleep);
    let origin = wrap_stores(o, billed, |inner| Observed {
        inner,
        observer: Billed(bill.clone()),
    });
    let counted = match mode {
        Mode::R2 => Counted::R2(origin),
        Mode::Object => {
            let (kv, objects) = (Rc::new(origin.kv), Rc::new(origin.objects));
            let setup = ObjectSetup::new(config.clone(), random, sleep);
            let model = ChannelObjects::new(kv.clone(), objects, setup);
            let worker = Origin::new(kv, model.routed(), config, random, sleep)
                .with_commit_home(model.commit_home());
            Counted::Object(worker, model)
        }
    };
    (counted, bill)
}

const RENDITIONS: [&str; 3] = ["v0", "v1", "v2"];
const SEGMENT_MS: u64 = 2000;
/// Second input's delay behind the first, ms.
const SECOND_INPUT_LAG_MS: u64 = 300;
/// Scheduled runs (`crons` in wrangler.toml): every 5 minutes.
const SCHEDULED_EVERY_MS: u64 = 300_000;
const WARM_UP_SEGMENTS: u64 = 30;
/// Five minutes of 2 s segments, scaled by 12 to an hour.
const MEASURED_SEGMENTS: u64 = 150;
const HOUR_SCALE: u64 = 12;

/// ffmpeg's live HLS segments of a small test picture and tone, `seg{n}.ts`, 2 s each.
fn encoded_segments(count: u64) -> Vec<Vec<u8>> {
    let dir = std::env::temp_dir().join(format!("edgepack-cost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seconds = (count * SEGMENT_MS / 1000).to_string();
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x36:rate=10",
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args([
            "-t",
            &seconds,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-g",
            "20",
        ])
        .args(["-c:a", "aac", "-b:a", "32k", "-f", "hls", "-hls_time", "2"])
        .args(["-hls_list_size", "0", "-hls_segment_filename"])
        .arg(dir.join("seg%d.ts"))
        .arg(dir.join("index.m3u8"))
        .status()
        .expect("ffmpeg is installed (apt-get install ffmpeg)");
    assert!(status.success(), "ffmpeg failed");
    let segments = (0..count)
        .map(|n| std::fs::read(dir.join(format!("seg{n}.ts"))).unwrap())
        .collect();
    std::fs::remove_dir_all(&dir).unwrap();
    segments
}

/// A channel of the table, counted.
struct Run {
    o: Counted,
    bill: Rc<Cell<Bill>>,
    creds: [(String, String); 2],
    /// Listings made by ingest requests: (segment PUTs, playlist PUTs).
    lists: Cell<(u64, u64)>,
    /// Every ingest request in an isolate of its own: nothing kept in memory between them.
    cold: bool,
}

/// `max_playlist_duration` of the time-shifted channel: short, so that its live timelines are
/// full, and pruned segments go to the archive, during the measured minutes (with the default
/// 600 s that starts after ten minutes; the steady state per segment is the same).
const SHIFTED_PLAYLIST_S: u64 = 60;

impl Run {
    /// The channel of the table; `shifted`: with an endpoint that keeps a day of time-shift.
    fn new(mode: Mode, cold: bool, shifted: bool) -> Run {
        let o = origin();
        let mut endpoints = vec![
            json!({"name": "hls", "protocol": "HLS"}),
            json!({"name": "cmaf", "protocol": "HLS_CMAF"}),
            json!({"name": "dash", "protocol": "DASH"}),
        ];
        if shifted {
            endpoints.push(json!({"name": "shift", "protocol": "HLS", "time_shift_days": 1}));
        }
        let ch = channel_with_endpoints(&o, "HLS", &endpoints);
        if shifted {
            let (s, v) = api(
                &o,
                Method::Patch,
                "/api/v1/groups/demo/channels/live",
                Some(json!({"max_playlist_duration": SHIFTED_PLAYLIST_S})),
            );
            assert_eq!(s, 200, "{v}");
        }
        let creds = [credentials(&ch, 1), credentials(&ch, 2)];
        let (o, bill) = counted(o, mode);
        Run {
            o,
            bill,
            creds,
            lists: Cell::default(),
            cold,
        }
    }

    /// Everything billed so far: the stores' calls and the objects' requests and rows.
    fn bill(&self) -> Bill {
        let mut b = self.bill.get();
        if let Counted::Object(_, model) = &self.o {
            b.do_requests = model.requests.get();
            (b.do_rows_written, b.do_rows_read) = model.rows_billed();
        }
        b
    }

    /// One ingest request; returns the listings it made.
    fn put(&self, input: u8, path: &str, body: Vec<u8>, at: u64) -> u64 {
        let creds = &self.creds[usize::from(input - 1)];
        let req = Request::new(Method::Put, &format!("/in/v1/demo/live/{input}/{path}"))
            .with_header("authorization", &basic(&creds.0, &creds.1))
            .with_body(body);
        if self.cold {
            self.o.new_isolate();
        }
        let before = self.bill.get().lists;
        let r = self.o.send(req, at);
        assert!(r.status < 300, "{path}: {} {}", r.status, text(&r));
        self.bill.get().lists - before
    }

    /// One encoder segment: the segment PUT, then the playlist PUT (a sliding window of 6).
    fn push(&self, input: u8, dir: &str, (n, segment): (u64, &[u8]), now: u64) -> u64 {
        let segment_lists = self.put(input, &format!("{dir}/seg{n}.ts"), segment.to_vec(), now);
        let first = (n + 1).saturating_sub(6);
        let mut pl = format!(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{first}\n"
        );
        for s in first..=n {
            pl.push_str(&format!("#EXTINF:2.000000,\nseg{s}.ts\n"));
        }
        let playlist_lists = self.put(
            input,
            &format!("{dir}/index.m3u8"),
            pl.into_bytes(),
            now + 5,
        );
        let (a, b) = self.lists.get();
        self.lists.set((a + segment_lists, b + playlist_lists));
        2
    }

    /// Pushes segments `range` on both inputs and runs the schedule; returns the HTTP requests.
    fn ingest(&self, segments: &[Vec<u8>], range: std::ops::Range<u64>) -> u64 {
        let mut requests = 0;
        for n in range {
            let segment = &segments[usize::try_from(n).unwrap()];
            let t = T0 + n * SEGMENT_MS;
            for input in [1u8, 2] {
                for dir in RENDITIONS {
                    let lag = u64::from(input - 1) * SECOND_INPUT_LAG_MS;
                    requests += self.push(input, dir, (n, segment), t + lag);
                }
            }
            if t % SCHEDULED_EVERY_MS < SEGMENT_MS {
                self.o.scheduled(t);
            }
        }
        requests
    }

    /// Warm-up, then the measured minutes: (bill per hour, requests per hour).
    fn measure(&self, segments: &[Vec<u8>]) -> (Bill, u64) {
        self.ingest(segments, 0..WARM_UP_SEGMENTS);
        let before = self.bill();
        self.lists.set((0, 0));
        let requests = self.ingest(
            segments,
            WARM_UP_SEGMENTS..WARM_UP_SEGMENTS + MEASURED_SEGMENTS,
        );
        (
            self.bill().minus(before).times(HOUR_SCALE),
            requests * HOUR_SCALE,
        )
    }
}

/// One request of each kind a CDN forwards on a miss, at the live edge after `run` measured:
/// (what, the request's bill, misses per hour at one CDN cache).
fn playback(run: &Run) -> Vec<(&'static str, Bill, u64)> {
    // A new isolate: nothing remembered of an earlier run's channel.
    edgepack::playback::forget_remembered_endpoints();
    let now = T0 + (WARM_UP_SEGMENTS + MEASURED_SEGMENTS) * SEGMENT_MS + 1000;
    let last = WARM_UP_SEGMENTS + MEASURED_SEGMENTS - 2;
    let get = |path: String| {
        let before = run.bill();
        let r = run.o.send(Request::new(Method::Get, &path), now);
        assert_eq!(r.status, 200, "{path}: {}", text(&r));
        (run.bill().minus(before), r)
    };
    let out = "/out/v1/demo/live";
    let (hls_master, _) = get(format!("{out}/hls/manifest.m3u8"));
    let (hls_media, _) = get(format!("{out}/hls/v0/index/media.m3u8"));
    let (hls_segment, _) = get(format!("{out}/hls/v0/index/{last}.ts"));
    let (cmaf_master, _) = get(format!("{out}/cmaf/manifest.m3u8"));
    let (cmaf_media, r) = get(format!("{out}/cmaf/v0/index/video.m3u8"));
    let cmaf_segment_uri = text(&r)
        .lines()
        .rfind(|l| l.ends_with(".m4s"))
        .expect("a CMAF segment")
        .to_owned();
    let (cmaf_segment, _) = get(format!("{out}/cmaf/v0/index/{cmaf_segment_uri}"));
    let (mpd, _) = get(format!("{out}/dash/manifest.mpd"));

    // Misses per hour at one CDN cache (its tier or shield in front of the origin): a
    // playlist once per its max-age (master 2 s, media 1 s for 2 s segments, MPD 1 s), each
    // segment once per rendition and endpoint (DASH's the same count as HLS-CMAF's).
    let segments_hour = 3600 * 1000 / SEGMENT_MS;
    let renditions = RENDITIONS.len() as u64;
    vec![
        ("HLS (TS) master", hls_master, 1800),
        ("HLS (TS) rendition playlists", hls_media, 3600 * renditions),
        ("HLS (TS) segments", hls_segment, segments_hour * renditions),
        ("HLS-CMAF master", cmaf_master, 1800),
        (
            "HLS-CMAF rendition playlists",
            cmaf_media,
            3600 * renditions,
        ),
        (
            "CMAF segments (HLS-CMAF and DASH)",
            cmaf_segment,
            2 * segments_hour * renditions,
        ),
        ("DASH MPD", mpd, 3600),
    ]
}

/// The ingest rows of one mode: (what, bill per hour, HTTP requests per hour).
fn ingest_rows(mode: Mode, segments: &[Vec<u8>]) -> (Vec<(String, Bill, u64)>, Run) {
    let (cold_hour, _) = Run::new(mode, true, false).measure(segments);
    let (shifted_hour, _) = Run::new(mode, false, true).measure(segments);
    let run = Run::new(mode, false, false);
    let (hour, requests) = run.measure(segments);
    let rows = vec![
        (
            "ingest: 3 renditions × 2 inputs, 2 s segments".to_owned(),
            hour,
            requests,
        ),
        (
            "ingest, no isolate reused (every request starts cold)".to_owned(),
            cold_hour,
            requests,
        ),
        (
            format!(
                "ingest with a day of time-shift (`max_playlist_duration` {SHIFTED_PLAYLIST_S} s)"
            ),
            shifted_hour,
            requests,
        ),
    ];
    (rows, run)
}

#[test]
fn billed_operations_per_channel_hour() {
    let segments = encoded_segments(WARM_UP_SEGMENTS + MEASURED_SEGMENTS);
    let mut table = String::from(
        "| per channel-hour | HTTP requests | KV reads | KV writes | KV deletes + lists | R2 class A | R2 class B | R2 deletes (free) | DO requests | DO rows written | DO rows read | Spin key-value ops |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut per_pair = String::from(
        "| ingest, billed operations per segment + playlist pair | state in R2 | state in a Durable Object |\n|---|---:|---:|\n",
    );
    let mut pairs: Vec<(String, [f64; 2])> = Vec::new();
    let mut spin_run = None;
    for mode in [Mode::R2, Mode::Object] {
        let (rows, run) = ingest_rows(mode, &segments);
        let label = |what: &str| match mode {
            Mode::R2 => what.to_owned(),
            Mode::Object => format!("Durable Object state: {what}"),
        };
        for (i, (what, bill, requests)) in rows.iter().enumerate() {
            table.push_str(&bill.row(&label(what), *requests, mode));
            // Each pair is two HTTP requests.
            let ops = bill.billed() as f64 / (*requests as f64 / 2.0);
            match pairs.get_mut(i) {
                Some((_, v)) => v[1] = ops,
                None => pairs.push((what.clone(), [ops, 0.0])),
            }
        }
        let mut total = Bill::default();
        let mut total_requests = 0;
        for (what, b, n) in playback(&run) {
            table.push_str(&b.times(n).row(
                &label(&format!("playback, one CDN cache: {what}")),
                n,
                mode,
            ));
            total = total.add(b.times(n));
            total_requests += n;
        }
        table.push_str(&total.row(&label("playback, one CDN cache: all"), total_requests, mode));
        if mode == Mode::R2 {
            spin_run = Some(run);
        }
    }
    for (what, [r2, object]) in &pairs {
        per_pair.push_str(&format!("| {what} | {r2:.2} | {object:.2} |\n"));
    }
    table.push('\n');
    table.push_str(&per_pair);
    golden("cost.md", &table);
    let run = spin_run.expect("the R2 run");
    let (o, lists) = (&run, &run.lists);
    let playback_bills = playback(o);
    let renditions = RENDITIONS.len() as u64;

    // On Spin a listing reads every key of the store: what it costs per request kind in a
    // store of [`SPIN_STORE_KEYS`].
    let pushes = MEASURED_SEGMENTS * 2 * renditions;
    let (segment_lists, playlist_lists) = lists.get();
    let mut spin = format!(
        "| request | listings per request | keys a Spin store of {SPIN_STORE_KEYS} keys reads for them |\n|---|---:|---:|\n"
    );
    let mut spin_row = |what: &str, lists: u64, requests: u64| {
        let per_request = lists as f64 / requests as f64;
        let keys = (per_request * SPIN_STORE_KEYS as f64).round();
        spin.push_str(&format!("| {what} | {per_request:.2} | {keys} |\n"));
    };
    spin_row("ingest: segment PUT", segment_lists, pushes);
    spin_row("ingest: media playlist PUT", playlist_lists, pushes);
    let singular = [
        "HLS (TS) master",
        "HLS (TS) rendition playlist",
        "HLS (TS) segment",
        "HLS-CMAF master",
        "HLS-CMAF rendition playlist",
        "CMAF segment",
        "DASH MPD",
    ];
    for (what, (_, b, _)) in singular.into_iter().zip(playback_bills) {
        spin_row(what, b.lists, 1);
    }
    golden("spin_listing.md", &spin);
}

/// Keys in a Spin key-value store holding 100 such channels with a day of time-shift each
/// (docs/storage.md, "Listing on Spin"): per channel and day, 43,200 segments of each of 3
/// renditions on 2 inputs, each one object key, plus its chunk keys where the object is over
/// the 960 KiB value budget (the 4.5 Mbit/s rendition's 1.1 MB segments: 2 chunks), so
/// 43,200 × 2 × (3 + 1 + 1) keys; and 144 ten-minute archive buckets × 3 renditions × 2 inputs.
const SPIN_STORE_KEYS: u64 = 100 * (43_200 * 2 * (3 + 1 + 1) + 144 * 3 * 2);
