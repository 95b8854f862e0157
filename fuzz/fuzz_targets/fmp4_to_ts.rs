//! fMP4 → samples → TS on arbitrary bytes (read as init segment then media segment): never
//! panics; the output is whole 188-byte packets that our TS demuxer reads back with one
//! elementary stream per track; output is deterministic.
#![no_main]

use edgepack::media::mp4::demux::{parse_init, parse_segment};
use edgepack::media::ts::mux::{mux_segment, ContinuityCounters, TsMuxOptions, TsMuxTrack};
use edgepack::media::ts::{probe_streams, PACKET_SIZE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(init) = parse_init(data) else { return };
    let Ok(segment) = parse_segment(data, &init) else {
        return;
    };
    let tracks: Vec<TsMuxTrack<'_>> = init
        .tracks
        .iter()
        .filter_map(|t| {
            Some(TsMuxTrack {
                samples: segment.samples_of(&init, t.track_id)?,
                time_offset: t.edit_shift,
            })
        })
        .collect();
    let options = TsMuxOptions::default();
    let counters = ContinuityCounters::default();
    let Ok((ts, after)) = mux_segment(&tracks, &options, &counters) else {
        return;
    };
    assert_eq!(ts.len() % PACKET_SIZE, 0);
    assert!(ts.chunks(PACKET_SIZE).all(|p| p[0] == 0x47));
    assert_eq!(probe_streams(&ts).len(), tracks.len());
    assert_eq!(mux_segment(&tracks, &options, &counters), Ok((ts, after)));
});
