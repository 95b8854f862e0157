//! Output segments longer than the input's: `k` consecutive input segments make one output
//! segment (`k = round(segment_duration / input target duration)`, at least 1).
//!
//! Group `g` holds output numbers `g*k .. g*k + k`, so numbering is stable across requests.
//! A group ends early at a missing number or at a discontinuity; the input segments after that
//! point up to the next multiple of `k` are left out (less than one output segment of content,
//! only at discontinuities or gaps). The newest group is published once complete or once a
//! later segment exists.

use crate::failover::OutputSegment;
use crate::model::InputId;
use crate::timeline::SegmentTrack;
use crate::timeline::{rounded_seconds, Segment, TIMESCALE};

/// One output segment and the input segments it is made of.
#[derive(Debug, Clone)]
pub struct Group<'a> {
    /// The output segment number (the group index).
    pub seq: u64,
    pub members: Vec<OutputSegment<'a>>,
    /// Whether the output segment follows a discontinuity (its own, or content left out).
    pub discontinuity: bool,
    /// The output segment as a timeline entry: first member's start, summed durations.
    pub segment: Segment,
}

impl Group<'_> {
    /// A view in the shape the playlist writers take.
    pub fn output(&self) -> OutputSegment<'_> {
        OutputSegment {
            seq: self.seq,
            input: self.members.first().map_or(InputId::PRIMARY, |m| m.input),
            segment: &self.segment,
            discontinuity: self.discontinuity,
        }
    }
}

/// Input segments per output segment for a `segment_duration` (0: the input's own).
pub fn join_factor(segment_duration_s: u64, target_duration_s: u64) -> u64 {
    if segment_duration_s == 0 || target_duration_s == 0 {
        return 1;
    }
    ((segment_duration_s + target_duration_s / 2) / target_duration_s).max(1)
}

/// Groups consecutive output segments by `k`.
pub fn group<'a>(all: &[OutputSegment<'a>], k: u64) -> Vec<Group<'a>> {
    let k = k.max(1);
    let mut groups: Vec<Group<'a>> = Vec::new();
    // The newest group was cut short; the next group must say content is missing.
    let mut cut = false;
    for s in all {
        let g = s.seq / k;
        match groups.last_mut() {
            Some(last) if last.seq == g => {
                let next = last.members.last().map_or(0, |m| m.seq + 1);
                if !cut && s.seq == next && !s.discontinuity {
                    last.members.push(*s);
                } else {
                    cut = true;
                }
            }
            _ => {
                groups.push(Group {
                    seq: g,
                    members: vec![*s],
                    discontinuity: s.discontinuity || cut,
                    segment: s.segment.clone(),
                });
                cut = false;
            }
        }
    }
    // The newest group waits for its last member, unless it is final already.
    if !cut && groups.last().is_some_and(|l| (l.members.len() as u64) < k) {
        groups.pop();
    }
    for g in &mut groups {
        g.segment = joined(&g.members);
    }
    groups
}

fn joined(members: &[OutputSegment<'_>]) -> Segment {
    let first = members[0].segment;
    let mut s = first.clone();
    s.duration = members.iter().map(|m| m.segment.duration).sum();
    s.size = members.iter().map(|m| m.segment.size).sum();
    s.tracks = first
        .tracks
        .iter()
        .map(|t| SegmentTrack {
            d: members
                .iter()
                .filter_map(|m| m.segment.track(t.kind))
                .map(|x| x.d)
                .sum(),
            ..t.clone()
        })
        .collect();
    s
}

/// EXT-X-TARGETDURATION for joined segments: the input's, scaled, never below any output.
pub fn target_duration(groups: &[Group<'_>], input_target: u64, k: u64) -> u64 {
    let longest = groups
        .iter()
        .map(|g| rounded_seconds(g.segment.duration))
        .max()
        .unwrap_or(0);
    (input_target * k).max(longest).max(1)
}

/// Seconds of the newest groups to list so they span `window_s`.
pub fn newest_within(groups: &[Group<'_>], window_s: u64) -> usize {
    let limit = window_s * TIMESCALE;
    let mut total = 0;
    let mut n = 0;
    for g in groups.iter().rev() {
        if n > 0 && total + g.segment.duration > limit {
            break;
        }
        total += g.segment.duration;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failover::{output_segments, SwitchLog};
    use crate::timeline::{two_second_segment, Timeline};

    fn timeline(seqs: &[u64], disc_at: Option<u64>) -> Timeline {
        let mut t = Timeline::default();
        for &s in seqs {
            t.push(Segment {
                size: 10,
                discontinuity: disc_at == Some(s),
                ..two_second_segment(s, 0)
            });
        }
        t
    }

    fn groups_of(t: &Timeline, k: u64) -> Vec<(u64, Vec<u64>, bool)> {
        let log = SwitchLog::starting_with(InputId::PRIMARY, 0);
        let all = output_segments(&log, [Some(t), None]);
        group(&all, k)
            .iter()
            .map(|g| {
                (
                    g.seq,
                    g.members.iter().map(|m| m.seq).collect(),
                    g.discontinuity,
                )
            })
            .collect()
    }

    #[test]
    fn joins_in_stable_groups() {
        let t = timeline(&[3, 4, 5, 6, 7, 8, 9], None);
        // 9 waits for 10 and 11 to complete group 3.
        assert_eq!(
            groups_of(&t, 3),
            vec![(1, vec![3, 4, 5], false), (2, vec![6, 7, 8], false)]
        );
        assert_eq!(groups_of(&t, 1).len(), 7);
        let log = SwitchLog::starting_with(InputId::PRIMARY, 0);
        let all = output_segments(&log, [Some(&t), None]);
        let g = &group(&all, 3)[1];
        assert_eq!(
            (g.segment.duration, g.segment.pdt_ms),
            (6 * TIMESCALE, 12_000)
        );
    }

    #[test]
    fn cuts_groups_at_gaps_and_discontinuities() {
        let t = timeline(&[0, 1, 3, 4, 5, 6, 7, 8], None);
        assert_eq!(
            groups_of(&t, 3),
            vec![
                (0, vec![0, 1], false),
                (1, vec![3, 4, 5], false),
                (2, vec![6, 7, 8], false)
            ]
        );
        // 4 starts a discontinuity inside group 1: 3 stands alone, 4 and 5 are left out, and
        // group 2 carries the discontinuity.
        let t = timeline(&[0, 1, 2, 3, 4, 5, 6, 7, 8], Some(4));
        assert_eq!(
            groups_of(&t, 3),
            vec![
                (0, vec![0, 1, 2], false),
                (1, vec![3], false),
                (2, vec![6, 7, 8], true)
            ]
        );
        // A discontinuity on a group's first member is the group's.
        let t = timeline(&[0, 1, 2, 3, 4, 5], Some(3));
        assert_eq!(
            groups_of(&t, 3),
            vec![(0, vec![0, 1, 2], false), (1, vec![3, 4, 5], true)]
        );
    }

    #[test]
    fn factor_rounds_to_whole_input_segments() {
        assert_eq!(join_factor(0, 2), 1);
        assert_eq!(join_factor(6, 2), 3);
        assert_eq!(join_factor(5, 2), 3);
        assert_eq!(join_factor(1, 2), 1);
        assert_eq!(join_factor(10, 6), 2);
    }
}
