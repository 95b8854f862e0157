//! Which segments of an incoming media playlist are new to a timeline.

use super::Timeline;

/// Where the new segments of an incoming playlist start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendPlan {
    /// Segments from this index on follow the timeline's last segment; `gap` when the encoder's
    /// numbering skipped segments we never saw.
    Continue { from: usize, gap: bool },
    /// The playlist does not continue the timeline (encoder restart, sequence reset): every
    /// segment not already stored is a candidate, after a discontinuity.
    Resync,
}

/// Decides from the encoder's numbering and URIs alone; the caller then confirms each
/// candidate against storage.
pub fn plan_append(timeline: &Timeline, media_sequence: u64, uris: &[&str]) -> AppendPlan {
    let Some(last) = timeline.last() else {
        return AppendPlan::Continue {
            from: 0,
            gap: false,
        };
    };
    if let Some(offset) = last.enc_seq.checked_sub(media_sequence) {
        if let Ok(i) = usize::try_from(offset) {
            if uris.get(i) == Some(&last.uri.as_str()) {
                return AppendPlan::Continue {
                    from: i + 1,
                    gap: false,
                };
            }
        }
        return AppendPlan::Resync;
    }
    if media_sequence - last.enc_seq > MAX_SEQUENCE_JUMP {
        // No encoder skips that many segments: it restarted with another numbering.
        return AppendPlan::Resync;
    }
    AppendPlan::Continue {
        from: 0,
        gap: media_sequence != last.enc_seq + 1,
    }
}

/// The largest forward jump of EXT-X-MEDIA-SEQUENCE taken as skipped segments (a day of 2 s
/// segments); a larger one is a restart with a new numbering, and our numbers stay dense.
pub const MAX_SEQUENCE_JUMP: u64 = 43_200;
