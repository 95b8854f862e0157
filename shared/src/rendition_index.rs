//! The rendition index (docs/round-trips.md, "The rendition index"): per channel, keyed by
//! its group and channel names, the storage id and each input's renditions. Everything else a
//! channel stores is keyed by its storage id, which only the settings name, so a master or an
//! MPD had to read the settings, then list the timelines, then read them: three round trips,
//! and on Spin a listing reads every key of the store. Keyed by names, the index is read
//! together with the settings, and the timelines in the next round trip.
//!
//! Ingest adds a rendition when it creates the rendition's first timeline on an input; the
//! index is never the only truth: playback uses it only when its storage id is the channel's
//! (else it lists, as before), and keeps a listed rendition only when a timeline was read
//! (`playback::Play::renditions`).

use crate::error::{OriginError, OriginResult};
use crate::keys;
use crate::model::{Channel, InputId};
use crate::names::Rendition;
use crate::repo;
use crate::store::{Metadata, ObjectStore};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Most renditions kept per input: the bound ingest enforces on an input's renditions
/// (`ingest::media::MAX_RENDITIONS_PER_INPUT`), so the index stays small (32 ids of at most
/// 256 bytes per input).
const MAX_RENDITIONS_PER_INPUT: usize = 32;

/// Conditional writes one addition tries before it gives up (each lost only to another
/// rendition's addition that came first).
const WRITE_ATTEMPTS: usize = 4;

/// A channel's renditions, as ingest created their timelines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenditionIndex {
    /// The storage id of the channel whose renditions these are.
    pub channel_id: String,
    /// When that channel was created (a predecessor of the same names is older).
    pub created_at_ms: u64,
    /// Each input's renditions, in key order (input 1, then input 2); at most
    /// [`MAX_RENDITIONS_PER_INPUT`] each.
    pub inputs: [Vec<Rendition>; 2],
}

impl RenditionIndex {
    /// The renditions of either input, in key order.
    pub fn all(&self) -> Vec<Rendition> {
        let all: BTreeSet<&Rendition> = self.inputs.iter().flatten().collect();
        all.into_iter().cloned().collect()
    }
}

/// `body` as `channel`'s index, if it is one.
pub fn of_channel(body: &[u8], channel: &Channel) -> Option<RenditionIndex> {
    serde_json::from_slice::<RenditionIndex>(body)
        .ok()
        .filter(|i| i.channel_id == channel.id)
}

/// Adds `rendition` to `input`'s renditions of `channel` (ingest, when it creates the
/// rendition's first timeline there). An index of an older channel of the same names, or
/// one that does not parse, is replaced by one seeded from the listings; one of a newer
/// channel is left alone (this is a deleted channel's late upload).
pub async fn add(
    objects: &impl ObjectStore,
    channel: &Channel,
    input: InputId,
    rendition: &Rendition,
) -> OriginResult<()> {
    let key = keys::rendition_index(&channel.group, &channel.name);
    for _ in 0..WRITE_ATTEMPTS {
        let stored = objects.get_versioned(&key).await?;
        let parsed = stored
            .as_ref()
            .and_then(|(o, _)| serde_json::from_slice::<RenditionIndex>(&o.body).ok());
        let (mut index, fresh) = match parsed {
            Some(i) if i.channel_id == channel.id => (i, false),
            Some(i) if i.created_at_ms > channel.created_at_ms => return Ok(()),
            // Absent, unreadable or a predecessor's: this channel's, from what is stored.
            _ => (seeded(objects, channel).await?, true),
        };
        let list = &mut index.inputs[input.index()];
        if !list.contains(rendition) && list.len() < MAX_RENDITIONS_PER_INPUT {
            list.push(rendition.clone());
            list.sort();
        } else if !fresh {
            return Ok(());
        }
        let body = serde_json::to_vec(&index).map_err(|e| repo::corrupt(&key, &e))?;
        let version = stored.as_ref().map(|(_, v)| v.as_str());
        if objects
            .put_if_version(&key, &body, &Metadata::new(), version)
            .await?
            .is_none()
        {
            continue;
        }
        // Stores whose conditional write is check-then-write (Spin) may have let a racing
        // addition overwrite this one: read it back once, and add again if it went.
        let kept = objects
            .get(&key)
            .await?
            .and_then(|o| of_channel(&o.body, channel));
        if kept.is_none_or(|i| i.inputs[input.index()].contains(rendition)) {
            return Ok(());
        }
    }
    Err(OriginError::Conflict(format!(
        "rendition index of {}/{}: {WRITE_ATTEMPTS} concurrent updates in a row; retry the request",
        channel.group, channel.name
    )))
}

