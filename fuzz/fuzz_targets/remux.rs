//! The whole TS → CMAF remux on arbitrary bytes: never panics; output is deterministic.
#![no_main]

use edgepack::media::remux::{ts_to_cmaf, RemuxOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let options = RemuxOptions {
        next_segment_start: Some(1 << 33),
        ..RemuxOptions::default()
    };
    let first = ts_to_cmaf(data, &options);
    if let Ok(out) = &first {
        for t in &out.tracks {
            let _ = t.init_segment();
        }
    }
    assert_eq!(first, ts_to_cmaf(data, &options));
});
