use super::*;
use crate::error::OriginError;
use crate::failover::{output_segments, SwitchLog};
use crate::model::InputId;
use crate::timeline::Timeline;

/// 2026-11-23T12:00:00Z
const T0: i64 = 1_795_435_200_000;

/// `n` 2 s segments; segment `i` spans `T0 + 2i s .. T0 + 2(i+1) s`.
fn timeline(n: u64) -> Timeline {
    crate::timeline::two_second_segments(n, T0)
}

fn seqs(all: &[OutputSegment<'_>], s: &MpdSelection) -> Vec<u64> {
    all[s.range.clone()].iter().map(|s| s.seq).collect()
}

fn at(t: &Timeline, shift: Option<TimeShift>, now: i64) -> OriginResult<(Vec<u64>, bool, bool)> {
    let log = SwitchLog::starting_with(InputId::PRIMARY, 0);
    let all = output_segments(&log, [Some(t), None]);
    let s = select_mpd(&all, shift.as_ref(), now, 60, None)?;
    Ok((seqs(&all, &s), s.finished, s.complete))
}

#[test]
fn live_lists_the_manifest_window() {
    let t = timeline(100);
    let (listed, finished, _) = at(&t, None, T0 + 200_000).unwrap();
    // 60 s of 2 s segments: the newest 30.
    assert_eq!(listed, (70..100).collect::<Vec<_>>());
    assert!(!finished);
}

#[test]
fn lists_what_hls_lists_for_the_same_window() {
    let t = timeline(100);
    let log = SwitchLog::starting_with(InputId::PRIMARY, 0);
    let all = output_segments(&log, [Some(&t), None]);
    let now = T0 + 200_000;
    for (start, end, vod) in [
        (T0 + 10_000, Some(T0 + 30_000), true),
        (T0 + 11_000, Some(T0 + 31_000), true),
        (T0 + 9_999, Some(T0 + 30_001), true),
        (T0 + 150_000, None, false),
        (T0 + 150_000, Some(T0 + 300_000), false),
    ] {
        let shift = TimeShift::Window {
            start_ms: start,
            end_ms: end,
            vod,
        };
        let hls: Vec<u64> = select(&all, &shift, now, |s| s)
            .unwrap()
            .segments
            .iter()
            .map(|s| s.seq)
            .collect();
        let dash = select_mpd(&all, Some(&shift), now, 60, None).unwrap();
        assert_eq!(seqs(&all, &dash), hls, "{shift:?}");
        // A start-over window is not cut to the manifest window.
        assert!(dash.range.len() <= 30 || !vod);
    }
}

#[test]
fn other_representations_list_the_reference_numbers() {
    let t = timeline(100);
    let log = SwitchLog::starting_with(InputId::PRIMARY, 0);
    let all = output_segments(&log, [Some(&t), None]);
    let now = T0 + 200_000;
    let shift = TimeShift::Window {
        start_ms: T0 + 10_000,
        end_ms: Some(T0 + 30_000),
        vod: true,
    };
    let reference = select_mpd(&all, Some(&shift), now, 60, None).unwrap();
    let seqs = window_of(&all, &reference, &shift).unwrap();
    // A rendition whose program date times (its own arrival times) run 900 ms late.
    let mut late = timeline(100);
    for s in &mut late.segments {
        s.pdt_ms += 900;
    }
    let late_all = output_segments(&log, [Some(&late), None]);
    let other = select_mpd(&late_all, Some(&shift), now, 60, Some(&seqs)).unwrap();
    assert_eq!(seqs_of(&late_all, &other), seqs_of(&all, &reference));
    assert!(other.finished && other.complete);
    // Offsets follow the clock: there is no reference.
    let offset = TimeShift::Offset {
        offset_s: 10,
        end_ms: None,
    };
    let s = select_mpd(&all, Some(&offset), now, 60, None).unwrap();
    assert_eq!(window_of(&all, &s, &offset), None);
}

fn seqs_of(all: &[OutputSegment<'_>], s: &MpdSelection) -> Vec<u64> {
    seqs(all, s)
}

#[test]
fn vod_windows_are_complete_once_content_follows() {
    let t = timeline(20);
    let shift = TimeShift::Window {
        start_ms: T0 + 10_000,
        end_ms: Some(T0 + 30_000),
        vod: true,
    };
    let (_, finished, complete) = at(&t, Some(shift), T0 + 40_000).unwrap();
    assert!(finished && complete);
    // The window reaches past the newest segment: still growing, so not cacheable for long.
    let shift = TimeShift::Window {
        start_ms: T0 + 10_000,
        end_ms: Some(T0 + 60_000),
        vod: true,
    };
    let (listed, finished, complete) = at(&t, Some(shift), T0 + 40_000).unwrap();
    assert_eq!(listed.last(), Some(&19));
    assert!(finished && !complete);
}

#[test]
fn offset_moves_the_edge_back_by_whole_segments() {
    let t = timeline(100);
    let now = T0 + 200_000;
    // Edge at T0 + 170 s: segment 84 ends exactly there and is listed; 85 is not.
    let (listed, finished, _) = at(
        &t,
        Some(TimeShift::Offset {
            offset_s: 30,
            end_ms: None,
        }),
        now,
    )
    .unwrap();
    assert_eq!(listed.last(), Some(&84));
    assert_eq!(listed.len(), 30, "the manifest window behind the edge");
    assert!(!finished);
    // One millisecond later the edge is still inside segment 85.
    let (listed, ..) = at(
        &t,
        Some(TimeShift::Offset {
            offset_s: 30,
            end_ms: None,
        }),
        now + 1999,
    )
    .unwrap();
    assert_eq!(listed.last(), Some(&84));
    let (listed, ..) = at(
        &t,
        Some(TimeShift::Offset {
            offset_s: 30,
            end_ms: None,
        }),
        now + 2000,
    )
    .unwrap();
    assert_eq!(listed.last(), Some(&85));
}

#[test]
fn end_in_the_past_finishes_the_presentation() {
    let t = timeline(100);
    let now = T0 + 200_000;
    let until = |end_ms| at(&t, Some(TimeShift::Until { end_ms }), now).unwrap();
    let (listed, finished, complete) = until(T0 + 100_000);
    assert_eq!(
        listed.last(),
        Some(&49),
        "the last segment to begin before end"
    );
    assert!(finished && complete);
    let (listed, finished, _) = until(T0 + 300_000);
    assert_eq!(listed.last(), Some(&99));
    assert!(!finished);
}

#[test]
fn windows_outside_retention_are_not_found() {
    let t = timeline(100);
    let now = T0 + 200_000;
    let outside = [
        TimeShift::Window {
            start_ms: T0 - 600_000,
            end_ms: Some(T0 - 300_000),
            vod: true,
        },
        TimeShift::Window {
            start_ms: T0 + 400_000,
            end_ms: None,
            vod: false,
        },
        TimeShift::Offset {
            offset_s: 3600,
            end_ms: None,
        },
    ];
    for shift in outside {
        match at(&t, Some(shift), now) {
            Err(OriginError::NotFound(m)) => assert!(m.contains("retained from"), "{m}"),
            other => panic!("{shift:?}: {other:?}"),
        }
    }
    // The oldest retained segment is still in reach; a window ending as it begins is not.
    let (listed, ..) = at(
        &t,
        Some(TimeShift::Window {
            start_ms: T0 - 600_000,
            end_ms: Some(T0 + 2_000),
            vod: true,
        }),
        now,
    )
    .unwrap();
    assert_eq!(listed, vec![0]);
    assert!(at(
        &t,
        Some(TimeShift::Window {
            start_ms: T0 - 600_000,
            end_ms: Some(T0),
            vod: true,
        }),
        now,
    )
    .is_err());
}

#[test]
fn offsets_shift_the_availability_start() {
    let offset = TimeShift::Offset {
        offset_s: 45,
        end_ms: None,
    };
    assert_eq!(availability_shift_ms(&offset), 45_000);
    let huge = TimeShift::Offset {
        offset_s: u64::MAX,
        end_ms: None,
    };
    assert_eq!(availability_shift_ms(&huge), i64::MAX);
    let window = TimeShift::Window {
        start_ms: T0,
        end_ms: Some(T0 + 1),
        vod: true,
    };
    assert_eq!(availability_shift_ms(&window), 0);
    assert!(is_vod(&window));
    assert!(!is_vod(&offset));
}
