//! First-arrival output for aligned inputs (docs/timeline.md, "First arrival"): two CMAF
//! inputs send copies of the same media times; each output number is served by the copy that
//! arrived first, fixed once, and the output never waits for the failover timeout.

mod common;

use common::*;
use edgepack::{Method, Request};
use serde_json::Value;

/// One 2 s video segment of the fixture stream (timescale 15360), with every `tfdt` moved.
const SEGMENT: &str = "dash_0_1.m4s";
const INIT: &str = "dash_init_0.mp4";
const TICKS: u64 = 30_720;
const PLAYLIST: &str = "/out/v1/demo/live/cmaf/v/video.m3u8";

/// Copy `k` of the segment as input `input` sends it: media time `(k + shift) * 2 s` plus
/// `drift` ticks, and the last byte of `mdat` set to the input number, so the served bytes
/// tell which copy they are.
fn copy(k: u64, input: u8, drift: u64) -> Vec<u8> {
    let mut b = fixture(SEGMENT);
    let mut at = 0;
    while let Some(i) = find(&b[at..], b"tfdt").map(|i| i + at) {
        // FullBox version 1: a 64-bit base media decode time after version and flags.
        let field = i + 8..i + 16;
        let t = u64::from_be_bytes(b[field.clone()].try_into().unwrap()) + k * TICKS + drift;
        b[field].copy_from_slice(&t.to_be_bytes());
        at = i + 4;
    }
    *b.last_mut().unwrap() = input;
    b
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

struct Inputs {
    o: TestOrigin,
    creds: [(String, String); 2],
}

impl Inputs {
    fn new() -> Inputs {
        let o = origin();
        let ch = channel_with_endpoints(
            &o,
            "CMAF",
            &[serde_json::json!({"name": "cmaf", "protocol": "HLS_CMAF", "segment_count": 20})],
        );
        let creds = [credentials(&ch, 1), credentials(&ch, 2)];
        let inputs = Inputs { o, creds };
        inputs.post(1, &fixture(INIT), T0);
        inputs.post(2, &fixture(INIT), T0);
        inputs
    }

    fn post(&self, input: u8, body: &[u8], now: u64) {
        let status = self.upload(input, body, now);
        assert_eq!(status, 201, "input {input}");
    }

    /// The CMAF header again, as a restarted sender sends it (kept once: 200).
    fn post_init(&self, input: u8, now: u64) {
        let status = self.upload(input, &fixture(INIT), now);
        assert!(matches!(status, 200 | 201), "input {input}: {status}");
    }

    fn upload(&self, input: u8, body: &[u8], now: u64) -> u16 {
        let req = Request::new(
            Method::Post,
            &format!("/in/v1/demo/live/{input}/Streams(v.cmfv)"),
        )
        .with_header(
            "authorization",
            &basic(
                &self.creds[usize::from(input - 1)].0,
                &self.creds[usize::from(input - 1)].1,
            ),
        )
        .with_body(body.to_vec());
        send(&self.o, req, now).status
    }

    /// Segment `k` from input `input` at `now`.
    fn send(&self, input: u8, k: u64, drift: u64, now: u64) {
        self.post(input, &copy(k, input, drift), now);
    }

    /// (media sequence, [(uri, discontinuity before)]).
    fn playlist(&self, now: u64) -> (u64, Vec<(String, bool)>) {
        let r = get(&self.o, PLAYLIST, now);
        assert_eq!(r.status, 200, "{}", text(&r));
        let body = text(&r);
        let mut out = Vec::new();
        let mut disc = false;
        for l in body.lines() {
            if l == "#EXT-X-DISCONTINUITY" {
                disc = true;
            } else if !l.starts_with('#') && !l.is_empty() {
                out.push((l.to_owned(), std::mem::take(&mut disc)));
            }
        }
        let seq = body
            .lines()
            .find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))
            .and_then(|v| v.parse().ok())
            .expect("EXT-X-MEDIA-SEQUENCE");
        (seq, out)
    }

    /// The input whose copy a listed segment is (the tag in its last byte).
    fn served_by(&self, uri: &str, now: u64) -> u8 {
        let r = get(&self.o, &format!("/out/v1/demo/live/cmaf/v/{uri}"), now);
        assert_eq!(r.status, 200, "{uri}: {}", text(&r));
        *r.body.last().unwrap()
    }

    fn served(&self, now: u64) -> Vec<(String, u8)> {
        self.playlist(now)
            .1
            .into_iter()
            .map(|(u, _)| {
                let by = self.served_by(&u, now);
                (u, by)
            })
            .collect()
    }

    /// Records which input served each listed segment at `now` in `seen`; a segment seen
    /// before must still be the same copy.
    fn keep_copies(&self, now: u64, seen: &mut Vec<(String, u8)>) {
        for (u, by) in self.served(now) {
            match seen.iter().find(|(v, _)| *v == u) {
                Some((_, before)) => assert_eq!(*before, by, "{u} changed copy"),
                None => seen.push((u, by)),
            }
        }
    }

    fn status(&self, now: u64) -> Value {
        let req = Request::new(Method::Get, "/api/v1/groups/demo/channels/live/status")
            .with_header("authorization", &format!("Bearer {TOKEN}"));
        let r = send(&self.o, req, now);
        assert_eq!(r.status, 200);
        serde_json::from_slice(&r.body).unwrap()
    }
}

