//! Redundant inputs: automatic failover through the origin, with injected time.

mod common;

use common::*;
use edgepack::{Method, Request};
use serde_json::{json, Value};

const MEDIA: &str = "/out/v1/demo/live/hls/v/index/media.m3u8";

struct Channel {
    o: TestOrigin,
    one: Encoder,
    two: Encoder,
}

/// Input 1 numbers from 0, input 2 from 100; `pts_two` offsets input 2's timestamps.
fn channel(pts_two: u64) -> Channel {
    channel_listing(pts_two, 3)
}

/// [`channel`] whose endpoint lists `segment_count` segments.
fn channel_listing(pts_two: u64, segment_count: u64) -> Channel {
    let o = origin();
    let c1 = setup(
        &o,
        json!({"name": "hls", "segment_count": segment_count, "hold_back": 6}),
    );
    let (_, ch) = api(&o, Method::Get, "/api/v1/groups/demo/channels/live", None);
    let c2 = credentials(&ch, 2);
    Channel {
        one: Encoder::new(1, c1, 0, 900_000, 0x10),
        two: Encoder::new(2, c2, 100, 900_000 + pts_two, 0x80),
        o,
    }
}

fn status(o: &TestOrigin, now: u64) -> Value {
    let req = Request::new(Method::Get, "/api/v1/groups/demo/channels/live/status")
        .with_header("authorization", &format!("Bearer {TOKEN}"));
    let r = send(o, req, now);
    assert_eq!(r.status, 200);
    serde_json::from_slice(&r.body).unwrap()
}

/// (media sequence, discontinuity sequence, [(seq, discontinuity)]) of the rendition playlist.
fn playlist(o: &TestOrigin, now: u64) -> (u64, u64, Vec<(u64, bool)>) {
    let r = get(o, MEDIA, now);
    assert_eq!(r.status, 200, "{}", text(&r));
    let body = &plain(text(&r));
    let tag = |t: &str| {
        body.lines()
            .find_map(|l| l.strip_prefix(t))
            .map_or(0, |v| v.parse().unwrap())
    };
    let mut segs = Vec::new();
    let mut disc = false;
    for l in body.lines() {
        if l == "#EXT-X-DISCONTINUITY" {
            disc = true;
        } else if let Some(n) = l.strip_suffix(".ts") {
            segs.push((n.parse().unwrap(), std::mem::take(&mut disc)));
        }
    }
    (
        tag("#EXT-X-MEDIA-SEQUENCE:"),
        tag("#EXT-X-DISCONTINUITY-SEQUENCE:"),
        segs,
    )
}

/// Runs `steps` of 2 s; `one_up(k)` / `two_up(k)` say whether each encoder pushes at step k.
/// Checks every playlist on the way: media sequence never decreases, numbers are consecutive.
fn run(
    c: &mut Channel,
    steps: std::ops::Range<u64>,
    one_up: impl Fn(u64) -> bool,
    two_up: impl Fn(u64) -> bool,
    last: &mut u64,
) {
    for k in steps {
        let now = T0 + k * 2000;
        if one_up(k) {
            c.one.push(&c.o, now);
        }
        if two_up(k) {
            c.two.push(&c.o, now + 100);
        }
        let (seq, _, segs) = playlist(&c.o, now + 200);
        assert!(
            seq >= *last,
            "media sequence went back from {last} to {seq} at step {k}"
        );
        *last = seq;
        for w in segs.windows(2) {
            assert_eq!(w[0].0 + 1, w[1].0, "gap at step {k}: {segs:?}");
        }
    }
}

