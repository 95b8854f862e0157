//! Timing and reporting shared by the media benches (`mod common;` in each): the median of timed
//! runs, one `label  ms  GB/s` line per measurement, and the ffmpeg reference. Not a bench target
//! itself: cargo only takes `benches/*.rs` and `benches/*/main.rs`.

// Each bench uses part of this module (only media_remux and media_fmp4 build for wasm).
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// Whether the binary was started by `cargo bench` (it passes `--bench`): `cargo test --benches`
/// runs bench binaries without it, and they return at once to keep that fast.
pub fn benching() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Median wall time of `f` over runs lasting about `budget` in total (at least 5 runs).
pub fn median(budget: Duration, mut f: impl FnMut()) -> Duration {
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < 5 || start.elapsed() < budget {
        let t = Instant::now();
        f();
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

/// How many times `a` takes the time of `b`.
pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

/// Where the figures are measured: `wasm` or `native`.
pub fn platform() -> &'static str {
    if cfg!(target_family = "wasm") {
        "wasm"
    } else {
        "native"
    }
}

/// Lines of `label  ms  GB/s`, the rate being `bytes` over the duration, labels padded to `width`
/// so the columns of one bench line up.
pub struct Table {
    pub bytes: usize,
    pub width: usize,
}

impl Table {
    pub fn row(&self, label: &str, d: Duration) {
        println!(
            "{label:<width$}{:>9.3} ms {:8.2} GB/s",
            d.as_secs_f64() * 1e3,
            self.bytes as f64 / d.as_secs_f64() / 1e9,
            width = self.width
        );
    }
}

/// Median wall time of `ffmpeg -v error -y` followed by the arguments `args` adds, process start
/// included (that is what one segment costs ffmpeg), over runs lasting about `budget`.
#[cfg(not(target_os = "wasi"))]
pub fn ffmpeg(
    budget: Duration,
    args: impl Fn(&mut std::process::Command) -> &mut std::process::Command,
) -> Duration {
    median(budget, || {
        let mut command = std::process::Command::new("ffmpeg");
        command.args(["-v", "error", "-y"]);
        let status = args(&mut command).status().expect("ffmpeg");
        assert!(status.success());
    })
}

/// Says that the ffmpeg reference `what` is not measured in this build, and why.
#[cfg(target_os = "wasi")]
pub fn ffmpeg_skipped(what: &str) {
    println!("{what}: skipped (wasm32-wasip1 cannot start a process; the native run measures it)");
}

/// ffmpeg's inputs and encoding of the benches' 2 s 1080p ~5 Mbit/s H.264 + AAC source (the
/// container comes after): testsrc2 with temporal noise, which keeps x264 at the target rate
/// instead of far below it; a 60-frame closed GOP, two B-frames.
#[allow(dead_code)] // not every bench generates a source
#[rustfmt::skip]
pub const SOURCE_1080P: &[&str] = &[
    "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30",
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
    "-t", "2", "-vf", "noise=alls=12:allf=t",
    "-c:v", "libx264", "-preset", "veryfast",
    "-b:v", "5M", "-maxrate", "5M", "-bufsize", "5M",
    "-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-bf", "2", "-pix_fmt", "yuv420p",
    "-c:a", "aac", "-b:a", "128k",
];

/// Where [`ts_segment_1080p`] keeps the generated segment.
const SEGMENT: &str = "/tmp/edgepack-bench-1080p.ts";

/// The 2 s 1080p ~5 Mbit/s H.264 + AAC MPEG-TS segment of the remux benches (`media_remux`,
/// `media_cenc`): generated with ffmpeg on first use, or the file EDGEPACK_BENCH_TS names.
pub fn ts_segment_1080p() -> Vec<u8> {
    let path = std::env::var_os("EDGEPACK_BENCH_TS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(SEGMENT));
    #[cfg(not(target_os = "wasi"))]
    if !path.exists() {
        let status = std::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y"])
            .args(SOURCE_1080P)
            .args(["-f", "mpegts"])
            .arg(&path)
            .status()
            .expect("ffmpeg is needed to generate the benchmark segment");
        assert!(status.success());
    }
    std::fs::read(&path).expect("benchmark segment")
}
