//! Read-only views of the stores for the internal playback requests of one batch: the job's
//! endpoint settings replace the stored ones (so the asset stays what the job enumerated even
//! if the endpoint is changed, and access controls meant for players do not apply), indexes
//! are read once per batch, and every platform operation is counted against the batch budget.

use crate::store::{KvStore, Metadata, Object, ObjectInfo, ObjectStore, StoreError, StoreResult};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

/// Prefix of the uploaded segment objects: large and read once, never cached.
const SEGMENTS: &str = "seg/";

fn read_only() -> StoreError {
    StoreError("harvest playback view is read-only".into())
}

/// The key-value store with one key (the endpoint) pinned to the job's settings.
pub struct PinnedKv<'a, K> {
    pub inner: &'a K,
    pub pinned_key: String,
    pub pinned_value: Vec<u8>,
    pub ops: &'a Cell<usize>,
    cache: RefCell<BTreeMap<String, Option<Vec<u8>>>>,
}

impl<'a, K: KvStore> PinnedKv<'a, K> {
    pub fn new(inner: &'a K, key: String, value: Vec<u8>, ops: &'a Cell<usize>) -> Self {
        PinnedKv {
            inner,
            pinned_key: key,
            pinned_value: value,
            ops,
            cache: RefCell::default(),
        }
    }
}

impl<K: KvStore> KvStore for PinnedKv<'_, K> {
    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        if key == self.pinned_key {
            return Ok(Some(self.pinned_value.clone()));
        }
        if let Some(v) = self.cache.borrow().get(key) {
            return Ok(v.clone());
        }
        self.ops.set(self.ops.get() + 1);
        let v = self.inner.get(key).await?;
        self.cache.borrow_mut().insert(key.to_owned(), v.clone());
        Ok(v)
    }

    async fn put(&self, _key: &str, _value: &[u8]) -> StoreResult<()> {
        Err(read_only())
    }

    async fn delete(&self, _key: &str) -> StoreResult<()> {
        Err(read_only())
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<String>> {
        self.ops.set(self.ops.get() + 1);
        self.inner.list(prefix).await
    }
}

/// The object store, with indexes (timelines, archive buckets, switch log, masters) cached for
/// the batch and segment reads counted.
pub struct CachedObjects<'a, O> {
    pub inner: &'a O,
    pub ops: &'a Cell<usize>,
    gets: RefCell<BTreeMap<String, Option<Object>>>,
    lists: RefCell<BTreeMap<String, Vec<ObjectInfo>>>,
}

impl<'a, O: ObjectStore> CachedObjects<'a, O> {
    pub fn new(inner: &'a O, ops: &'a Cell<usize>) -> Self {
        CachedObjects {
            inner,
            ops,
            gets: RefCell::default(),
            lists: RefCell::default(),
        }
    }
}

impl<O: ObjectStore> ObjectStore for CachedObjects<'_, O> {
    async fn get(&self, key: &str) -> StoreResult<Option<Object>> {
        if let Some(o) = self.gets.borrow().get(key) {
            return Ok(o.clone());
        }
        self.ops.set(self.ops.get() + 1);
        let o = self.inner.get(key).await?;
        if !key.starts_with(SEGMENTS) {
            self.gets.borrow_mut().insert(key.to_owned(), o.clone());
        }
        Ok(o)
    }

    async fn put(&self, _key: &str, _body: &[u8], _metadata: &Metadata) -> StoreResult<()> {
        Err(read_only())
    }

    async fn delete(&self, _key: &str) -> StoreResult<()> {
        Err(read_only())
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectInfo>> {
        if let Some(l) = self.lists.borrow().get(prefix) {
            return Ok(l.clone());
        }
        self.ops.set(self.ops.get() + 1);
        let l = self.inner.list(prefix).await?;
        self.lists.borrow_mut().insert(prefix.to_owned(), l.clone());
        Ok(l)
    }

    async fn put_if_version(
        &self,
        _key: &str,
        _body: &[u8],
        _metadata: &Metadata,
        _expected: Option<&str>,
    ) -> StoreResult<Option<String>> {
        Err(read_only())
    }
}
