//! The clip writer (TS segments → one progressive MP4) on arbitrary bytes: the input is split
//! into up to three segments, each with or without a separate audio part; never panics, and the
//! output is deterministic.
#![no_main]

use edgepack::media::remux::clip::{ClipPart, ClipWriter};
use libfuzzer_sys::fuzz_target;

fn clip(data: &[u8]) -> Option<Vec<u8>> {
    let (&control, rest) = data.split_first()?;
    let parts: Vec<&[u8]> = rest.chunks(rest.len() / 3 + 1).collect();
    let mut writer = ClipWriter::new(rest.len());
    for (i, bytes) in parts.iter().enumerate() {
        let separate = control & (1 << i) != 0;
        let (video, audio) = if separate {
            let (v, a) = bytes.split_at(bytes.len() / 2);
            (v, Some(a))
        } else {
            (*bytes, None)
        };
        let part = ClipPart {
            video,
            audio,
            video_reference: (control & 0x10 != 0).then_some(1 << 33),
            audio_reference: None,
            next_video_start: (control & 0x20 != 0).then_some(u64::from(control) * 3000),
            last: i + 1 == parts.len(),
        };
        if writer.push(&part).is_err() {
            return None;
        }
    }
    writer.finish().ok()
}

fuzz_target!(|data: &[u8]| {
    assert_eq!(clip(data), clip(data));
});
