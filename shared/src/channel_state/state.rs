//! The object's memory of its channel state, and the store its commits run over.

use super::rows::{decode_row, encode_row, row_of, Row, RowEntry, RowStorage};
use super::{channel_of, is_state_key, spans_both};
use crate::store::{
    content_version, Metadata, Object, ObjectInfo, ObjectStore, StoreError, StoreResult,
    UploadedPart,
};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

/// Most state keys an object holds (six timelines and their claims are a few hundred).
pub const MAX_STATE_KEYS: usize = 8_192;

/// An object's channel state: loaded from its rows on first use, changed in memory by the
/// requests it runs, written back by [`ChannelState::flush`] (only the rows that changed).
#[derive(Debug)]
pub struct ChannelState<R> {
    rows: R,
    loaded: Cell<bool>,
    entries: RefCell<BTreeMap<String, RowEntry>>,
    /// Channel ids whose state in the object store was read in, or that have rows
    /// (docs/storage.md, "Channels from before"); the object store is read only once per
    /// start of the object for a channel that has none.
    migrated: RefCell<BTreeSet<String>>,
    dirty: RefCell<BTreeSet<String>>,
}

impl<R: RowStorage> ChannelState<R> {
    pub fn new(rows: R) -> Self {
        ChannelState {
            rows,
            loaded: Cell::new(false),
            entries: RefCell::default(),
            migrated: RefCell::default(),
            dirty: RefCell::default(),
        }
    }

    pub fn rows(&self) -> &R {
        &self.rows
    }

    fn load(&self) -> StoreResult<()> {
        if self.loaded.get() {
            return Ok(());
        }
        let mut entries = BTreeMap::new();
        for (name, body) in self.rows.load()? {
            entries.extend(decode_row(&name, &body)?);
        }
        // A channel with rows was migrated (or never had state elsewhere).
        let migrated = entries
            .keys()
            .filter_map(|k: &String| channel_of(k))
            .map(str::to_owned)
            .collect();
        *self.entries.borrow_mut() = entries;
        *self.migrated.borrow_mut() = migrated;
        self.loaded.set(true);
        Ok(())
    }

    /// Loads the rows, and on the first use of channel `id` reads its state from `objects`
    /// (a channel whose state was kept there before: nothing is lost on the switch).
    async fn ready<O: ObjectStore>(&self, id: Option<&str>, objects: &O) -> StoreResult<()> {
        self.load()?;
        let Some(id) = id else {
            return Ok(());
        };
        if self.migrated.borrow().contains(id) {
            return Ok(());
        }
        let mut found = Vec::new();
        for prefix in [format!("idx/{id}/"), format!("fa/{id}/")] {
            for info in objects.list(&prefix).await? {
                if let Some(o) = objects.get(&info.key).await? {
                    found.push((info.key, o));
                }
            }
        }
        let log = format!("switch/{id}.json");
        if let Some(o) = objects.get(&log).await? {
            found.push((log, o));
        }
        let mut entries = self.entries.borrow_mut();
        let mut dirty = self.dirty.borrow_mut();
        for (key, o) in found {
            if entries.contains_key(&key) {
                continue;
            }
            dirty.insert(row_of(&key));
            entries.insert(key, entry(o.body, o.metadata)?);
        }
        self.migrated.borrow_mut().insert(id.to_owned());
        Ok(())
    }

    fn get(&self, key: &str) -> Option<RowEntry> {
        self.entries.borrow().get(key).cloned()
    }

    fn set(&self, key: &str, value: Option<RowEntry>) -> StoreResult<()> {
        let mut entries = self.entries.borrow_mut();
        match value {
            Some(e) => {
                if !entries.contains_key(key) && entries.len() >= MAX_STATE_KEYS {
                    return Err(StoreError(format!(
                        "channel state: more than {MAX_STATE_KEYS} keys"
                    )));
                }
                entries.insert(key.to_owned(), e);
            }
            None => {
                if entries.remove(key).is_none() {
                    return Ok(());
                }
            }
        }
        self.dirty.borrow_mut().insert(row_of(key));
        Ok(())
    }

    fn list(&self, prefix: &str) -> Vec<ObjectInfo> {
        self.entries
            .borrow()
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, e)| info(k, e))
            .collect()
    }

    /// Rows changed since the last flush.
    pub fn pending(&self) -> usize {
        self.dirty.borrow().len()
    }

    /// Writes every changed row; returns how many. On failure the memory is dropped (the rows
    /// are what is durable) and read again by the next request.
    pub fn flush(&self) -> StoreResult<usize> {
        let dirty = std::mem::take(&mut *self.dirty.borrow_mut());
        let written = self.write_rows(&dirty);
        if written.is_err() {
            self.reset();
        }
        written
    }

    fn write_rows(&self, dirty: &BTreeSet<String>) -> StoreResult<usize> {
        let entries = self.entries.borrow();
        for name in dirty {
            let row: Row = entries
                .iter()
                .filter(|(k, _)| row_of(k) == *name)
                .map(|(k, e)| (k.clone(), e.clone()))
                .collect();
            self.rows.write(name, &encode_row(&row)?)?;
        }
        Ok(dirty.len())
    }

    /// Removes everything of deleted channel `id`: the copies of its state in `objects` from
    /// before the object (docs/storage.md, "Channels from before"), its keys in memory and
    /// every row (an object holds one channel's state). How many keys and copies went.
    pub async fn purge<O: ObjectStore>(&self, id: &str, objects: &O) -> StoreResult<usize> {
        self.load()?;
        let mut removed = self
            .entries
            .borrow()
            .keys()
            .filter(|k| channel_of(k) == Some(id))
            .count();
        for prefix in [format!("idx/{id}/"), format!("fa/{id}/")] {
            for info in objects.list(&prefix).await? {
                objects.delete(&info.key).await?;
                removed += 1;
            }
        }
        let log = crate::keys::switch_log(id);
        if objects.head(&log).await?.is_some() {
            objects.delete(&log).await?;
            removed += 1;
        }
        self.reset();
        self.rows.clear()?;
        Ok(removed)
    }

    /// Forgets the memory (unflushed changes too): the next use loads the rows again.
    pub fn reset(&self) {
        self.loaded.set(false);
        self.entries.borrow_mut().clear();
        self.migrated.borrow_mut().clear();
        self.dirty.borrow_mut().clear();
    }
}

