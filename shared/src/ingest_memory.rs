//! What ingest wrote in this isolate, kept in its memory so the next request of the same
//! encoder skips two reads (docs/ingest.md, "Isolate memory"; docs/cost.md):
//!
//! - **Timelines**, with the version each was written or read at. The next media playlist of
//!   the rendition starts from the kept copy instead of reading it. Safe because every
//!   timeline write is conditional on the version it was computed from: a copy that another
//!   isolate or request made stale only makes that write fail, and the request reads the
//!   stored timeline and applies its playlist again, as after any lost race. A key whose copy
//!   was found stale is read from the store for [`DISTRUST_MS`], so an encoder whose requests
//!   are spread over isolates pays one failed write per key and isolate per
//!   [`DISTRUST_MS`], not one per playlist.
//! - **Uploads** a segment PUT created under their own name, with the size and metadata the
//!   playlist needs, so the playlist that lists one skips its `head`. Safe because an upload
//!   under its own name is never replaced (docs/ingest.md, "Upload keys"); it is deleted only
//!   once its segment left a timeline, at least `max_playlist_duration` (30 s or more) after
//!   it, far beyond the [`UPLOAD_MEMORY_MS`] it is kept here. Each is used once.
//!
//! Both are bounded. On Cloudflare the memory lives as long as the isolate (one
//! `thread_local` in the Worker adapter); the Spin component starts empty for every request.

use crate::store::ObjectInfo;
use crate::timeline::Timeline;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// Most timelines kept (three renditions on two inputs are six per channel).
pub const MAX_TIMELINES: usize = 64;
/// Most timeline entries kept, over all timelines (a few hundred bytes each).
pub const MAX_TIMELINE_SEGMENTS: usize = 16_384;
/// How long a timeline whose kept copy was found stale is read from the store, ms.
pub const DISTRUST_MS: u64 = 60_000;
/// Most uploads kept.
pub const MAX_UPLOADS: usize = 256;
/// How long an upload is kept for the playlist that lists it, ms.
pub const UPLOAD_MEMORY_MS: u64 = 30_000;

/// A timeline as written or read, with its version and when it was last kept.
#[derive(Debug, Clone)]
struct Kept {
    timeline: Timeline,
    version: String,
    at_ms: u64,
}

/// An isolate's memory of its own ingest writes (see the module documentation).
#[derive(Debug, Default, Clone)]
pub struct IngestMemory {
    timelines: RefCell<BTreeMap<String, Kept>>,
    /// Timeline keys whose kept copy was stale, with the time until which it is not used.
    distrusted: RefCell<BTreeMap<String, u64>>,
    /// Uploads by object key, with the time each was kept.
    uploads: RefCell<BTreeMap<String, (u64, ObjectInfo)>>,
}

impl IngestMemory {
    /// The timeline at `key` as this isolate last wrote or read it, with that version; `None`
    /// when there is none, or when `key` is distrusted at `now_ms`.
    pub fn timeline(&self, key: &str, now_ms: u64) -> Option<(Timeline, String)> {
        if self.distrusted(key, now_ms) {
            return None;
        }
        let timelines = self.timelines.borrow();
        let kept = timelines.get(key)?;
        Some((kept.timeline.clone(), kept.version.clone()))
    }

    /// Keeps `timeline`, stored at `key` at `version`. A timeline larger than the whole
    /// budget is not kept; otherwise the least recently kept ones make room.
    pub fn keep_timeline(&self, key: &str, timeline: &Timeline, version: &str, now_ms: u64) {
        let mut timelines = self.timelines.borrow_mut();
        timelines.remove(key);
        let size = timeline.segments.len();
        if size > MAX_TIMELINE_SEGMENTS {
            return;
        }
        let mut total: usize = timelines.values().map(|k| k.timeline.segments.len()).sum();
        while timelines.len() >= MAX_TIMELINES || total + size > MAX_TIMELINE_SEGMENTS {
            let Some(oldest) = timelines
                .iter()
                .min_by_key(|(_, k)| k.at_ms)
                .map(|(key, _)| key.clone())
            else {
                break;
            };
            if let Some(k) = timelines.remove(&oldest) {
                total -= k.timeline.segments.len();
            }
        }
        timelines.insert(
            key.to_owned(),
            Kept {
                timeline: timeline.clone(),
                version: version.to_owned(),
                at_ms: now_ms,
            },
        );
    }

    /// Forgets the timeline at `key`, found changed by another writer at `now_ms`, and reads
    /// it from the store for the next [`DISTRUST_MS`].
    pub fn stale_timeline(&self, key: &str, now_ms: u64) {
        self.timelines.borrow_mut().remove(key);
        let mut distrusted = self.distrusted.borrow_mut();
        distrusted.retain(|_, until| *until > now_ms);
        if distrusted.len() >= MAX_TIMELINES {
            distrusted.clear();
        }
        distrusted.insert(key.to_owned(), now_ms.saturating_add(DISTRUST_MS));
    }

    fn distrusted(&self, key: &str, now_ms: u64) -> bool {
        self.distrusted
            .borrow()
            .get(key)
            .is_some_and(|until| now_ms < *until)
    }

