//! The encoder MPD reader (`dash::source`) on arbitrary bytes: never panics; what it returns
//! stays within its bounds (Representations per Period, id length); its messages stay short
//! whatever the input.
#![no_main]

use edgepack::dash::source::{parse_source_mpd, MAX_SOURCE_REPRESENTATIONS};
use libfuzzer_sys::fuzz_target;

/// Longest error message: the fixed wording plus at most two quoted 64-byte excerpts.
const MAX_MESSAGE_BYTES: usize = 256;

fuzz_target!(|data: &[u8]| {
    match parse_source_mpd(data) {
        Ok(mpd) => {
            assert!(mpd.representations.len() <= MAX_SOURCE_REPRESENTATIONS);
            for r in &mpd.representations {
                assert!(!r.id.is_empty() && r.id.len() <= 64, "id {:?}", r.id);
            }
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.len() <= MAX_MESSAGE_BYTES, "{message}");
        }
    }
});
