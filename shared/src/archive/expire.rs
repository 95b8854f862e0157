//! Retention: archive buckets older than the channel's retention are deleted with their
//! segments, in bounded batches (a scheduled run, or the maintenance route for schedulers
//! outside Cloudflare). The same walk over the channels writes the rendition index of
//! channels stored before it existed (`rendition_index::backfill`).

use super::BUCKET_MS;
use crate::error::OriginResult;
use crate::keys;
use crate::model::{Channel, InputId};
use crate::names::Name;
use crate::rendition_index;
use crate::repo;
use crate::store::{KvStore, ObjectStore};
use crate::timeline::Segment;
use serde::Serialize;

/// Object deletions one run may make (Workers allow 1,000 binding operations per request).
pub const MAX_DELETES_PER_RUN: usize = 500;

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExpiryReport {
    pub channels: usize,
    pub buckets_deleted: usize,
    pub segments_deleted: usize,
    /// Objects and heartbeats of deleted channels removed, and channels now fully removed.
    pub deleted_channel_objects: usize,
    pub deleted_channels_purged: usize,
    /// More expired content is left for the next run.
    pub more: bool,
    /// Rendition indexes written for channels stored without one
    /// (`rendition_index::backfill`).
    pub rendition_indexes_written: usize,
}

/// Deletes expired archive buckets of every channel. A bucket expires once its newest
/// possible segment is older than the retention plus the channel's live playlist duration,
/// so no segment a time-shifted manifest may still list is deleted.
pub async fn expire(
    kv: &impl KvStore,
    objects: &impl ObjectStore,
    now_ms: u64,
) -> OriginResult<ExpiryReport> {
    let mut report = ExpiryReport::default();
    // Deleted channels first, with at most half of the run's deletions.
    let purged = super::purge::purge(kv, objects, now_ms, MAX_DELETES_PER_RUN / 2).await?;
    report.deleted_channel_objects = purged.objects;
    report.deleted_channels_purged = purged.channels;
    report.more = purged.more;
    let mut budget = MAX_DELETES_PER_RUN - purged.objects;
    let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
    for group_key in kv.list(keys::GROUPS).await? {
        let Some(group) = group_key.strip_prefix(keys::GROUPS).and_then(Name::parse) else {
            continue;
        };
        for channel_key in kv.list(&keys::channels(&group)).await? {
            let Some(channel): Option<Channel> = repo::kv_get(kv, &channel_key).await? else {
                continue;
            };
            report.channels += 1;
            // A channel stored before the rendition index gets one here, a few per run.
            let may_write =
                report.rendition_indexes_written < rendition_index::MAX_BACKFILLS_PER_RUN;
            if rendition_index::backfill(objects, &channel, may_write).await?
                == rendition_index::Backfill::Written
            {
                report.rendition_indexes_written += 1;
            }
            let keep_ms =
                i64::try_from((channel.archive_retention_s + channel.max_playlist_duration) * 1000)
                    .unwrap_or(i64::MAX);
            for input in InputId::ALL {
                for o in objects
                    .list(&keys::archives_of_input(&channel.id, input))
                    .await?
                {
                    let Some(bucket) = keys::archive_bucket(&o.key) else {
                        continue;
                    };
                    if bucket + BUCKET_MS > now.saturating_sub(keep_ms) {
                        continue;
                    }
                    let segments: Vec<Segment> =
                        repo::object_get(objects, &o.key).await?.unwrap_or_default();
                    if segments.len() + 1 > budget {
                        report.more = true;
                        return Ok(report);
                    }
                    for s in &segments {
                        objects.delete(&s.key).await?;
                    }
                    objects.delete(&o.key).await?;
                    budget -= segments.len() + 1;
                    report.segments_deleted += segments.len();
                    report.buckets_deleted += 1;
                }
            }
        }
    }
    Ok(report)
}
