//! The archive: segments that left an input's live timeline, kept for time-shifted playback and
//! harvest while the channel's `archive_retention_s` says so. Each rendition of each input has
//! one object per 10 minutes of program date time; only that input's ingest appends to it, in
//! batches of [`APPEND_BATCH`] pruned segments, before the timeline without them is stored
//! (docs/timeshift-harvest.md, "The archive").

use crate::error::{OriginError, OriginResult};
use crate::keys;
use crate::model::{Channel, InputId};
use crate::names::Rendition;
use crate::repo;
use crate::store::ObjectStore;
use crate::timeline::{Segment, Timeline, MAX_ENTRIES};
use futures_util::future::join_all;
use std::collections::BTreeMap;

/// Length of an archive bucket: 10 minutes of program date time (300 segments of 2 s).
pub const BUCKET_MS: i64 = 600_000;

pub fn bucket_of(pdt_ms: i64) -> i64 {
    pdt_ms.div_euclid(BUCKET_MS) * BUCKET_MS
}

/// Pruned segments a timeline keeps until this many are due, so that they go to the archive
/// with one bucket read and write (two when they straddle a bucket) instead of one per segment.
/// The live timeline holds up to this many segments beyond `max_playlist_duration` meanwhile.
pub const APPEND_BATCH: usize = 10;

/// How many times an append reads a bucket again after another request wrote it in between.
const APPEND_ATTEMPTS: usize = 4;

/// Whether a timeline that keeps `keep_ticks` should be pruned into the archive now: once
/// [`APPEND_BATCH`] segments are due, or when it is over its entry cap.
pub fn append_due(timeline: &Timeline, keep_ticks: u64) -> bool {
    let due = timeline.prunable(keep_ticks);
    due >= APPEND_BATCH || (due > 0 && timeline.segments.len() > MAX_ENTRIES)
}

/// Appends pruned segments to their buckets. Called before the timeline without them is
/// stored, so that every segment is in the timeline or the archive at every moment: when that
/// write then loses to another request, the segments are in both, which readers allow (the
/// live copy wins, and appending them again adds nothing).
pub async fn append(
    objects: &impl ObjectStore,
    channel: &Channel,
    input: InputId,
    rendition: &Rendition,
    removed: &[Segment],
) -> OriginResult<()> {
    let mut by_bucket: BTreeMap<i64, Vec<&Segment>> = BTreeMap::new();
    for s in removed {
        by_bucket.entry(bucket_of(s.pdt_ms)).or_default().push(s);
    }
    for (bucket, segments) in by_bucket {
        let key = keys::archive(&channel.id, input, rendition, bucket);
        append_to(objects, &key, &segments).await?;
    }
    Ok(())
}

/// Adds `segments` to the bucket at `key` with a conditional write (two overlapping requests
/// of one rendition must not drop each other's segments); writes nothing when the bucket has
/// them all.
async fn append_to(
    objects: &impl ObjectStore,
    key: &str,
    segments: &[&Segment],
) -> OriginResult<()> {
    for _ in 0..APPEND_ATTEMPTS {
        let (mut stored, version): (Vec<Segment>, Option<String>) =
            match repo::object_get_versioned(objects, key).await? {
                Some((stored, version)) => (stored, Some(version)),
                None => (Vec::new(), None),
            };
        let before = stored.len();
        for s in segments {
            if !stored.iter().any(|t| t.seq == s.seq) {
                stored.push((*s).clone());
            }
        }
        if stored.len() == before {
            return Ok(());
        }
        stored.sort_by_key(|s| s.seq);
        let written = repo::object_put_if_version(objects, key, &stored, version.as_deref());
        if written.await?.is_some() {
            return Ok(());
        }
    }
    Err(OriginError::Conflict(format!(
        "archive bucket {key}: {APPEND_ATTEMPTS} concurrent appends in a row; retry the request"
    )))
}

/// The first and last bucket a lookup of `[from_ms, to_ms)` reads ([`read`]): a segment's
/// bucket is chosen by its start, so the one before `from` may hold a segment running into
/// the range, and the one holding `to` is included whole.
pub fn buckets_of((from_ms, to_ms): (i64, i64)) -> (i64, i64) {
    let first = bucket_of(from_ms).saturating_sub(BUCKET_MS);
    let last = bucket_of(to_ms.saturating_add(BUCKET_MS - 1));
    (first, last)
}

