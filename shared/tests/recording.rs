//! Harvest recordings (`format` MP4 and FLV): a window of a live channel written as one file
//! in batches, over the R2-like memory store (multipart rules checked) and the chunked form
//! Spin uses. ffmpeg makes the source, ffprobe decodes every frame of the result. Needs
//! `ffmpeg`/`ffprobe` on PATH (fails without).

mod common;
mod media_support;

use common::*;
use edgepack::datetime::iso8601_ms;
use edgepack::store::{MemoryObjects, ObjectStore};
use edgepack::{Method, Request, Response};
use media_support::{number as num, stream};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const JOBS: &str = "/api/v1/groups/demo/channels/live/harvest-jobs";

/// One encoder run: H.264 of `size` at `rate` fps (GOP 2 s) and AAC at `sample_rate` Hz,
/// muxed in 2 s TS segments `{prefix}{n}.ts`; returns (uri, EXTINF seconds) per segment.
fn encode(
    dir: &Path,
    prefix: &str,
    seconds: u32,
    (size, rate): (&str, u32),
    sample_rate: u32,
) -> Vec<(String, f64)> {
    let video = format!("testsrc2=size={size}:rate={rate}");
    let audio = format!("sine=frequency=440:sample_rate={sample_rate}");
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-y"])
        .args(["-f", "lavfi", "-i", &video, "-f", "lavfi", "-i", &audio])
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
        .args([
            "-c:a",
            "aac",
            "-aac_coder",
            "fast",
            "-b:a",
            "32k",
            "-ac",
            "1",
        ]);
    hls_segments(cmd, dir, prefix)
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
    send_all(o, req, now)
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
    let v = ffprobe_file(
        file,
        ext,
        &[
            "-count_frames",
            "-show_streams",
            "-show_format",
            "-show_entries",
            "packet=stream_index,dts_time",
        ],
    );
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
        let a = encode(&dir, "a", 10, ("320x180", 30), 48_000);
        let b = encode(&dir, "b", 10, ("320x180", 30), 48_000);
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

/// ffprobe reads `file` in full: its duration, every video frame (at `fps`) and audio
/// frame (at `sample_rate`) of `seconds` of media, timestamps continuous. Each of `splices`
/// may leave audio one frame longer than video (the writer keeps every audio frame of a
/// segment; only the file's end is trimmed).
fn check_file(file: &[u8], ext: &str, seconds: f64, (fps, sample_rate): (f64, f64), splices: u32) {
    let (p, packets) = probe(file, ext);
    let duration = num(&p["format"]["duration"]);
    let slack = 0.1 + f64::from(splices) * 1024.0 / sample_rate;
    assert!(
        (duration - seconds).abs() < slack,
        "{duration} s vs {seconds} s"
    );
    let video = stream(&p, "video");
    assert_eq!(num(&video["nb_read_frames"]), (seconds * fps).round());
    let audio = stream(&p, "audio");
    let expected = seconds * sample_rate / 1024.0;
    let frames = num(&audio["nb_read_frames"]);
    let slack = 4.0 + f64::from(splices);
    assert!((frames - expected).abs() <= slack, "{frames} vs {expected}");
    // Continuous across gaps and restarts: no step beyond two frames of video or audio
    // (at a splice the source's clock jumped back, or seconds were missing).
    let index = |s: &Value| s["index"].as_u64().unwrap();
    assert_continuous(&packets, index(video), 2.0 / fps + 0.002);
    assert_continuous(&packets, index(audio), 2.0 * 1024.0 / sample_rate + 0.002);
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
    check_file(&r.body, "mp4", seconds, (30.0, 48_000.0), 1);
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
    check_file(&r.body, "flv", seconds, (30.0, 48_000.0), 1);
    check_ranges(&o, &path, &r.body, now);
    // Stored as chunks and a manifest.
    assert!(o
        .objects
        .keys()
        .iter()
        .any(|k| k.starts_with("chunks/vod/rec/")));
}

/// Video frame sizes in decode order, as ffmpeg decodes them (width x height per frame).
fn frame_sizes(file: &[u8], ext: &str) -> Vec<(u64, u64)> {
    let args = [
        "-select_streams",
        "v:0",
        "-show_entries",
        "frame=width,height",
    ];
    let v = ffprobe_file(file, ext, &args);
    v["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["width"].as_u64().unwrap(), f["height"].as_u64().unwrap()))
        .collect()
}

/// Each track's sample descriptions and `stsc` entries, read by mp4-atom (strict).
fn descriptions(file: &[u8]) -> Vec<(Vec<mp4_atom::Codec>, Vec<mp4_atom::StscEntry>)> {
    use mp4_atom::Decode;
    let mut cursor = std::io::Cursor::new(file);
    mp4_atom::Ftyp::decode(&mut cursor).unwrap();
    let moov = mp4_atom::Moov::decode(&mut cursor).unwrap_or_else(|e| panic!("{e}"));
    moov.trak
        .iter()
        .map(|t| {
            let stbl = &t.mdia.minf.stbl;
            (stbl.stsd.codecs.clone(), stbl.stsc.entries.clone())
        })
        .collect()
}

#[test]
fn an_mp4_recording_across_a_codec_change_holds_both_configurations() {
    let mut o = origin();
    o.objects = MemoryObjects::default();
    let creds = setup(&o, json!({"name": "hls", "time_shift_days": 1}));
    let dir = temp_dir("change");
    // An encoder restart at another resolution and audio sample rate.
    let a = encode(&dir, "a", 4, ("320x180", 30), 48_000);
    let b = encode(&dir, "b", 4, ("256x144", 30), 44_100);
    let after_a = push_run(&o, &creds, &dir, &a, T0);
    let end = push_run(&o, &creds, &dir, &b, after_a + 2000);
    let now = end + 60_000;
    let (job, _) = record(&o, "MP4", T0 - 3000, end, now);
    let r = fetch(&o, Request::new(Method::Get, &asset_path(&job)), now);
    assert_eq!(r.status, 200);
    assert_eq!(boxes(&r.body), ["ftyp", "moov", "mdat"]);
    // Kept for playing it elsewhere (a browser) when asked.
    if let Some(dir) = std::env::var_os("EDGEPACK_KEEP_RECORDINGS") {
        std::fs::write(Path::new(&dir).join("codec-change.mp4"), &r.body).unwrap();
    }
    // ffmpeg decodes every frame, each in its own configuration.
    let sizes = frame_sizes(&r.body, "mp4");
    let count = |size| sizes.iter().filter(|s| **s == size).count();
    assert_eq!(count((320, 180)), 4 * 30, "{sizes:?}");
    assert_eq!(count((256, 144)), 4 * 30, "{sizes:?}");
    assert_eq!(sizes[0], (320, 180));
    let (p, packets) = probe(&r.body, "mp4");
    let audio = stream(&p, "audio");
    let frames = num(&audio["nb_read_frames"]);
    let expected = 4.0 * 48_000.0 / 1024.0 + 4.0 * 44_100.0 / 1024.0;
    assert!((frames - expected).abs() <= 6.0, "{frames} vs {expected}");
    let index = |kind| stream(&p, kind)["index"].as_u64().unwrap();
    assert_continuous(&packets, index("video"), 0.07);
    // The 44.1 kHz frames in the 48 kHz track: rescaled, still 1024 samples apart.
    assert_continuous(&packets, index("audio"), 2.0 * 1024.0 / 44_100.0 + 0.002);
    // An independent parser: two sample descriptions per track, `stsc` switching to the
    // second at the restart's first chunk (one chunk per track per 2 s segment).
    let tracks = descriptions(&r.body);
    assert_eq!(tracks.len(), 2);
    let (video, audio) = (&tracks[0], &tracks[1]);
    match (&video.0[..], &audio.0[..]) {
        (
            [mp4_atom::Codec::Avc1(first), mp4_atom::Codec::Avc1(second)],
            [mp4_atom::Codec::Mp4a(a1), mp4_atom::Codec::Mp4a(a2)],
        ) => {
            assert_eq!((first.visual.width, first.visual.height), (320, 180));
            assert_eq!((second.visual.width, second.visual.height), (256, 144));
            assert_eq!(a1.audio.sample_rate.integer(), 48_000);
            assert_eq!(a2.audio.sample_rate.integer(), 44_100);
        }
        other => panic!("sample descriptions {other:?}"),
    }
    for (_, stsc) in &tracks {
        let switch: Vec<(u32, u32)> = stsc
            .iter()
            .map(|e| (e.first_chunk, e.sample_description_index))
            .collect();
        let first_b = a.len() as u32 + 1;
        assert_eq!(switch.first(), Some(&(1, 1)), "{switch:?}");
        assert!(switch.contains(&(first_b, 2)), "{switch:?}");
        assert!(
            switch
                .iter()
                .all(|&(c, d)| d == if c < first_b { 1 } else { 2 }),
            "{switch:?}"
        );
    }
    // FLV carries the change too (new sequence headers).
    let (job, _) = record(&o, "FLV", T0 - 3000, end, now);
    let r = fetch(&o, Request::new(Method::Get, &asset_path(&job)), now);
    let (p, _) = probe(&r.body, "flv");
    let video = stream(&p, "video");
    assert_eq!(num(&video["nb_read_frames"]), 8.0 * 30.0);
}

#[test]
fn a_change_and_back_over_several_index_batches_reuses_the_first_description() {
    let mut o = origin();
    o.objects = MemoryObjects::default();
    let creds = setup(&o, json!({"name": "hls", "time_shift_days": 1}));
    let dir = temp_dir("change-back");
    // 50 + 30 + 30 parts: the index pass takes two batches (at most 100 parts each), the
    // second starting after the change back.
    let a = encode(&dir, "a", 100, ("160x90", 15), 16_000);
    let b = encode(&dir, "b", 60, ("128x72", 15), 16_000);
    let mut at = push_run(&o, &creds, &dir, &a, T0);
    at = push_run(&o, &creds, &dir, &b, at + 2000);
    let end = push_run(&o, &creds, &dir, &a[..30], at + 2000);
    let now = end + 60_000;
    let (job, progress) = record(&o, "MP4", T0 - 3000, end, now);
    assert!(progress.len() >= 4, "two index batches: {progress:?}");
    let r = fetch(&o, Request::new(Method::Get, &asset_path(&job)), now);
    let sizes = frame_sizes(&r.body, "mp4");
    let count = |size| sizes.iter().filter(|s| **s == size).count();
    assert_eq!(count((160, 90)), 160 * 15, "{}", sizes.len());
    assert_eq!(count((128, 72)), 60 * 15, "{}", sizes.len());
    let tracks = descriptions(&r.body);
    let (codecs, stsc) = &tracks[0];
    assert_eq!(
        codecs.len(),
        2,
        "the first configuration's entry is used again"
    );
    let switches: Vec<(u32, u32)> = stsc
        .iter()
        .map(|e| (e.first_chunk, e.sample_description_index))
        .collect();
    assert_eq!(switches, [(1, 1), (51, 2), (81, 1)]);
}

/// `seconds` of 320x180 noise coded losslessly (about 2 MB/s: recordings of several 8 MiB
/// parts from a short source) with 48 kHz AAC, in 2 s TS segments.
fn encode_noise(dir: &Path, prefix: &str, seconds: u32) -> Vec<(String, f64)> {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("nullsrc=size=320x180:rate=30,geq=lum='random(1)*255':cb=128:cr=128")
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args(["-t", &seconds.to_string()])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-qp", "0"])
        .args(["-pix_fmt", "yuv420p", "-g", "60", "-keyint_min", "60"])
        .args([
            "-sc_threshold",
            "0",
            "-c:a",
            "aac",
            "-b:a",
            "32k",
            "-ac",
            "1",
        ]);
    hls_segments(cmd, dir, prefix)
}

/// Runs `cmd` (an ffmpeg with its inputs and codecs) writing 2 s HLS segments `{prefix}N.ts`
/// into `dir`: the segment names and durations of its playlist.
fn hls_segments(mut cmd: Command, dir: &Path, prefix: &str) -> Vec<(String, f64)> {
    let d = dir.to_str().unwrap();
    let status = cmd
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

/// Nothing of job `id` is stored: no upload, parts, chunks, working objects or file.
fn assert_nothing_left(o: &TestOrigin, id: &str, job_too: bool) {
    assert_eq!(o.objects.open_uploads(), 0, "an upload was left open");
    let keys = o.objects.keys();
    let left: Vec<&String> = keys
        .iter()
        .filter(|k| {
            k.starts_with("chunks/")
                || k.starts_with(&format!("hv/rec/{id}/"))
                || k.starts_with(&format!("vod/rec/{id}/"))
                || (job_too && k.contains(id))
        })
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Deletes the stored upload of segment `uri` (it expired).
fn expire(o: &TestOrigin, uri: &str) {
    let keys = o.objects.keys();
    let key = keys
        .iter()
        // Under its own name (docs/ingest.md, "Upload keys"), or its arrival time when the name
        // was taken.
        .find(|k| {
            k.starts_with("seg/")
                && (k.ends_with(&format!("/s/{uri}")) || k.contains(&format!("/s/{uri}@")))
        })
        .unwrap_or_else(|| panic!("no segment {uri} in {keys:?}"));
    edgepack::testing::block_on(o.objects.delete(key)).unwrap();
}

#[test]
fn failed_and_deleted_recordings_leave_no_storage_behind() {
    let dir = temp_dir("leftover");
    let source = encode_noise(&dir, "n", 12);
    let last = source.last().unwrap().0.clone();
    let body = |format: &str, end: u64| {
        json!({
            "endpoint": "hls", "start": iso8601_ms(T0 as i64 - 3000),
            "end": iso8601_ms(end as i64), "destination": "rec", "format": format,
        })
    };
    let origin_with = |objects: MemoryObjects| {
        let mut o = origin();
        o.objects = objects;
        let creds = setup(&o, json!({"name": "hls", "time_shift_days": 1}));
        let end = push_run(&o, &creds, &dir, &source, T0);
        (o, end)
    };
    let job_url = |job: &Value| format!("{JOBS}/{}", job["id"].as_str().unwrap());

    // MP4 on R2's rules: the last segment expires after the header batch opened the upload;
    // the write batch uploads parts, then fails.
    let (o, end) = origin_with(MemoryObjects::default());
    let now = end + 60_000;
    let r = call(&o, Method::Post, JOBS, Some(body("MP4", end)), now);
    assert_eq!(r.status, 201, "{}", text(&r));
    let job = json_of(&r);
    let id = job["id"].as_str().unwrap().to_owned();
    let header = json_of(&call(&o, Method::Get, &job_url(&job), None, now));
    assert!(
        header["progress"]["bytes_total"].as_u64().unwrap() > 8 << 20,
        "{header}"
    );
    assert_eq!(o.objects.open_uploads(), 1);
    expire(&o, &last);
    let failed = json_of(&call(&o, Method::Get, &job_url(&job), None, now));
    assert_eq!(failed["status"], "FAILED", "{failed}");
    assert!(
        failed["reason"].as_str().unwrap().contains("expired"),
        "{failed}"
    );
    assert!(
        failed["progress"]["bytes_written"].as_u64().unwrap() >= 8 << 20,
        "{failed}"
    );
    assert_nothing_left(&o, &id, false);

    // FLV in Spin's chunked form: chunks written, then the same failure in the first batch.
    let (o, end) = origin_with(MemoryObjects::chunked());
    expire(&o, &last);
    let r = call(&o, Method::Post, JOBS, Some(body("FLV", end)), end + 60_000);
    assert_eq!(r.status, 201, "{}", text(&r));
    let failed = json_of(&r);
    assert_eq!(failed["status"], "FAILED", "{failed}");
    assert!(
        failed["progress"]["bytes_written"].as_u64().unwrap() >= 8 << 20,
        "{failed}"
    );
    assert_nothing_left(&o, failed["id"].as_str().unwrap(), false);

    // A job deleted while its upload is open (MP4 after its header batch): nothing of it
    // stays, on either store.
    for objects in [MemoryObjects::default(), MemoryObjects::chunked()] {
        let (o, end) = origin_with(objects);
        let now = end + 60_000;
        let job = json_of(&call(&o, Method::Post, JOBS, Some(body("MP4", end)), now));
        let id = job["id"].as_str().unwrap().to_owned();
        let header = json_of(&call(&o, Method::Get, &job_url(&job), None, now));
        assert_eq!(header["status"], "IN_PROGRESS", "{header}");
        assert!(o
            .objects
            .keys()
            .iter()
            .any(|k| k.starts_with(&format!("hv/rec/{id}/"))));
        let r = call(&o, Method::Delete, &job_url(&job), None, now);
        assert!(r.status == 204 || r.status == 200, "{}", text(&r));
        assert_nothing_left(&o, &id, true);
    }
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

#[path = "common/heap.rs"]
mod heap;

#[global_allocator]
static HEAP: heap::Counting = heap::Counting;

/// One call's heap use beyond what the stores keep: its peak above the heap at its start,
/// less what the memory store grew by meanwhile (parts and objects it holds, which a
/// platform keeps outside the Worker).
fn measured<T>(o: &TestOrigin, f: impl FnOnce() -> T) -> (T, u64) {
    let (start, stored) = (heap::live(), o.objects.stored_bytes());
    heap::reset_peak();
    let out = f();
    let grown = o.objects.stored_bytes().saturating_sub(stored);
    let peak = (heap::peak() - start).max(0) as u64;
    (out, peak.saturating_sub(grown))
}

/// The 30-minute recording: three 10-minute encoder runs back to back (two
/// restarts), 160x90 at 15 fps and 16 kHz AAC so ffmpeg makes it in seconds, recorded as MP4
/// and as FLV batch by batch; ffprobe reads both in full. The working memory of the largest
/// batch is printed (`cargo test --test recording -- --nocapture thirty`) and bounded.
#[test]
fn thirty_minute_recordings_in_bounded_memory() {
    let dir = temp_dir("long");
    let run = encode(&dir, "a", 600, ("160x90", 15), 16_000);
    let mut o = origin();
    o.objects = MemoryObjects::default();
    let creds = setup(&o, json!({"name": "hls", "time_shift_days": 1}));
    let mut at = T0;
    for _ in 0..3 {
        at = push_run(&o, &creds, &dir, &run, at);
    }
    let seconds: f64 = 3.0 * run.iter().map(|s| s.1).sum::<f64>();
    assert!((seconds - 1800.0).abs() < 1.0, "{seconds}");
    let now = at + 60_000;
    for (format, ext) in [("MP4", "mp4"), ("FLV", "flv")] {
        let body = json!({
            "endpoint": "hls", "start": iso8601_ms(T0 as i64 - 3000),
            "end": iso8601_ms(at as i64), "destination": "long", "format": format,
        });
        let (r, mut most) = measured(&o, || call(&o, Method::Post, JOBS, Some(body), now));
        assert_eq!(r.status, 201, "{}", text(&r));
        let mut job = json_of(&r);
        let id = job["id"].as_str().unwrap().to_owned();
        let (mut batches, mut last_percent) = (1, 0);
        while job["status"] == "IN_PROGRESS" {
            let (r, used) = measured(&o, || {
                call(&o, Method::Get, &format!("{JOBS}/{id}"), None, now)
            });
            job = json_of(&r);
            batches += 1;
            let percent = job["progress"]["percent"].as_u64().unwrap();
            assert!(percent >= last_percent, "{job}");
            last_percent = percent;
            if job["status"] == "IN_PROGRESS" {
                // The last batch also completes the upload, which the memory store does by
                // joining the parts in memory (R2 does it on its side).
                most = most.max(used);
            }
            assert!(batches < 200, "{job}");
        }
        assert_eq!(job["status"], "SUCCEEDED", "{job}");
        let path = asset_path(&job);
        // Serving: the head and first piece, then each piece, measured one at a time.
        let ((mut r, stream), mut serve_peak) = measured(&o, || {
            block_on(o.handle_stream(Request::new(Method::Get, &path), now))
        });
        let mut stream = stream.expect("a long file streams");
        loop {
            let (chunk, used) = measured(&o, || block_on(o.next_chunk(&mut stream, now)));
            let Some(chunk) = chunk else { break };
            serve_peak = serve_peak.max(used.saturating_sub(chunk.len() as u64));
            r.body.extend_from_slice(&chunk);
        }
        let bytes = r.body.len() as u64;
        eprintln!(
            "30-minute {format}: {bytes} bytes in {batches} batches; largest batch's working \
             memory {:.1} MiB; serving {:.1} MiB per piece beyond the piece itself",
            most as f64 / 1048576.0,
            serve_peak as f64 / 1048576.0,
        );
        assert!(bytes > 3 * (8 << 20), "several multipart parts: {bytes}");
        assert_eq!(job["progress"]["bytes_written"], bytes);
        // A part, one segment's output, the plan and the index: far below the file.
        assert!(most < 40 << 20, "{most} bytes");
        check_file(&r.body, ext, seconds, (15.0, 16_000.0), 2);
        if ext == "mp4" {
            // Three index objects, each naming the configuration again: still one sample
            // description per track.
            for (codecs, _) in descriptions(&r.body) {
                assert_eq!(codecs.len(), 1);
            }
        }
    }
}
