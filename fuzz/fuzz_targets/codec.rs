//! The elementary stream parsers (Annex B, H.264 SPS, ADTS) on arbitrary bytes.
#![no_main]

use edgepack::media::codec::{aac::AdtsFrames, annexb::NalUnits, h264};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for (offset, nal) in NalUnits::new(data) {
        assert!(offset + nal.len() <= data.len());
        if h264::nal_unit_type(nal) == h264::nal_type::SPS {
            if let Ok(config) = h264::AvcConfig::new(nal, &[0x68, 0xCE]) {
                let _ = config.decoder_configuration_record();
                let _ = config.codec_string();
            }
        }
    }
    let _ = h264::parse_sps(data);
    for frame in AdtsFrames::new(data) {
        if frame.is_err() {
            break;
        }
    }
});
