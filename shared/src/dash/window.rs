//! Which segments a DASH MPD lists: the live window, or a time-shift window chosen exactly as
//! for HLS ([`crate::timeshift::select`]).

use crate::error::OriginResult;
use crate::failover::OutputSegment;
use crate::timeline::TIMESCALE;
use crate::timeshift::{select, select_like, TimeShift};
use std::ops::RangeInclusive;

/// The output segments an MPD lists for one representation, as a range of `all`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpdSelection {
    pub range: std::ops::Range<usize>,
    /// The window has ended (`vodend`, or `end` in the past): the MPD is final.
    pub finished: bool,
    /// Content exists after the window: what it lists can no longer change.
    pub complete: bool,
}

/// The newest segments of `all` that span `window_s` (the MPD's live window).
fn newest_within(all: &[OutputSegment<'_>], window_s: u64) -> usize {
    let limit = window_s * TIMESCALE;
    let mut total = 0;
    let mut n = 0;
    for s in all.iter().rev() {
        if n > 0 && total + s.segment.duration > limit {
            break;
        }
        total += s.segment.duration;
        n += 1;
    }
    n
}

/// Selects one representation's segments from `all` (in order): the live window of
/// `window_s` seconds without a time-shift, otherwise what [`select`] picks for HLS, so a
/// DASH and an HLS endpoint list the same segments for the same parameters. `like`: the
/// output numbers a fixed window selected on the first representation; every other one lists
/// the same numbers (program date times are each rendition's own arrival times, and the
/// representations of an adaptation set must stay segment-aligned).
pub fn select_mpd(
    all: &[OutputSegment<'_>],
    shift: Option<&TimeShift>,
    now_ms: i64,
    window_s: u64,
    like: Option<&RangeInclusive<u64>>,
) -> OriginResult<MpdSelection> {
    let Some(shift) = shift else {
        let keep = newest_within(all, window_s);
        return Ok(MpdSelection {
            range: all.len() - keep..all.len(),
            finished: false,
            complete: false,
        });
    };
    let live = |s: &'_ [OutputSegment<'_>]| s.len() - newest_within(s, window_s);
    let selection = match like {
        Some(seqs) => select_like(all, seqs, shift, now_ms)?,
        None => select(all, shift, now_ms, |s| &s[live(s)..])?,
    };
    let from = selection
        .segments
        .first()
        .map_or(0, |f| all.partition_point(|s| s.seq < f.seq));
    let to = from + selection.segments.len();
    Ok(MpdSelection {
        range: from..to,
        finished: selection.end_list,
        complete: selection.end_list && to < all.len(),
    })
}

/// The output numbers a fixed window (`start`) listed, for [`select_mpd`]'s `like`.
pub fn window_of(
    all: &[OutputSegment<'_>],
    selection: &MpdSelection,
    shift: &TimeShift,
) -> Option<RangeInclusive<u64>> {
    if !matches!(shift, TimeShift::Window { .. }) {
        return None;
    }
    let listed = all.get(selection.range.clone())?;
    Some(listed.first()?.seq..=listed.last()?.seq)
}

/// A static MPD (`vodend`) rather than a dynamic one.
pub fn is_vod(shift: &TimeShift) -> bool {
    matches!(shift, TimeShift::Window { vod: true, .. })
}

/// How far `availabilityStartTime` moves past the epoch. An `offset` presentation is
/// the live one shifted later in wall-clock time, so every client, whether it takes the
/// live edge from the wall clock (dash.js) or from the newest listed segment (Shaka),
/// lands `offset` seconds behind.
pub fn availability_shift_ms(shift: &TimeShift) -> i64 {
    match *shift {
        TimeShift::Offset { offset_s, .. } => {
            i64::try_from(offset_s.saturating_mul(1000)).unwrap_or(i64::MAX)
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests;