/// Every playlist: consecutive numbers from the media sequence on, no discontinuity.
fn assert_seamless(p: &(u64, Vec<(String, bool)>), n: usize) {
    assert_eq!(p.1.len(), n, "{p:?}");
    assert!(p.1.iter().all(|(_, d)| !d), "a discontinuity: {p:?}");
}

#[test]
fn the_first_copy_to_arrive_serves_each_number() {
    let s = Inputs::new();
    // Input 2 runs 300 ms ahead of input 1 (which is active: it delivered first).
    s.send(1, 0, 0, T0 + 2000);
    s.send(2, 0, 0, T0 + 2100);
    for k in 1..8 {
        let t = T0 + 2000 * (k + 1);
        s.send(2, k, 0, t);
        s.send(1, k, 0, t + 300);
    }
    let now = T0 + 20_000;
    let served = s.served(now);
    assert_seamless(&s.playlist(now), 8);
    let inputs: Vec<u8> = served.iter().map(|(_, i)| *i).collect();
    assert_eq!(inputs, [1, 1, 2, 2, 2, 2, 2, 2], "{served:?}");
    let st = s.status(now);
    assert_eq!(st["active_input"], 1, "{st}");
    assert_eq!(st["switches"].as_array().unwrap().len(), 1, "{st}");
    let out = &st["output"][0];
    assert_eq!(out["inputs_aligned"], true, "{st}");
    let recent: Vec<u64> = out["recent_segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["input"].as_u64().unwrap())
        .collect();
    assert_eq!(recent, [1, 1, 2, 2, 2, 2, 2, 2], "{st}");
}

#[test]
fn killing_the_active_input_costs_nothing() {
    let s = Inputs::new();
    // Input 1 is active and 300 ms ahead; it dies after segment 5.
    let mut seen: Vec<(String, u8)> = Vec::new();
    for k in 0..16 {
        let t = T0 + 2000 * (k + 1);
        if k <= 5 {
            s.send(1, k, 0, t);
        }
        s.send(2, k, 0, t + 300);
        // Each segment is listed as soon as the first copy of it is in: no timeout to wait.
        let p = s.playlist(t + 400);
        assert_seamless(&p, usize::try_from(k + 1).unwrap());
        s.keep_copies(t + 400, &mut seen);
    }
    let inputs: Vec<u8> = seen.iter().map(|(_, i)| *i).collect();
    assert_eq!(inputs[..7], [1, 1, 1, 1, 1, 1, 2], "{seen:?}");
    assert!(inputs[6..].iter().all(|i| *i == 2), "{seen:?}");
    // After max_segment_duration (15 s) the switch log records input 2, continuing numbers.
    let st = s.status(T0 + 34_000);
    assert_eq!(st["active_input"], 2, "{st}");
    assert_eq!(st["switches"][1]["discontinuity"], false, "{st}");
    assert_eq!(st["switches"][1]["from_sequence"], 6, "{st}");
}

/// Input 1 sends first (it becomes the active input), then input 2 leads by 300 ms; `send2`
/// maps a step to what input 2 sends (`None`: nothing).
fn input_two_leads(
    s: &Inputs,
    steps: std::ops::Range<u64>,
    send2: impl Fn(u64) -> Option<(u64, u64)>,
) {
    for k in steps {
        let t = T0 + 2000 * (k + 1);
        if k == 0 {
            s.send(1, k, 0, t);
        }
        if let Some((media, drift)) = send2(k) {
            s.send(2, media, drift, t + 100);
        }
        if k > 0 {
            s.send(1, k, 0, t + 300);
        }
    }
}

#[test]
fn a_segment_the_leading_input_skipped_comes_from_the_other() {
    let s = Inputs::new();
    input_two_leads(&s, 0..8, |k| (k != 4).then_some((k, 0)));
    let now = T0 + 20_000;
    assert_seamless(&s.playlist(now), 8);
    let inputs: Vec<u8> = s.served(now).iter().map(|(_, i)| *i).collect();
    // Segment 5 too: input 2 takes numbers again once it has a copy aligned with input 1's
    // newest (its 5 follows a gap, so counting on starts from there).
    assert_eq!(inputs, [1, 1, 2, 2, 1, 1, 2, 2]);
}

#[test]
fn an_input_that_restarts_on_another_clock_claims_nothing() {
    let s = Inputs::new();
    // Input 2's encoder restarts at step 4 with timestamps an hour later.
    input_two_leads(&s, 0..8, |k| Some((if k < 4 { k } else { k + 1800 }, 0)));
    let now = T0 + 20_000;
    assert_seamless(&s.playlist(now), 8);
    let inputs: Vec<u8> = s.served(now).iter().map(|(_, i)| *i).collect();
    assert_eq!(inputs, [1, 1, 2, 2, 1, 1, 1, 1]);
    assert_eq!(s.status(now)["output"][0]["inputs_aligned"], false);
}

#[test]
fn drifting_inputs_fall_back_to_the_timeout_rule() {
    let s = Inputs::new();
    let mut seen: Vec<(String, u8)> = Vec::new();
    // Input 2 leads and drifts 6 ms (92 ticks at 15360 Hz) more per segment: after a few
    // segments its boundaries are more than half a frame from input 1's.
    for k in 0..10 {
        input_two_leads(&s, k..k + 1, |k| Some((k, k * 92)));
        s.keep_copies(T0 + 2000 * (k + 1) + 400, &mut seen);
    }
    let now = T0 + 22_000;
    assert_seamless(&s.playlist(now), 10);
    let inputs: Vec<u8> = seen.iter().map(|(_, i)| *i).collect();
    assert_eq!(inputs[..4], [1, 1, 2, 2], "{seen:?}");
    assert!(inputs[6..].iter().all(|i| *i == 1), "{seen:?}");
    assert_eq!(s.status(now)["output"][0]["inputs_aligned"], false);
}

#[test]
fn a_gap_in_the_active_input_is_filled_by_the_other() {
    let s = Inputs::new();
    let mut seen: Vec<(String, u8)> = Vec::new();
    // Input 1 (active, 300 ms ahead) loses segment 4; input 2 has it.
    for k in 0..8 {
        let t = T0 + 2000 * (k + 1);
        if k != 4 {
            s.send(1, k, 0, t);
        }
        s.send(2, k, 0, t + 300);
        assert_seamless(&s.playlist(t + 400), usize::try_from(k + 1).unwrap());
        s.keep_copies(t + 400, &mut seen);
    }
    let inputs: Vec<u8> = seen.iter().map(|(_, i)| *i).collect();
    assert_eq!(inputs, [1, 1, 1, 1, 2, 1, 1, 1], "{seen:?}");
}

#[test]
fn one_input_alone_makes_no_claims() {
    let s = Inputs::new();
    for k in 0..4 {
        s.send(1, k, 0, T0 + 2000 * (k + 1));
    }
    let claims = block_on(edgepack::store::ObjectStore::list(&s.o.objects, "fa/")).unwrap();
    assert!(claims.is_empty(), "{claims:?}");
}

#[test]
fn the_active_input_restarting_on_the_same_clock_keeps_the_numbers() {
    let s = Inputs::new();
    let mut seen: Vec<(String, u8)> = Vec::new();
    // Input 1 (active, 300 ms ahead) is down for steps 5-8, then restarts on the source's
    // clock: its next segment is media segment 9.
    for k in 0..14 {
        let t = T0 + 2000 * (k + 1);
        if !(5..9).contains(&k) {
            if k == 9 {
                s.post_init(1, t - 10);
            }
            s.send(1, k, 0, t);
        }
        s.send(2, k, 0, t + 300);
        let p = s.playlist(t + 400);
        assert_seamless(&p, usize::try_from(k + 1).unwrap());
        s.keep_copies(t + 400, &mut seen);
    }
    let inputs: Vec<u8> = seen.iter().map(|(_, i)| *i).collect();
    assert_eq!(
        inputs,
        [1, 1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1, 1],
        "{seen:?}"
    );
}

/// Two encoders pushing HLS with fMP4 segments (as ffmpeg's HLS muxer does) to an `HLS_CMAF`
/// channel: the ingest path of a live ffmpeg push, where a playlist commits the segments it
/// lists. Each input's playlist lists its current encoder run: names `seg{k}.m4s` by media
/// position (as `-start_number` gives a restarted encoder).
struct Pushes {
    o: TestOrigin,
    creds: [(String, String); 2],
    /// Per input: the first segment of the encoder's current run.
    run_start: [u64; 2],
}

const PUSH_PLAYLIST: &str = "/out/v1/demo/live/cmaf/v/index/video.m3u8";
const PUSH_MPD: &str = "/out/v1/demo/live/dash/manifest.mpd";

impl Pushes {
    fn new() -> Pushes {
        let o = origin();
        let ch = channel_with_endpoints(
            &o,
            "HLS_CMAF",
            &[
                serde_json::json!({"name": "cmaf", "protocol": "HLS_CMAF", "segment_count": 20}),
                serde_json::json!({"name": "dash", "protocol": "DASH"}),
            ],
        );
        let creds = [credentials(&ch, 1), credentials(&ch, 2)];
        for (i, c) in creds.iter().enumerate() {
            let r = put(&o, i as u8 + 1, c, "v/init.mp4", &fixture(INIT), T0);
            assert_eq!(r.status, 201, "{}", text(&r));
        }
        Pushes {
            o,
            creds,
            run_start: [0, 0],
        }
    }

    /// The encoder of `input` restarts: its next segment is `k`, its playlist starts there.
    fn restart(&mut self, input: u8, k: u64) {
        self.run_start[usize::from(input - 1)] = k;
    }

    /// Segment `k` (media time `k * 2 s`) from `input` at `now`, then its playlist.
    fn send(&self, input: u8, k: u64, now: u64) {
        let c = &self.creds[usize::from(input - 1)];
        let r = put(
            &self.o,
            input,
            c,
            &format!("v/seg{k}.m4s"),
            &copy(k, input, 0),
            now,
        );
        assert_eq!(r.status, 201, "{}", text(&r));
        let first = k
            .saturating_sub(5)
            .max(self.run_start[usize::from(input - 1)]);
        let mut pl = format!(
            "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{first}\n\
             #EXT-X-MAP:URI=\"init.mp4\"\n"
        );
        for s in first..=k {
            pl.push_str(&format!("#EXTINF:2.000000,\nseg{s}.m4s\n"));
        }
        let r = put(&self.o, input, c, "v/index.m3u8", pl.as_bytes(), now + 5);
        assert!(matches!(r.status, 200 | 201), "{}", text(&r));
    }

    /// (media sequence, [(uri, discontinuity before, gap)]) and the discontinuity sequence.
    fn playlist(&self, now: u64) -> (u64, Vec<(String, bool, bool)>, u64) {
        let r = get(&self.o, PUSH_PLAYLIST, now);
        assert_eq!(r.status, 200, "{}", text(&r));
        let body = text(&r);
        let tag = |name: &str| {
            body.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.parse().ok())
        };
        let mut out = Vec::new();
        let (mut disc, mut gap) = (false, false);
        for l in body.lines() {
            if l == "#EXT-X-DISCONTINUITY" {
                disc = true;
            } else if l == "#EXT-X-GAP" {
                gap = true;
            } else if !l.starts_with('#') && !l.is_empty() {
                out.push((
                    l.to_owned(),
                    std::mem::take(&mut disc),
                    std::mem::take(&mut gap),
                ));
            }
        }
        let seq = tag("#EXT-X-MEDIA-SEQUENCE:").expect("EXT-X-MEDIA-SEQUENCE");
        (seq, out, tag("#EXT-X-DISCONTINUITY-SEQUENCE:").unwrap_or(0))
    }

    /// Period ids of the MPD, in order.
    fn periods(&self, now: u64) -> Vec<String> {
        let r = get(&self.o, PUSH_MPD, now);
        assert_eq!(r.status, 200, "{}", text(&r));
        text(&r)
            .split("<Period ")
            .skip(1)
            .filter_map(|p| {
                p.split("id=\"")
                    .nth(1)?
                    .split('"')
                    .next()
                    .map(str::to_owned)
            })
            .collect()
    }

    /// Which input's copy each listed (non-gap) segment is; a segment seen before must still
    /// be the same copy, and a discontinuity, once listed before a segment, stays listed.
    fn observe(&self, now: u64, seen: &mut Observed) {
        let (_, listed, disc_seq) = self.playlist(now);
        seen.lengths.push((now, listed.len()));
        assert!(
            disc_seq >= seen.disc_seq,
            "EXT-X-DISCONTINUITY-SEQUENCE went back: {disc_seq} < {}",
            seen.disc_seq
        );
        seen.disc_seq = disc_seq;
        for (uri, disc, gap) in listed {
            if gap {
                continue;
            }
            let r = get(
                &self.o,
                &format!("/out/v1/demo/live/cmaf/v/index/{uri}"),
                now,
            );
            assert_eq!(r.status, 200, "{uri}: {}", text(&r));
            let by = *r.body.last().unwrap();
            match seen.copies.iter().find(|(v, _, _)| *v == uri) {
                Some((_, before, was_disc)) => {
                    assert_eq!(*before, by, "{uri} changed copy");
                    assert_eq!(*was_disc, disc, "{uri}: its discontinuity changed");
                }
                None => seen.copies.push((uri, by, disc)),
            }
        }
        let periods = self.periods(now);
        assert!(
            periods.starts_with(&seen.periods),
            "Periods changed: {:?} then {periods:?}",
            seen.periods
        );
        seen.periods = periods;
    }
}

