//! Blocking playlist reload at segment granularity (RFC 8216bis 6.2.5.2): a live rendition
//! playlist asked for with `_HLS_msn=n` is answered once it lists segment `n`, so a player
//! learns of a segment as soon as ingest commits it instead of at its next scheduled reload.
//!
//! The core holds no state between requests, so a waiting request re-reads what the playlist
//! is computed from (the switch log and the rendition's two timelines) at most [`MAX_POLLS`]
//! times, and parses and renders only when those bytes changed. Partial segments are not
//! published (no `EXT-X-PART`), so `_HLS_part` asks for nothing beyond its segment
//! (docs/timeline.md, "Blocking playlist reload").

use super::playlist::{render, Rendered};
use super::{Play, RenditionData};
use crate::context::Ctx;
use crate::error::{OriginError, OriginResult};
use crate::http::query_param;
use crate::media::mp4::TrackKind;
use crate::names::Rendition;
use crate::repo;
use crate::store::{KvStore, ObjectStore};

/// The delivery directive naming the segment to wait for.
pub const MSN_PARAM: &str = "_HLS_msn";
/// The delivery directive naming a partial segment of it.
pub const PART_PARAM: &str = "_HLS_part";

/// A request may ask for at most this many segments past the playlist's last (RFC 8216bis
/// 6.2.5.2: "the last Media Segment in the current Playlist plus two"); further is a 400.
pub const MAX_MSN_AHEAD: u64 = 2;
/// Target durations a request waits before a 503 (RFC 8216bis 6.2.5.2).
pub const WAIT_TARGET_DURATIONS: u64 = 3;
/// Most re-reads of one waiting request: each costs [`READS_PER_POLL`] object reads, so a
/// request that waits the whole time makes 2 key-value and 39 object reads, within the
/// 50 subrequests a Cloudflare Worker on the free plan may make.
pub const MAX_POLLS: u64 = 12;
/// Object reads per poll: the switch log and the rendition's timeline on each input.
pub const READS_PER_POLL: u64 = 3;
/// Shortest pause between polls, ms: short segments are not polled faster than this.
pub const MIN_POLL_MS: u64 = 250;

/// The segment a live playlist request waits for: `_HLS_msn`, or `None` without directives.
/// `_HLS_part` alone, or a directive that is not a number, is a 400 (RFC 8216bis 6.2.5.2).
pub fn requested_msn(query: &str) -> OriginResult<Option<u64>> {
    let number = |name: &'static str| -> OriginResult<Option<u64>> {
        query_param(query, name)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| OriginError::invalid(name, "a media sequence number"))
            })
            .transpose()
    };
    let msn = number(MSN_PARAM)?;
    let part = number(PART_PARAM)?;
    if msn.is_none() && part.is_some() {
        return Err(OriginError::BadRequest(format!(
            "`{PART_PARAM}` needs `{MSN_PARAM}`"
        )));
    }
    Ok(msn)
}

/// Pause between polls for a playlist of `target_duration_s`, ms: the wait split into at most
/// [`MAX_POLLS`] steps, none shorter than [`MIN_POLL_MS`].
pub fn poll_interval_ms(target_duration_s: u64) -> u64 {
    wait_ms(target_duration_s)
        .div_ceil(MAX_POLLS)
        .max(MIN_POLL_MS)
}

/// How long a request for a playlist of `target_duration_s` may wait, ms.
pub fn wait_ms(target_duration_s: u64) -> u64 {
    WAIT_TARGET_DURATIONS
        .saturating_mul(target_duration_s)
        .saturating_mul(1000)
}

/// The playlist of `rendition` once it lists segment `msn`: at once when it does already,
/// a 400 when `msn` is more than [`MAX_MSN_AHEAD`] past its last segment, a 503 after
/// [`wait_ms`] without it.
pub(super) async fn wait_for_segment<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    rendition: &Rendition,
    kind: Option<TrackKind>,
    msn: u64,
) -> OriginResult<Rendered> {
    let channel_id = &play.channel.id;
    let mut stored = repo::rendition_objects(cx.objects, channel_id, rendition).await?;
    let mut rendered = render(play, &RenditionData::parse(&stored)?, rendition, kind)?;
    if msn > rendered.last_msn.saturating_add(MAX_MSN_AHEAD) {
        return Err(OriginError::BadRequest(format!(
            "`{MSN_PARAM}={msn}` is more than {MAX_MSN_AHEAD} segments past the playlist's last ({})",
            rendered.last_msn
        )));
    }
    // The target duration when the wait began sets its length: it only grows.
    let limit_ms = wait_ms(rendered.target_duration);
    let interval_ms = poll_interval_ms(rendered.target_duration);
    let mut waited_ms = 0;
    while rendered.last_msn < msn {
        if waited_ms >= limit_ms {
            return Err(OriginError::ReloadTimeout { msn, waited_ms });
        }
        (cx.sleep)(interval_ms).await;
        waited_ms += interval_ms;
        let now = repo::rendition_objects(cx.objects, channel_id, rendition).await?;
        if now == stored {
            continue;
        }
        stored = now;
        let play = Play {
            now_ms: play.now_ms.saturating_add(waited_ms),
            window: play.window.clone(),
            ..*play
        };
        rendered = render(&play, &RenditionData::parse(&stored)?, rendition, kind)?;
    }
    Ok(rendered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives() {
        assert_eq!(requested_msn(""), Ok(None));
        assert_eq!(requested_msn("token=x&_HLS_msn=42"), Ok(Some(42)));
        // No partial segments are published: a part asks for its segment.
        assert_eq!(requested_msn("_HLS_msn=42&_HLS_part=3"), Ok(Some(42)));
        assert_eq!(requested_msn("_HLS_skip=YES"), Ok(None));
        assert_eq!(
            requested_msn("_HLS_part=3").map_err(|e| e.status()),
            Err(400)
        );
        assert_eq!(
            requested_msn("_HLS_msn=-1").map_err(|e| e.status()),
            Err(400)
        );
        assert_eq!(
            requested_msn("_HLS_msn=4&_HLS_part=x").map_err(|e| e.status()),
            Err(400)
        );
    }

    #[test]
    fn polls_stay_bounded() {
        for (target_s, interval_ms) in [(1, 250), (2, 500), (6, 1500), (10, 2500)] {
            assert_eq!(poll_interval_ms(target_s), interval_ms);
            assert!(wait_ms(target_s).div_ceil(poll_interval_ms(target_s)) <= MAX_POLLS);
        }
        // Sub-second polling never happens below 250 ms, even for a 0 s target.
        assert_eq!(poll_interval_ms(0), MIN_POLL_MS);
    }
}
