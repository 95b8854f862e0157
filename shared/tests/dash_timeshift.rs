//! DASH time-shift over real segments: static MPD for `start`+`vodend`, start-over and
//! `offset` dynamic MPDs, errors, carried parameters, and every segment the static MPD
//! implies served and decoded by ffprobe.

mod common;

use common::*;
use edgepack::playback::forget_remembered_endpoints;
use edgepack::testing::Observed;
use edgepack::{Method, Request, Response};
use serde_json::json;
use std::process::Command;
use std::sync::OnceLock;

const MPD: &str = "/out/v1/demo/live/dash/manifest.mpd";
const BASE: &str = "/out/v1/demo/live/dash/";
/// Segments pushed (2 s each, one every 2 s from `T0`).
const SEGMENTS: u64 = 40;
const NOW: u64 = T0 + 80_000;
/// 20 s inside the archived part (the live timeline keeps 30 s).
const WINDOW: &str = "start=2026-11-23T12:00:10Z&vodend=2026-11-23T12:00:30Z";

/// `SEGMENTS` consecutive 2 s HLS segments (320x180 H.264 + AAC), encoded once.
fn encoded() -> &'static [Vec<u8>] {
    static SEGS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEGS.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("edgepack-dashts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let status = Command::new("ffmpeg")
            .current_dir(&dir)
            .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
            .arg("testsrc2=size=320x180:rate=30")
            .args(["-f", "lavfi", "-i", "sine=f=440:r=48000", "-t"])
            .arg((2 * SEGMENTS).to_string())
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "60"])
            .args(["-keyint_min", "60", "-sc_threshold", "0", "-c:a", "aac"])
            .args(["-f", "hls", "-hls_time", "2", "-hls_list_size", "0"])
            .args(["-hls_segment_filename", "s%d.ts", "index.m3u8"])
            .status()
            .expect("ffmpeg is installed (apt-get install ffmpeg)");
        assert!(status.success());
        let segs = (0..SEGMENTS)
            .map(|i| std::fs::read(dir.join(format!("s{i}.ts"))).unwrap())
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        segs
    })
}

/// A DASH endpoint with a day of time-shift over 80 s pushed in real time; the live timeline
/// keeps 30 s, the rest is archived.
fn archived() -> TestOrigin {
    archived_from(T0)
}

/// [`archived`], with the first segment pushed at `start_ms`.
fn archived_from(start_ms: u64) -> TestOrigin {
    let o = origin();
    let c = setup(
        &o,
        json!({"name": "dash", "protocol": "DASH", "time_shift_days": 1}),
    );
    let (s, _) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo/channels/live",
        Some(json!({"max_playlist_duration": 30})),
    );
    assert_eq!(s, 200);
    for (i, seg) in encoded().iter().enumerate() {
        let i = i as u64;
        let now = start_ms + i * 2000;
        assert_eq!(put(&o, 1, &c, &format!("v/s{i}.ts"), seg, now).status, 201);
        let first = i.saturating_sub(5);
        let mut pl = format!(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{first}\n"
        );
        for n in first..=i {
            pl.push_str(&format!("#EXTINF:2.000000,\ns{n}.ts\n"));
        }
        let r = put(&o, 1, &c, "v/index.m3u8", pl.as_bytes(), now + 10);
        assert!(r.status == 200 || r.status == 201, "{}", text(&r));
    }
    o
}

fn at(o: &TestOrigin, path_query: &str, now: u64) -> Response {
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let mut req = Request::new(Method::Get, path);
    req.query = query.to_owned();
    send(o, req, now)
}

fn ok(o: &TestOrigin, path_query: &str, now: u64) -> String {
    let r = at(o, path_query, now);
    assert_eq!(r.status, 200, "{path_query}: {}", text(&r));
    text(&r).to_owned()
}

/// The value of `name="..."` in `element`.
fn attr<'a>(element: &'a str, name: &str) -> Option<&'a str> {
    let i = element.find(&format!(" {name}=\""))? + name.len() + 3;
    element[i..].split('"').next()
}

/// Seconds of an `xs:duration` as this origin writes it (`PT{s}.{ms}S`).
fn seconds(d: &str) -> f64 {
    d.trim_start_matches("PT")
        .trim_end_matches('S')
        .parse()
        .unwrap()
}

