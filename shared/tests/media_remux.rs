//! Remux of the ffmpeg fixtures: structure, timing and continuity across segments.

use edgepack::media::remux::{ts_to_cmaf, RemuxOptions, TrackKind};

const SEG0: &[u8] = include_bytes!("fixtures/media/h264_aac_0.ts");

#[test]
fn dump_for_inspection() {
    let out = ts_to_cmaf(SEG0, &RemuxOptions::default()).unwrap();
    if let Ok(dir) = std::env::var("EDGEPACK_DUMP") {
        for t in &out.tracks {
            let name = match t.track.kind() {
                TrackKind::Video => "video",
                TrackKind::Audio => "audio",
            };
            std::fs::write(format!("{dir}/{name}_init.mp4"), t.init_segment().unwrap()).unwrap();
            std::fs::write(format!("{dir}/{name}_seg.m4s"), &t.segment).unwrap();
        }
    }
    assert_eq!(out.tracks.len(), 2);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}
