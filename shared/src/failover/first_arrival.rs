//! First-arrival output for aligned inputs (docs/timeline.md, "First arrival").
//!
//! When both inputs carry a rendition with the same codec configuration and the same segment
//! boundaries, output segment `n` is whichever copy of that media time was committed first.
//! Each copy *claims* `n` with a create-if-absent write before its timeline is stored; the
//! winner's timeline entry says it won, the loser's that it lost. Playback reads only the two
//! timelines it already reads ([`super::output_segments`]), so every edge lists the same copy.
//!
//! Who claims:
//! - the active input (the switch log's last record), for each new segment, while the other
//!   input is delivering: then a copy of the other input can never take a number the active
//!   input already listed unclaimed;
//! - the other input, only for a segment aligned with the active input's timeline (same media
//!   time within [`ALIGNMENT_TOLERANCE`], same init segment identity per track), and only
//!   while the active input's newest segment carries a claim (it is claiming too).
//!
//! Numbering, discontinuities and DASH Periods stay the switch log's: a claim only chooses
//! which input's copy of an already numbered media time is served.

use super::{SwitchLog, ALIGNMENT_TOLERANCE};
use crate::model::InputId;
use crate::timeline::{Segment, Timeline};
use serde::{Deserialize, Serialize};

/// Newest segments of the other input searched for one aligned with a new copy: enough for
/// inputs a few segments apart, bounded so a claim costs no more as timelines grow.
pub const ALIGNMENT_SEARCH: usize = 16;

/// What a claim object holds: the copy that serves the output number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRecord {
    pub input: u8,
    pub seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_start: Option<u64>,
}

/// The output number `segment` (just appended by `input` to `own`) should claim, if any.
/// `other` is the other input's timeline of the same rendition; `max_segment_duration_ms` is
/// how recent the other input's newest segment must be for it to count as delivering.
pub fn claim_target(
    log: &SwitchLog,
    input: InputId,
    own: &Timeline,
    other: Option<&Timeline>,
    segment: &Segment,
    now_ms: u64,
    max_segment_duration_ms: u64,
) -> Option<u64> {
    let active = log.active()?;
    let other = other?;
    let other_last = other.last()?;
    if active.input_id() == input {
        let delivering = now_ms.saturating_sub(other_last.arrived_ms) <= max_segment_duration_ms;
        let n = active.output_seq(segment.seq)?;
        return (delivering && n >= active.from_seq).then_some(n);
    }
    // `other` is the active input's timeline: claim only an aligned copy, while it claims.
    other_last.claim?;
    let m = segment.media_start?;
    let n = match find_aligned(other, m) {
        Some(copy) => {
            if copy.claim.is_some() || !same_configuration(copy, segment) {
                // Already decided (or not the same media): nothing to claim.
                return None;
            }
            active.output_seq(copy.seq)?
        }
        None if successor_of(other, m, segment.duration).is_some() => {
            // Behind a returning active input that skipped this media: the number before
            // the active input's copy of what follows.
            let next = successor_of(other, m, segment.duration)?;
            if !same_configuration(next, segment) {
                return None;
            }
            active.output_seq(next.seq)?.checked_sub(1)?
        }
        None => {
            // Ahead of the active input: count on from its newest segment's aligned copy.
            let last_start = other_last.media_start?;
            let i = own.segments.iter().rposition(|s| {
                s.media_start
                    .is_some_and(|x| x.abs_diff(last_start) <= ALIGNMENT_TOLERANCE)
            })?;
            let pair = &own.segments[i];
            if !same_configuration(pair, other_last) || segment.seq <= pair.seq {
                return None;
            }
            let mut path = own.segments[i + 1..]
                .iter()
                .filter(|s| s.seq <= segment.seq);
            if path.clone().any(|s| s.discontinuity) || !same_configuration(pair, segment) {
                return None;
            }
            if path.next_back().map(|s| s.seq) != Some(segment.seq) {
                return None;
            }
            active.output_seq(other_last.seq)? + (segment.seq - pair.seq)
        }
    };
    (n >= active.from_seq).then_some(n)
}

/// How far (in segments of media) the other input may be behind a break for
/// [`awaits_fill`] to wait for it: a redundant encoder a few hundred ms behind is less than
/// one segment behind; three is the ingest's wait for an overtaken upload.
pub const FILL_WAIT_SEGMENTS: u64 = 3;

