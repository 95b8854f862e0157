//! fMP4 demux and fMP4 → TS mux throughput on a 2 s 1080p ~5 Mbit/s H.264 + AAC segment
//! (ffmpeg's HLS fMP4: both tracks in one file), against memcpy of the same bytes and against
//! `ffmpeg -copyts -c copy -f mpegts` of the same file (process start included: that is what
//! one segment costs it), all measured in the same run. Rates are segment bytes per second.
//!
//! `cargo bench -p edgepack --bench media_fmp4` (the segment is generated with ffmpeg into
//! /tmp/edgepack-bench-fmp4/ on first use, by the command in `generate`; set
//! EDGEPACK_BENCH_FMP4 to a directory holding another `init.mp4` and `seg_0.m4s`).
//!
//! The same program built for `wasm32-wasip1` measures demux and mux in WebAssembly, with
//! memcpy as the only reference (no ffmpeg process there): `node
//! shared/benches/media_wasm.mjs media_fmp4` builds and runs it under V8 (the engine of
//! Cloudflare Workers) on the segment a native run generated.

mod common;

use common::{median, ratio, Table};
use edgepack::media::mp4::demux::{parse_init, parse_segment};
use edgepack::media::ts::mux::{write_segment, ContinuityCounters, TsMuxOptions, TsMuxTrack};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

const DIR: &str = "/tmp/edgepack-bench-fmp4";

/// Writes `init.mp4` and `seg_0.m4s` (2 s) into `dir` with ffmpeg.
#[cfg(not(target_os = "wasi"))]
fn generate(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    let status = std::process::Command::new("ffmpeg")
        .current_dir(dir)
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(common::SOURCE_1080P)
        .args(["-f", "hls", "-hls_time", "2", "-hls_list_size", "0"])
        .args([
            "-hls_segment_type",
            "fmp4",
            "-hls_fmp4_init_filename",
            "init.mp4",
        ])
        .args(["-hls_segment_filename", "seg_%d.m4s", "index.m3u8"])
        .status()
        .expect("ffmpeg is needed to generate the benchmark segment");
    assert!(status.success());
}

fn inputs() -> (Vec<u8>, Vec<u8>) {
    let dir = std::env::var_os("EDGEPACK_BENCH_FMP4")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DIR));
    #[cfg(not(target_os = "wasi"))]
    if !dir.join("seg_0.m4s").exists() {
        generate(&dir);
    }
    (
        std::fs::read(dir.join("init.mp4")).expect("init segment"),
        std::fs::read(dir.join("seg_0.m4s")).expect("media segment"),
    )
}

/// Median wall time of `ffmpeg -copyts -c copy -f mpegts` over init + segment, process
/// start included.
#[cfg(not(target_os = "wasi"))]
fn ffmpeg_to_ts(init: &[u8], segment: &[u8]) -> Duration {
    let input = std::env::temp_dir().join("edgepack-bench-fmp4-in.mp4");
    let output = std::env::temp_dir().join("edgepack-bench-fmp4-out.ts");
    let mut file = init.to_vec();
    file.extend_from_slice(segment);
    std::fs::write(&input, file).unwrap();
    common::ffmpeg(Duration::from_secs(5), |c| {
        c.arg("-copyts")
            .arg("-i")
            .arg(&input)
            .args(["-c", "copy", "-f", "mpegts"])
            .arg(&output)
    })
}

/// Demuxes `segment` and muxes all its tracks into `out` (cleared first).
fn to_ts(init_bytes: &[u8], segment: &[u8], out: &mut Vec<u8>) {
    let init = parse_init(init_bytes).unwrap();
    let seg = parse_segment(segment, &init).unwrap();
    let tracks: Vec<TsMuxTrack<'_>> = init
        .tracks
        .iter()
        .filter_map(|t| {
            Some(TsMuxTrack {
                samples: seg.samples_of(&init, t.track_id)?,
                time_offset: t.edit_shift,
            })
        })
        .collect();
    out.clear();
    let mut counters = ContinuityCounters::default();
    write_segment(out, &tracks, &TsMuxOptions::default(), &mut counters).unwrap();
}

fn main() {
    // `cargo test --benches` runs this without --bench: keep that fast.
    if !common::benching() {
        return;
    }
    let (init, segment) = inputs();
    let parsed = parse_init(&init).unwrap();
    let seg = parse_segment(&segment, &parsed).unwrap();
    let samples: usize = seg.tracks.iter().map(|t| t.samples.len()).sum();
    let mut ts = Vec::new();
    to_ts(&init, &segment, &mut ts);

    let demux = median(Duration::from_secs(3), || {
        let init = parse_init(black_box(&init)).unwrap();
        black_box(parse_segment(black_box(&segment), &init).unwrap());
    });
    let mut out = Vec::new();
    let mux = median(Duration::from_secs(3), || {
        to_ts(black_box(&init), black_box(&segment), &mut out);
        black_box(&out);
    });
    let mut copy = vec![0u8; segment.len()];
    let memcpy = median(Duration::from_secs(1), || {
        copy.copy_from_slice(black_box(&segment));
        black_box(&copy);
    });
    println!(
        "segment: {} bytes fMP4 in ({} tracks, {samples} samples), {} bytes TS out, {}",
        segment.len(),
        seg.tracks.len(),
        ts.len(),
        common::platform()
    );
    let table = Table {
        bytes: segment.len(),
        width: 17,
    };
    table.row("memcpy", memcpy);
    table.row("fMP4 demux", demux);
    table.row("fMP4 -> TS", mux);
    println!(
        "demux takes {:.2}x, fMP4 -> TS {:.1}x the time of memcpy",
        ratio(demux, memcpy),
        ratio(mux, memcpy)
    );
    #[cfg(not(target_os = "wasi"))]
    {
        let ffmpeg = ffmpeg_to_ts(&init, &segment);
        table.row("ffmpeg -c copy", ffmpeg);
        println!(
            "ffmpeg -copyts -c copy -f mpegts (process start included) takes {:.0}x the time of edgepack fMP4 -> TS",
            ratio(ffmpeg, mux)
        );
    }
    #[cfg(target_os = "wasi")]
    common::ffmpeg_skipped("ffmpeg -copyts -c copy -f mpegts");
}
