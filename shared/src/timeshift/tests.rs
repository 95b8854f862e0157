use super::*;
use crate::failover::{output_segments, SwitchLog};
use crate::model::InputId;
use crate::timeline::Timeline;

const T0: i64 = 1_795_435_200_000; // 2026-11-23T12:00:00Z

fn timeline(n: u64) -> Timeline {
    crate::timeline::two_second_segments(n, T0)
}

fn seqs(sel: &Selection<'_, '_>) -> Vec<u64> {
    sel.segments.iter().map(|s| s.seq).collect()
}

#[test]
fn parses_and_refuses() {
    assert_eq!(TimeShift::parse("").unwrap(), None);
    assert_eq!(TimeShift::parse("token=x").unwrap(), None);
    assert_eq!(
        TimeShift::parse(
            "start=2026-11-23T12:00:10Z&vodend=2026-11-23T12:00:30Z&end=2026-11-23T13:00:00Z"
        )
        .unwrap(),
        Some(TimeShift::Window {
            start_ms: T0 + 10_000,
            end_ms: Some(T0 + 30_000),
            vod: true
        })
    );
    assert_eq!(
        TimeShift::parse("start=2026-11-23T12%3A00%3A10Z").unwrap(),
        Some(TimeShift::Window {
            start_ms: T0 + 10_000,
            end_ms: None,
            vod: false
        })
    );
    assert_eq!(
        TimeShift::parse("offset=30").unwrap(),
        Some(TimeShift::Offset {
            offset_s: 30,
            end_ms: None
        })
    );
    for bad in [
        "start=2026-11-23T12:00:00Z&offset=5",
        "start=yesterday",
        "offset=-5",
        "vodend=2026-11-23T12:00:00Z",
        "start=2026-11-23T12:00:10Z&end=2026-11-23T12:00:00Z",
    ] {
        assert!(TimeShift::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn windows_select_overlapping_segments() {
    let t = timeline(100); // 200 s from T0
    let log = SwitchLog::starting_with(InputId::PRIMARY, 0);
    let all = output_segments(&log, [Some(&t), None]);
    let now = T0 + 200_000;
    // 20 s from T0 + 11 s: the segments whose middle is inside, 5 (10-12 s) .. 14 (28-30 s).
    let shift = TimeShift::Window {
        start_ms: T0 + 11_000,
        end_ms: Some(T0 + 31_000),
        vod: true,
    };
    let sel = select(&all, &shift, now, |s| s).unwrap();
    assert_eq!(seqs(&sel), (5..=14).collect::<Vec<_>>());
    // Another rendition's program date times (its own arrival times) are off: by its own
    // times it would select other segments (6..=15 at -900 ms); taking the reference's sequence
    // numbers it lists the same ones, so all renditions of a window have one duration.
    let reference = window_seqs(&all, &shift, now).unwrap().unwrap();
    assert_eq!(reference, 5..=14);
    for skew in [-900, -40, 40, 900] {
        let mut other = timeline(100);
        for s in &mut other.segments {
            s.pdt_ms += skew;
        }
        let all_other = output_segments(&log, [Some(&other), None]);
        let sel_other = select_like(&all_other, &reference, &shift, now).unwrap();
        assert_eq!(seqs(&sel_other), seqs(&sel), "skew {skew} ms");
        assert_eq!(
            (sel_other.playlist_type, sel_other.end_list),
            (Some("VOD"), true)
        );
    }
    let mut skewed = timeline(100);
    for s in &mut skewed.segments {
        s.pdt_ms -= 900;
    }
    let all_skewed = output_segments(&log, [Some(&skewed), None]);
    let own = select(&all_skewed, &shift, now, |s| s).unwrap();
    assert_eq!(seqs(&own), (6..=15).collect::<Vec<_>>());
    // A rendition without the window's segments is a 404.
    assert!(select_like(&all, &(200..=210), &shift, now).is_err());
    // Offsets are no fixed window: no reference numbers.
    let offset = TimeShift::Offset {
        offset_s: 60,
        end_ms: None,
    };
    assert_eq!(window_seqs(&all, &offset, now).unwrap(), None);
    // A window starting on a segment's program date time starts with that segment.
    let on_boundary = TimeShift::Window {
        start_ms: T0 + 10_000,
        end_ms: Some(T0 + 30_000),
        vod: true,
    };
    let sel = select(&all, &on_boundary, now, |s| s).unwrap();
    assert_eq!(seqs(&sel), (5..=14).collect::<Vec<_>>());
    assert_eq!((sel.playlist_type, sel.end_list), (Some("VOD"), true));
    // An open window runs to the live edge as an EVENT playlist.
    let shift = TimeShift::Window {
        start_ms: T0 + 190_000,
        end_ms: None,
        vod: false,
    };
    let sel = select(&all, &shift, now, |s| s).unwrap();
    assert_eq!(
        (seqs(&sel), sel.playlist_type, sel.end_list),
        (vec![95, 96, 97, 98, 99], Some("EVENT"), false)
    );
    // Offset: the live window (here the last 3) ending 60 s behind the edge.
    let sel = select(
        &all,
        &TimeShift::Offset {
            offset_s: 60,
            end_ms: None,
        },
        now,
        |s| &s[s.len() - 3..],
    )
    .unwrap();
    assert_eq!(seqs(&sel), vec![67, 68, 69]);
    // Outside what is retained: 404 naming the retained range.
    let early = TimeShift::Window {
        start_ms: T0 - 100_000,
        end_ms: Some(T0 - 50_000),
        vod: true,
    };
    let err = select(&all, &early, now, |s| s).err().unwrap();
    assert_eq!(err.status(), 404);
    assert!(
        err.to_string().contains("2026-11-23T12:00:00.000Z"),
        "{err}"
    );
    assert!(select(
        &all,
        &TimeShift::Offset {
            offset_s: 500,
            end_ms: None
        },
        now,
        |s| s
    )
    .is_err());
}

#[test]
fn carried_params_keep_the_window() {
    assert_eq!(
        carried_params("token=t&start=2026-11-23T12:00:00Z&x=1&offset=3"),
        vec!["start=2026-11-23T12:00:00Z", "offset=3"]
    );
}
