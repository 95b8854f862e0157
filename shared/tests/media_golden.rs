//! Golden files: our init and media segments for the fixture, byte for byte. On mismatch the
//! box trees of both are printed. `EDGEPACK_BLESS=1` rewrites the goldens (review the diff).

mod media_support;

use edgepack::media::remux::{ts_to_cmaf, RemuxOptions, TrackKind};
use edgepack::media::ts::first_pts;
use media_support::*;
use std::path::PathBuf;

fn golden(name: &str, ours: &[u8]) {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests/fixtures/media/golden",
        name,
    ]
    .iter()
    .collect();
    if std::env::var_os("EDGEPACK_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, ours).unwrap();
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if expected != ours {
        let head = |d: &[u8]| box_tree(&d[..d.len().min(8192)]);
        panic!(
            "{name} differs from the golden file ({} vs {} bytes)\n--- golden\n{}\n--- ours\n{}",
            expected.len(),
            ours.len(),
            head(&expected),
            head(ours)
        );
    }
}

#[test]
fn h264_aac_0_segments() {
    let next = first_pts(SEG1).map(|t| t.get());
    let out = ts_to_cmaf(
        SEG0,
        &RemuxOptions {
            next_segment_start: next,
            sequence_number: 1,
            time_reference: None,
        },
    )
    .unwrap();
    for t in &out.tracks {
        let kind = match t.track.kind() {
            TrackKind::Video => "video",
            TrackKind::Audio => "audio",
        };
        golden(
            &format!("h264_aac_0.{kind}.init.mp4"),
            &t.init_segment().unwrap(),
        );
        golden(&format!("h264_aac_0.{kind}.seg.m4s"), &t.segment);
    }
}

#[test]
fn h265_aac_video_init() {
    let out = ts_to_cmaf(HEVC, &RemuxOptions::default()).unwrap();
    golden(
        "h265_aac.video.init.mp4",
        &out.tracks[0].init_segment().unwrap(),
    );
}
