//! `clip.mp4`: a window of a live channel (two video renditions and a separate audio rendition,
//! pushed with injected arrival times) as one progressive MP4, checked with ffprobe against the
//! `vodend` playlist of the same window. Needs `ffmpeg`/`ffprobe` on PATH (fails without).

mod common;
mod media_support;

use common::*;
use edgepack::{Method, Request, Response};
use media_support::{number as num, stream};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Segments ffmpeg makes per rendition (2 s each).
const SEGMENTS: u64 = 14;
const NOW: u64 = T0 + 3_600_000;
const CLIP: &str = "/out/v1/demo/live/hls/clip.mp4";
const PLAYLIST: &str = "/out/v1/demo/live/hls/stream_0/index/media.m3u8";

/// 28 s of the e2e encoder's layout, written once per test run: `stream_0` 320x180 and
/// `stream_1` 160x90 H.264 (30 fps, GOP 60) and `stream_2` AAC, 2 s segments `seg{n}.ts`.
fn media() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("edgepack-clip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.to_str().unwrap();
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-y"])
            .args(["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30"])
            .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
            .args(["-filter_complex", "[0:v]split=2[a][b];[b]scale=160:90[bs]"])
            .args(["-map", "[a]", "-map", "[bs]", "-map", "1:a"])
            .args(["-t", &(SEGMENTS * 2).to_string()])
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
            ])
            .args(["-b:v:0", "300k", "-b:v:1", "100k"])
            .args(["-g", "60", "-keyint_min", "60", "-sc_threshold", "0"])
            .args(["-c:a", "aac", "-b:a", "64k", "-ac", "2"])
            .args(["-f", "hls", "-hls_time", "2", "-hls_list_size", "0"])
            .args(["-master_pl_name", "master.m3u8"])
            .args([
                "-var_stream_map",
                "v:0,agroup:aud v:1,agroup:aud a:0,agroup:aud",
            ])
            .arg("-hls_segment_filename")
            .arg(format!("{d}/stream_%v/seg%d.ts"))
            .arg(format!("{d}/stream_%v/index.m3u8"))
            .status()
            .expect("ffmpeg must be installed (apt-get install ffmpeg)");
        assert!(status.success());
        dir
    })
}

/// A channel with endpoint `hls` (a day of time-shift), a 30 s live timeline so most of the
/// recording is archived, and the recording pushed at 2 s per segment from `T0`.
fn recorded() -> TestOrigin {
    let o = origin();
    let creds = setup(
        &o,
        json!({"name": "hls", "time_shift_days": 1, "program_date_time_interval": 2}),
    );
    let (s, _) = api(
        &o,
        Method::Patch,
        "/api/v1/groups/demo/channels/live",
        Some(json!({"max_playlist_duration": 30})),
    );
    assert_eq!(s, 200);
    let dir = media();
    let master = std::fs::read(dir.join("master.m3u8")).unwrap();
    assert_eq!(put(&o, 1, &creds, "master.m3u8", &master, T0).status, 201);
    for i in 0..SEGMENTS {
        let now = T0 + i * 2000;
        for r in ["stream_0", "stream_1", "stream_2"] {
            let seg = std::fs::read(dir.join(format!("{r}/seg{i}.ts"))).unwrap();
            let status = put(&o, 1, &creds, &format!("{r}/seg{i}.ts"), &seg, now).status;
            assert_eq!(status, 201);
            let first = i.saturating_sub(5);
            let pl = media_playlist(first, i - first + 1);
            let path = format!("{r}/index.m3u8");
            let resp = put(&o, 1, &creds, &path, pl.as_bytes(), now + 10);
            assert!(resp.status == 200 || resp.status == 201, "{}", text(&resp));
        }
    }
    o
}

fn at(o: &TestOrigin, method: Method, path: &str, query: &str, now: u64) -> Response {
    at_in_chunks(o, method, path, query, now).0
}

