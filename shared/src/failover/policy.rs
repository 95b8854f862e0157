//! Input health: an input is unhealthy when nothing new arrived for longer than the channel's
//! `max_segment_duration`. What arrived when is each timeline's newest segment
//! (`arrived_ms`), which ingest stores anyway.

/// Whether an input whose newest segment arrived at `last_arrival_ms` is healthy at `now_ms`.
pub fn is_healthy(last_arrival_ms: Option<u64>, now_ms: u64, max_segment_duration_s: u64) -> bool {
    last_arrival_ms
        .is_some_and(|t| now_ms.saturating_sub(t) <= max_segment_duration_s.saturating_mul(1000))
}
