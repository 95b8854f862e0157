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

/// Archived segments of a rendition on one input whose program date time is in
/// `[from_ms, to_ms)`, widened by one bucket on each side, in sequence order.
pub async fn read(
    objects: &impl ObjectStore,
    channel_id: &str,
    input: InputId,
    rendition: &Rendition,
    from_ms: i64,
    to_ms: i64,
) -> OriginResult<Vec<Segment>> {
    let prefix = keys::archives(channel_id, input, rendition);
    let mut out: Vec<Segment> = Vec::new();
    for o in objects.list(&prefix).await? {
        let Some(bucket) = keys::archive_bucket(&o.key) else {
            continue;
        };
        if bucket + 2 * BUCKET_MS <= from_ms || bucket - BUCKET_MS >= to_ms {
            continue;
        }
        let segments: Vec<Segment> = repo::object_get(objects, &o.key).await?.unwrap_or_default();
        out.extend(segments);
    }
    out.sort_by_key(|s| s.seq);
    out.dedup_by_key(|s| s.seq);
    Ok(out)
}

mod expire;
pub mod purge;

pub use expire::{expire, ExpiryReport, MAX_DELETES_PER_RUN};
