use super::policy::is_healthy;
use super::*;
use crate::names::Rendition;
use crate::timeline::{Segment, Timeline, TIMESCALE};

const T0: u64 = 1_795_435_200_000;
const SEG: u64 = 2 * TIMESCALE;

/// A timeline with segments `first..first+count`, media time `pts0 + i * 2 s`, arrived 2 s apart.
fn timeline(first: u64, count: u64, pts0: u64, arrived0: u64) -> Timeline {
    let mut t = Timeline::default();
    for i in 0..count {
        t.push(Segment {
            seq: first + i,
            enc_seq: first + i,
            uri: format!("s{}.ts", first + i),
            key: format!("k{}", first + i),
            duration: SEG,
            size: 100,
            pdt_ms: 0,
            media_start: Some(pts0 + i * SEG),
            arrived_ms: arrived0 + i * 2000,
            discontinuity: false,
            tracks: Vec::new(),
            init_key: None,
            ts_cc: None,
            claim: None,
        });
    }
    t
}

fn rendition(r: &str) -> Rendition {
    Rendition::parse(r).expect("a valid rendition id")
}

fn one(
    r: &str,
    a: Option<Timeline>,
    b: Option<Timeline>,
) -> BTreeMap<Rendition, decide::RenditionTimelines> {
    BTreeMap::from([(rendition(r), [a, b])])
}

fn refs(t: &decide::RenditionTimelines) -> [Option<&Timeline>; 2] {
    [t[0].as_ref(), t[1].as_ref()]
}

#[test]
fn health_follows_max_segment_duration() {
    assert!(is_healthy(Some(T0), T0 + 15_000, 15));
    assert!(!is_healthy(Some(T0), T0 + 15_001, 15));
    assert!(!is_healthy(None, T0, 15));
    // A clock that went backwards counts as fresh, not as a failure.
    assert!(is_healthy(Some(T0 + 5000), T0, 15));
}

#[test]
fn aligned_switch_continues_numbering_without_discontinuity() {
    let log = SwitchLog::starting_with(InputId::PRIMARY, T0);
    // Input 1 numbers from 100, input 2 (started later) from 7; same media times.
    let a = timeline(100, 10, 900_000, T0);
    let b = timeline(7, 12, 900_000 + 3 * SEG, T0 + 6000);
    let rs = one("v", Some(a), Some(b));
    let rec = plan_switch(&log, InputId::BACKUP, &rs, T0 + 40_000, "test".into()).unwrap();
    // Input 1 delivered up to 109 (media end = 900000 + 10 * SEG); input 2's segment with that
    // start is its 7 + 7 = 14.
    assert_eq!(
        (rec.from_seq, rec.seq_delta, rec.discontinuity),
        (110, 96, false)
    );
    assert_eq!(rec.media_time, Some(900_000 + 10 * SEG));
    let mut log = log;
    log.push(rec);
    let out = output_segments(&log, refs(&rs["v"]));
    let seqs: Vec<u64> = out.iter().map(|s| s.seq).collect();
    assert_eq!(seqs, (100..=114).collect::<Vec<_>>());
    assert!(out.iter().all(|s| !s.discontinuity));
    assert_eq!(out[10].input, InputId::BACKUP);
    assert_eq!(out[10].segment.seq, 14);
    // Media time is continuous across the switch.
    for w in out.windows(2) {
        assert_eq!(
            w[0].segment.media_start.unwrap() + SEG,
            w[1].segment.media_start.unwrap()
        );
    }
    assert_eq!(discontinuities_through(&log, refs(&rs["v"]), "v", 114), 0);
}

