//! The fMP4 demuxer on arbitrary bytes, read as one file (init segment then media segment):
//! never panics; every sample lies inside the input; the samples make a CMAF fragment whose
//! mdat holds exactly their bytes; output is deterministic.
#![no_main]

use edgepack::media::mp4::demux::{parse_init, parse_segment};
use edgepack::media::mp4::{write_media_segment, MuxError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(init) = parse_init(data) else { return };
    assert_eq!(parse_init(data).as_ref(), Ok(&init));
    let Ok(segment) = parse_segment(data, &init) else {
        return;
    };
    assert_eq!(parse_segment(data, &init).as_ref(), Ok(&segment));
    for t in segment.track_samples(&init) {
        for s in t.samples {
            assert!(t.sample_data(s).is_some(), "sample outside the input");
        }
        let Some(base) = t.base_media_decode_time() else {
            continue;
        };
        let mut out = Vec::new();
        let written = write_media_segment(&mut out, 1, base, &t.sample_infos(), |mdat| {
            t.write_samples(0..t.samples.len(), mdat)
        });
        assert!(
            !matches!(written, Err(MuxError::SampleSizeMismatch { .. })),
            "{written:?}"
        );
    }
});
