//! Transport stream demux against ffmpeg-produced fixtures and hostile input.

use edgepack::media::ts::{first_pts, Demuxer, TsError, TsEvent, TsWarning, PACKET_SIZE};
use std::collections::BTreeMap;

const SEG0: &[u8] = include_bytes!("fixtures/media/h264_aac_0.ts");
const SEG1: &[u8] = include_bytes!("fixtures/media/h264_aac_1.ts");
const WRAP: &[u8] = include_bytes!("fixtures/media/h264_aac_wrap.ts");

fn demux(chunks: &[&[u8]]) -> Vec<TsEvent> {
    let mut d = Demuxer::new();
    let mut out = Vec::new();
    for c in chunks {
        d.push(c);
        while let Some(e) = d.poll() {
            out.push(e);
        }
    }
    d.finish();
    while let Some(e) = d.poll() {
        out.push(e);
    }
    out
}

fn pes_counts(events: &[TsEvent]) -> BTreeMap<u16, usize> {
    let mut m = BTreeMap::new();
    for e in events {
        if let TsEvent::Pes(p) = e {
            *m.entry(p.pid).or_insert(0) += 1;
        }
    }
    m
}

fn warnings(events: &[TsEvent]) -> Vec<&TsWarning> {
    events
        .iter()
        .filter_map(|e| match e {
            TsEvent::Warning(w) => Some(w),
            _ => None,
        })
        .collect()
}

#[test]
fn fixture_demuxes_cleanly() {
    let events = demux(&[SEG0]);
    assert!(warnings(&events).is_empty(), "{:?}", warnings(&events));
    let pmt = events.iter().find_map(|e| match e {
        TsEvent::Pmt(p) => Some(p),
        _ => None,
    });
    let pmt = pmt.expect("PMT");
    assert_eq!(pmt.streams.len(), 2);
    let counts = pes_counts(&events);
    // 2 s of 30 fps video, one picture per PES.
    assert_eq!(counts.get(&0x100), Some(&60));
    assert!(counts.get(&0x101).is_some_and(|&n| n > 0));
}

#[test]
fn chunking_does_not_matter() {
    let whole = demux(&[SEG0]);
    let odd: Vec<&[u8]> = SEG0.chunks(1000).collect();
    assert_eq!(demux(&odd), whole);
    let tiny: Vec<&[u8]> = SEG0.chunks(7).collect();
    assert_eq!(demux(&tiny), whole);
}

#[test]
fn video_timestamps_are_monotonic_dts() {
    let events = demux(&[SEG0, SEG1]);
    let dts: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            TsEvent::Pes(p) if p.pid == 0x100 => p.dts().map(|t| t.get()),
            _ => None,
        })
        .collect();
    assert_eq!(dts.len(), 120);
    assert!(dts.windows(2).all(|w| w[1] - w[0] == 3000));
}

#[test]
fn first_pts_probe() {
    // ffmpeg starts at 1.4 s; with two B-frames the first PTS is 2 frames later than the DTS.
    let pts = first_pts(SEG0).expect("pts").get();
    assert_eq!(pts, 126_000 + 6000);
    assert!(first_pts(&SEG0[..PACKET_SIZE]).is_none());
    assert!(first_pts(&[]).is_none());
    assert!(first_pts(WRAP).is_some());
}

#[test]
fn truncated_input_reports_need_more_data() {
    let cut = &SEG0[..SEG0.len() - 100];
    let events = demux(&[cut]);
    assert!(warnings(&events).iter().any(|w| matches!(
        w,
        TsWarning::Error {
            error: TsError::NeedMoreData { needed: 100 },
            ..
        }
    )));
}

#[test]
fn wrong_sync_bytes_resync() {
    let mut bad = SEG0.to_vec();
    // Corrupt the sync byte of packet 10 and insert 5 junk bytes after packet 20.
    bad[10 * PACKET_SIZE] = 0x48;
    bad.splice(20 * PACKET_SIZE..20 * PACKET_SIZE, [1, 2, 3, 4, 5]);
    let events = demux(&[&bad]);
    let w = warnings(&events);
    assert!(w
        .iter()
        .any(|w| matches!(w, TsWarning::LostSync { skipped: 5, .. })));
    assert!(w
        .iter()
        .any(|w| matches!(w, TsWarning::LostSync { skipped: 188, .. })));
    assert!(pes_counts(&events).get(&0x100).is_some_and(|&n| n >= 59));
}

