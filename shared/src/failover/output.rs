//! The output timeline of one rendition, assembled from the inputs' timelines by the switch log.

use super::SwitchLog;
use crate::model::InputId;
use crate::timeline::{Segment, Timeline};

/// A segment as the output numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputSegment<'a> {
    pub seq: u64,
    pub input: InputId,
    pub segment: &'a Segment,
    pub discontinuity: bool,
}

/// Every output segment of a rendition, in order. `timelines` is indexed by input (1, 2).
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
        for segment in &timeline.segments {
            let Some(seq) = record.output_seq(segment.seq) else {
                continue;
            };
            if seq < record.from_seq || seq >= end {
                continue;
            }
            out.push(OutputSegment {
                seq,
                input,
                segment,
                discontinuity: segment.discontinuity
                    || (record.discontinuity && seq == record.from_seq),
            });
        }
    }
    out
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