    /// Keeps an upload this isolate created under its own name at `now_ms`.
    pub fn keep_upload(&self, info: ObjectInfo, now_ms: u64) {
        let mut uploads = self.uploads.borrow_mut();
        if uploads.len() >= MAX_UPLOADS {
            uploads.retain(|_, (at, _)| now_ms.saturating_sub(*at) < UPLOAD_MEMORY_MS);
            if uploads.len() >= MAX_UPLOADS {
                uploads.clear();
            }
        }
        uploads.insert(info.key.clone(), (now_ms, info));
    }

    /// The upload at `key` this isolate created within [`UPLOAD_MEMORY_MS`] before `now_ms`,
    /// forgotten once taken.
    pub fn take_upload(&self, key: &str, now_ms: u64) -> Option<ObjectInfo> {
        let (at, info) = self.uploads.borrow_mut().remove(key)?;
        // A clock that went backwards makes the entry stale too.
        (now_ms >= at && now_ms - at < UPLOAD_MEMORY_MS).then_some(info)
    }

    /// Takes every upload under `prefix` kept within [`UPLOAD_MEMORY_MS`] before `now_ms`
    /// (handed to the channel's object with a forwarded playlist: docs/storage.md).
    pub fn take_uploads(&self, prefix: &str, now_ms: u64) -> Vec<ObjectInfo> {
        let mut uploads = self.uploads.borrow_mut();
        let keys: Vec<String> = uploads
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect();
        keys.iter()
            .filter_map(|k| uploads.remove(k))
            .filter(|(at, _)| now_ms >= *at && now_ms - *at < UPLOAD_MEMORY_MS)
            .map(|(_, info)| info)
            .collect()
    }

    /// Forgets the upload at `key` (deleted by this isolate).
    pub fn forget_upload(&self, key: &str) {
        self.uploads.borrow_mut().remove(key);
    }

    /// Forgets everything (a test's "new isolate").
    pub fn clear(&self) {
        self.timelines.borrow_mut().clear();
        self.distrusted.borrow_mut().clear();
        self.uploads.borrow_mut().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Metadata;
    use crate::timeline::two_second_segments;

    fn upload(key: &str) -> ObjectInfo {
        ObjectInfo {
            key: key.to_owned(),
            size: 1,
            metadata: Metadata::new(),
        }
    }

    #[test]
    fn a_stale_timeline_is_distrusted_for_a_while() {
        let memory = IngestMemory::default();
        memory.keep_timeline("k", &two_second_segments(3, 0), "v1", 0);
        assert_eq!(memory.timeline("k", 1).map(|t| t.1), Some("v1".into()));
        memory.stale_timeline("k", 10);
        assert!(memory.timeline("k", 11).is_none());
        // Kept again while distrusted (a fresh read): not used until the time is over.
        memory.keep_timeline("k", &two_second_segments(4, 0), "v2", 20);
        assert!(memory.timeline("k", 10 + DISTRUST_MS - 1).is_none());
        let (t, v) = memory.timeline("k", 10 + DISTRUST_MS).unwrap();
        assert_eq!((t.segments.len(), v.as_str()), (4, "v2"));
    }

    #[test]
    fn timelines_are_bounded_by_count_and_entries() {
        let memory = IngestMemory::default();
        for n in 0..MAX_TIMELINES as u64 + 1 {
            memory.keep_timeline(&format!("k{n}"), &two_second_segments(1, 0), "v", n);
        }
        assert_eq!(memory.timelines.borrow().len(), MAX_TIMELINES);
        assert!(memory.timeline("k0", 100).is_none(), "the oldest made room");
        let big = two_second_segments(MAX_TIMELINE_SEGMENTS as u64 - 10, 0);
        memory.keep_timeline("big", &big, "v", 1_000);
        let total: usize = memory
            .timelines
            .borrow()
            .values()
            .map(|k| k.timeline.segments.len())
            .sum();
        assert!(total <= MAX_TIMELINE_SEGMENTS);
        assert!(memory.timeline("big", 1_000).is_some());
        let too_big = two_second_segments(MAX_TIMELINE_SEGMENTS as u64 + 1, 0);
        memory.keep_timeline("too big", &too_big, "v", 1_001);
        assert!(memory.timeline("too big", 1_001).is_none());
    }

    #[test]
    fn an_upload_is_used_once_and_only_while_recent() {
        let memory = IngestMemory::default();
        memory.keep_upload(upload("a"), 1_000);
        assert!(memory.take_upload("a", 1_000).is_some());
        assert!(memory.take_upload("a", 1_000).is_none(), "used once");
        memory.keep_upload(upload("b"), 1_000);
        assert!(memory.take_upload("b", 1_000 + UPLOAD_MEMORY_MS).is_none());
        memory.keep_upload(upload("c"), 1_000);
        assert!(
            memory.take_upload("c", 999).is_none(),
            "clock went backwards"
        );
        memory.keep_upload(upload("d"), 0);
        memory.forget_upload("d");
        assert!(memory.take_upload("d", 0).is_none());
        for n in 0..MAX_UPLOADS + 1 {
            memory.keep_upload(upload(&format!("u{n}")), 0);
            assert!(memory.uploads.borrow().len() <= MAX_UPLOADS);
        }
    }
}