/// One Representation of an MPD: template attributes and the expanded `(t, d)` list.
struct Rep {
    period_start: f64,
    timescale: u64,
    pto: u64,
    init: String,
    media: String,
    segments: Vec<(u64, u64)>,
}

fn reps(mpd: &str) -> Vec<Rep> {
    let mut out = Vec::new();
    for period in mpd.split("<Period ").skip(1) {
        let period_start = seconds(attr(period, "start").unwrap());
        for rep in period.split("<Representation ").skip(1) {
            let tpl = rep.split("<SegmentTemplate").nth(1).unwrap();
            let mut segments = Vec::new();
            let mut next = 0;
            for s in tpl.split("<S ").skip(1) {
                let s = &format!(" {}", s.split("/>").next().unwrap());
                let t = attr(s, "t").map_or(next, |t| t.parse().unwrap());
                let d: u64 = attr(s, "d").unwrap().parse().unwrap();
                let r: u64 = attr(s, "r").map_or(0, |r| r.parse().unwrap());
                for k in 0..=r {
                    segments.push((t + k * d, d));
                }
                next = t + (r + 1) * d;
            }
            out.push(Rep {
                period_start,
                timescale: attr(tpl, "timescale").unwrap().parse().unwrap(),
                pto: attr(tpl, "presentationTimeOffset")
                    .unwrap()
                    .parse()
                    .unwrap(),
                init: attr(tpl, "initialization").unwrap().replace("&amp;", "&"),
                media: attr(tpl, "media").unwrap().replace("&amp;", "&"),
                segments,
            });
        }
    }
    out
}

