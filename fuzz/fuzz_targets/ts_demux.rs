//! The transport stream demuxer on arbitrary bytes, pushed in two chunks split at a
//! fuzzer-chosen point: never panics, and chunking never changes the events.
#![no_main]

use edgepack::media::ts::{first_pts, probe_streams, Demuxer, TsEvent};
use libfuzzer_sys::fuzz_target;

fn run(chunks: &[&[u8]]) -> Vec<TsEvent> {
    let mut demux = Demuxer::new();
    let mut events = Vec::new();
    for chunk in chunks {
        demux.push(chunk);
        while let Some(e) = demux.poll() {
            events.push(e);
        }
    }
    demux.finish();
    while let Some(e) = demux.poll() {
        events.push(e);
    }
    events
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else {
        return;
    };
    let at = usize::from(split).min(data.len());
    let whole = run(&[data]);
    let (a, b) = data.split_at(at);
    assert_eq!(run(&[a, b]), whole);
    let _ = first_pts(data);
    let _ = probe_streams(data);
});
