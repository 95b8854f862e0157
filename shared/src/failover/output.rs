//! The output timeline of one rendition, assembled from the inputs' timelines by the switch log.

use super::SwitchLog;
use crate::model::InputId;
use crate::timeline::{Segment, Timeline};
use std::collections::BTreeMap;

/// A segment as the output numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputSegment<'a> {
    pub seq: u64,
    pub input: InputId,
    pub segment: &'a Segment,
    pub discontinuity: bool,
}

#[cfg(test)]
impl<'a> OutputSegment<'a> {
    /// `segment` under its own number, from input 1, with no discontinuity (unit tests).
    pub(crate) fn primary(segment: &'a Segment) -> Self {
        OutputSegment {
            seq: segment.seq,
            input: InputId::PRIMARY,
            segment,
            discontinuity: false,
        }
    }
}

/// Every output segment of a rendition, in order. `timelines` is indexed by input (1, 2).
///
/// Within each switch record's range the record's input serves, except where first arrival
/// decided otherwise ([`super::first_arrival`]): a copy that lost its claim is replaced by the
/// other input's winning copy (left out until that copy's timeline lists it), and winning
/// copies of numbers the record's input does not have fill in while that input is claiming.
pub fn output_segments<'a>(
    log: &SwitchLog,
    timelines: [Option<&'a Timeline>; 2],
) -> Vec<OutputSegment<'a>> {
    let mut out = Vec::new();
    for (i, record) in log.records.iter().enumerate() {
        let end = log.records.get(i + 1).map_or(u64::MAX, |r| r.from_seq);
        let input = record.input_id();
        let Some(timeline) = timelines[input.index()] else {
            continue;
        };
        let in_range = |seq: &u64| (record.from_seq..end).contains(seq);
        let other = input.other();
        let mut winners: BTreeMap<u64, &Segment> = timelines[other.index()]
            .into_iter()
            .flat_map(|t| &t.segments)
            .filter_map(|s| match s.claim {
                Some(c) if c.won && in_range(&c.out) => Some((c.out, s)),
                _ => None,
            })
            .collect();
        let start = out.len();
        for segment in &timeline.segments {
            let Some(seq) = record.output_seq(segment.seq).filter(in_range) else {
                continue;
            };
            let opening = record.discontinuity && seq == record.from_seq;
            let winner = winners.remove(&seq);
            let lost = segment.claim.is_some_and(|c| !c.won && c.out == seq);
            let (input, segment, discontinuity) = match (lost, winner) {
                (true, Some(w)) => (other, w, segment.discontinuity || opening),
                (true, None) => continue,
                (false, _) => (input, segment, segment.discontinuity || opening),
            };
            out.push(OutputSegment {
                seq,
                input,
                segment,
                discontinuity,
            });
        }
        // Numbers only the other input delivered (a skipped segment, a dead encoder): listed
        // while the record's input claims, so its own later copy can never replace them.
        // A fill below the record input's newest number filled a hole in what was listed:
        // it stays. Beyond it, fills count only while that input claims.
        let newest_own = out[start..]
            .iter()
            .filter(|o| o.input == input)
            .map(|o| o.seq)
            .max();
        let claiming = timeline.last().is_some_and(|s| s.claim.is_some());
        winners.retain(|seq, _| claiming || newest_own.is_some_and(|n| *seq < n));
        if !winners.is_empty() {
            let fills: Vec<u64> = winners.keys().copied().collect();
            for (seq, segment) in winners {
                out.push(OutputSegment {
                    seq,
                    input: other,
                    segment,
                    discontinuity: record.discontinuity && seq == record.from_seq,
                });
            }
            out[start..].sort_by_key(|o| o.seq);
            drop_out_of_order(&mut out, start, &fills);
        }
    }
    out
}

/// Removes fill-ins (`fills`, output numbers from `start` on) whose media time does not lie
/// between their neighbours': a claim can fill a hole, never take the output back in time.
fn drop_out_of_order(out: &mut Vec<OutputSegment<'_>>, start: usize, fills: &[u64]) {
    let mut i = start;
    while i < out.len() {
        let media = |j: usize| out.get(j).and_then(|o| o.segment.media_start);
        let fill = fills.contains(&out[i].seq);
        let after_previous = match (i.checked_sub(1).and_then(media), media(i)) {
            (Some(p), Some(m)) => m > p,
            _ => true,
        };
        let before_next = match (media(i), media(i + 1)) {
            (Some(m), Some(n)) => m < n,
            _ => true,
        };
        if fill && !(after_previous && before_next) {
            out.remove(i);
        } else {
            i += 1;
        }
    }
}

/// Output discontinuity tags on segments numbered `n` or lower (pruned ones included), for
/// EXT-X-DISCONTINUITY-SEQUENCE.
pub fn discontinuities_through(
    log: &SwitchLog,
    timelines: [Option<&Timeline>; 2],
    rendition: &str,
    n: u64,
) -> u64 {
    let Some((record, _)) = log.record_for(n) else {
        return 0;
    };
    let base = record.bases.get(rendition).copied().unwrap_or_default();
    let Some(timeline) = timelines[record.input_id().index()] else {
        return base.output;
    };
    let through = record
        .input_seq(n)
        .map_or(0, |s| timeline.discontinuities_through(s));
    (base.output + base.extra + through).saturating_sub(base.input)
}
