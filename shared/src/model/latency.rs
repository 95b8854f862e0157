//! How far behind the live edge players are asked to stay: HLS `HOLD-BACK` and `EXT-X-START`
//! (RFC 8216bis 4.4.3.8, 4.4.2.2), DASH `suggestedPresentationDelay` (ISO/IEC 23009-1 5.3.1.2).
//! The automatic value lets a player play through a failover without a stall
//! (docs/timeline.md, "Latency").

use super::Endpoint;
use std::ops::RangeInclusive;

/// Allowed `hold_back` in seconds (`null`: automatic).
pub const HOLD_BACK: RangeInclusive<u64> = 1..=3600;

/// `HOLD-BACK` is at least three target durations (RFC 8216bis 4.4.3.8).
pub const MIN_HOLD_BACK_TARGET_DURATIONS: u64 = 3;

/// The distance behind the live edge, in seconds, at which a player plays through a failover.
/// When the active input stops, the output pauses: the other input's ingest may switch only
/// once the active input has been silent for `max_segment_duration_s`, and does so when its next
/// segment arrives, up to one target duration later. The player then sees that segment within
/// `reload_s`, the interval at which it re-reads its manifest.
pub fn ride_through_s(max_segment_duration_s: u64, target_duration_s: u64, reload_s: u64) -> u64 {
    max_segment_duration_s
        .saturating_add(target_duration_s)
        .saturating_add(reload_s)
}

impl Endpoint {
    /// HLS `HOLD-BACK`, and `EXT-X-START:TIME-OFFSET` negated, in seconds, for a live media
    /// playlist of `target_duration_s`: the endpoint's `hold_back`, or [`ride_through_s`] with
    /// a player that reloads once per target duration (RFC 8216bis 6.3.4); never below three
    /// target durations.
    pub fn hold_back_s(&self, max_segment_duration_s: u64, target_duration_s: u64) -> u64 {
        let automatic =
            || ride_through_s(max_segment_duration_s, target_duration_s, target_duration_s);
        self.hold_back
            .unwrap_or_else(automatic)
            .max(MIN_HOLD_BACK_TARGET_DURATIONS.saturating_mul(target_duration_s))
    }

    /// DASH `suggestedPresentationDelay` in seconds for segments of `target_duration_s`: the
    /// endpoint's `suggested_presentation_delay`; otherwise what [`Self::hold_back_s`] gives,
    /// with a player that re-reads the MPD every `min_update_period` when that is longer than a
    /// target duration.
    pub fn presentation_delay_s(&self, max_segment_duration_s: u64, target_duration_s: u64) -> u64 {
        if let Some(delay) = self.suggested_presentation_delay {
            return delay;
        }
        let reload_s = target_duration_s.max(self.min_update_period);
        let automatic = || ride_through_s(max_segment_duration_s, target_duration_s, reload_s);
        self.hold_back
            .unwrap_or_else(automatic)
            .max(MIN_HOLD_BACK_TARGET_DURATIONS.saturating_mul(target_duration_s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Name;

    fn endpoint() -> Endpoint {
        let n = |s| Name::parse(s).unwrap();
        Endpoint::new(n("g"), n("c"), n("e"), 0)
    }

    #[test]
    fn automatic_values_cover_the_failover_timeout() {
        let e = endpoint();
        // 15 s of silence, up to 2 s until the backup's next segment, 2 s until the reload.
        assert_eq!(e.hold_back_s(15, 2), 19);
        assert_eq!(e.presentation_delay_s(15, 2), 19);
        // A failover timeout shorter than a segment: three target durations still.
        assert_eq!(e.hold_back_s(1, 6), 18);
    }

    #[test]
    fn explicit_values_win_but_hold_back_keeps_three_target_durations() {
        let mut e = endpoint();
        e.hold_back = Some(4);
        assert_eq!(e.hold_back_s(15, 2), 6);
        assert_eq!(e.hold_back_s(15, 1), 4);
        // DASH follows an explicit hold-back unless it has its own delay.
        assert_eq!(e.presentation_delay_s(15, 1), 4);
        e.suggested_presentation_delay = Some(0);
        assert_eq!(e.presentation_delay_s(15, 2), 0);
    }

    #[test]
    fn dash_counts_a_longer_update_period_as_the_reload() {
        let mut e = endpoint();
        e.min_update_period = 10;
        assert_eq!(e.presentation_delay_s(15, 2), 15 + 2 + 10);
        assert_eq!(e.hold_back_s(15, 2), 19);
    }
}
