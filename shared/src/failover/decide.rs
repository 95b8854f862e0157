//! Where a switch to another input takes effect on the output timeline.

use super::{discontinuities_through, DiscontinuityBase, SwitchLog, SwitchRecord};
use crate::model::InputId;
use crate::timeline::{Segment, Timeline};
use std::collections::BTreeMap;

/// Two inputs' segments are aligned when their media times differ by at most this many 90 kHz
/// ticks: half a frame at 30 frames per second.
pub const ALIGNMENT_TOLERANCE: u64 = 1500;

/// The timelines of one rendition, indexed by input (1, 2).
pub type RenditionTimelines = [Option<Timeline>; 2];

/// The outcome of [`plan_switch`].
pub type SwitchPlan = Option<SwitchRecord>;

/// Plans a switch of the output to input `to`, which the caller has found healthy while the
/// active input is confirmed unhealthy. `None` when `to` is already active or has no content.
pub fn plan_switch(
    log: &SwitchLog,
    to: InputId,
    renditions: &BTreeMap<String, RenditionTimelines>,
    now_ms: u64,
    reason: String,
) -> SwitchPlan {
    let active = log.active()?;
    let from = active.input_id();
    if from == to {
        return None;
    }
    // The first output number after everything the active input has delivered.
    let last_out = renditions
        .values()
        .filter_map(|t| t[from.index()].as_ref()?.last())
        .filter_map(|s| active.output_seq(s.seq))
        .max();
    let n = last_out.map_or(active.from_seq, |l| (l + 1).max(active.from_seq));
    // What the active input served last, to continue from.
    let reference: Option<(&str, &Segment)> = n.checked_sub(1).and_then(|prev| {
        let seq = active.input_seq(prev)?;
        renditions
            .iter()
            .find_map(|(r, t)| Some((r.as_str(), t[from.index()].as_ref()?.find(seq)?)))
    });
    let target: &Timeline = match reference {
        Some((r, _)) => renditions.get(r)?[to.index()].as_ref(),
        None => None,
    }
    .or_else(|| renditions.values().find_map(|t| t[to.index()].as_ref()))?;
    let aligned = reference.and_then(|(_, last)| {
        let end = last.media_start? + last.duration;
        target.segments.iter().find(|s| {
            s.media_start
                .is_some_and(|m| m.abs_diff(end) <= ALIGNMENT_TOLERANCE)
        })
    });
    let (first, discontinuity) = match aligned {
        Some(s) => (s, false),
        None => {
            let after = reference.map_or(0, |(_, last)| last.arrived_ms);
            let s = target
                .segments
                .iter()
                .find(|s| s.arrived_ms > after)
                .or(target.last())?;
            (s, true)
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
            r.clone(),
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