#[test]
fn misaligned_switch_marks_a_discontinuity_and_counts_it() {
    let log = SwitchLog::starting_with(InputId::PRIMARY, T0);
    let a = timeline(100, 10, 900_000, T0);
    // Unrelated timestamps; input 2 arrived alongside input 1 and kept going.
    let b = timeline(0, 20, 5_000, T0 + 1000);
    let rs = one("v", Some(a), Some(b));
    let rec = plan_switch(&log, InputId::BACKUP, &rs, T0 + 40_000, "test".into()).unwrap();
    // Same clock, other boundaries: input 2's first segment starting after what was served
    // (2_700_000) is its 15 (2_705_000): never earlier media.
    assert_eq!((rec.from_seq, rec.discontinuity), (110, true));
    assert_eq!(rec.input_seq(110), Some(15));
    let mut log = log;
    log.push(rec);
    let out = output_segments(&log, refs(&rs["v"]));
    let switched = out.iter().find(|s| s.seq == 110).unwrap();
    assert!(switched.discontinuity);
    assert_eq!(out.iter().filter(|s| s.discontinuity).count(), 1);
    assert_eq!(discontinuities_through(&log, refs(&rs["v"]), "v", 109), 0);
    assert_eq!(discontinuities_through(&log, refs(&rs["v"]), "v", 110), 1);
    assert_eq!(discontinuities_through(&log, refs(&rs["v"]), "v", 120), 1);
}

#[test]
fn discontinuity_sequence_survives_pruning_after_a_switch() {
    let log = SwitchLog::starting_with(InputId::PRIMARY, T0);
    let mut a = timeline(0, 10, 0, T0);
    a.segments[3].discontinuity = true; // an encoder-side discontinuity on input 1
    let b = timeline(0, 30, 50_000, T0 + 1000); // misaligned by more than the tolerance
    let rs = one("v", Some(a.clone()), Some(b));
    let rec = plan_switch(&log, InputId::BACKUP, &rs, T0 + 60_000, "test".into()).unwrap();
    assert_eq!(rec.bases["v"].output, 1);
    let mut log = log;
    log.push(rec);
    let mut rs = rs;
    let before = discontinuities_through(&log, refs(&rs["v"]), "v", 25);
    assert_eq!(before, 2);
    // Input 1's timeline is pruned away entirely: the count does not move.
    rs.get_mut("v").unwrap()[0] = None;
    assert_eq!(discontinuities_through(&log, refs(&rs["v"]), "v", 25), 2);
    // Input 2 prunes the segments before the switch point: still the same.
    let b = rs.get_mut("v").unwrap()[1].as_mut().unwrap();
    b.prune(5 * SEG);
    assert_eq!(discontinuities_through(&log, refs(&rs["v"]), "v", 25), 2);
}

#[test]
fn no_switch_to_the_active_input_or_without_content() {
    let log = SwitchLog::starting_with(InputId::PRIMARY, T0);
    let rs = one("v", Some(timeline(0, 3, 0, T0)), None);
    assert!(plan_switch(&log, InputId::PRIMARY, &rs, T0, "x".into()).is_none());
    assert!(plan_switch(&log, InputId::BACKUP, &rs, T0, "x".into()).is_none());
}

#[test]
fn switching_back_maps_later_numbers_to_the_first_input_again() {
    let mut log = SwitchLog::starting_with(InputId::PRIMARY, T0);
    let a = timeline(0, 5, 0, T0);
    let b = timeline(0, 10, 0, T0);
    let rs = one("v", Some(a), Some(b));
    let rec = plan_switch(&log, InputId::BACKUP, &rs, T0 + 30_000, "1 down".into()).unwrap();
    assert_eq!(
        (rec.from_seq, rec.seq_delta, rec.discontinuity),
        (5, 0, false)
    );
    log.push(rec);
    // Input 1 returns with a restarted encoder: its timeline resynced to 5, 6, 7 with new
    // timestamps; input 2 dies.
    let mut a2 = rs["v"][0].clone().unwrap();
    for s in timeline(5, 3, 10_000_000, T0 + 60_000).segments {
        a2.push(s);
    }
    let rs = one("v", Some(a2), rs["v"][1].clone());
    let rec = plan_switch(&log, InputId::PRIMARY, &rs, T0 + 70_000, "2 down".into()).unwrap();
    assert_eq!((rec.from_seq, rec.discontinuity), (10, true));
    log.push(rec);
    let out = output_segments(&log, refs(&rs["v"]));
    let seqs: Vec<u64> = out.iter().map(|s| s.seq).collect();
    assert_eq!(
        seqs,
        (0..=12).collect::<Vec<_>>(),
        "never decreases, no gaps"
    );
    assert_eq!(out[10].input, InputId::PRIMARY);
    assert_eq!(log.record_for(4).unwrap().0.input, 1);
    assert_eq!(log.record_for(7).unwrap().0.input, 2);
    assert_eq!(log.record_for(11).unwrap().0.input, 1);
}

