//! What follows new segments on a timeline, whatever the input protocol: the timeline pruned
//! and stored, the segments that fell out archived or deleted, the failover decision.

use crate::context::Ctx;
use crate::error::OriginResult;
use crate::ingest::claim;
use crate::ingest::switch::{consider_switch, read_log};
use crate::ingest_memory::IngestMemory;
use crate::model::{Channel, InputId};
use crate::names::Rendition;
use crate::repo;
use crate::stats::{DataPoint, IngestPoint};
use crate::store::{KvStore, ObjectStore};
use crate::timeline::{Timeline, TIMESCALE};

/// Stores `timeline` (at `key`, read at `version`) after its `added` newest segments were
/// appended. `false`, with nothing stored, when another request stored the timeline since it
/// was read: the caller applies its request again to what is stored now
/// ([`COMMIT_ATTEMPTS`]). With `memory`, the stored timeline is kept there with its new
/// version, and a lost write makes the isolate read the key again.
#[allow(clippy::too_many_arguments)]
pub(super) async fn commit<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    (channel, input, memory): (&Channel, InputId, Option<&IngestMemory>),
    rendition: &Rendition,
    (key, version): (&str, Option<&str>),
    mut timeline: Timeline,
    added: usize,
    now_ms: u64,
) -> OriginResult<bool> {
    let log = read_log(cx, channel, input, now_ms).await?;
    let other = claim::claim_new(
        cx,
        channel,
        input,
        rendition,
        &mut timeline,
        added,
        &log.0,
        now_ms,
    )
    .await?;
    let keep = channel.max_playlist_duration * TIMESCALE;
    let archived = channel.archive_retention_s > 0;
    // With time-shift, pruned segments go to the archive in batches, and before the timeline
    // that no longer lists them is stored: a segment is always in one of the two.
    let removed = if !archived || crate::archive::append_due(&timeline, keep) {
        timeline.prune(keep)
    } else {
        Vec::new()
    };
    if archived && !removed.is_empty() {
        crate::archive::append(cx.objects, channel, input, rendition, &removed).await?;
    }
    let Some(stored) = repo::object_put_if_version(cx.objects, key, &timeline, version).await?
    else {
        if let Some(memory) = memory {
            memory.stale_timeline(key, now_ms);
        }
        return Ok(false);
    };
    if let Some(memory) = memory {
        memory.keep_timeline(key, &timeline, &stored, now_ms);
    }
    // Counted once stored: a commit that failed or lost before brought nothing.
    record_ingest(cx, channel, input, rendition, &timeline, added, now_ms);
    claim::release(cx, channel, rendition, &removed).await?;
    if !archived {
        for s in &removed {
            cx.objects.delete(&s.key).await?;
            if let Some(memory) = memory {
                memory.forget_upload(&s.key);
            }
        }
    }
    // The other input's timeline of the rendition is what says whether it is alive: its
    // newest segment's arrival (docs/timeline.md, "Input health").
    consider_switch(
        cx,
        channel,
        input,
        (&timeline.segments, added),
        other.as_ref(),
        log,
        now_ms,
    )
    .await?;
    Ok(true)
}

/// How many times one ingest request is applied to the stored timeline before it gives up
/// (409): each attempt lost only to another request of the same rendition that committed in
/// between, so more than a few means the encoder sends far faster than it can be stored.
pub(super) const COMMIT_ATTEMPTS: usize = 4;

/// The answer when every attempt lost the race ([`COMMIT_ATTEMPTS`]).
pub(super) fn too_many_writers(rendition: &Rendition) -> crate::error::OriginError {
    crate::error::OriginError::Conflict(format!(
        "rendition {rendition}: {COMMIT_ATTEMPTS} concurrent updates in a row; retry the request"
    ))
}

/// The statistics data point of the `added` newest segments (docs/stats.md): their stored
/// size and media duration, for the input's bitrate and stream sessions.
fn record_ingest<K, O>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    input: InputId,
    rendition: &Rendition,
    timeline: &Timeline,
    added: usize,
    now_ms: u64,
) {
    // The newest `added` (pruning only removes the oldest).
    let new = &timeline.segments[timeline.segments.len().saturating_sub(added)..];
    if new.is_empty() || !cx.stats.enabled() {
        return;
    }
    let bytes = new.iter().fold(0u64, |sum, s| sum.saturating_add(s.size));
    let ticks = new
        .iter()
        .fold(0u64, |sum, s| sum.saturating_add(s.duration));
    cx.stats.record(&DataPoint::Ingest(IngestPoint {
        at_ms: now_ms,
        group: channel.group.as_str().to_owned(),
        channel: channel.name.as_str().to_owned(),
        input: input.number(),
        rendition: rendition.as_str().to_owned(),
        bytes,
        duration_ms: ticks / (TIMESCALE / 1000),
    }));
}
