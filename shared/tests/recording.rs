//! Harvest recordings (`format` MP4 and FLV): a window of a live channel written as one file
//! in batches, over the R2-like memory store (multipart rules checked) and the chunked form
//! Spin uses. ffmpeg makes the source, ffprobe decodes every frame of the result. Needs
//! `ffmpeg`/`ffprobe` on PATH (fails without).

mod common;
mod media_support;

use common::*;
use edgepack::datetime::iso8601_ms;
use edgepack::store::MemoryObjects;
use edgepack::{Method, Request, Response};
use media_support::{number as num, stream};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const JOBS: &str = "/api/v1/groups/demo/channels/live/harvest-jobs";

/// One encoder run: 320x180 30 fps H.264 (GOP 60) and 48 kHz AAC muxed in 2 s TS segments
/// `{prefix}{n}.ts`; returns (uri, EXTINF seconds) per segment.
fn encode(dir: &Path, prefix: &str, seconds: u32, size: &str, rate: u32) -> Vec<(String, f64)> {
    let d = dir.to_str().unwrap();
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args([
            "-f",
            "lavfi",
            "-i",
            &format!("testsrc2=size={size}:rate={rate}"),
        ])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args(["-t", &seconds.to_string()])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ])
        .args(["-b:v", "150k", "-maxrate", "150k", "-bufsize", "300k"])
        .args([
            "-g",
            &(rate * 2).to_string(),
            "-keyint_min",
            &(rate * 2).to_string(),
        ])
        .args(["-sc_threshold", "0"])
        .args(["-c:a", "aac", "-b:a", "32k", "-ac", "1"])
        .args(["-f", "hls", "-hls_time", "2", "-hls_list_size", "0"])
        .arg("-hls_segment_filename")
        .arg(format!("{d}/{prefix}%d.ts"))
        .arg(format!("{d}/{prefix}.m3u8"))
        .status()
        .expect("ffmpeg must be installed (apt-get install ffmpeg)");
    assert!(status.success());
    let playlist = std::fs::read_to_string(dir.join(format!("{prefix}.m3u8"))).unwrap();
    let mut out = Vec::new();
    let mut duration = None;
    for line in playlist.lines() {
        if let Some(d) = line.strip_prefix("#EXTINF:") {
            duration = Some(d.trim_end_matches(',').parse::<f64>().unwrap());
        } else if !line.starts_with('#') && !line.is_empty() {
            out.push((line.to_owned(), duration.take().unwrap()));
        }
    }
    out
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("edgepack-rec-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Pushes an encoder run's segments to rendition `s` from `start_ms`, 2 s apart, each
/// followed by its playlist (media sequence from 0: a second run is an encoder restart).
fn push_run(
    o: &TestOrigin,
    creds: &(String, String),
    dir: &Path,
    segments: &[(String, f64)],
    start_ms: u64,
) -> u64 {
    let mut now = start_ms;
    for (i, (uri, _)) in segments.iter().enumerate() {
        let body = std::fs::read(dir.join(uri)).unwrap();
        assert_eq!(
            put(o, 1, creds, &format!("s/{uri}"), &body, now).status,
            201
        );
        let first = i.saturating_sub(5);
        let mut pl = format!(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{first}\n"
        );
        for (uri, d) in &segments[first..=i] {
            pl.push_str(&format!("#EXTINF:{d:.6},\n{uri}\n"));
        }
        let r = put(o, 1, creds, "s/index.m3u8", pl.as_bytes(), now + 10);
        assert!(r.status == 200 || r.status == 201, "{}", text(&r));
        now += 2000;
    }
    now
}

fn call(o: &TestOrigin, method: Method, path: &str, body: Option<Value>, now: u64) -> Response {
    let mut req =
        Request::new(method, path).with_header("authorization", &format!("Bearer {TOKEN}"));
    if let Some(b) = body {
        req = req.with_body(b.to_string());
    }
    send(o, req, now)
}

fn json_of(r: &Response) -> Value {
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

/// A whole answer, streamed pieces included.
fn fetch(o: &TestOrigin, req: Request, now: u64) -> Response {
    let (mut r, stream) = block_on(o.handle_stream(req, now));
    if let Some(mut s) = stream {
        while let Some(chunk) = block_on(o.next_chunk(&mut s, now)) {
            r.body.extend_from_slice(&chunk);
        }
    }
    r
}

/// Runs a recording job of `start..end` to the end, polling one batch at a time; returns
/// the final job and the progress seen after each batch.
fn record(o: &TestOrigin, format: &str, start: u64, end: u64, now: u64) -> (Value, Vec<Value>) {
    let body = json!({
        "endpoint": "hls",
        "start": iso8601_ms(start as i64),
        "end": iso8601_ms(end as i64),
        "destination": "rec",
        "format": format,
    });
    let r = call(o, Method::Post, JOBS, Some(body), now);
    assert_eq!(r.status, 201, "{}", text(&r));
    let mut job = json_of(&r);
    let id = job["id"].as_str().unwrap().to_owned();
    let mut progress = vec![job["progress"].clone()];
    for _ in 0..10_000 {
        if job["status"] != "IN_PROGRESS" && job["status"] != "PENDING" {
            break;
        }
        let r = call(o, Method::Get, &format!("{JOBS}/{id}"), None, now);
        assert_eq!(r.status, 200, "{}", text(&r));
        job = json_of(&r);
        progress.push(job["progress"].clone());
    }
    assert_eq!(job["status"], "SUCCEEDED", "{job}");
    (job, progress)
}

fn asset_path(job: &Value) -> String {
    let url = job["asset_url"].as_str().unwrap();
    url.strip_prefix("http://127.0.0.1:8787")
        .unwrap()
        .to_owned()
}

/// ffprobe of a file: streams with frames counted, format, and every packet's stream and
/// timestamps; decode errors fail.
fn probe(file: &[u8], ext: &str) -> (Value, Vec<(u64, f64)>) {
    let path = std::env::temp_dir().join(format!(
        "edgepack-rec-{}-{}.{ext}",
        std::process::id(),
        file.len()
    ));
    std::fs::write(&path, file).unwrap();
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_streams",
            "-show_format",
        ])
        .args(["-show_entries", "packet=stream_index,dts_time"])
        .args(["-of", "json"])
        .arg(&path)
        .output()
        .expect("ffprobe");
    let _ = std::fs::remove_file(&path);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "{err}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let packets = v["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["stream_index"].as_u64().unwrap(), num(&p["dts_time"])))
        .collect();
    (v, packets)
}