#[test]
fn aligned_inputs_fail_over_without_a_break() {
    let mut c = channel(0);
    let mut last = 0;
    // Both run for 10 steps, then input 1 dies at step 10.
    run(&mut c, 0..25, |k| k < 10, |_| true, &mut last);
    let s = status(&c.o, T0 + 50_000);
    assert_eq!(s["active_input"], 2, "{s}");
    assert_eq!(s["inputs"][0]["healthy"], false);
    assert_eq!(s["inputs"][1]["healthy"], true);
    let switch = &s["switches"][1];
    assert_eq!(
        (
            switch["from_sequence"].as_u64(),
            switch["discontinuity"].as_bool()
        ),
        (Some(10), Some(false))
    );
    // The switch was taken once input 1 had been silent for more than 15 s: at step 17.
    assert_eq!(switch["at"], "2026-11-23T12:00:34.105Z");
    let (_, disc_seq, segs) = playlist(&c.o, T0 + 50_000);
    assert_eq!(disc_seq, 0);
    assert!(segs.iter().all(|(_, d)| !d), "{segs:?}");
    assert_eq!(segs.last().unwrap().0, 24);
    // Output 10 onwards is input 2's segment with the same media time (its 110).
    let seg = get(&c.o, "/out/v1/demo/live/hls/v/index/12.ts", T0 + 50_000);
    assert_eq!(
        seg.body,
        ts_with_pts(900_000 + 12 * 180_000, 0x80u8.wrapping_add(112), 2)
    );
    let seg = get(&c.o, "/out/v1/demo/live/hls/v/index/9.ts", T0 + 50_000);
    assert_eq!(seg.body, ts_with_pts(900_000 + 9 * 180_000, 0x10 + 9, 2));
}

#[test]
fn no_flapping_when_the_first_input_returns() {
    let mut c = channel(0);
    let mut last = 0;
    run(&mut c, 0..25, |k| k < 10, |_| true, &mut last);
    // Encoder 1 restarts (its numbering continues from where it was in this test).
    run(&mut c, 25..40, |_| true, |_| true, &mut last);
    let s = status(&c.o, T0 + 80_000);
    assert_eq!(s["active_input"], 2);
    assert_eq!(s["switches"].as_array().unwrap().len(), 2);
    assert_eq!(s["inputs"][0]["healthy"], true);
}

#[test]
fn liveness_is_read_from_the_timelines_not_a_heartbeat() {
    let mut c = channel(0);
    let mut last = 0;
    run(&mut c, 0..5, |_| true, |_| true, &mut last);
    // Ingest writes no heartbeat of its own: the timelines it stores say who is alive.
    let kv = block_on(edgepack::store::KvStore::list(&c.o.kv, "hb/")).unwrap();
    assert!(kv.is_empty(), "{kv:?}");
    // A heartbeat left by an earlier version, 60 s old, is not read either.
    let old = json!({"arrived_ms": T0 - 60_000, "last_seq": 0, "last_pdt_ms": 0});
    for rendition in ["v0", "v1"] {
        let key = format!("hb/x/1/{rendition}");
        block_on(edgepack::store::KvStore::put(
            &c.o.kv,
            &key,
            old.to_string().as_bytes(),
        ))
        .unwrap();
    }
    run(&mut c, 5..7, |k| k == 6, |_| true, &mut last);
    let s = status(&c.o, T0 + 14_000);
    assert_eq!(s["active_input"], 1, "{s}");
    assert_eq!(s["switches"].as_array().unwrap().len(), 1);
    assert_eq!(s["inputs"][0]["healthy"], true, "{s}");
}

#[test]
fn misaligned_inputs_switch_with_a_discontinuity() {
    let mut c = channel(12_345_678);
    let mut last = 0;
    run(&mut c, 0..25, |k| k < 10, |_| true, &mut last);
    let s = status(&c.o, T0 + 50_000);
    assert_eq!(s["switches"][1]["discontinuity"], true);
    let (_, disc_seq, segs) = playlist(&c.o, T0 + 50_000);
    // The window (3 segments) is past the switch point: the tag left, the count moved.
    assert_eq!(disc_seq, 1, "{segs:?}");
    assert!(segs.iter().all(|(_, d)| !d));
    let r = get(&c.o, MEDIA, T0 + 36_000);
    assert_eq!(r.status, 200);
}

