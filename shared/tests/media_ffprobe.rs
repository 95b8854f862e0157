//! ffprobe (FFmpeg) decodes every frame of our CMAF output, and frame counts and timestamps
//! equal the source TS's. Needs `ffprobe` on PATH: fails, never skips, without it.

mod media_support;

use edgepack::media::remux::{ts_to_cmaf, RemuxOptions, TrackKind};
use edgepack::media::ts::first_pts;
use media_support::*;
use std::io::Write;
use std::process::{Command, Stdio};

/// 2^33: TS timestamps are compared modulo the wrap.
const WRAP_PERIOD: i64 = 1 << 33;

/// Runs ffprobe on `input` (stdin) or `file`, decoding all frames of the selected stream;
/// returns each frame's best-effort timestamp and the stream time base denominator.
fn probe(input: Option<&[u8]>, file: Option<&str>, stream: &str) -> (Vec<i64>, i64) {
    let mut cmd = Command::new("ffprobe");
    cmd.args(["-v", "error", "-select_streams", stream, "-show_entries"])
        .args([
            "frame=best_effort_timestamp:stream=time_base",
            "-of",
            "csv=p=0",
        ])
        .arg(file.unwrap_or("-"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .expect("ffprobe must be installed (apt-get install ffmpeg)");
    let mut stdin = child.stdin.take().unwrap();
    let data = input.map(<[u8]>::to_vec);
    let writer = std::thread::spawn(move || {
        if let Some(d) = data {
            let _ = stdin.write_all(&d);
        }
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ffprobe failed: {stderr}");
    assert!(stderr.trim().is_empty(), "decode errors: {stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut frames = Vec::new();
    let mut time_base = 0;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let line = line.trim_end_matches(',');
        if let Some(tb) = line.strip_prefix("1/") {
            time_base = tb.parse().unwrap();
        } else {
            frames.push(line.parse().unwrap_or_else(|_| panic!("line {line:?}")));
        }
    }
    (frames, time_base)
}

fn check_against_source(ts: &[u8], name: &str, options: &RemuxOptions) {
    let path = format!("{}/tests/fixtures/media/{name}", env!("CARGO_MANIFEST_DIR"));
    let out = ts_to_cmaf(ts, options).unwrap();
    assert_eq!(out.tracks.len(), 2);
    for t in &out.tracks {
        let stream = match t.track.kind() {
            TrackKind::Video => "v:0",
            TrackKind::Audio => "a:0",
        };
        let (source, source_tb) = probe(None, Some(&path), stream);
        assert_eq!(source_tb, 90_000);
        let mut file = t.init_segment().unwrap();
        file.extend_from_slice(&t.segment);
        let (ours, tb) = probe(Some(&file), None, "0");
        assert_eq!(tb, i64::from(t.track.timescale));
        assert_eq!(ours.len(), source.len(), "{name} {stream}: frame count");
        assert_eq!(ours.len() as u32, t.sample_count, "{name} {stream}");
        // Video keeps the 90 kHz clock: exact. Audio frames are sample-exact in our track;
        // on the source side ffmpeg times the frames inside one PES packet from the PES PTS
        // (rounded to 90 kHz) plus a rounded per-frame step: up to 2 ticks apart.
        let tolerance = match t.track.kind() {
            TrackKind::Video => 0,
            TrackKind::Audio => 2,
        };
        for (i, (&a, &b)) in ours.iter().zip(&source).enumerate() {
            // Ours in the track timescale, the source in 90 kHz (modulo 2^33).
            let a90 = ((i128::from(a) * 90_000 + i128::from(tb) / 2) / i128::from(tb)) as i64;
            let diff = (a90 - b).rem_euclid(WRAP_PERIOD);
            let diff = diff.min(WRAP_PERIOD - diff);
            assert!(
                diff <= tolerance,
                "{name} {stream} frame {i}: {a} ({a90}) vs {b}"
            );
        }
    }
}

#[test]
fn every_frame_decodes_with_source_timestamps() {
    let next = first_pts(SEG1).map(|t| t.get());
    check_against_source(
        SEG0,
        "h264_aac_0.ts",
        &RemuxOptions {
            next_segment_start: next,
            ..RemuxOptions::default()
        },
    );
    check_against_source(SEG1, "h264_aac_1.ts", &RemuxOptions::default());
}

#[test]
fn timestamps_across_the_33_bit_wrap() {
    check_against_source(WRAP, "h264_aac_wrap.ts", &RemuxOptions::default());
}

#[test]
fn two_segments_play_as_one_stream() {
    // init + seg0 + seg1 concatenated: the decoder sees one continuous track.
    let next = first_pts(SEG1).map(|t| t.get());
    let a = ts_to_cmaf(
        SEG0,
        &RemuxOptions {
            next_segment_start: next,
            ..RemuxOptions::default()
        },
    )
    .unwrap();
    let b = ts_to_cmaf(
        SEG1,
        &RemuxOptions {
            sequence_number: 2,
            ..RemuxOptions::default()
        },
    )
    .unwrap();
    for (ta, tb) in a.tracks.iter().zip(&b.tracks) {
        let mut file = ta.init_segment().unwrap();
        file.extend_from_slice(&ta.segment);
        file.extend_from_slice(&tb.segment);
        let (frames, _) = probe(Some(&file), None, "0");
        assert_eq!(frames.len() as u32, ta.sample_count + tb.sample_count);
    }
}

#[test]
fn hevc_every_frame_decodes_with_source_timestamps() {
    check_against_source(HEVC, "h265_aac.ts", &RemuxOptions::default());
}

#[test]
fn main_profile_no_b_frames_44100_hz_mono() {
    let next = first_pts(MONO44_1).map(|t| t.get());
    check_against_source(
        MONO44_0,
        "h264_aac44_mono_0.ts",
        &RemuxOptions {
            next_segment_start: next,
            ..RemuxOptions::default()
        },
    );
    check_against_source(MONO44_1, "h264_aac44_mono_1.ts", &RemuxOptions::default());
}