/// What players have been shown so far.
#[derive(Default)]
struct Observed {
    copies: Vec<(String, u8, bool)>,
    disc_seq: u64,
    periods: Vec<String>,
    /// (time, segments listed) of each observation.
    lengths: Vec<(u64, usize)>,
}

#[test]
fn an_active_input_restarting_ahead_of_the_fill_lists_no_discontinuity() {
    let mut s = Pushes::new();
    let mut seen = Observed::default();
    // Input 1 (active) 300 ms ahead of input 2. It dies after segment 4 and is restarted at
    // media segment 6; its first new segment arrives before input 2's copy of 5, which
    // lagged (the order the soak met: the restart commit before the fill).
    for k in 0..11 {
        let t = T0 + 2000 * (k + 1);
        match k {
            5 => {}
            6 => {
                s.restart(1, 6);
                s.send(1, 6, t);
                s.observe(t + 100, &mut seen);
                s.send(2, 5, t + 200);
                s.observe(t + 250, &mut seen);
                s.send(2, 6, t + 300);
            }
            _ => {
                s.send(1, k, t);
                s.send(2, k, t + 300);
            }
        }
        s.observe(t + 400, &mut seen);
    }
    let (seq, listed, disc_seq) = s.playlist(T0 + 24_000);
    assert_eq!((seq, disc_seq), (0, 0));
    assert_eq!(listed.len(), 11, "{listed:?}");
    assert!(
        listed.iter().all(|(_, d, g)| !d && !g),
        "a discontinuity or gap: {listed:?}"
    );
    let inputs: Vec<u8> = seen.copies.iter().map(|(_, i, _)| *i).collect();
    assert_eq!(
        inputs,
        [1, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1],
        "{:?}",
        seen.copies
    );
    assert_eq!(seen.periods, ["p0"]);
}