fn entry(body: Vec<u8>, metadata: Metadata) -> StoreResult<RowEntry> {
    let body = String::from_utf8(body)
        .map_err(|_| StoreError("channel state holds JSON text only".into()))?;
    Ok(RowEntry { body, metadata })
}

fn object(e: RowEntry) -> Object {
    Object {
        body: e.body.into_bytes(),
        metadata: e.metadata,
    }
}

fn info(key: &str, e: &RowEntry) -> ObjectInfo {
    ObjectInfo {
        key: key.to_owned(),
        size: e.body.len() as u64,
        metadata: e.metadata.clone(),
    }
}

fn not_state(op: &str, key: &str) -> StoreError {
    StoreError(format!("{op} of channel state key {key}"))
}

/// The store a request in the object runs over: state keys from the object's memory, every
/// other key from `objects` (R2).
pub struct StateObjects<'a, R, O> {
    pub state: &'a ChannelState<R>,
    pub objects: &'a O,
}

impl<R: RowStorage, O: ObjectStore> StateObjects<'_, R, O> {
    async fn ready(&self, key: &str) -> StoreResult<()> {
        self.state.ready(channel_of(key), self.objects).await
    }
}

impl<R: RowStorage, O: ObjectStore> ObjectStore for StateObjects<'_, R, O> {
    async fn get(&self, key: &str) -> StoreResult<Option<Object>> {
        if !is_state_key(key) {
            return self.objects.get(key).await;
        }
        self.ready(key).await?;
        Ok(self.state.get(key).map(object))
    }

    async fn put(&self, key: &str, body: &[u8], metadata: &Metadata) -> StoreResult<()> {
        if !is_state_key(key) {
            return self.objects.put(key, body, metadata).await;
        }
        self.ready(key).await?;
        self.state
            .set(key, Some(entry(body.to_vec(), metadata.clone())?))
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        if !is_state_key(key) {
            return self.objects.delete(key).await;
        }
        self.ready(key).await?;
        self.state.set(key, None)
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectInfo>> {
        if is_state_key(prefix) {
            self.ready(prefix).await?;
            return Ok(self.state.list(prefix));
        }
        let mut all = self.objects.list(prefix).await?;
        if spans_both(prefix) {
            self.state.load()?;
            all.retain(|o| !is_state_key(&o.key));
            all.extend(self.state.list(prefix));
            all.sort_by(|a, b| a.key.cmp(&b.key));
        }
        Ok(all)
    }

    async fn get_versioned(&self, key: &str) -> StoreResult<Option<(Object, String)>> {
        if !is_state_key(key) {
            return self.objects.get_versioned(key).await;
        }
        self.ready(key).await?;
        Ok(self.state.get(key).map(|e| {
            let version = content_version(e.body.as_bytes());
            (object(e), version)
        }))
    }

    /// Atomic: nothing else runs in the object between the comparison and the write.
    async fn put_if_version(
        &self,
        key: &str,
        body: &[u8],
        metadata: &Metadata,
        expected: Option<&str>,
    ) -> StoreResult<Option<String>> {
        if !is_state_key(key) {
            return self
                .objects
                .put_if_version(key, body, metadata, expected)
                .await;
        }
        self.ready(key).await?;
        let current = self
            .state
            .get(key)
            .map(|e| content_version(e.body.as_bytes()));
        if current.as_deref() != expected {
            return Ok(None);
        }
        self.state
            .set(key, Some(entry(body.to_vec(), metadata.clone())?))?;
        Ok(Some(content_version(body)))
    }

    async fn head(&self, key: &str) -> StoreResult<Option<ObjectInfo>> {
        if !is_state_key(key) {
            return self.objects.head(key).await;
        }
        self.ready(key).await?;
        Ok(self.state.get(key).map(|e| info(key, &e)))
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> StoreResult<Option<Vec<u8>>> {
        if !is_state_key(key) {
            return self.objects.get_range(key, range).await;
        }
        Ok(self.get(key).await?.map(|o| {
            let len = o.body.len() as u64;
            let (start, end) = (range.start.min(len), range.end.min(len));
            o.body[start as usize..end.max(start) as usize].to_vec()
        }))
    }

    async fn create_multipart(&self, key: &str, metadata: &Metadata) -> StoreResult<String> {
        if is_state_key(key) {
            return Err(not_state("multipart upload", key));
        }
        self.objects.create_multipart(key, metadata).await
    }

    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u16,
        body: &[u8],
    ) -> StoreResult<UploadedPart> {
        if is_state_key(key) {
            return Err(not_state("multipart upload", key));
        }
        self.objects
            .upload_part(key, upload_id, part_number, body)
            .await
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
        metadata: &Metadata,
    ) -> StoreResult<()> {
        if is_state_key(key) {
            return Err(not_state("multipart upload", key));
        }
        self.objects
            .complete_multipart(key, upload_id, parts, metadata)
            .await
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> StoreResult<()> {
        if is_state_key(key) {
            return Err(not_state("multipart upload", key));
        }
        self.objects.abort_multipart(key, upload_id).await
    }
}