/// The whole answer (streamed chunks joined) and how many chunks it came in.
fn at_in_chunks(
    o: &TestOrigin,
    method: Method,
    path: &str,
    query: &str,
    now: u64,
) -> (Response, usize) {
    let mut req = Request::new(method, path);
    req.query = query.to_owned();
    let (mut r, stream) = block_on(o.handle_stream(req, now));
    let mut chunks = 1;
    if let Some(mut s) = stream {
        while let Some(chunk) = block_on(o.next_chunk(&mut s, now)) {
            r.body.extend_from_slice(&chunk);
            chunks += 1;
        }
    }
    (r, chunks)
}

fn header<'a>(r: &'a Response, name: &str) -> &'a str {
    r.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {name} header"))
}

/// ffprobe of `file` (frames counted); decode errors fail.
fn probe(file: &[u8]) -> Value {
    ffprobe_file(
        file,
        "mp4",
        &["-count_frames", "-show_streams", "-show_format"],
    )
}

/// The segment numbers and total duration (s) a `vodend` playlist lists.
fn vodend_playlist(o: &TestOrigin, query: &str) -> (Vec<String>, f64) {
    let r = at(o, Method::Get, PLAYLIST, query, NOW);
    assert_eq!(r.status, 200, "{}", text(&r));
    let body = text(&r);
    let uris = body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split('?').next().unwrap().to_owned())
        .collect();
    let total = body
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|l| l.trim_end_matches(',').parse::<f64>().unwrap())
        .sum();
    (uris, total)
}

const START: &str = "2026-11-23T12:00:05Z";
const END: &str = "2026-11-23T12:00:17Z";