/// For the active input: whether `segment`, which follows a break in its own timeline (an
/// encoder restart, skipped segments), should wait before it is committed. The break is a
/// discontinuity only if the output has nothing to fill it. While the other input carries
/// the same configuration, is delivering, and is still behind `segment`'s media time, its
/// copies of the missing media may yet arrive, and deciding now would list a discontinuity
/// the fill then makes wrong (docs/timeline.md, "A restart ahead of the fill"). The caller
/// bounds the wait.
pub fn awaits_fill(
    log: &SwitchLog,
    input: InputId,
    other: Option<&Timeline>,
    segment: &Segment,
    now_ms: u64,
    max_segment_duration_ms: u64,
) -> bool {
    let Some(active) = log.active() else {
        return false;
    };
    let (Some(last), Some(m)) = (other.and_then(Timeline::last), segment.media_start) else {
        return false;
    };
    let Some(end) = last.media_start.and_then(|x| x.checked_add(last.duration)) else {
        return false;
    };
    let behind = m.saturating_sub(end);
    active.input_id() == input
        && segment.discontinuity
        && same_configuration(last, segment)
        && now_ms.saturating_sub(last.arrived_ms) <= max_segment_duration_ms
        && behind > ALIGNMENT_TOLERANCE
        && behind <= FILL_WAIT_SEGMENTS.saturating_mul(segment.duration)
}

/// For the active input: how far `segment`'s number (and the numbers after it) must move
/// forward to be the output number the other input's claimed copy of the same media time
/// holds. An encoder that restarts, or skips segments, continues its own numbering; while the
/// other input's copies filled the output, that numbering fell behind media time.
pub fn realign_shift(
    log: &SwitchLog,
    input: InputId,
    other: &Timeline,
    segment: &Segment,
) -> Option<u64> {
    let active = log.active()?;
    if active.input_id() != input {
        return None;
    }
    let m = segment.media_start?;
    // The other input's copy of this media time, or (when it is behind) of the media just
    // before it.
    let (copy, claimed) = match find_aligned(other, m) {
        Some(copy) => (copy, copy.claim?.out),
        None => {
            let before = other
                .segments
                .iter()
                .rev()
                .take(ALIGNMENT_SEARCH)
                .find(|s| {
                    s.media_start
                        .is_some_and(|x| (x + s.duration).abs_diff(m) <= ALIGNMENT_TOLERANCE)
                })?;
            (before, before.claim?.out + 1)
        }
    };
    let current = active.output_seq(segment.seq)?;
    (claimed > current && same_configuration(copy, segment)).then(|| claimed - current)
}

/// The segment among the newest [`ALIGNMENT_SEARCH`] of `timeline` starting at media time `m`.
fn find_aligned(timeline: &Timeline, m: u64) -> Option<&Segment> {
    timeline
        .segments
        .iter()
        .rev()
        .take(ALIGNMENT_SEARCH)
        .find(|s| {
            s.media_start
                .is_some_and(|x| x.abs_diff(m) <= ALIGNMENT_TOLERANCE)
        })
}

/// The segment among the newest [`ALIGNMENT_SEARCH`] of `timeline` that starts where media
/// `m` lasting `duration` ends.
fn successor_of(timeline: &Timeline, m: u64, duration: u64) -> Option<&Segment> {
    find_aligned(timeline, m.checked_add(duration)?)
}

/// Same tracks with the same init segment identity (codec configuration), as probed.
pub fn same_configuration(a: &Segment, b: &Segment) -> bool {
    !a.tracks.is_empty()
        && a.tracks.len() == b.tracks.len()
        && a.tracks
            .iter()
            .all(|t| b.track(t.kind).is_some_and(|u| u.init == t.init))
}

/// Whether the two inputs' timelines of a rendition are aligned now: the newest segment of
/// one has an aligned copy, with the same configuration, among the other's newest.
pub fn aligned(timelines: [Option<&Timeline>; 2]) -> bool {
    let [Some(a), Some(b)] = timelines else {
        return false;
    };
    let check = |x: &Timeline, y: &Timeline| {
        x.last().is_some_and(|s| {
            s.media_start
                .and_then(|m| find_aligned(y, m))
                .is_some_and(|c| same_configuration(c, s))
        })
    };
    check(a, b) || check(b, a)
}
