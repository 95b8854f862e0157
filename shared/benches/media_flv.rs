//! TS → FLV and CMAF (fMP4) → FLV throughput on a 2 s 1080p ~5 Mbit/s H.264 + AAC segment,
//! against memcpy of the same bytes and against `ffmpeg -c copy -f flv` of the same file
//! (process start included: that is what one segment costs it), all measured in the same run.
//! Rates are input segment bytes per second.
//!
//! `cargo bench -p edgepack --bench media_flv`. The inputs are generated with ffmpeg into
//! /tmp/edgepack-bench-flv/ on first use: a fragmented MP4 encoded by the command in
//! `generate` (both tracks in one file, one fragment), split after `moov` into `init.mp4` +
//! `seg_0.m4s`, and `seg.ts` remuxed from it with `-c copy`, so both inputs carry the same
//! samples.

mod common;

use common::{median, ratio, Table};
use edgepack::media::flv::{FlvMuxer, FlvOptions};
use edgepack::media::remux::{fmp4_parts_to_flv, ts_parts_to_flv, Fmp4Part, RemuxOptions};
use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const DIR: &str = "/tmp/edgepack-bench-flv";

/// Runs ffmpeg in `dir` with the arguments `args` adds.
fn ffmpeg_in(dir: &Path, args: impl FnOnce(&mut Command) -> &mut Command) {
    let mut command = Command::new("ffmpeg");
    command
        .current_dir(dir)
        .args(["-hide_banner", "-loglevel", "error", "-y"]);
    let status = args(&mut command)
        .status()
        .expect("ffmpeg is needed to generate the benchmark segment");
    assert!(status.success());
}

/// Encodes `seg.mp4` (2 s, fragmented), splits it into `init.mp4` + `seg_0.m4s` and remuxes
/// it to `seg.ts`, in `dir`.
fn generate(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    ffmpeg_in(dir, |c| {
        c.args(common::SOURCE_1080P)
            .args(["-f", "mp4"])
            .args(["-movflags", "frag_keyframe+empty_moov+default_base_moof"])
            .arg("seg.mp4")
    });
    ffmpeg_in(dir, |c| {
        c.args(["-i", "seg.mp4", "-c", "copy", "-f", "mpegts", "seg.ts"])
    });
    // The init segment is everything up to the end of `moov`, the media segment the rest.
    let file = std::fs::read(dir.join("seg.mp4")).unwrap();
    let mut pos = 0;
    while &file[pos + 4..pos + 8] != b"moov" {
        pos += u32::from_be_bytes(file[pos..pos + 4].try_into().unwrap()) as usize;
    }
    pos += u32::from_be_bytes(file[pos..pos + 4].try_into().unwrap()) as usize;
    std::fs::write(dir.join("init.mp4"), &file[..pos]).unwrap();
    std::fs::write(dir.join("seg_0.m4s"), &file[pos..]).unwrap();
}

fn ts_to_flv(ts: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut muxer = FlvMuxer::new(FlvOptions::default());
    let remux = RemuxOptions::default();
    ts_parts_to_flv(&mut muxer, out, &[ts], &remux, &Default::default()).unwrap();
}

fn fmp4_to_flv(init: &[u8], segment: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut muxer = FlvMuxer::new(FlvOptions::default());
    let part = Fmp4Part { init, segment };
    fmp4_parts_to_flv(&mut muxer, out, &[part], &Default::default()).unwrap();
}

/// Median wall time of `ffmpeg -c copy -f flv` of `input`, process start included.
fn ffmpeg_to_flv(input: &Path) -> Duration {
    let output = std::env::temp_dir().join("edgepack-bench-flv-out.flv");
    common::ffmpeg(Duration::from_secs(5), |c| {
        c.arg("-i")
            .arg(input)
            .args(["-c", "copy", "-f", "flv"])
            .arg(&output)
    })
}

fn main() {
    // `cargo test --benches` runs this without --bench: keep that fast.
    if !common::benching() {
        return;
    }
    let dir = Path::new(DIR);
    if !dir.join("seg_0.m4s").exists() {
        generate(dir);
    }
    let ts = std::fs::read(dir.join("seg.ts")).expect("TS segment");
    let init = std::fs::read(dir.join("init.mp4")).expect("init segment");
    let segment = std::fs::read(dir.join("seg_0.m4s")).expect("media segment");
    let mut from_ts = Vec::new();
    ts_to_flv(&ts, &mut from_ts);
    let mut from_fmp4 = Vec::new();
    fmp4_to_flv(&init, &segment, &mut from_fmp4);
    println!(
        "segment: {} bytes TS -> {} bytes FLV; {} bytes fMP4 -> {} bytes FLV; {}",
        ts.len(),
        from_ts.len(),
        segment.len(),
        from_fmp4.len(),
        common::platform()
    );

    let mut out = Vec::new();
    let ts_flv = median(Duration::from_secs(3), || {
        ts_to_flv(black_box(&ts), &mut out);
        black_box(&out);
    });
    let fmp4_flv = median(Duration::from_secs(3), || {
        fmp4_to_flv(black_box(&init), black_box(&segment), &mut out);
        black_box(&out);
    });
    let mut copy = vec![0u8; ts.len()];
    let memcpy_ts = median(Duration::from_secs(1), || {
        copy.copy_from_slice(black_box(&ts));
        black_box(&copy);
    });
    let mut copy = vec![0u8; segment.len()];
    let memcpy_fmp4 = median(Duration::from_secs(1), || {
        copy.copy_from_slice(black_box(&segment));
        black_box(&copy);
    });
    let ffmpeg_ts = ffmpeg_to_flv(&dir.join("seg.ts"));
    let joined = std::env::temp_dir().join("edgepack-bench-flv-in.mp4");
    let mut file = init.clone();
    file.extend_from_slice(&segment);
    std::fs::write(&joined, file).unwrap();
    let ffmpeg_fmp4 = ffmpeg_to_flv(&joined);

    let table = Table {
        bytes: ts.len(),
        width: 24,
    };
    table.row("memcpy (TS)", memcpy_ts);
    table.row("TS -> FLV", ts_flv);
    table.row("ffmpeg -c copy (TS)", ffmpeg_ts);
    let table = Table {
        bytes: segment.len(),
        width: 24,
    };
    table.row("memcpy (fMP4)", memcpy_fmp4);
    table.row("fMP4 -> FLV", fmp4_flv);
    table.row("ffmpeg -c copy (fMP4)", ffmpeg_fmp4);
    println!(
        "TS -> FLV takes {:.1}x, fMP4 -> FLV {:.1}x the time of memcpy",
        ratio(ts_flv, memcpy_ts),
        ratio(fmp4_flv, memcpy_fmp4)
    );
    println!(
        "ffmpeg -c copy -f flv (process start included) takes {:.0}x (TS) and {:.0}x (fMP4) the time of edgepack",
        ratio(ffmpeg_ts, ts_flv),
        ratio(ffmpeg_fmp4, fmp4_flv)
    );
}
