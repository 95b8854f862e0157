//! First arrival at ingest (docs/timeline.md, "First arrival"): each new copy that should
//! claim its output number does so with a create-if-absent write, before its timeline is
//! stored, and the timeline entry records whether it won.

use crate::context::Ctx;
use crate::error::OriginResult;
use crate::failover::first_arrival::{self, claim_target, realign_shift, ClaimRecord};
use crate::failover::{SwitchLog, ALIGNMENT_TOLERANCE};
use crate::keys;
use crate::model::{Channel, InputId};
use crate::names::Rendition;
use crate::repo;
use crate::store::{KvStore, Metadata, ObjectStore};
use crate::timeline::{Claim, Segment, Timeline};

/// Claims output numbers for the `added` newest segments of `timeline` where first arrival
/// applies. Reads the other input's timeline of the rendition once (returned, for the
/// failover decision), and writes one object per claimed segment (plus a read when the claim
/// was already taken).
#[allow(clippy::too_many_arguments)]
pub(super) async fn claim_new<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    input: InputId,
    rendition: &Rendition,
    timeline: &mut Timeline,
    added: usize,
    log: &SwitchLog,
    now_ms: u64,
) -> OriginResult<Option<Timeline>> {
    let other_key = keys::timeline(&channel.id, input.other(), rendition);
    let other: Option<Timeline> = repo::object_get(cx.objects, &other_key).await?;
    let Some(other) = other else {
        return Ok(None);
    };
    let max_ms = channel.max_segment_duration.saturating_mul(1000);
    let first = timeline.segments.len().saturating_sub(added);
    for i in first..timeline.segments.len() {
        if let Some(shift) = realign_shift(log, input, &other, &timeline.segments[i]) {
            for s in &mut timeline.segments[i..] {
                s.seq += shift;
            }
            timeline.seq_offset += i128::from(shift);
        }
        let segment = &timeline.segments[i];
        let Some(n) = claim_target(log, input, timeline, Some(&other), segment, now_ms, max_ms)
        else {
            continue;
        };
        let record = ClaimRecord {
            input: input.number(),
            seq: segment.seq,
            media_start: segment.media_start,
        };
        let key = keys::claim(&channel.id, rendition, n);
        let body = serde_json::to_vec(&record).map_err(|e| repo::corrupt(&key, &e))?;
        let won = cx
            .objects
            .put_if_version(&key, &body, &Metadata::new(), None)
            .await?
            .is_some()
            || {
                // Taken: by the other input's copy, or by this one in a commit that failed
                // after its claim (the encoder's retry then finds its own record).
                let holder: Option<ClaimRecord> = repo::object_get(cx.objects, &key).await?;
                holder == Some(record)
            };
        let continues_fill = filled_before(&other, n, segment.media_start);
        let segment = &mut timeline.segments[i];
        segment.claim = Some(Claim { out: n, won });
        // A gap in this input that the other input's copy filled is no break in the output.
        segment.discontinuity &= !continues_fill;
    }
    Ok(Some(other))
}

/// Whether `segment`, about to be committed by `input` after a break in its timeline, should
/// wait for the other input's copies ([`first_arrival::awaits_fill`]). Reads the switch log
/// and the other input's timeline of the rendition: only when a break is about to be
/// committed.
pub(super) async fn awaits_fill<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    input: InputId,
    rendition: &Rendition,
    segment: &Segment,
    now_ms: u64,
) -> OriginResult<bool> {
    let Some(log) =
        repo::object_get::<SwitchLog>(cx.objects, &keys::switch_log(&channel.id)).await?
    else {
        return Ok(false);
    };
    let other_key = keys::timeline(&channel.id, input.other(), rendition);
    let other: Option<Timeline> = repo::object_get(cx.objects, &other_key).await?;
    let max_ms = channel.max_segment_duration.saturating_mul(1000);
    Ok(first_arrival::awaits_fill(
        &log,
        input,
        other.as_ref(),
        segment,
        now_ms,
        max_ms,
    ))
}

/// Whether the other input's copy won output `n - 1` and ends where `media_start` begins.
fn filled_before(other: &Timeline, n: u64, media_start: Option<u64>) -> bool {
    let (Some(previous), Some(m)) = (n.checked_sub(1), media_start) else {
        return false;
    };
    other.segments.iter().rev().any(|s| {
        s.claim.is_some_and(|c| c.won && c.out == previous)
            && s.media_start
                .is_some_and(|x| (x + s.duration).abs_diff(m) <= ALIGNMENT_TOLERANCE)
    })
}

/// Deletes the claims won by segments that left the timeline (their numbers are decided for
/// good: the marks travel with the segments into the archive).
pub(super) async fn release<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    rendition: &Rendition,
    removed: &[crate::timeline::Segment],
) -> OriginResult<()> {
    for c in removed.iter().filter_map(|s| s.claim).filter(|c| c.won) {
        cx.objects
            .delete(&keys::claim(&channel.id, rendition, c.out))
            .await?;
    }
    Ok(())
}