/// Decode times of `stream` never go back and never jump by more than `max_step` seconds.
fn assert_continuous(packets: &[(u64, f64)], stream: u64, max_step: f64) {
    let times: Vec<f64> = packets
        .iter()
        .filter(|p| p.0 == stream)
        .map(|p| p.1)
        .collect();
    assert!(times.len() > 10);
    for w in times.windows(2) {
        let step = w[1] - w[0];
        assert!(
            step > 0.0 && step <= max_step,
            "step {step} s at {} s",
            w[0]
        );
    }
}

/// Top-level box types of an MP4 file.
fn boxes(file: &[u8]) -> Vec<String> {
    let mut at = 0;
    let mut out = Vec::new();
    while at + 8 <= file.len() {
        let mut size = u32::from_be_bytes(file[at..at + 4].try_into().unwrap()) as u64;
        if size == 1 {
            size = u64::from_be_bytes(file[at + 8..at + 16].try_into().unwrap());
        }
        out.push(String::from_utf8_lossy(&file[at + 4..at + 8]).into_owned());
        at += size as usize;
    }
    out
}

/// Range requests of a recording equal the same bytes of the whole file.
fn check_ranges(o: &TestOrigin, path: &str, full: &[u8], now: u64) {
    let len = full.len();
    let ranged = |range: &str| {
        fetch(
            o,
            Request::new(Method::Get, path).with_header("range", range),
            now,
        )
    };
    for (range, from, to) in [
        (format!("bytes=0-{}", 999), 0, 1000),
        (
            format!("bytes={}-{}", len / 2, len / 2 + 70_000),
            len / 2,
            len / 2 + 70_001,
        ),
        (format!("bytes={}-", len - 5000), len - 5000, len),
        ("bytes=-777".to_owned(), len - 777, len),
    ] {
        let r = ranged(&range);
        assert_eq!(r.status, 206, "{range}");
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes {from}-{}/{len}", to - 1).as_str())
        );
        assert_eq!(r.header("accept-ranges"), Some("bytes"));
        assert!(r.body == full[from..to], "{range}");
    }
    let r = ranged(&format!("bytes={len}-"));
    assert_eq!(r.status, 416);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes */{len}").as_str())
    );
    let h = fetch(o, Request::new(Method::Head, path), now);
    assert_eq!(h.status, 200);
    assert!(h.body.is_empty());
    assert_eq!(h.header("content-length"), Some(len.to_string().as_str()));
}

struct Source {
    dir: PathBuf,
    a: Vec<(String, f64)>,
    b: Vec<(String, f64)>,
}

/// Two encoder runs of 10 s each (the second a restart, its timestamps from 0 again).
fn source() -> &'static Source {
    static SOURCE: OnceLock<Source> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let dir = temp_dir("splice");
        let a = encode(&dir, "a", 10, "320x180", 30);
        let b = encode(&dir, "b", 10, "320x180", 30);
        Source { dir, a, b }
    })
}

/// A channel with run A pushed from T0, 9 s with nothing, then run B: returns the origin,
/// the window (ms) and its media duration (s).
fn spliced(objects: MemoryObjects) -> (TestOrigin, u64, u64, f64) {
    let mut o = origin();
    o.objects = objects;
    let creds = setup(&o, json!({"name": "hls", "time_shift_days": 1}));
    let s = source();
    let after_a = push_run(&o, &creds, &s.dir, &s.a, T0);
    let end = push_run(&o, &creds, &s.dir, &s.b, after_a + 9_000);
    let seconds = s.a.iter().chain(&s.b).map(|x| x.1).sum();
    (o, T0 - 3000, end, seconds)
}

