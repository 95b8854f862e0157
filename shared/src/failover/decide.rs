//! Where a switch to another input takes effect on the output timeline.

use super::{discontinuities_through, DiscontinuityBase, SwitchLog, SwitchRecord};
use crate::model::InputId;
use crate::names::Rendition;
use crate::timeline::{Segment, Timeline};
use std::collections::BTreeMap;

/// Two inputs' segments are aligned when their media times differ by at most this many 90 kHz
/// ticks: half a frame at 30 frames per second.
pub const ALIGNMENT_TOLERANCE: u64 = 1500;

/// The timelines of one rendition, indexed by input (1, 2).
pub type RenditionTimelines = [Option<Timeline>; 2];

/// The outcome of [`plan_switch`].
pub type SwitchPlan = Option<SwitchRecord>;

/// Media times within this distance (90 kHz: five minutes) of each other come from related
/// clocks: the same source on both encoders, possibly with one lagging.
pub const RELATED_WINDOW: u64 = 300 * 90_000;

/// Plans a switch of the output to input `to`, which the caller has found healthy while the
/// active input is confirmed unhealthy. `None`: `to` is already active, has no content, or is
/// behind on the same clock (wait for it rather than replay older media).
///
/// - Aligned: when `to` has a segment starting where the active input's lowest rendition
///   ended, the switch takes effect right there for every rendition, with no discontinuity
///   (renditions the active input got further in continue from `to` at the same media time).
/// - Same clock, other boundaries: `to`'s first segment at or after the end of what was
///   served, after a discontinuity.
/// - Unrelated clocks: `to`'s first segment that arrived after the last one served.
pub fn plan_switch(
    log: &SwitchLog,
    to: InputId,
    renditions: &BTreeMap<Rendition, RenditionTimelines>,
    now_ms: u64,
    reason: String,
) -> SwitchPlan {
    let active = log.active()?;
    let from = active.input_id();
    if from == to {
        return None;
    }
    let last_outs: Vec<u64> = renditions
        .values()
        .filter_map(|t| active.output_seq(t[from.index()].as_ref()?.last()?.seq))
        .filter(|o| *o >= active.from_seq)
        .collect();
    let n_min = last_outs.iter().min().map_or(active.from_seq, |l| l + 1);
    let n_max = last_outs.iter().max().map_or(active.from_seq, |l| l + 1);
    // What the active input served at output `n - 1`, in some rendition.
    let served = |n: u64| -> Option<(&str, &Segment)> {
        let seq = active.input_seq(n.checked_sub(1)?)?;
        renditions
            .iter()
            .find_map(|(r, t)| Some((r.as_str(), t[from.index()].as_ref()?.find(seq)?)))
    };
    let end_of = |s: &Segment| Some(s.media_start? + s.duration);
    let target_of = |r: Option<&str>| -> Option<&Timeline> {
        r.and_then(|r| renditions.get(r)?[to.index()].as_ref())
            .or_else(|| renditions.values().find_map(|t| t[to.index()].as_ref()))
    };
    let aligned = served(n_min).and_then(|(r, last)| {
        let end = end_of(last)?;
        let target = target_of(Some(r))?;
        target.segments.iter().find(|s| {
            s.media_start
                .is_some_and(|m| m.abs_diff(end) <= ALIGNMENT_TOLERANCE)
        })
    });
    let (n, first, discontinuity) = match aligned {
        Some(s) => (n_min, s, false),
        None => {
            let reference = served(n_max);
            let target = target_of(reference.map(|(r, _)| r))?;
            let end = reference.and_then(|(_, last)| end_of(last));
            let related = end.filter(|&e| {
                target.segments.iter().any(|s| {
                    s.media_start
                        .is_some_and(|m| m.abs_diff(e) <= RELATED_WINDOW)
                })
            });
            let first = match related {
                Some(end) => {
                    // Same clock: never go back in media time; wait while `to` is behind.
                    let start = end.saturating_sub(ALIGNMENT_TOLERANCE);
                    target
                        .segments
                        .iter()
                        .find(|s| s.media_start.is_some_and(|m| m >= start))?
                }
                None => {
                    let after = reference.map_or(0, |(_, last)| last.arrived_ms);
                    target
                        .segments
                        .iter()
                        .find(|s| s.arrived_ms > after)
                        .or(target.last())?
                }
            };
            (n_max, first, true)
        }
    };
    let m = first.seq;
    let seq_delta = i64::try_from(i128::from(n) - i128::from(m)).ok()?;
    let mut bases = BTreeMap::new();
    for (r, t) in renditions {
        let refs = [t[0].as_ref(), t[1].as_ref()];
        let output = n
            .checked_sub(1)
            .map_or(0, |p| discontinuities_through(log, refs, r, p));
        let target = t[to.index()].as_ref();
        let input = target.map_or(0, |t| match m.checked_sub(1) {
            Some(p) => t.discontinuities_through(p),
            None => t.discontinuity_sequence,
        });
        let tagged = target
            .and_then(|t| t.find(m))
            .is_some_and(|s| s.discontinuity);
        let extra = u64::from(discontinuity && !tagged);
        bases.insert(
            r.to_string(),
            DiscontinuityBase {
                output,
                input,
                extra,
            },
        );
    }
    Some(SwitchRecord {
        input: to.number(),
        from_seq: n,
        seq_delta,
        discontinuity,
        at_ms: now_ms,
        media_time: first.media_start,
        reason,
        bases,
    })
}
