//! Deleted channels: deleting a channel writes a marker (`gone/{channel id}`), and the scheduled
//! runs that expire archives also remove everything the channel stored, in bounded batches.
//! Harvested assets (`vod/`) are products of their own and stay.

use crate::error::OriginResult;
use crate::keys;
use crate::store::{KvStore, Metadata, ObjectStore};

/// How long a marker outlives the last data found: other locations may still ingest for the
/// channel until the deleted configuration reaches them (KV propagation, about 60 s).
pub const GRACE_MS: u64 = 600_000;

/// Marks a deleted channel's data for removal.
pub async fn mark(objects: &impl ObjectStore, channel_id: &str, now_ms: u64) -> OriginResult<()> {
    let key = keys::deleted_channel(channel_id);
    objects
        .put(&key, now_ms.to_string().as_bytes(), &Metadata::new())
        .await?;
    Ok(())
}

/// What one run removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    pub objects: usize,
    pub channels: usize,
    pub more: bool,
}

/// Deletes at most `budget` stored objects and heartbeats of deleted channels; a marker goes
/// once nothing is left and its grace period has passed.
pub async fn purge(
    kv: &impl KvStore,
    objects: &impl ObjectStore,
    now_ms: u64,
    budget: usize,
) -> OriginResult<Purged> {
    let mut done = Purged::default();
    let mut left = budget;
    for marker in objects.list_first(keys::DELETED_CHANNELS, 100).await? {
        let Some(id) = marker.strip_prefix(keys::DELETED_CHANNELS) else {
            continue;
        };
        // State in the channel's Durable Object goes in one request, every run until the
        // marker goes: a commit forwarded late (another location's configuration cache) would
        // have written rows again.
        let state_apart = objects.purge_channel_state(id).await?;
        let state_removed = state_apart.unwrap_or(0);
        let mut found = state_removed > 0;
        left = left.saturating_sub(state_removed);
        done.objects += state_removed;
        for prefix in keys::channel_data(id) {
            if left == 0 {
                break;
            }
            if state_apart.is_some() && crate::channel_state::is_state_key(&prefix) {
                continue;
            }
            let batch = objects.list_first(&prefix, left).await?;
            found |= !batch.is_empty();
            for key in &batch {
                objects.delete(key).await?;
            }
            left -= batch.len();
            done.objects += batch.len();
        }
        let heartbeats = kv.list(&keys::heartbeats(id)).await?;
        for key in heartbeats.iter().take(left) {
            kv.delete(key).await?;
        }
        found |= !heartbeats.is_empty();
        left -= heartbeats.len().min(left);
        let marked_ms = match objects.get(&marker).await? {
            Some(o) => std::str::from_utf8(&o.body)
                .ok()
                .and_then(|t| t.parse::<u64>().ok())
                .unwrap_or(0),
            None => 0,
        };
        if !found && now_ms.saturating_sub(marked_ms) > GRACE_MS {
            objects.delete(&marker).await?;
            done.channels += 1;
        }
        if left == 0 {
            done.more = true;
            break;
        }
    }
    Ok(done)
}