#[test]
fn log_keeps_a_bounded_history() {
    let mut log = SwitchLog::starting_with(InputId::PRIMARY, T0);
    for i in 0..100 {
        let mut r = log.records[0].clone();
        r.from_seq = i + 1;
        log.push(r);
    }
    assert_eq!(log.records.len(), MAX_RECORDS);
    assert_eq!(log.records.last().unwrap().from_seq, 100);
}

#[test]
fn unrelated_clocks_continue_with_what_arrived_after() {
    let log = SwitchLog::starting_with(InputId::PRIMARY, T0);
    let a = timeline(100, 10, 900_000, T0);
    // Input 2's clock is 1000 s away: arrival decides.
    let b = timeline(0, 20, 90_000_000, T0 + 1000);
    let rs = one("v", Some(a), Some(b));
    let rec = plan_switch(&log, InputId::BACKUP, &rs, T0 + 40_000, "test".into()).unwrap();
    // Input 1's last segment arrived at T0 + 18 s; input 2's first later one is its 9.
    assert_eq!(
        (rec.from_seq, rec.discontinuity, rec.input_seq(110)),
        (110, true, Some(9))
    );
}

#[test]
fn a_lagging_backup_on_the_same_clock_is_waited_for() {
    let log = SwitchLog::starting_with(InputId::PRIMARY, T0);
    // Input 1 served up to media 900_000 + 10 segments; input 2 is 4 segments behind.
    let a = timeline(0, 10, 900_000, T0);
    let b = timeline(50, 6, 900_000, T0 + 9000);
    let rs = one("v", Some(a.clone()), Some(b));
    assert!(plan_switch(&log, InputId::BACKUP, &rs, T0 + 40_000, "test".into()).is_none());
    // Once it has caught up, the switch is aligned.
    let rs = one("v", Some(a), Some(timeline(50, 12, 900_000, T0 + 9000)));
    let rec = plan_switch(&log, InputId::BACKUP, &rs, T0 + 44_000, "test".into()).unwrap();
    assert_eq!(
        (rec.from_seq, rec.discontinuity, rec.input_seq(10)),
        (10, false, Some(60))
    );
}

#[test]
fn renditions_cut_at_different_points_continue_without_gaps() {
    let log = SwitchLog::starting_with(InputId::PRIMARY, T0);
    // Input 1 died mid-burst: rendition "a" got segment 6, "b" only up to 5.
    let rs = BTreeMap::from([
        (
            rendition("a"),
            [Some(timeline(0, 7, 0, T0)), Some(timeline(0, 12, 0, T0))],
        ),
        (
            rendition("b"),
            [Some(timeline(0, 6, 0, T0)), Some(timeline(0, 12, 0, T0))],
        ),
    ]);
    let rec = plan_switch(&log, InputId::BACKUP, &rs, T0 + 40_000, "test".into()).unwrap();
    assert_eq!((rec.from_seq, rec.discontinuity), (6, false));
    let mut log = log;
    log.push(rec);
    for (r, t) in &rs {
        let out = output_segments(&log, refs(t));
        let seqs: Vec<u64> = out.iter().map(|s| s.seq).collect();
        assert_eq!(seqs, (0..12).collect::<Vec<_>>(), "{r}");
        // Output 6 of both renditions is input 2's segment at the same media time.
        assert_eq!(out[6].input, InputId::BACKUP, "{r}");
        assert_eq!(out[6].segment.media_start, Some(6 * SEG));
    }
}

