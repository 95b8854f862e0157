//! TS → CMAF remux throughput on a 2 s 1080p ~5 Mbit/s H.264 + AAC segment, against memcpy of
//! the same bytes and against `ffmpeg -c copy` remuxing the same segment to fragmented MP4
//! (process included: that is what one segment costs it), all measured in the same run.
//!
//! `cargo bench -p edgepack --bench media_remux` (the segment is generated with ffmpeg into
//! /tmp on first use; set EDGEPACK_BENCH_TS to use another file).
//!
//! The same program built for `wasm32-wasip1` measures the remux in WebAssembly (without the
//! ffmpeg comparison): `node shared/benches/media_wasm.mjs` builds and runs it under
//! V8 (the engine of Cloudflare Workers), `shared/benches/media_wasmtime.py` under
//! wasmtime (the engine of Spin).

mod common;

use common::{median, ratio, Table};
use edgepack::media::remux::{ts_to_cmaf, RemuxOptions};
use std::hint::black_box;
use std::time::Duration;

/// Median wall time of `ffmpeg -c copy` remuxing `ts` to fragmented MP4, process included.
#[cfg(not(target_os = "wasi"))]
fn ffmpeg_copy(ts: &[u8]) -> Duration {
    let input = std::env::temp_dir().join("edgepack-bench-in.ts");
    let output = std::env::temp_dir().join("edgepack-bench-out.mp4");
    std::fs::write(&input, ts).unwrap();
    common::ffmpeg(Duration::from_secs(5), |c| {
        c.arg("-i")
            .arg(&input)
            .args(["-c", "copy", "-bsf:a", "aac_adtstoasc", "-f", "mp4"])
            .args(["-movflags", "frag_keyframe+empty_moov"])
            .arg(&output)
    })
}

fn main() {
    // `cargo test --benches` runs this without --bench: keep that fast.
    if !common::benching() {
        return;
    }
    let ts = common::ts_segment_1080p();
    let options = RemuxOptions::default();
    let out = ts_to_cmaf(&ts, &options).expect("remux");
    let produced: usize = out.tracks.iter().map(|t| t.segment.len()).sum();

    let remux = median(Duration::from_secs(3), || {
        black_box(ts_to_cmaf(black_box(&ts), &options).unwrap());
    });
    let mut copy = vec![0u8; ts.len()];
    let memcpy = median(Duration::from_secs(1), || {
        copy.copy_from_slice(black_box(&ts));
        black_box(&copy);
    });
    println!(
        "segment: {} bytes TS in, {} bytes CMAF out ({} tracks), {}",
        ts.len(),
        produced,
        out.tracks.len(),
        common::platform()
    );
    let table = Table {
        bytes: ts.len(),
        width: 16,
    };
    table.row("memcpy", memcpy);
    table.row("edgepack remux", remux);
    println!(
        "remux takes {:.1}x the time of memcpy",
        ratio(remux, memcpy)
    );
    #[cfg(not(target_os = "wasi"))]
    {
        let ffmpeg = ffmpeg_copy(&ts);
        table.row("ffmpeg -c copy", ffmpeg);
        println!(
            "ffmpeg -c copy takes {:.0}x the time of edgepack remux",
            ratio(ffmpeg, remux)
        );
    }
    #[cfg(target_os = "wasi")]
    common::ffmpeg_skipped("ffmpeg -c copy");
}