#[test]
fn continuity_errors_are_events() {
    // Drop one video packet in the middle of the stream.
    let packets: Vec<&[u8]> = SEG0.chunks(PACKET_SIZE).collect();
    let victim = packets
        .iter()
        .enumerate()
        .filter(|(_, p)| u16::from_be_bytes([p[1] & 0x1F, p[2]]) == 0x100)
        .nth(50)
        .map(|(i, _)| i)
        .unwrap();
    let mut bad = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        if i != victim {
            bad.extend_from_slice(p);
        }
    }
    let events = demux(&[&bad]);
    assert!(warnings(&events)
        .iter()
        .any(|w| matches!(w, TsWarning::Continuity { pid: 0x100, .. })));
}

#[test]
fn pes_length_beyond_data() {
    // Audio PES packets are bounded; cut the stream inside the last audio PES.
    let packets: Vec<&[u8]> = SEG0.chunks(PACKET_SIZE).collect();
    let last_audio_start = packets
        .iter()
        .rposition(|p| u16::from_be_bytes([p[1] & 0x1F, p[2]]) == 0x101 && p[1] & 0x40 != 0)
        .unwrap();
    let cut = &SEG0[..(last_audio_start + 1) * PACKET_SIZE];
    let events = demux(&[cut]);
    assert!(warnings(&events).iter().any(|w| matches!(
        w,
        TsWarning::Error {
            error: TsError::PesLengthBeyondData { pid: 0x101, .. },
            ..
        }
    )));
}

#[test]
fn garbage_never_panics() {
    let mut x: u32 = 12345;
    for len in [0usize, 1, 187, 188, 189, 376, 5000] {
        let data: Vec<u8> = (0..len)
            .map(|i| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                if i % 188 == 0 {
                    0x47
                } else {
                    (x >> 16) as u8
                }
            })
            .collect();
        let _ = demux(&[&data]);
        let _ = first_pts(&data);
    }
}

/// Found by the ts_demux fuzz target: resync decided differently when a candidate sync byte
/// sat within one packet of a chunk boundary. The first byte picks the split point.
#[test]
fn fuzz_resync_is_chunking_invariant() {
    let data: &[u8] = include_bytes!("fixtures/media/fuzz/ts_demux-resync-chunking.bin");
    let (&split, data) = data.split_first().unwrap();
    let whole = demux(&[data]);
    let (a, b) = data.split_at(usize::from(split).min(data.len()));
    assert_eq!(demux(&[a, b]), whole);
    // Every split point, on a shorter prefix.
    let prefix = &data[..data.len().min(1200)];
    let whole = demux(&[prefix]);
    for at in 0..prefix.len() {
        let (a, b) = prefix.split_at(at);
        assert_eq!(demux(&[a, b]), whole, "split at {at}");
    }
}

#[test]
fn garbage_run_is_one_lost_sync_warning() {
    let mut data = vec![0xAAu8; 5000];
    data.extend_from_slice(&SEG0[..PACKET_SIZE * 3]);
    let events = demux(&[&data]);
    let lost: Vec<_> = warnings(&events)
        .into_iter()
        .filter(|w| matches!(w, TsWarning::LostSync { .. }))
        .collect();
    assert_eq!(
        lost,
        vec![&TsWarning::LostSync {
            offset: 5000,
            skipped: 5000
        }]
    );
    let chunks: Vec<&[u8]> = data.chunks(100).collect();
    assert_eq!(demux(&chunks), events);
}

#[test]
fn scrambled_and_errored_packets_are_dropped_with_warnings() {
    let mut bad = SEG0.to_vec();
    let mut video = bad
        .chunks_mut(PACKET_SIZE)
        .filter(|p| u16::from_be_bytes([p[1] & 0x1F, p[2]]) == 0x100);
    video.nth(30).unwrap()[3] |= 0x80; // transport_scrambling_control = '10'
    video.nth(10).unwrap()[1] |= 0x80; // transport_error_indicator
    let events = demux(&[&bad]);
    let w = warnings(&events);
    assert!(w
        .iter()
        .any(|w| matches!(w, TsWarning::Scrambled { pid: 0x100, .. })));
    assert!(w
        .iter()
        .any(|w| matches!(w, TsWarning::TransportError { pid: 0x100, .. })));
}