#[test]
fn clip_covers_the_vodend_window_with_video_and_separate_audio() {
    let o = recorded();
    let (listed, total) = vodend_playlist(&o, &format!("start={START}&vodend={END}"));
    assert!(listed.len() >= 5, "{listed:?}");
    let r = at(
        &o,
        Method::Get,
        CLIP,
        &format!("start={START}&end={END}"),
        NOW,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(header(&r, "content-type"), "video/mp4");
    assert_eq!(
        header(&r, "content-disposition"),
        "attachment; filename=\"live-20261123T120005Z.mp4\""
    );
    assert!(header(&r, "cache-control").contains("immutable"));
    assert_eq!(&r.body[4..8], b"ftyp");
    let p = probe(&r.body);
    let duration = num(&p["format"]["duration"]);
    assert!((duration - total).abs() < 0.05, "{duration} s vs {total} s");
    let video = stream(&p, "video");
    assert_eq!(
        (num(&video["width"]), num(&video["height"])),
        (320.0, 180.0)
    );
    assert_eq!(num(&video["nb_read_frames"]), (total * 30.0).round());
    // Audio from stream_2: 48 kHz AAC frames of 1024 samples over the same span.
    let audio = stream(&p, "audio");
    let frames = num(&audio["nb_read_frames"]);
    let expected = total * 48_000.0 / 1024.0;
    assert!((frames - expected).abs() <= 2.0, "{frames} vs {expected}");
    // HEAD: the length, no body.
    let h = at(
        &o,
        Method::Head,
        CLIP,
        &format!("start={START}&end={END}"),
        NOW,
    );
    assert_eq!(h.status, 200);
    assert!(h.body.is_empty());
    assert_eq!(header(&h, "content-length"), r.body.len().to_string());
}

#[test]
fn rendition_selection() {
    let o = recorded();
    let q = format!("start={START}&end={END}&rendition=stream_1");
    let r = at(&o, Method::Get, CLIP, &q, NOW);
    assert_eq!(r.status, 200, "{}", text(&r));
    let p = probe(&r.body);
    assert_eq!(num(&stream(&p, "video")["width"]), 160.0);
    stream(&p, "audio");
    let q = format!("start={START}&end={END}&rendition=stream_9");
    let r = at(&o, Method::Get, CLIP, &q, NOW);
    assert_eq!(r.status, 404);
    assert!(
        text(&r).contains("stream_0/index, stream_1/index"),
        "{}",
        text(&r)
    );
    // The audio rendition is no video rendition.
    let q = format!("start={START}&end={END}&rendition=stream_2");
    assert_eq!(at(&o, Method::Get, CLIP, &q, NOW).status, 404);
}

#[test]
fn parameters_and_window_edges() {
    let o = recorded();
    let get = |q: &str, now| at(&o, Method::Get, CLIP, q, now);
    let r = get(&format!("end={END}"), NOW);
    assert_eq!(r.status, 400);
    assert!(text(&r).contains("`start`"), "{}", text(&r));
    let r = get(&format!("start={START}"), NOW);
    assert_eq!(r.status, 400);
    assert!(text(&r).contains("`end`"), "{}", text(&r));
    assert_eq!(get(&format!("start={END}&end={START}"), NOW).status, 400);
    assert_eq!(get(&format!("start={START}&end={START}"), NOW).status, 400);
    assert_eq!(get("start=noon&end=later", NOW).status, 400);
    // Before the recording and after it: 404 naming what is retained.
    for q in [
        "start=2026-11-23T11:00:00Z&end=2026-11-23T11:00:20Z",
        "start=2026-11-23T12:10:00Z&end=2026-11-23T12:10:20Z",
    ] {
        let r = get(q, NOW);
        assert_eq!(r.status, 404, "{q}");
        assert!(text(&r).contains("retained from"), "{}", text(&r));
    }
    // A window that overlaps the recording's start is clipped to what exists.
    let r = get("start=2026-11-23T11:59:50Z&end=2026-11-23T12:00:03Z", NOW);
    assert_eq!(r.status, 200, "{}", text(&r));
    let first = probe(&r.body);
    let d = num(&first["format"]["duration"]);
    assert!((d - 4.0).abs() < 0.1, "{d}");
    // Just after the window ends, the clip may still grow: short cache.
    let end_ms = T0 + 17_000;
    let r = get(&format!("start={START}&end={END}"), end_ms + 1000);
    assert_eq!(r.status, 200);
    assert!(!header(&r, "cache-control").contains("immutable"));
}

#[test]
fn long_windows_are_refused_with_a_pointer_to_harvest_jobs() {
    let o = recorded();
    let r = at(
        &o,
        Method::Get,
        CLIP,
        "start=2026-11-23T12:00:00Z&end=2026-11-23T12:10:01Z",
        NOW,
    );
    assert_eq!(r.status, 413);
    assert!(text(&r).contains("harvest"), "{}", text(&r));
}

#[test]
fn large_clips_stream_part_by_part_without_a_size_cap() {
    // Real segments padded with 13 MiB of null packets each: 65 MiB of input, more than the
    // first pass keeps (32 MiB), so the body re-reads segments while it streams.
    let o = origin();
    let creds = setup(&o, json!({"name": "hls"}));
    let padding = ts((13 << 20) / 188 + 1, 0xff);
    for i in 0..5u64 {
        let now = T0 + i * 2000;
        let mut seg = std::fs::read(media().join(format!("stream_0/seg{i}.ts"))).unwrap();
        seg.extend_from_slice(&padding);
        assert_eq!(
            put(&o, 1, &creds, &format!("v/seg{i}.ts"), &seg, now).status,
            201
        );
        let pl = media_playlist(0, i + 1);
        let r = put(&o, 1, &creds, "v/index.m3u8", pl.as_bytes(), now + 10);
        assert!(r.status == 200 || r.status == 201, "{}", text(&r));
    }
    let query = "start=2026-11-23T11:59:58Z&end=2026-11-23T12:00:10Z";
    let now = T0 + 60_000;
    let (r, chunks) = at_in_chunks(&o, Method::Get, CLIP, query, now);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // The header first, then one chunk per segment.
    assert_eq!(chunks, 6);
    let p = probe(&r.body);
    assert_eq!(num(&stream(&p, "video")["nb_read_frames"]), 5.0 * 60.0);
    // A range in the middle equals those bytes of the whole clip.
    let mut req = Request::new(Method::Get, CLIP).with_header("range", "bytes=30000-99999");
    req.query = query.to_owned();
    let part = send_all(&o, req, now);
    assert_eq!(part.status, 206);
    assert!(part.body == r.body[30_000..100_000]);
    let h = at(&o, Method::Head, CLIP, query, now);
    assert_eq!(header(&h, "content-length"), r.body.len().to_string());
}
