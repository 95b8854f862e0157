//! Common Encryption of hostile samples: the subsample generator (slice header parsing) and
//! the encryptor on arbitrary sample bytes, with the fixtures' `avcC` / `hvcC` or arbitrary
//! decoder configuration records.
//!
//! Input: byte 0 = mode (bit 0 scheme, bits 1-2 codec: H.264, H.265, AAC, fuzzed record;
//! bit 3 fuzzed record is H.265), bytes 1-2 = record length (fuzzed-record mode), the record,
//! then the samples (up to four, cut at lengths taken from the next bytes).
#![no_main]

use edgepack::media::cenc::{Encryptor, Scheme, TrackProtection};
use edgepack::media::codec::{h264::AvcConfig, hevc::HevcConfig};
use edgepack::media::mp4::{CodecConfig, SampleInfo, Track};
use edgepack::media::remux::{ts_to_cmaf, RemuxOptions};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The fixtures' tracks: H.264 video, AAC audio, H.265 video.
fn tracks() -> &'static [Track; 3] {
    static TRACKS: OnceLock<[Track; 3]> = OnceLock::new();
    TRACKS.get_or_init(|| {
        let h264 = ts_to_cmaf(
            include_bytes!("../../shared/tests/fixtures/media/h264_aac_0.ts"),
            &RemuxOptions::default(),
        )
        .unwrap();
        let hevc = ts_to_cmaf(
            include_bytes!("../../shared/tests/fixtures/media/h265_aac.ts"),
            &RemuxOptions::default(),
        )
        .unwrap();
        [
            h264.tracks[0].track.clone(),
            h264.tracks[1].track.clone(),
            hevc.tracks[0].track.clone(),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let scheme = if mode & 1 == 0 {
        Scheme::Cenc
    } else {
        Scheme::Cbcs
    };
    let track = match (mode >> 1) & 3 {
        0 => tracks()[0].clone(),
        1 => tracks()[2].clone(),
        2 => tracks()[1].clone(),
        _ => {
            let Some(len) = rest
                .get(..2)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            else {
                return;
            };
            let Some(record) = rest.get(2..2 + len) else {
                return;
            };
            rest = &rest[2 + len..];
            let codec = if mode & 8 == 0 {
                AvcConfig::from_decoder_configuration_record(record).map(|c| CodecConfig::Avc(c.0))
            } else {
                HevcConfig::from_decoder_configuration_record(record)
                    .map(|c| CodecConfig::Hevc(c.0))
            };
            let Ok(codec) = codec else {
                return;
            };
            Track {
                timescale: 90_000,
                codec,
            }
        }
    };
    let protection = TrackProtection {
        scheme,
        kid: [1; 16],
        key: [2; 16],
        iv: [3; 16],
        pssh: Vec::new(),
    };
    let Ok(enc) = Encryptor::new(&track, &protection) else {
        return;
    };
    // Up to four samples: each takes a 2-byte length from the front of what is left.
    let mut samples = Vec::new();
    let mut bytes = Vec::new();
    let mut input = rest;
    while samples.len() < 4 && input.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([input[0], input[1]])).min(input.len() - 2);
        let sample = &input[2..2 + len];
        input = &input[2 + len..];
        samples.push(SampleInfo {
            duration: 3000,
            size: u32::try_from(sample.len()).unwrap(),
            is_sync: samples.is_empty(),
            composition_offset: 0,
        });
        bytes.extend_from_slice(sample);
    }
    if samples.is_empty() {
        return;
    }
    let mut out = Vec::new();
    let first = enc.write_media_segment(&mut out, 1, 1 << 33, &samples, &bytes);
    if first.is_ok() {
        assert!(out.len() > bytes.len());
        let mut again = Vec::new();
        enc.write_media_segment(&mut again, 1, 1 << 33, &samples, &bytes)
            .unwrap();
        assert_eq!(out, again, "deterministic");
        // Our own output reads back as a segment of the track.
        let _ = enc.encrypt_segment(&out);
    }
});
