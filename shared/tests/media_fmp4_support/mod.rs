//! Helpers of the fMP4 demux and TS mux tests: the fixtures, ffprobe's view of packets and
//! decoded frames, and ffmpeg as the fMP4 → TS oracle. ffmpeg and ffprobe must be installed:
//! the tests fail, never skip, without them.
#![allow(dead_code)]

use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

/// ffmpeg's HLS fMP4 output: audio and video in one file (see the fixtures README).
pub const HLS_INIT: &[u8] = include_bytes!("../fixtures/media/h264_aac_fmp4_init.mp4");
pub const HLS_SEG0: &[u8] = include_bytes!("../fixtures/media/h264_aac_fmp4_0.m4s");
pub const HLS_SEG1: &[u8] = include_bytes!("../fixtures/media/h264_aac_fmp4_1.m4s");
/// ffmpeg's low-latency DASH output: one track per file, 0.5 s CMAF chunks.
pub const DASH_VIDEO_INIT: &[u8] = include_bytes!("../fixtures/media/dash_init_0.mp4");
pub const DASH_VIDEO_SEG: &[u8] = include_bytes!("../fixtures/media/dash_0_1.m4s");
pub const DASH_AUDIO_INIT: &[u8] = include_bytes!("../fixtures/media/dash_init_1.mp4");
pub const DASH_AUDIO_SEG: &[u8] = include_bytes!("../fixtures/media/dash_1_1.m4s");
/// H.265 (`hvc1`) in HLS fMP4, video only.
pub const HEVC_INIT: &[u8] = include_bytes!("../fixtures/media/h265_fmp4_init.mp4");
pub const HEVC_SEG: &[u8] = include_bytes!("../fixtures/media/h265_fmp4_0.m4s");

/// `a` followed by `b`: an init segment and a media segment as one file.
pub fn cat(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = a.to_vec();
    out.extend_from_slice(b);
    out
}

/// One packet as ffprobe reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub stream: usize,
    pub pts: i64,
    pub dts: i64,
    pub size: u64,
    pub key: bool,
}

/// One stream as ffprobe reports it, with the frames it decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    pub codec_type: String,
    pub codec_name: String,
    /// Denominator of the stream time base (the numerator is 1 for every input here).
    pub time_base: i64,
    pub frames: u64,
}

fn int(v: &Value) -> i64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_i64())
        .unwrap_or_else(|| panic!("not an integer: {v}"))
}

fn run(program: &str, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} must be installed (apt-get install ffmpeg): {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// ffprobe over `bytes` (stdin): every packet, and every stream with the number of frames it
/// decoded. The run must be clean: exit 0 and nothing on stderr (no decode error).
pub fn probe(bytes: &[u8]) -> (Vec<Packet>, Vec<Stream>) {
    let out = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "packet=stream_index,pts,dts,size,flags:stream=codec_type,codec_name,time_base,nb_read_frames",
            "-of",
            "json",
            "-i",
            "-",
        ],
        bytes,
    );
    let json: Value = serde_json::from_slice(&out).unwrap();
    let packets = json["packets"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| Packet {
                    stream: usize::try_from(int(&p["stream_index"])).unwrap(),
                    pts: int(&p["pts"]),
                    dts: int(&p["dts"]),
                    size: u64::try_from(int(&p["size"])).unwrap(),
                    key: p["flags"].as_str().unwrap_or("").starts_with('K'),
                })
                .collect()
        })
        .unwrap_or_default();
    let streams = json["streams"]
        .as_array()
        .expect("ffprobe streams")
        .iter()
        .map(|s| Stream {
            codec_type: s["codec_type"].as_str().unwrap_or("").to_string(),
            codec_name: s["codec_name"].as_str().unwrap_or("").to_string(),
            time_base: s["time_base"]
                .as_str()
                .and_then(|t| t.strip_prefix("1/"))
                .and_then(|d| d.parse().ok())
                .unwrap_or_else(|| panic!("time_base {}", s["time_base"])),
            frames: u64::try_from(int(&s["nb_read_frames"])).unwrap(),
        })
        .collect();
    (packets, streams)
}

/// The packets of `stream`, in file order.
pub fn of_stream(packets: &[Packet], stream: usize) -> Vec<Packet> {
    packets
        .iter()
        .filter(|p| p.stream == stream)
        .cloned()
        .collect()
}

/// ffmpeg's own fMP4 → TS remux (the oracle docs/testing.md names under "Independent checkers"): `-copyts -c copy -f mpegts`.
pub fn ffmpeg_to_ts(fmp4: &[u8]) -> Vec<u8> {
    run(
        "ffmpeg",
        &[
            "-v", "error", "-copyts", "-i", "-", "-c", "copy", "-f", "mpegts", "-",
        ],
        fmp4,
    )
}

/// `t` in `from` units → 90 kHz, rounded like ffmpeg (nearest, halves away from zero).
pub fn to_90k(t: i64, from: i64) -> i64 {
    let num = i128::from(t) * 90_000;
    let den = i128::from(from);
    let q = if num >= 0 {
        (num + den / 2) / den
    } else {
        (num - den / 2) / den
    };
    i64::try_from(q).unwrap()
}
