use super::*;

fn seg(seq: u64, uri: &str, seconds: u64, disc: bool) -> Segment {
    Segment {
        seq,
        enc_seq: seq,
        uri: uri.into(),
        key: format!("k/{uri}"),
        duration: seconds * TIMESCALE,
        size: 1000,
        pdt_ms: 0,
        media_start: None,
        arrived_ms: 0,
        discontinuity: disc,
        tracks: Vec::new(),
        init_key: None,
        ts_cc: None,
        claim: None,
    }
}

fn timeline(n: u64) -> Timeline {
    let mut t = Timeline::default();
    for i in 0..n {
        t.push(seg(i, &format!("s{i}.ts"), 2, false));
    }
    t
}

#[test]
fn first_playlist_takes_everything() {
    let t = Timeline::default();
    assert_eq!(
        plan_append(&t, 5, &["a", "b"]),
        AppendPlan::Continue {
            from: 0,
            gap: false
        }
    );
}

#[test]
fn continues_after_last_known_segment() {
    let t = timeline(3); // s0..s2
    assert_eq!(
        plan_append(&t, 1, &["s1.ts", "s2.ts", "s3.ts"]),
        AppendPlan::Continue {
            from: 2,
            gap: false
        }
    );
    // The same playlist again brings nothing new.
    assert_eq!(
        plan_append(&t, 0, &["s0.ts", "s1.ts", "s2.ts"]),
        AppendPlan::Continue {
            from: 3,
            gap: false
        }
    );
}

#[test]
fn sequence_jump_is_a_gap() {
    let t = timeline(3);
    assert_eq!(
        plan_append(&t, 3, &["s3.ts"]),
        AppendPlan::Continue {
            from: 0,
            gap: false
        }
    );
    assert_eq!(
        plan_append(&t, 7, &["s7.ts"]),
        AppendPlan::Continue { from: 0, gap: true }
    );
}

#[test]
fn restart_with_reused_names_resyncs() {
    let t = timeline(3);
    // Encoder restarted at 0: s0.ts is a new file with an old name.
    assert_eq!(plan_append(&t, 0, &["s0.ts"]), AppendPlan::Resync);
    // Same sequence number, different URI.
    assert_eq!(plan_append(&t, 2, &["other.ts"]), AppendPlan::Resync);
}

#[test]
fn target_duration_covers_rounded_durations() {
    let mut t = Timeline::default();
    let mut s = seg(0, "a", 2, false);
    s.duration = 2 * TIMESCALE + TIMESCALE / 2; // 2.5 s rounds to 3
    t.push(s);
    t.push(seg(1, "b", 2, false));
    assert_eq!(t.target_duration, 3);
}

#[test]
fn prune_keeps_the_requested_duration_and_counts_discontinuities() {
    let mut t = Timeline::default();
    for i in 0..10 {
        t.push(seg(i, &format!("s{i}"), 2, i == 2));
    }
    assert_eq!(t.prunable(6 * TIMESCALE), 7);
    let removed = t.prune(6 * TIMESCALE);
    assert_eq!(removed.len(), 7);
    assert_eq!(t.prunable(6 * TIMESCALE), 0);
    assert_eq!(t.segments.len(), 3);
    assert_eq!(t.segments[0].seq, 7);
    assert_eq!(t.discontinuity_sequence, 1);
    assert_eq!(t.find(8).map(|s| s.uri.as_str()), Some("s8"));
    assert!(t.find(6).is_none());
    assert!(t.find(10).is_none());
}

#[test]
fn prune_caps_entry_count() {
    let mut t = Timeline::default();
    for i in 0..(MAX_ENTRIES as u64 + 10) {
        t.push(seg(i, "s", 1, false));
    }
    assert_eq!(t.prunable(u64::MAX), 10);
    t.prune(u64::MAX);
    assert_eq!(t.segments.len(), MAX_ENTRIES);
}