/// ffprobe over `bytes`: decoded frames of the first stream.
fn decoded_frames(bytes: &[u8]) -> u64 {
    let v = ffprobe_frames(bytes, "stream=nb_read_frames");
    v["streams"][0]["nb_read_frames"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn static_mpd_for_a_vod_window() {
    let o = archived();
    let r = at(&o, &format!("{MPD}?{WINDOW}"), NOW);
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.header("content-type"), Some("application/dash+xml"));
    // Content follows the window: what it lists never changes.
    assert_eq!(r.header("cache-control"), Some("public, max-age=86400"));
    let mpd = text(&r).to_owned();
    golden("dash_vod_window.mpd", &mpd);
    assert!(mpd.contains(r#"type="static""#));
    for live in [
        "availabilityStartTime",
        "minimumUpdatePeriod",
        "UTCTiming",
        "timeShiftBufferDepth",
    ] {
        assert!(!mpd.contains(live), "{live}");
    }
    // The same segments as the HLS endpoint's VOD playlist for the window: 10 of 2 s.
    let reps = reps(&mpd);
    assert_eq!(reps.len(), 2, "video and audio");
    let video = &reps[0];
    assert_eq!(video.segments.len(), 10);
    // The first segment plays at 0 and the duration ends with the last listed segment.
    assert_eq!(video.period_start, 0.0);
    assert_eq!(video.segments[0].0, video.pto);
    let duration = seconds(attr(&mpd, "mediaPresentationDuration").unwrap());
    let end = |r: &Rep| {
        let (t, d) = *r.segments.last().unwrap();
        r.period_start + (t + d - r.pto) as f64 / r.timescale as f64
    };
    let longest = reps.iter().map(end).fold(0.0, f64::max);
    assert!(
        (duration - longest).abs() <= 0.001,
        "{duration} vs {longest}"
    );
    assert!((duration - 20.0).abs() <= 2.0, "{duration}");
}

#[test]
fn every_segment_of_the_static_mpd_is_served_and_decodes() {
    let o = archived();
    let mpd = ok(&o, &format!("{MPD}?{WINDOW}"), NOW);
    for rep in reps(&mpd) {
        // The window's parameters are carried on every template URL.
        assert!(rep.init.ends_with(&format!("?{WINDOW}")), "{}", rep.init);
        assert!(rep.media.ends_with(&format!("?{WINDOW}")), "{}", rep.media);
        let init = at(&o, &format!("{BASE}{}", rep.init), NOW);
        assert_eq!(init.status, 200, "{}: {}", rep.init, text(&init));
        for (t, _) in &rep.segments {
            let url = format!("{BASE}{}", rep.media.replace("$Time$", &t.to_string()));
            let seg = at(&o, &url, NOW);
            assert_eq!(seg.status, 200, "{url}: {}", text(&seg));
            let mut file = init.body.clone();
            file.extend_from_slice(&seg.body);
            assert!(decoded_frames(&file) > 0, "{url}");
        }
    }
}

#[test]
fn start_over_and_offset_mpds_are_dynamic() {
    let o = archived();
    // Start-over: the live Periods, from the window's first segment to now.
    let r = at(&o, &format!("{MPD}?start=2026-11-23T12:00:10Z"), NOW);
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.header("cache-control"), Some("public, max-age=1"));
    let mpd = text(&r).to_owned();
    golden("dash_start_over.mpd", &mpd);
    let live = ok(&o, MPD, NOW);
    assert_eq!(
        attr(&mpd, "availabilityStartTime"),
        attr(&live, "availabilityStartTime")
    );
    let (shifted, plain) = (reps(&mpd), reps(&live));
    assert_eq!(shifted[0].period_start, plain[0].period_start);
    assert_eq!(shifted[0].pto, plain[0].pto);
    assert_eq!(shifted[0].segments.last(), plain[0].segments.last());
    assert!(shifted[0].segments.len() > plain[0].segments.len());
    let tsb = seconds(attr(&mpd, "timeShiftBufferDepth").unwrap());
    assert!(
        (70.0..=75.0).contains(&tsb),
        "reaches back to 12:00:10: {tsb}"
    );

    // Offset: the live presentation 20 s later on the wall clock.
    let r = at(&o, &format!("{MPD}?offset=20"), NOW);
    assert_eq!(r.status, 200, "{}", text(&r));
    let mpd = text(&r).to_owned();
    golden("dash_offset.mpd", &mpd);
    assert_eq!(
        attr(&mpd, "availabilityStartTime"),
        Some("1970-01-01T00:00:20.000Z")
    );
    let shifted = reps(&mpd);
    let last = |r: &Rep| r.segments.last().map(|(t, d)| t + d).unwrap();
    // The newest listed segment ends 20 s (10 segments) before the live one.
    assert_eq!(last(&plain[0]) - last(&shifted[0]), 20 * 90_000);
    assert!(mpd.contains("?offset=20\""), "carried");
}

#[test]
fn end_in_the_past_makes_a_final_dynamic_mpd() {
    let o = archived();
    let q = "start=2026-11-23T12:00:10Z&end=2026-11-23T12:00:30Z";
    let r = at(&o, &format!("{MPD}?{q}"), NOW);
    assert_eq!(r.status, 200, "{}", text(&r));
    let mpd = text(&r).to_owned();
    assert!(mpd.contains(r#"type="dynamic""#));
    assert!(!mpd.contains("minimumUpdatePeriod"), "{mpd}");
    assert!(
        mpd.contains(" duration=\"PT"),
        "last Period has a duration: {mpd}"
    );
    assert_eq!(r.header("cache-control"), Some("public, max-age=86400"));
    assert!(
        !mpd.contains("timeShiftBufferDepth"),
        "all it lists stays: {mpd}"
    );
    // Before `end` it is an ordinary growing start-over MPD.
    let q = "start=2026-11-23T12:00:10Z&end=2026-11-23T12:05:00Z";
    let r = at(&o, &format!("{MPD}?{q}"), NOW);
    let before = text(&r);
    assert!(before.contains("minimumUpdatePeriod"), "{before}");
    assert!(before.contains("timeShiftBufferDepth"), "{before}");
    assert!(!before.contains(" duration=\"PT"));
    assert_eq!(r.header("cache-control"), Some("public, max-age=1"));
}

#[test]
fn errors_name_the_parameter_and_the_retained_range() {
    let o = archived();
    let r = at(
        &o,
        &format!("{MPD}?start=2026-11-23T12:00:10Z&offset=5"),
        NOW,
    );
    assert_eq!(r.status, 400);
    let r = at(&o, &format!("{MPD}?start=noon"), NOW);
    assert_eq!(r.status, 400);
    assert!(text(&r).contains("start"), "{}", text(&r));
    let r = at(
        &o,
        &format!("{MPD}?start=2026-11-23T12:00:10Z&vodend=2026-11-23T12:00:05Z"),
        NOW,
    );
    assert_eq!(r.status, 400);
    assert!(text(&r).contains("vodend"), "{}", text(&r));
    let r = at(
        &o,
        &format!("{MPD}?start=2026-11-22T12:00:00Z&vodend=2026-11-22T12:10:00Z"),
        NOW,
    );
    assert_eq!(r.status, 404);
    assert!(text(&r).contains("retained from"), "{}", text(&r));
    // The live MPD is untouched by the archive.
    let live = ok(&o, MPD, NOW);
    assert!(live.contains(r#"timeShiftBufferDepth="PT60.000S""#));
}

#[test]
fn signed_url_tokens_ride_along_with_the_window() {
    let o = archived();
    let k1 = json!({"id": "k1", "secret": "first-secret-0123456789"});
    let ep = "/api/v1/groups/demo/channels/live/endpoints/dash";
    let (s, v) = api(&o, Method::Patch, ep, Some(json!({"signing_keys": [k1]})));
    assert_eq!(s, 200, "{v}");
    let (s, v) = api(
        &o,
        Method::Post,
        &format!("{ep}/signed-url"),
        Some(json!({"expires_in": 600})),
    );
    assert_eq!(s, 200, "{v}");
    let token = v["token"].as_str().unwrap().to_owned();
    let mpd = ok(&o, &format!("{MPD}?{WINDOW}&token={token}"), T0 + 60_000);
    let rep = &reps(&mpd)[0];
    assert!(
        rep.media.ends_with(&format!("?{WINDOW}&token={token}")),
        "{}",
        rep.media
    );
    let url = rep.media.replace("$Time$", &rep.segments[0].0.to_string());
    assert_eq!(at(&o, &format!("{BASE}{url}"), T0 + 60_000).status, 200);
}

/// The length of an archive bucket (`archive::BUCKET_MS`).
const BUCKET_MS: u64 = 600_000;

/// A time-shifted MPD's segment URLs name their run's clock and timescale
/// (`~{id}@{clock}_{timescale}/`, docs/round-trips.md, "Time-shifted DASH segment URLs"):
/// every segment of a window that crosses an archive bucket boundary answers the same bytes
/// by that URL, by the URL without the clock and by the URL without the storage id, and the
/// new URL reads only the archive buckets around its own (beside the settings).
#[test]
fn every_segment_answers_the_same_bytes_by_the_url_with_the_run_clock() {
    // 80 s from 40 s before a bucket boundary: archived segments on both sides of it.
    let start = T0 + BUCKET_MS - 40_000;
    let now = start + 80_000;
    let keys = Keys::default();
    let observer = keys.clone();
    let o = wrap_stores(
        archived_from(start),
        |kv| kv,
        |inner| Observed { inner, observer },
    );
    let get = |uri: &str| {
        forget_remembered_endpoints();
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        let mut req = Request::new(Method::Get, path);
        req.query = query.to_owned();
        block_on(o.handle(req, now))
    };
    let window = "start=2026-11-23T12:09:17Z&vodend=2026-11-23T12:10:38Z";
    for query in [window, "start=2026-11-23T12:09:17Z"] {
        let r = get(&format!("{MPD}?{query}"));
        assert_eq!(r.status, 200, "{}", text(&r));
        let reps = reps(text(&r));
        assert_eq!(reps.len(), 2, "video and audio");
        for rep in reps {
            assert_eq!(rep.segments.len(), 40, "{query}");
            let media = rep.media.split('?').next().unwrap();
            let (rendition, rest) = media.split_once("/~").unwrap();
            let (dir, file) = rest.split_once('/').unwrap();
            let (id, clock) = dir.split_once('@').expect("the run's clock");
            let (clock, timescale) = clock.split_once('_').unwrap();
            let (clock, timescale): (u64, u64) =
                (clock.parse().unwrap(), timescale.parse().unwrap());
            assert_eq!(timescale, rep.timescale);
            // The init segment: read from the live timelines, the same bytes as the live one
            // (its source is the newest segment with its version, never an archived one here).
            keys.take();
            let init = get(&format!("{BASE}{}", rep.init));
            assert_eq!(init.status, 200, "{}: {}", rep.init, text(&init));
            assert!(
                !keys.take().iter().any(|k| k.starts_with("arc/")),
                "{}",
                rep.init
            );
            let live_init = get(&format!("{BASE}{}", rep.init.split('?').next().unwrap()));
            assert_eq!(init.body, live_init.body, "{}", rep.init);
            let mut buckets = Vec::new();
            for (t, _) in &rep.segments {
                let file = file.replace("$Time$", &t.to_string());
                buckets.push((clock + t * 1000 / timescale) / BUCKET_MS);
                let new = format!("{BASE}{}", rep.media.replace("$Time$", &t.to_string()));
                keys.take();
                let by_clock = get(&new);
                assert_eq!(by_clock.status, 200, "{new}: {}", text(&by_clock));
                // The buckets around the segment's own on both inputs, no more: the window
                // was not read after them.
                let archive = keys.take().iter().filter(|k| k.starts_with("arc/")).count();
                assert!((1..=6).contains(&archive), "{new}: {archive} archive reads");
                let by_id = get(&format!("{BASE}{rendition}/~{id}/{file}?{query}"));
                let old = get(&format!("{BASE}{rendition}/{file}?{query}"));
                assert_eq!((by_id.status, old.status), (200, 200), "{new}");
                assert!(
                    by_clock.body == by_id.body && by_clock.body == old.body,
                    "{new}"
                );
            }
            buckets.dedup();
            assert_eq!(buckets.len(), 2, "the window crosses a bucket boundary");
        }
    }
}

/// A malformed clock, timescale or time reads nothing and is a 404; a clock that names the
/// wrong bucket still answers the same bytes (the window is read after the buckets).
#[test]
fn hostile_run_clocks_read_nothing() {
    let keys = Keys::default();
    let observer = keys.clone();
    let o = wrap_stores(archived(), |kv| kv, |inner| Observed { inner, observer });
    let get = |uri: &str| {
        forget_remembered_endpoints();
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        let mut req = Request::new(Method::Get, path);
        req.query = query.to_owned();
        block_on(o.handle(req, NOW))
    };
    let r = get(&format!("{MPD}?{WINDOW}"));
    let rep = &reps(text(&r))[0];
    let media = rep.media.split('?').next().unwrap();
    let (rendition, rest) = media.split_once("/~").unwrap();
    let (dir, file) = rest.split_once('/').unwrap();
    let (id, clock) = dir.split_once('@').unwrap();
    let t = rep.segments[2].0;
    let file = file.replace("$Time$", &t.to_string());
    let expected = get(&format!("{BASE}{rendition}/{file}?{WINDOW}"));
    assert_eq!(expected.status, 200);
    for dir in [
        format!("~{id}@{clock}_"),
        format!("~{id}@_{}", rep.timescale),
        format!("~{id}@{clock}_0"),
        format!("~{id}@{clock}_99999999999"),
        format!("~{id}@12345678901234_90000"),
        format!("~{id}@-1_90000"),
        format!("~{id}@{clock}_90000_1"),
        format!("~{id}@{clock}@{clock}"),
        format!("~{id}@ 1_90000"),
    ] {
        keys.take();
        let r = get(&format!("{BASE}{rendition}/{dir}/{file}?{WINDOW}"));
        assert_eq!(r.status, 404, "{dir}: {}", text(&r));
        assert!(keys.take().is_empty(), "{dir}");
    }
    for file in [
        format!("video_t{t}0000000000000000000.m4s"),
        format!("video_t-{t}.m4s"),
        format!("vid_t{t}.m4s"),
        format!("video_{t}.m4s"),
        format!("video_t{t}.mp4"),
    ] {
        keys.take();
        let r = get(&format!("{BASE}{rendition}/~{dir}/{file}?{WINDOW}"));
        assert_eq!(r.status, 404, "{file}: {}", text(&r));
        assert!(keys.take().is_empty(), "{file}");
    }
    // A clock an hour off: the buckets it names are outside the window (nothing read ahead),
    // the segment is found in the window read after the settings.
    let (c, ts) = clock.split_once('_').unwrap();
    let off = c.parse::<u64>().unwrap() - 3_600_000;
    let r = get(&format!(
        "{BASE}{rendition}/~{id}@{off}_{ts}/{file}?{WINDOW}"
    ));
    assert_eq!((r.status, &r.body), (200, &expected.body));
}
