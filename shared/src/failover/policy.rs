//! Input health: an input is unhealthy when nothing new arrived for longer than the channel's
//! `max_segment_duration`. Ingest records each rendition's [`Heartbeat`].

use serde::{Deserialize, Serialize};

/// Liveness of one rendition of one input, written once per playlist that brought segments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub arrived_ms: u64,
    pub last_seq: u64,
    pub last_pdt_ms: i64,
    /// End of the last segment in media time (90 kHz), when its PTS was read.
    #[serde(default)]
    pub media_end: Option<u64>,
    /// Bitrate of the last segment, bits per second.
    #[serde(default)]
    pub bitrate: u64,
}

/// Whether an input whose newest segment arrived at `last_arrival_ms` is healthy at `now_ms`.
pub fn is_healthy(last_arrival_ms: Option<u64>, now_ms: u64, max_segment_duration_s: u64) -> bool {
    last_arrival_ms
        .is_some_and(|t| now_ms.saturating_sub(t) <= max_segment_duration_s.saturating_mul(1000))
}
