//! Channel records kept in the isolate's memory for a few seconds, so an encoder's stream of
//! PUTs (about three a second per input) reads its channel from the key-value store once per
//! [`CHANNEL_CACHE_MS`] instead of once per request (docs/cost.md, docs/ingest.md
//! "Configuration cache").
//!
//! Why a few seconds of staleness is safe: a rotated credential or a deleted channel already
//! reaches other locations only when Workers KV propagates it (up to about 60 s); the cache adds
//! at most [`CHANNEL_CACHE_MS`] to that, and none in the isolate that handled the change (every
//! control-API write empties the cache). A deleted channel's late uploads are removed by the
//! purge, whose grace period (`archive::purge::GRACE_MS`, 10 minutes) covers both delays.

use crate::model::Channel;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// How long a channel read from the key-value store is used without reading it again, ms.
pub const CHANNEL_CACHE_MS: u64 = 5_000;

/// Most channels kept: the cache is emptied when a new one would exceed it.
pub const MAX_CACHED_CHANNELS: usize = 256;

/// Channels by `group/channel`, with the time each was read.
#[derive(Debug, Default, Clone)]
pub struct ChannelCache {
    entries: RefCell<BTreeMap<String, (u64, Channel)>>,
}

impl ChannelCache {
    /// The channel stored under `key`, read less than [`CHANNEL_CACHE_MS`] before `now_ms`.
    pub fn get(&self, key: &str, now_ms: u64) -> Option<Channel> {
        let entries = self.entries.borrow();
        let (read_ms, channel) = entries.get(key)?;
        // A clock that went backwards makes the entry stale too.
        let fresh = now_ms >= *read_ms && now_ms - read_ms < CHANNEL_CACHE_MS;
        fresh.then(|| channel.clone())
    }

    /// Keeps `channel`, read from the store at `now_ms`.
    pub fn insert(&self, key: &str, channel: &Channel, now_ms: u64) {
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= MAX_CACHED_CHANNELS && !entries.contains_key(key) {
            entries.retain(|_, (read_ms, _)| now_ms.saturating_sub(*read_ms) < CHANNEL_CACHE_MS);
            if entries.len() >= MAX_CACHED_CHANNELS {
                entries.clear();
            }
        }
        entries.insert(key.to_owned(), (now_ms, channel.clone()));
    }

    /// Forgets every channel (after a control-API write in this isolate).
    pub fn clear(&self) {
        self.entries.borrow_mut().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(id: &str) -> Channel {
        serde_json::from_value(serde_json::json!({
            "group": "g", "name": "c", "id": id, "protocol": "HLS",
            "max_segment_duration": 15, "max_playlist_duration": 60,
            "inputs": [{"username": "a", "password": "a"}, {"username": "b", "password": "b"}],
            "created_at_ms": 0
        }))
        .expect("channel record")
    }

    #[test]
    fn an_entry_lives_for_the_cache_time_only() {
        let cache = ChannelCache::default();
        cache.insert("g/c", &channel("one"), 1_000);
        assert_eq!(cache.get("g/c", 1_000).map(|c| c.id), Some("one".into()));
        assert!(cache.get("g/c", 1_000 + CHANNEL_CACHE_MS - 1).is_some());
        assert!(cache.get("g/c", 1_000 + CHANNEL_CACHE_MS).is_none());
        assert!(cache.get("g/c", 999).is_none(), "clock went backwards");
        cache.clear();
        assert!(cache.get("g/c", 1_000).is_none());
    }

    #[test]
    fn the_cache_holds_a_bounded_number_of_channels() {
        let cache = ChannelCache::default();
        for n in 0..MAX_CACHED_CHANNELS + 1 {
            cache.insert(&format!("g/c{n}"), &channel("x"), 0);
            assert!(cache.entries.borrow().len() <= MAX_CACHED_CHANNELS);
        }
        assert!(cache.get(&format!("g/c{MAX_CACHED_CHANNELS}"), 0).is_some());
    }
}