mod first_arrival_rules {
    use super::*;
    use crate::failover::first_arrival::{aligned, awaits_fill, claim_target};
    use crate::media::mp4::TrackKind;
    use crate::timeline::{Claim, SegmentTrack};

    /// [`timeline`] whose segments carry one video track with init identity `init`.
    fn probed(first: u64, count: u64, pts0: u64, arrived0: u64, init: &str) -> Timeline {
        let mut t = timeline(first, count, pts0, arrived0);
        for s in &mut t.segments {
            s.tracks = vec![SegmentTrack {
                kind: TrackKind::Video,
                t: s.media_start.unwrap_or(0),
                d: SEG,
                init: init.to_owned(),
            }];
        }
        t
    }

    fn claimed(mut t: Timeline) -> Timeline {
        for s in &mut t.segments {
            s.claim = Some(Claim {
                out: s.seq,
                won: true,
            });
        }
        t
    }

    const MAX_MS: u64 = 15_000;

    #[test]
    fn the_active_input_claims_only_while_the_other_delivers() {
        let log = SwitchLog::starting_with(InputId::PRIMARY, T0);
        let one = probed(0, 5, 0, T0, "a");
        let two = probed(0, 4, 0, T0, "a");
        let s = one.last().unwrap();
        let now = T0 + 8000;
        let target = |other: &Timeline, now| {
            claim_target(&log, InputId::PRIMARY, &one, Some(other), s, now, MAX_MS)
        };
        assert_eq!(target(&two, now), Some(4));
        assert_eq!(
            target(&two, T0 + 6000 + MAX_MS + 1),
            None,
            "input 2 stopped"
        );
        let lone = claim_target(&log, InputId::PRIMARY, &one, None, s, now, MAX_MS);
        assert_eq!(lone, None);
    }

    #[test]
    fn the_other_input_claims_aligned_copies_while_the_active_one_claims() {
        let log = SwitchLog::starting_with(InputId::PRIMARY, T0);
        // Input 2 numbers from 100 and is one segment ahead of input 1.
        let one = claimed(probed(0, 4, 0, T0, "a"));
        let two = probed(100, 5, 0, T0, "a");
        let s = two.last().unwrap();
        let now = T0 + 8000;
        let target = |one: &Timeline, two: &Timeline, s| {
            claim_target(&log, InputId::BACKUP, two, Some(one), s, now, MAX_MS)
        };
        assert_eq!(
            target(&one, &two, s),
            Some(4),
            "counts on from the aligned pair"
        );
        let unclaimed = probed(0, 4, 0, T0, "a");
        assert_eq!(target(&unclaimed, &two, s), None, "input 1 is not claiming");
        let other_init = probed(100, 5, 0, T0, "b");
        let s2 = other_init.last().unwrap();
        assert_eq!(
            target(&one, &other_init, s2),
            None,
            "another codec configuration"
        );
        let late = probed(100, 5, 1501 * 90, T0, "a");
        assert_eq!(
            target(&one, &late, late.last().unwrap()),
            None,
            "not aligned"
        );
        // Already decided: input 1's copy of the same media time carries a claim.
        let behind = probed(100, 3, 0, T0, "a");
        assert_eq!(target(&one, &behind, behind.last().unwrap()), None);
    }

    #[test]
    fn alignment_needs_the_same_media_time_and_configuration() {
        let a = probed(0, 4, 0, T0, "a");
        assert!(aligned([Some(&a), Some(&probed(50, 3, SEG, T0, "a"))]));
        assert!(!aligned([
            Some(&a),
            Some(&probed(50, 3, SEG + 1501, T0, "a"))
        ]));
        assert!(!aligned([Some(&a), Some(&probed(50, 3, SEG, T0, "b"))]));
        assert!(!aligned([Some(&a), None]));
    }