fn check_file(file: &[u8], ext: &str, seconds: f64) {
    let (p, packets) = probe(file, ext);
    let duration = num(&p["format"]["duration"]);
    assert!(
        (duration - seconds).abs() < 0.1,
        "{duration} s vs {seconds} s"
    );
    let video = stream(&p, "video");
    assert_eq!(num(&video["nb_read_frames"]), (seconds * 30.0).round());
    let audio = stream(&p, "audio");
    let expected = seconds * 48_000.0 / 1024.0;
    let frames = num(&audio["nb_read_frames"]);
    assert!((frames - expected).abs() <= 4.0, "{frames} vs {expected}");
    // Continuous across the gap and the restart: no step beyond two frames of video or
    // audio (the splice is where the source's clock jumped back and 9 s were missing).
    let index = |s: &Value| s["index"].as_u64().unwrap();
    assert_continuous(&packets, index(video), 2.0 / 30.0 + 0.002);
    assert_continuous(&packets, index(audio), 2.0 * 1024.0 / 48_000.0 + 0.002);
}

#[test]
fn mp4_recording_splices_a_gap_and_an_encoder_restart() {
    let (o, start, end, seconds) = spliced(MemoryObjects::default());
    let now = end + 60_000;
    let (job, progress) = record(&o, "MP4", start, end, now);
    assert_eq!(job["format"], "MP4");
    assert_eq!(job["progress"]["percent"], 100);
    assert!(
        progress.len() >= 3,
        "index, header and write batches: {progress:?}"
    );
    let path = asset_path(&job);
    assert!(path.ends_with("/recording.mp4"), "{path}");
    let r = fetch(&o, Request::new(Method::Get, &path), now);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("video/mp4"));
    assert_eq!(job["progress"]["bytes_written"], r.body.len() as u64);
    assert_eq!(job["progress"]["bytes_total"], r.body.len() as u64);
    // Faststart: the movie box before the media data.
    assert_eq!(boxes(&r.body), ["ftyp", "moov", "mdat"]);
    check_file(&r.body, "mp4", seconds);
    check_ranges(&o, &path, &r.body, now);
    // The job's working objects are gone; the upload was completed.
    assert!(!o.objects.keys().iter().any(|k| k.starts_with("hv/rec/")));
    assert_eq!(o.objects.open_uploads(), 0);
}

#[test]
fn flv_recording_on_chunked_storage_splices_a_gap_and_an_encoder_restart() {
    let (o, start, end, seconds) = spliced(MemoryObjects::chunked());
    let now = end + 60_000;
    let (job, _) = record(&o, "FLV", start, end, now);
    let path = asset_path(&job);
    assert!(path.ends_with("/recording.flv"), "{path}");
    let r = fetch(&o, Request::new(Method::Get, &path), now);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("video/x-flv"));
    assert_eq!(&r.body[..3], b"FLV");
    assert_eq!(job["progress"]["bytes_written"], r.body.len() as u64);
    check_file(&r.body, "flv", seconds);
    check_ranges(&o, &path, &r.body, now);
    // Stored as chunks and a manifest.
    assert!(o
        .objects
        .keys()
        .iter()
        .any(|k| k.starts_with("chunks/vod/rec/")));
}

#[test]
fn a_codec_change_fails_an_mp4_recording_with_a_reason() {
    let mut o = origin();
    o.objects = MemoryObjects::default();
    let creds = setup(&o, json!({"name": "hls", "time_shift_days": 1}));
    let dir = temp_dir("change");
    let a = encode(&dir, "a", 4, "320x180", 30);
    let b = encode(&dir, "b", 4, "256x144", 30);
    let after_a = push_run(&o, &creds, &dir, &a, T0);
    let end = push_run(&o, &creds, &dir, &b, after_a + 2000);
    let now = end + 60_000;
    let body = json!({
        "endpoint": "hls", "start": iso8601_ms(T0 as i64 - 3000),
        "end": iso8601_ms(end as i64), "destination": "rec", "format": "MP4",
    });
    let r = call(&o, Method::Post, JOBS, Some(body), now);
    assert_eq!(r.status, 201, "{}", text(&r));
    let job = json_of(&r);
    assert_eq!(job["status"], "FAILED", "{job}");
    let reason = job["reason"].as_str().unwrap();
    assert!(reason.contains("codec configuration"), "{reason}");
    // FLV carries the change (a new sequence header).
    let (job, _) = record(&o, "FLV", T0 - 3000, end, now);
    let r = fetch(&o, Request::new(Method::Get, &asset_path(&job)), now);
    let (p, _) = probe(&r.body, "flv");
    let video = stream(&p, "video");
    assert_eq!(num(&video["nb_read_frames"]), 8.0 * 30.0);
}

#[test]
fn format_is_validated() {
    let o = origin();
    setup(&o, json!({"name": "hls", "time_shift_days": 1}));
    let body = json!({
        "endpoint": "hls", "start": "2026-11-23T11:00:00Z", "end": "2026-11-23T11:01:00Z",
        "destination": "rec", "format": "AVI",
    });
    let r = call(&o, Method::Post, JOBS, Some(body), T0);
    assert_eq!(r.status, 400);
    assert_eq!(json_of(&r)["field"], "format");
}
