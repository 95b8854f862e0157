//! Golden files: our init and media segments for the fixture, byte for byte. On mismatch the
//! box trees of both are printed. `EDGEPACK_BLESS=1` rewrites the goldens (review the diff).

mod media_support;

use edgepack::media::remux::{ts_to_cmaf, RemuxOptions, TrackKind};
use edgepack::media::ts::first_pts;
use media_support::*;

fn golden(name: &str, ours: &[u8]) {
    golden_boxes("tests/fixtures/media/golden", name, ours);
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