#[test]
fn both_down_stops_advancing_and_recovery_marks_a_discontinuity() {
    let mut c = channel(0);
    let mut last = 0;
    run(&mut c, 0..8, |_| true, |_| false, &mut last);
    let frozen = get(&c.o, MEDIA, T0 + 16_000).body;
    // Nobody pushes for a minute: the playlist stays valid and unchanged.
    assert_eq!(get(&c.o, MEDIA, T0 + 76_000).body, frozen);
    let s = status(&c.o, T0 + 76_000);
    assert_eq!(
        (
            s["inputs"][0]["healthy"].as_bool(),
            s["inputs"][1]["healthy"].as_bool()
        ),
        (Some(false), Some(false))
    );
    // Input 2 comes up (its timestamps carry on from a different clock).
    c.two.pts0 += 50_000_000;
    run(&mut c, 38..45, |_| false, |_| true, &mut last);
    let s = status(&c.o, T0 + 90_000);
    assert_eq!(s["active_input"], 2, "{s}");
    assert_eq!(s["switches"][1]["discontinuity"], true);
    // Output continues at 8 with input 2's first segment after the outage, tagged.
    let r = get(&c.o, "/out/v1/demo/live/hls/v/index/8.ts", T0 + 90_000);
    assert!(
        r.body == ts_with_pts(50_900_000, 0x80u8.wrapping_add(100), 2),
        "input 2's first segment"
    );
    // The window (6 s hold-back, a segment and the 10 s start allowance: 9 segments) still
    // holds the break at 8.
    let (_, disc_seq, segs) = playlist(&c.o, T0 + 90_000);
    assert_eq!((disc_seq, segs[0].0, segs.len()), (0, 6, 9), "{segs:?}");
    assert!(segs.contains(&(8, true)), "{segs:?}");
}

#[test]
fn status_before_content_reports_no_active_input() {
    let mut c = channel(0);
    let s = status(&c.o, T0);
    assert_eq!(
        (s["active_input"].clone(), s["switches"].clone()),
        (json!(null), json!([])),
        "{s}"
    );
    // Input 2 delivers first: it becomes active, and the record says so.
    c.two.push(&c.o, T0 + 1000);
    let s = status(&c.o, T0 + 2000);
    assert_eq!(s["active_input"], 2);
    assert_eq!(s["switches"][0]["input"], 2);
    assert_eq!(s["switches"].as_array().unwrap().len(), 1);
}

/// Rendition `dir`'s playlist: its numbers are consecutive (HLS numbers segments by their
/// position, so a skipped number would shift every later one).
fn consecutive(o: &TestOrigin, dir: &str, now: u64) -> Vec<u64> {
    let r = get(
        o,
        &format!("/out/v1/demo/live/hls/{dir}/index/media.m3u8"),
        now,
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    let body = &plain(text(&r));
    let seqs: Vec<u64> = body
        .lines()
        .filter_map(|l| l.strip_suffix(".ts")?.parse().ok())
        .collect();
    let first: u64 = body
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:")?.parse().ok())
        .unwrap();
    let expected: Vec<u64> = (first..first + seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "rendition {dir} at {now}:\n{body}");
    seqs
}

#[test]
fn a_lagging_rendition_keeps_its_numbers_after_a_misaligned_switch() {
    let mut c = channel_listing(12_345_678, 60);
    let mut a1 = Encoder::new(1, c.one.creds.clone(), 0, 900_000, 0x20);
    let mut a2 = Encoder::new(2, c.two.creds.clone(), 100, 900_000 + 12_345_678, 0x90);
    a1.dir = "a";
    a2.dir = "a";
    for k in 0..30 {
        let now = T0 + k * 2000;
        // Input 1 dies between its renditions' uploads: its last `v` segment has no `a` twin.
        if k < 10 {
            c.one.push(&c.o, now);
        }
        if k < 9 {
            a1.push(&c.o, now + 1);
        }
        c.two.push(&c.o, now + 100);
        a2.push(&c.o, now + 101);
        consecutive(&c.o, "v", now + 200);
        consecutive(&c.o, "a", now + 200);
    }
    let end = T0 + 60_000;
    let (v, a) = (consecutive(&c.o, "v", end), consecutive(&c.o, "a", end));
    assert_eq!(v.last(), a.last(), "the renditions end apart");
    // Input 1's last `v` segment (9) has no `a` twin: `a` lists 9 as a gap, then the switch.
    let r = get(&c.o, "/out/v1/demo/live/hls/a/index/media.m3u8", end);
    assert!(
        plain(text(&r)).contains("8.ts\n#EXT-X-GAP\n#EXTINF:2.000,\n9.ts\n#EXT-X-DISCONTINUITY\n"),
        "{}",
        text(&r)
    );
    let s = status(&c.o, T0 + 60_000);
    assert_eq!(s["switches"][1]["discontinuity"], true, "{s}");
}
