//! clip.mp4 writing: 20 s of 720p ~3 Mbit/s H.264 + AAC in ten 2 s TS segments → one
//! progressive MP4 (`ClipWriter`), against memcpy of the same bytes and against
//! `ffmpeg -c copy -movflags +faststart` of the same TS (joined) to MP4 (process included),
//! all measured in the same run.
//!
//! `cargo bench -p edgepack --bench clip` (segments are generated with ffmpeg into
//! /tmp/edgepack-bench-clip on first use).

mod common;

use common::{median, ratio, Table};
use edgepack::media::remux::clip::{ClipPart, ClipWriter};
use edgepack::media::ts::first_pts;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const DIR: &str = "/tmp/edgepack-bench-clip";
const SEGMENTS: usize = 10;

fn segments() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(DIR);
    let path = |i: usize| dir.join(format!("seg{i}.ts"));
    if !path(SEGMENTS - 1).exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let status = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y"])
            .args(["-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30"])
            .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
            .args(["-t", &(SEGMENTS * 2).to_string()])
            // Noise keeps x264 at the target rate instead of far below it.
            .args(["-vf", "noise=alls=12:allf=t", "-c:v", "libx264"])
            .args(["-preset", "veryfast", "-b:v", "3M", "-maxrate", "3M"])
            .args(["-bufsize", "3M", "-g", "60", "-keyint_min", "60"])
            .args(["-sc_threshold", "0", "-bf", "2", "-pix_fmt", "yuv420p"])
            .args(["-c:a", "aac", "-b:a", "128k", "-f", "hls", "-hls_time", "2"])
            .args(["-hls_list_size", "0", "-hls_segment_filename"])
            .arg(dir.join("seg%d.ts"))
            .arg(dir.join("index.m3u8"))
            .status()
            .expect("ffmpeg is needed to generate the benchmark segments");
        assert!(status.success());
    }
    (0..SEGMENTS)
        .map(|i| std::fs::read(path(i)).expect("benchmark segment"))
        .collect()
}

fn clip(segments: &[Vec<u8>], starts: &[Option<u64>]) -> Vec<u8> {
    let total = segments.iter().map(Vec::len).sum();
    let mut writer = ClipWriter::new(total);
    for (i, ts) in segments.iter().enumerate() {
        writer
            .push(&ClipPart {
                video: ts,
                audio: None,
                video_reference: starts[i],
                audio_reference: None,
                next_video_start: starts.get(i + 1).copied().flatten(),
                last: i + 1 == segments.len(),
            })
            .expect("clip part");
    }
    writer.finish().expect("clip")
}

/// Median wall time of `ffmpeg -c copy -movflags +faststart` from `input` to MP4.
fn ffmpeg_faststart(input: &Path) -> Duration {
    let output = std::env::temp_dir().join("edgepack-bench-clip-out.mp4");
    common::ffmpeg(Duration::from_secs(5), |c| {
        c.arg("-i")
            .arg(input)
            .args(["-c", "copy", "-bsf:a", "aac_adtstoasc"])
            .args(["-movflags", "+faststart", "-f", "mp4"])
            .arg(&output)
    })
}

fn main() {
    // `cargo test --benches` runs this without --bench: keep that fast.
    if !common::benching() {
        return;
    }
    let segments = segments();
    let starts: Vec<Option<u64>> = segments
        .iter()
        .map(|s| first_pts(s).map(|t| t.get()))
        .collect();
    let joined: Vec<u8> = segments.concat();
    let out = clip(&segments, &starts);

    let ours = median(Duration::from_secs(5), || {
        black_box(clip(black_box(&segments), &starts));
    });
    let mut copy = vec![0u8; joined.len()];
    let memcpy = median(Duration::from_secs(1), || {
        copy.copy_from_slice(black_box(&joined));
        black_box(&copy);
    });
    let input = std::env::temp_dir().join("edgepack-bench-clip-in.ts");
    std::fs::write(&input, &joined).unwrap();
    let ffmpeg = ffmpeg_faststart(&input);

    println!(
        "clip: {} segments, {} bytes TS in, {} bytes MP4 out",
        segments.len(),
        joined.len(),
        out.len()
    );
    let table = Table {
        bytes: joined.len(),
        width: 23,
    };
    table.row("memcpy", memcpy);
    table.row("edgepack clip", ours);
    table.row("ffmpeg +faststart", ffmpeg);
    println!(
        "clip takes {:.1}x the time of memcpy; ffmpeg takes {:.1}x the time of the clip",
        ratio(ours, memcpy),
        ratio(ffmpeg, ours)
    );
}