/// The buckets around `bucket` (the one before, itself, the one after) that a lookup of
/// `range` would read: what a time-shifted segment whose URL names `bucket` reads
/// (docs/round-trips.md, "Time-shifted segment URLs"). Empty when `bucket` is not one.
pub fn buckets_near(bucket: i64, range: (i64, i64)) -> Vec<i64> {
    let (first, last) = buckets_of(range);
    if bucket.rem_euclid(BUCKET_MS) != 0 {
        return Vec::new();
    }
    [
        bucket.saturating_sub(BUCKET_MS),
        bucket,
        bucket.saturating_add(BUCKET_MS),
    ]
    .into_iter()
    .filter(|b| (first..=last).contains(b))
    .collect()
}

/// Archived segments of a rendition on one input in `buckets`, read together, in sequence
/// order.
pub async fn read_buckets(
    objects: &impl ObjectStore,
    channel_id: &str,
    input: InputId,
    rendition: &Rendition,
    buckets: &[i64],
) -> OriginResult<Vec<Segment>> {
    let reads = buckets.iter().map(|b| {
        let key = keys::archive(channel_id, input, rendition, *b);
        async move { repo::object_get::<Vec<Segment>>(objects, &key).await }
    });
    let mut out: Vec<Segment> = Vec::new();
    for segments in join_all(reads).await {
        out.extend(segments?.unwrap_or_default());
    }
    out.sort_by_key(|s| s.seq);
    out.dedup_by_key(|s| s.seq);
    Ok(out)
}

/// Buckets one batch of an archive lookup reads at once: a Worker keeps six storage calls in
/// flight per invocation and queues the rest.
const READ_BATCH: usize = 6;

/// Archived segments of a rendition on one input whose program date time is in
/// `[from_ms, to_ms)`, widened by one bucket on each side, in sequence order.
///
/// The bucket keys follow from the range, so nothing is listed and the cost depends on the
/// window, not on how much is archived: buckets are read in batches of [`READ_BATCH`] in
/// parallel, oldest first, and the lookup stops once more than `max_segments` segments from
/// `from_ms` on were read (a window lists at most that many from its start; the rest of a
/// long range could never be listed).
pub async fn read(
    objects: &impl ObjectStore,
    channel_id: &str,
    input: InputId,
    rendition: &Rendition,
    (from_ms, to_ms): (i64, i64),
    max_segments: usize,
) -> OriginResult<Vec<Segment>> {
    let (first, last) = buckets_of((from_ms, to_ms));
    let mut out: Vec<Segment> = Vec::new();
    let mut in_window = 0usize;
    let mut buckets = (0..)
        .map(|i: i64| first.saturating_add(i.saturating_mul(BUCKET_MS)))
        .take_while(|b| *b <= last)
        .peekable();
    while buckets.peek().is_some() && in_window <= max_segments {
        let keys: Vec<String> = buckets
            .by_ref()
            .take(READ_BATCH)
            .map(|b| keys::archive(channel_id, input, rendition, b))
            .collect();
        let reads = keys
            .iter()
            .map(|key| repo::object_get::<Vec<Segment>>(objects, key));
        for segments in join_all(reads).await {
            let segments = segments?.unwrap_or_default();
            in_window += segments.iter().filter(|s| s.pdt_ms >= from_ms).count();
            out.extend(segments);
        }
    }
    out.sort_by_key(|s| s.seq);
    out.dedup_by_key(|s| s.seq);
    Ok(out)
}

mod expire;
pub mod purge;

pub use expire::{expire, ExpiryReport, MAX_DELETES_PER_RUN};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::{two_second_segments, TIMESCALE};

    #[test]
    fn pruned_segments_wait_for_a_batch() {
        let keep = 10 * 2 * TIMESCALE;
        let t = two_second_segments(10 + APPEND_BATCH as u64 - 1, 0);
        assert!(!append_due(&t, keep));
        let t = two_second_segments(10 + APPEND_BATCH as u64, 0);
        assert!(append_due(&t, keep));
        // Over the entry cap, whatever is due goes at once.
        let t = two_second_segments(MAX_ENTRIES as u64 + 1, 0);
        assert!(append_due(&t, u64::MAX));
    }
}