    #[test]
    fn a_lagging_copy_fills_a_number_a_returning_active_input_skipped() {
        let log = SwitchLog::starting_with(InputId::PRIMARY, T0);
        // Input 1 restarted ahead: it has 0-3, then 5 (media time of segment 5); input 2 lags
        // and now commits its copy of 4.
        let mut one = claimed(probed(0, 6, 0, T0, "a"));
        one.segments.remove(4);
        let two = probed(100, 5, 0, T0, "a");
        let s = two.last().unwrap();
        let n = claim_target(
            &log,
            InputId::BACKUP,
            &two,
            Some(&one),
            s,
            T0 + 10_000,
            MAX_MS,
        );
        assert_eq!(n, Some(4));
    }

    #[test]
    fn a_listed_fill_stays_when_the_record_input_stops_claiming() {
        let log = SwitchLog::starting_with(InputId::PRIMARY, T0);
        // Input 1 skipped 2, which input 2's copy filled; input 1's newest copies carry no
        // claim any more (input 2 stopped delivering).
        let mut one = claimed(probed(0, 6, 0, T0, "a"));
        one.segments.remove(2);
        for s in &mut one.segments[3..] {
            s.claim = None;
        }
        let mut two = probed(0, 3, 0, T0, "a");
        two.segments[2].claim = Some(Claim { out: 2, won: true });
        let seqs: Vec<(u64, u8)> = output_segments(&log, [Some(&one), Some(&two)])
            .iter()
            .map(|o| (o.seq, o.input.number()))
            .collect();
        assert_eq!(seqs, [(0, 1), (1, 1), (2, 2), (3, 1), (4, 1), (5, 1)]);
    }

    #[test]
    fn a_break_waits_only_for_a_fill_that_may_come() {
        let log = SwitchLog::starting_with(InputId::PRIMARY, T0);
        // Input 1 restarted at media segment 6 after 0-4; input 2 has delivered 0-4 so far.
        let mut restart = probed(6, 1, 6 * SEG, T0 + 14_000, "a").segments.remove(0);
        restart.discontinuity = true;
        let two = probed(0, 5, 0, T0 + 2000, "a");
        let now = T0 + 14_000;
        let waits = |log: &SwitchLog, input, two: &Timeline, s: &Segment, now| {
            awaits_fill(log, input, Some(two), s, now, MAX_MS)
        };
        assert!(waits(&log, InputId::PRIMARY, &two, &restart, now));
        // Not the active input, no break, input 2 silent, or another configuration: no wait.
        assert!(!waits(&log, InputId::BACKUP, &two, &restart, now));
        let continuous = Segment {
            discontinuity: false,
            ..restart.clone()
        };
        assert!(!waits(&log, InputId::PRIMARY, &two, &continuous, now));
        assert!(!waits(
            &log,
            InputId::PRIMARY,
            &two,
            &restart,
            T0 + 10_000 + MAX_MS + 1
        ));
        let other_init = probed(0, 5, 0, T0 + 2000, "b");
        assert!(!waits(&log, InputId::PRIMARY, &other_init, &restart, now));
        // Input 2 reached the break (its copy of 5 ends there): decided now.
        let reached = probed(0, 6, 0, T0 + 2000, "a");
        assert!(!waits(&log, InputId::PRIMARY, &reached, &restart, now));
        // More than three segments behind, or on another clock: nothing to wait for.
        let far = probed(0, 2, 0, T0 + 12_000, "a");
        assert!(!waits(&log, InputId::PRIMARY, &far, &restart, now));
        assert!(!awaits_fill(
            &log,
            InputId::PRIMARY,
            None,
            &restart,
            now,
            MAX_MS
        ));
    }
}