/// Input 1 dies after segment 4 and restarts at 6 while input 2 is still behind; `two` says
/// what input 2 sends at step `k` (a list of media segments). Returns what was observed.
fn restart_ahead(s: &mut Pushes, two: impl Fn(u64) -> Vec<u64>) -> Observed {
    let mut seen = Observed::default();
    for k in 0..11 {
        let t = T0 + 2000 * (k + 1);
        if k == 6 {
            s.restart(1, 6);
        }
        if k != 5 {
            s.send(1, k, t);
            s.observe(t + 100, &mut seen);
        }
        for m in two(k) {
            s.send(2, m, t + 300);
        }
        s.observe(t + 400, &mut seen);
    }
    seen
}

#[test]
fn a_break_no_copy_fills_is_a_discontinuity_decided_once() {
    let mut s = Pushes::new();
    // Input 2 lost segment 5 too: nothing fills the break, which is a discontinuity (listed
    // once input 2 has passed it, and never changed).
    let seen = restart_ahead(&mut s, |k| if k == 5 { vec![] } else { vec![k] });
    let (_, listed, _) = s.playlist(T0 + 24_000);
    let flags: Vec<(bool, bool)> = listed.iter().map(|(_, d, g)| (*d, *g)).collect();
    assert_eq!(flags[5], (false, true), "{listed:?}");
    assert_eq!(flags[6], (true, false), "{listed:?}");
    assert_eq!(seen.periods, ["p0", "p6"]);
}

#[test]
fn the_wait_for_a_fill_is_bounded() {
    let mut s = Pushes::new();
    // Input 2 dies after segment 4: input 1's restart waits while its first segment is among
    // its playlist's newest three, then lists the break.
    let seen = restart_ahead(&mut s, |k| if k < 5 { vec![k] } else { vec![] });
    let at = |now: u64| {
        seen.lengths
            .iter()
            .find(|(t, _)| *t == now)
            .map(|(_, n)| *n)
    };
    // Steps 6, 7 and 8 (segments 6-8 among the newest three): held.
    assert_eq!(
        at(T0 + 2000 * 9 + 400),
        Some(5),
        "held while the fill may come"
    );
    // Step 9 lists 6 to 9, after a gap for 5.
    assert_eq!(at(T0 + 2000 * 10 + 100), Some(10), "listed after the wait");
    let (_, listed, _) = s.playlist(T0 + 24_000);
    assert!(listed[6].1 && listed[5].2, "{listed:?}");
    assert_eq!(seen.periods, ["p0", "p6"]);
}
