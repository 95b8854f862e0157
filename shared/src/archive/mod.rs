//! The archive: segments that left an input's live timeline, kept for time-shifted playback and
//! harvest while the channel's `archive_retention_s` says so. Each rendition of each input has
//! one object per 10 minutes of program date time; only that input's ingest appends to it,
//! once per pruned segment.

use crate::error::OriginResult;
use crate::keys;
use crate::model::{Channel, InputId};
use crate::names::Rendition;
use crate::repo;
use crate::store::ObjectStore;
use crate::timeline::Segment;
use futures_util::future::join_all;
use std::collections::BTreeMap;

/// Length of an archive bucket: 10 minutes of program date time (300 segments of 2 s).
pub const BUCKET_MS: i64 = 600_000;

pub fn bucket_of(pdt_ms: i64) -> i64 {
    pdt_ms.div_euclid(BUCKET_MS) * BUCKET_MS
}

/// Appends pruned segments to their buckets.
pub async fn append(
    objects: &impl ObjectStore,
    channel: &Channel,
    input: InputId,
    rendition: &Rendition,
    removed: Vec<Segment>,
) -> OriginResult<()> {
    let mut by_bucket: BTreeMap<i64, Vec<Segment>> = BTreeMap::new();
    for s in removed {
        by_bucket.entry(bucket_of(s.pdt_ms)).or_default().push(s);
    }
    for (bucket, segments) in by_bucket {
        let key = keys::archive(&channel.id, input, rendition, bucket);
        let mut stored: Vec<Segment> = repo::object_get(objects, &key).await?.unwrap_or_default();
        for s in segments {
            if !stored.iter().any(|t| t.seq == s.seq) {
                stored.push(s);
            }
        }
        stored.sort_by_key(|s| s.seq);
        repo::object_put(objects, &key, &stored).await?;
    }
    Ok(())
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
    // A segment's bucket is chosen by its start: the one before `from` may hold a segment
    // running into the window, and the one holding `to` is included whole.
    let first = bucket_of(from_ms).saturating_sub(BUCKET_MS);
    let last = bucket_of(to_ms.saturating_add(BUCKET_MS - 1));
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
