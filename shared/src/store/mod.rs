//! Storage seen by the core: a small key-value store (config, login throttling) and an object store
//! (segments, indexes). Futures are `!Send` on both platforms, hence plain `async fn`.
#![allow(async_fn_in_trait)]

mod forward;
mod memory;
mod multipart;
mod refs;

pub(crate) use forward::forward_objects;

pub use memory::{MemoryKv, MemoryObjects, MIN_PART_BYTES};
pub use multipart::{logical_size, UploadedPart, CHUNKED, CHUNKED_SIZE, CHUNK_PREFIX, MAX_PARTS};

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

/// A storage failure reported by a platform binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "storage: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

pub type StoreResult<T> = Result<T, StoreError>;

/// Small, eventually consistent values (Workers KV, Spin key-value).
pub trait KvStore {
    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>>;
    async fn put(&self, key: &str, value: &[u8]) -> StoreResult<()>;
    /// Stores a value the platform may drop after `ttl_s` seconds (counters, caches).
    /// Platforms without expiry keep it.
    async fn put_expiring(&self, key: &str, value: &[u8], ttl_s: u64) -> StoreResult<()> {
        let _ = ttl_s;
        self.put(key, value).await
    }
    async fn delete(&self, key: &str) -> StoreResult<()>;
    /// Every key that starts with `prefix`, in lexicographic order.
    async fn list(&self, prefix: &str) -> StoreResult<Vec<String>>;
}

/// Custom metadata stored beside an object.
pub type Metadata = BTreeMap<String, String>;

/// A stored object's description, without its body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    pub metadata: Metadata,
}

/// A stored object with its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub body: Vec<u8>,
    pub metadata: Metadata,
}

/// Strongly consistent object storage (R2, S3-compatible stores).
pub trait ObjectStore {
    async fn get(&self, key: &str) -> StoreResult<Option<Object>>;
    async fn put(&self, key: &str, body: &[u8], metadata: &Metadata) -> StoreResult<()>;
    async fn delete(&self, key: &str) -> StoreResult<()>;
    /// Every object whose key starts with `prefix`, in lexicographic key order, with metadata.
    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectInfo>>;

    /// The first `max` keys that start with `prefix`, in order: a bounded listing for batch
    /// work. Platforms that page their listings override it to read one page only.
    async fn list_first(&self, prefix: &str, max: usize) -> StoreResult<Vec<String>> {
        let mut all = self.list(prefix).await?;
        all.truncate(max);
        Ok(all.into_iter().map(|o| o.key).collect())
    }

    /// The object with a version tag for [`ObjectStore::put_if_version`]. Platforms with
    /// conditional writes (R2 etags) override both methods together; the default tag is a hash
    /// of the body.
    async fn get_versioned(&self, key: &str) -> StoreResult<Option<(Object, String)>> {
        Ok(self.get(key).await?.map(|o| {
            let version = content_version(&o.body);
            (o, version)
        }))
    }

    /// Stores `body` only if the object's current version is `expected` (`None`: only if the
    /// key is absent). Returns the new version, which a later conditional write can expect
    /// without reading the object again, or `None`, storing nothing, when the condition does
    /// not hold. The default compares then writes, which is not atomic: a platform that can
    /// make the write conditional must override it (and [`ObjectStore::get_versioned`]).
    async fn put_if_version(
        &self,
        key: &str,
        body: &[u8],
        metadata: &Metadata,
        expected: Option<&str>,
    ) -> StoreResult<Option<String>> {
        let current = self.get_versioned(key).await?.map(|(_, v)| v);
        if current.as_deref() != expected {
            return Ok(None);
        }
        self.put(key, body, metadata).await?;
        Ok(Some(content_version(body)))
    }

    /// The objects at `keys`, in order: what one read round needs. The default reads them in
    /// parallel; a store that can batch (channel state in a Durable Object) reads them in one
    /// request.
    async fn get_many(&self, keys: &[String]) -> StoreResult<Vec<Option<Object>>> {
        futures_util::future::join_all(keys.iter().map(|k| self.get(k)))
            .await
            .into_iter()
            .collect()
    }

    /// Size and metadata of `key` without its body (a chunked object's own size).
    async fn head(&self, key: &str) -> StoreResult<Option<ObjectInfo>> {
        let info = self.list(key).await?.into_iter().find(|o| o.key == key);
        Ok(info.map(|mut o| {
            o.size = logical_size(&o);
            o
        }))
    }

    /// Bytes `range` of `key`, clamped to its size. Platforms with ranged reads override it;
    /// the default reads the object (a chunked object: only the chunks the range needs).
    async fn get_range(&self, key: &str, range: Range<u64>) -> StoreResult<Option<Vec<u8>>> {
        multipart::get_range_chunked(self, key, range).await
    }

    /// Starts a multipart upload of `key` whose object will carry `metadata`; returns its
    /// upload id. Parts are uploaded with [`ObjectStore::upload_part`] (R2 rules: every part
    /// but the last the same size, at least 5 MiB, at most [`MAX_PARTS`]);
    /// [`ObjectStore::complete_multipart`] makes the object. The default writes chunked
    /// objects (`store/multipart.rs`); its id is the same for every call with the same key,
    /// so a retried step reuses the upload.
    async fn create_multipart(&self, key: &str, metadata: &Metadata) -> StoreResult<String> {
        let _ = metadata;
        Ok(multipart::upload_id(key))
    }

    /// Uploads part `part_number` (1-based); a part uploaded again replaces the earlier one.
    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u16,
        body: &[u8],
    ) -> StoreResult<UploadedPart> {
        multipart::upload_chunk(self, key, upload_id, part_number, body).await
    }

    /// Makes the object at `key` from `parts`, in order; `metadata` is the one given at
    /// creation (stores that take it only then ignore it here).
    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
        metadata: &Metadata,
    ) -> StoreResult<()> {
        multipart::complete_chunked(self, key, upload_id, parts, metadata).await
    }

    /// Abandons an unfinished multipart upload: its parts are deleted and no object is made.
    /// Callers abort only uploads they did not complete. The default deletes the chunk
    /// objects, unless a completed object at `key` lists them.
    async fn abort_multipart(&self, key: &str, upload_id: &str) -> StoreResult<()> {
        multipart::abort_chunked(self, key, upload_id).await
    }

    /// Removes the state of deleted channel `channel_id` when it lives apart from this store's
    /// keys (a Durable Object per channel: docs/storage.md), returning how many keys went;
    /// `None` (the default): its state keys are objects here, listed and deleted as any.
    async fn purge_channel_state(&self, channel_id: &str) -> StoreResult<Option<usize>> {
        let _ = channel_id;
        Ok(None)
    }
}

/// FNV-1a 64 of a body, as a version tag.
pub fn content_version(body: &[u8]) -> String {
    let hash = body.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}