/// A new index of `channel` holding the renditions both inputs' timelines show now.
async fn seeded(objects: &impl ObjectStore, channel: &Channel) -> OriginResult<RenditionIndex> {
    let [a, b] = InputId::ALL;
    let (a, b) = futures_util::future::join(
        repo::renditions(objects, &channel.id, a),
        repo::renditions(objects, &channel.id, b),
    )
    .await;
    let bounded = |mut r: Vec<Rendition>| {
        r.sort();
        r.truncate(MAX_RENDITIONS_PER_INPUT);
        r
    };
    Ok(RenditionIndex {
        channel_id: channel.id.clone(),
        created_at_ms: channel.created_at_ms,
        inputs: [bounded(a?), bounded(b?)],
    })
}

/// Channels a scheduled run writes an index for at most (each write costs two listings, a
/// conditional write and, on success, two listings more); the rest wait for the next run.
pub const MAX_BACKFILLS_PER_RUN: usize = 20;

/// What [`backfill`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backfill {
    /// The channel has its index (or a newer channel of the same names has one).
    Present,
    /// Nothing is stored yet: ingest writes the index with the first rendition.
    Empty,
    /// An index was written.
    Written,
    /// Another writer came first (ingest): its index stays.
    Lost,
    /// None is stored, and the run may write no more: the next run writes it.
    Deferred,
}

/// Writes `channel`'s index when it has none, from the listings (the scheduled run, for
/// channels stored before the index existed; docs/round-trips.md, "The rendition index").
/// Only a missing index, or one of an older channel of the same names, is replaced, with a
/// conditional write against what was read: an index ingest wrote meanwhile is never
/// overwritten. `may_write`: false reads only (the run's budget of writes is spent).
pub async fn backfill(
    objects: &impl ObjectStore,
    channel: &Channel,
    may_write: bool,
) -> OriginResult<Backfill> {
    let key = keys::rendition_index(&channel.group, &channel.name);
    let stored = objects.get_versioned(&key).await?;
    let parsed = stored
        .as_ref()
        .and_then(|(o, _)| serde_json::from_slice::<RenditionIndex>(&o.body).ok());
    match parsed {
        Some(i) if i.channel_id == channel.id || i.created_at_ms > channel.created_at_ms => {
            return Ok(Backfill::Present)
        }
        _ if !may_write => return Ok(Backfill::Deferred),
        _ => {}
    }
    let index = seeded(objects, channel).await?;
    if index.inputs.iter().all(Vec::is_empty) {
        return Ok(Backfill::Empty);
    }
    let body = serde_json::to_vec(&index).map_err(|e| repo::corrupt(&key, &e))?;
    let version = stored.as_ref().map(|(_, v)| v.as_str());
    if objects
        .put_if_version(&key, &body, &Metadata::new(), version)
        .await?
        .is_none()
    {
        return Ok(Backfill::Lost);
    }
    // Where a conditional write is check-then-write (Spin), ingest's addition of a new
    // rendition may have landed between the check and this write: a rendition listed now
    // and missing from the index is added the way ingest adds it.
    let now = seeded(objects, channel).await?;
    for input in InputId::ALL {
        for rendition in &now.inputs[input.index()] {
            if !index.inputs[input.index()].contains(rendition) {
                add(objects, channel, input, rendition).await?;
            }
        }
    }
    Ok(Backfill::Written)
}

/// Removes the index of a deleted channel, unless it is already another channel's.
pub async fn remove(objects: &impl ObjectStore, channel: &Channel) -> OriginResult<()> {
    let key = keys::rendition_index(&channel.group, &channel.name);
    if let Some(object) = objects.get(&key).await? {
        if of_channel(&object.body, channel).is_some() {
            objects.delete(&key).await?;
        }
    }
    Ok(())
}
