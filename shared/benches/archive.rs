//! Archive lookups against the archive's size: a synthetic archive of one rendition on one input
//! (2 s segments, 300 to a 10-minute bucket) holding 1 day and 30 days (1.3 million segments,
//! what `time_shift_days: 30` keeps), and the reads a time-shifted request makes
//! (`archive::read`): a 2-hour `start`/`vodend` window 12 hours back, an `offset=3600` window
//! (the hour the archive is searched for it) and a 60 s clip. Their cost must depend on the
//! window, not on the archive: the median time and the store calls of each lookup are printed
//! for both archives side by side.
//!
//! `cargo bench -p edgepack --bench archive`

mod common;
#[path = "../tests/common/heap.rs"]
mod heap;

/// Counted, for each lookup's peak heap.
#[global_allocator]
static HEAP: heap::Counting = heap::Counting;

use common::{benching, median};
use edgepack::archive::{self, BUCKET_MS};
use edgepack::model::{Channel, InputId};
use edgepack::names::Rendition;
use edgepack::store::MemoryObjects;
use edgepack::testing::{block_on, ObjectOp, Observed, Observer, Op};
use edgepack::timeline::{Segment, TIMESCALE};
use edgepack::timeshift::MAX_WINDOW_SEGMENTS;
use std::cell::Cell;
use std::time::Duration;
use std::time::Instant;

const CHANNEL_ID: &str = "bench0channel000";
const SEGMENT_MS: i64 = 2000;
const DAY_MS: i64 = 86_400_000;
/// 2026-11-23T12:00:00Z, the live edge.
const NOW_MS: i64 = 1_795_435_200_000;

/// Object calls of one lookup: listings and reads.
#[derive(Default)]
struct Calls {
    lists: Cell<u64>,
    gets: Cell<u64>,
}

impl Observer for Calls {
    fn start(&self, op: Op, _key: &str) {
        let n = match op {
            Op::Object(ObjectOp::List | ObjectOp::ListFirst) => &self.lists,
            op if op.is_read() => &self.gets,
            _ => return,
        };
        n.set(n.get() + 1);
    }
}

type Counting = Observed<MemoryObjects, Calls>;

fn segment(seq: u64, pdt_ms: i64) -> Segment {
    Segment {
        seq,
        enc_seq: seq,
        uri: format!("v/seg{seq}.ts"),
        key: format!("seg/{CHANNEL_ID}/1/v/seg{seq}.ts@{pdt_ms}"),
        duration: 2 * TIMESCALE,
        size: 1_250_000,
        pdt_ms,
        media_start: Some(seq * 180_000),
        arrived_ms: u64::try_from(pdt_ms).unwrap_or(0) + 2000,
        discontinuity: false,
        tracks: Vec::new(),
        init_key: None,
        ts_cc: None,
        claim: None,
    }
}

/// A channel record: only its id matters to the archive.
fn channel() -> Channel {
    serde_json::from_value(serde_json::json!({
        "group": "demo", "name": "live", "id": CHANNEL_ID, "protocol": "HLS",
        "max_segment_duration": 15, "max_playlist_duration": 60,
        "inputs": [{"username": "a", "password": "a"}, {"username": "b", "password": "b"}],
        "archive_retention_s": 30 * 86_400, "created_at_ms": 0
    }))
    .expect("channel record")
}

/// `days` of archive ending at the live edge, written bucket by bucket as ingest prunes them.
fn archive_of(days: i64, rendition: &Rendition) -> Counting {
    let store = Counting::default();
    let first = NOW_MS - days * DAY_MS;
    let mut bucket = Vec::new();
    let mut seq = 0;
    let mut pdt = first;
    while pdt < NOW_MS {
        bucket.push(segment(seq, pdt));
        seq += 1;
        pdt += SEGMENT_MS;
        if archive::bucket_of(pdt) != archive::bucket_of(pdt - SEGMENT_MS) || pdt >= NOW_MS {
            block_on(archive::append(
                &store.inner,
                &channel(),
                InputId::PRIMARY,
                rendition,
                &std::mem::take(&mut bucket),
            ))
            .expect("archive append");
        }
    }
    store
}

/// This process's user + system CPU time (`/proc/self/stat`, clock ticks of 10 ms: averaged
/// over a run of about a second, the figure is good to well under a millisecond per call).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("stat")
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_millis(ticks * 10)
}

/// Median wall time of `f` (as `median`), and the mean CPU time per call over a second.
fn timed(budget: Duration, mut f: impl FnMut()) -> (Duration, Duration) {
    let wall = median(budget, &mut f);
    let (start, cpu0) = (Instant::now(), cpu_time());
    let mut n = 0u32;
    while n < 5 || start.elapsed() < Duration::from_secs(1) {
        f();
        n += 1;
    }
    (wall, (cpu_time() - cpu0) / n)
}

fn main() {
    if !benching() {
        return;
    }
    let rendition = Rendition::parse("v").expect("rendition");
    let lookups: [(&str, i64, i64); 4] = [
        (
            "2 h start/vodend, 12 h back",
            NOW_MS - 12 * 3_600_000,
            NOW_MS - 10 * 3_600_000,
        ),
        (
            "offset=3600 (the hour searched)",
            NOW_MS - 2 * 3_600_000,
            NOW_MS - 3_600_000,
        ),
        ("start 6 h back, no end", NOW_MS - 6 * 3_600_000, NOW_MS),
        (
            "60 s clip, 6 h back",
            NOW_MS - 6 * 3_600_000,
            NOW_MS - 6 * 3_600_000 + 60_000,
        ),
    ];
    println!(
        "archive lookups (archive::read), one rendition on one input; buckets of {} min",
        BUCKET_MS / 60_000
    );
    println!("per lookup: median wall / mean CPU time of this process, store calls, and peak heap");
    println!(
        "{:<34}{:>40}{:>40}",
        "lookup", "1-day archive", "30-day archive"
    );
    let archives = [1, 30].map(|days| (days, archive_of(days, &rendition)));
    for (label, from, to) in lookups {
        let mut cells = Vec::new();
        for (_, store) in &archives {
            let read = || {
                block_on(archive::read(
                    store,
                    CHANNEL_ID,
                    InputId::PRIMARY,
                    &rendition,
                    (from, to),
                    MAX_WINDOW_SEGMENTS,
                ))
                .expect("archive read")
            };
            let found = read().len();
            assert!(found > 0, "{label}: nothing read");
            let calls = &store.observer;
            calls.lists.set(0);
            calls.gets.set(0);
            read();
            let (lists, gets) = (calls.lists.get(), calls.gets.get());
            let start = heap::live();
            heap::reset_peak();
            read();
            let peak_mib = (heap::peak() - start).max(0) as f64 / 1_048_576.0;
            let (wall, cpu) = timed(Duration::from_secs(2), || {
                std::hint::black_box(read());
            });
            cells.push(format!(
                "{:.2}/{:.2} ms, {lists} list + {gets} get, {peak_mib:.1} MiB",
                wall.as_secs_f64() * 1e3,
                cpu.as_secs_f64() * 1e3
            ));
        }
        println!("{label:<34}{:>40}{:>40}", cells[0], cells[1]);
    }
}
