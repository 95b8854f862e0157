//! In-memory stores for unit tests of the core.

use super::{
    content_version, KvStore, Metadata, Object, ObjectInfo, ObjectStore, StoreError, StoreResult,
    UploadedPart, MAX_PARTS,
};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ops::Range;

/// An upload's parts by number.
type Parts = BTreeMap<u16, Vec<u8>>;

/// R2's smallest part (all parts but the last).
pub const MIN_PART_BYTES: u64 = 5 << 20;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct MemoryKv {
    map: RefCell<BTreeMap<String, Vec<u8>>>,
}

impl MemoryKv {
    pub fn len(&self) -> usize {
        self.map.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.borrow().is_empty()
    }
}

impl KvStore for MemoryKv {
    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        Ok(self.map.borrow().get(key).cloned())
    }

    async fn put(&self, key: &str, value: &[u8]) -> StoreResult<()> {
        self.map.borrow_mut().insert(key.to_owned(), value.to_vec());
        Ok(())
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.map.borrow_mut().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<String>> {
        Ok(self
            .map
            .borrow()
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, _)| k.clone())
            .collect())
    }
}

/// Objects in memory, with multipart uploads that follow R2's rules (parts of one size, at
/// least [`MIN_PART_BYTES`], but the last, which may be smaller; at most 10,000), so core tests
/// catch an upload R2 would refuse.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MemoryObjects {
    map: RefCell<BTreeMap<String, Object>>,
    /// Unfinished uploads: (key, upload id) → part number → body.
    uploads: RefCell<BTreeMap<(String, String), Parts>>,
    next_upload: Cell<u64>,
    /// Large objects in the chunked form of platforms without multipart uploads (Spin).
    chunked: bool,
}

impl MemoryObjects {
    pub fn keys(&self) -> Vec<String> {
        self.map.borrow().keys().cloned().collect()
    }

    /// A store that keeps multipart uploads as chunk objects and a manifest, as the
    /// [`ObjectStore`] defaults do on Spin.
    pub fn chunked() -> Self {
        MemoryObjects {
            chunked: true,
            ..MemoryObjects::default()
        }
    }

    /// Bytes of all stored bodies (objects and unfinished upload parts).
    pub fn stored_bytes(&self) -> u64 {
        let objects: usize = self.map.borrow().values().map(|o| o.body.len()).sum();
        let parts: usize = self
            .uploads
            .borrow()
            .values()
            .flat_map(|p| p.values())
            .map(Vec::len)
            .sum();
        (objects + parts) as u64
    }

    /// Multipart uploads started and not completed.
    pub fn open_uploads(&self) -> usize {
        self.uploads.borrow().len()
    }
}

impl ObjectStore for MemoryObjects {
    async fn get(&self, key: &str) -> StoreResult<Option<Object>> {
        Ok(self.map.borrow().get(key).cloned())
    }

    async fn put(&self, key: &str, body: &[u8], metadata: &Metadata) -> StoreResult<()> {
        let object = Object {
            body: body.to_vec(),
            metadata: metadata.clone(),
        };
        self.map.borrow_mut().insert(key.to_owned(), object);
        Ok(())
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.map.borrow_mut().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectInfo>> {
        Ok(self
            .map
            .borrow()
            .range(prefix.to_owned()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, o)| ObjectInfo {
                key: k.clone(),
                size: o.body.len() as u64,
                metadata: o.metadata.clone(),
            })
            .collect())
    }

    async fn head(&self, key: &str) -> StoreResult<Option<ObjectInfo>> {
        if self.chunked {
            let info = self.list(key).await?.into_iter().find(|o| o.key == key);
            return Ok(info.map(|mut o| {
                o.size = super::logical_size(&o);
                o
            }));
        }
        Ok(self.map.borrow().get(key).map(|o| ObjectInfo {
            key: key.to_owned(),
            size: o.body.len() as u64,
            metadata: o.metadata.clone(),
        }))
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> StoreResult<Option<Vec<u8>>> {
        if self.chunked {
            return super::multipart::get_range_chunked(self, key, range).await;
        }
        Ok(self.map.borrow().get(key).map(|o| {
            let len = o.body.len();
            let at = |v: u64| usize::try_from(v).unwrap_or(usize::MAX).min(len);
            o.body[at(range.start)..at(range.end).max(at(range.start))].to_vec()
        }))
    }

    async fn create_multipart(&self, key: &str, _metadata: &Metadata) -> StoreResult<String> {
        if self.chunked {
            return Ok(super::multipart::upload_id(key));
        }
        let id = format!("u{}", self.next_upload.get());
        self.next_upload.set(self.next_upload.get() + 1);
        self.uploads
            .borrow_mut()
            .insert((key.to_owned(), id.clone()), BTreeMap::new());
        Ok(id)
    }

    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u16,
        body: &[u8],
    ) -> StoreResult<UploadedPart> {
        if self.chunked {
            return super::multipart::upload_chunk(self, key, upload_id, part_number, body).await;
        }
        let mut uploads = self.uploads.borrow_mut();
        let parts = uploads
            .get_mut(&(key.to_owned(), upload_id.to_owned()))
            .ok_or_else(|| StoreError(format!("no upload {upload_id} of {key}")))?;
        if part_number == 0 || usize::from(part_number) > MAX_PARTS {
            return Err(StoreError(format!("part number {part_number}")));
        }
        parts.insert(part_number, body.to_vec());
        Ok(UploadedPart {
            part_number,
            etag: content_version(body),
            size: body.len() as u64,
        })
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
        metadata: &Metadata,
    ) -> StoreResult<()> {
        if self.chunked {
            return super::multipart::complete_chunked(self, key, upload_id, parts, metadata).await;
        }
        let id = (key.to_owned(), upload_id.to_owned());
        let stored = self
            .uploads
            .borrow_mut()
            .remove(&id)
            .ok_or_else(|| StoreError(format!("no upload {upload_id} of {key}")))?;
        let refuse = |what: String| Err(StoreError(format!("multipart {key}: {what}")));
        if parts.is_empty() {
            return refuse("no parts".into());
        }
        let mut body = Vec::new();
        let first_size = stored.get(&parts[0].part_number).map_or(0, Vec::len) as u64;
        for (i, p) in parts.iter().enumerate() {
            let Some(bytes) = stored.get(&p.part_number) else {
                return refuse(format!("part {} was not uploaded", p.part_number));
            };
            if content_version(bytes) != p.etag {
                return refuse(format!("part {} etag differs", p.part_number));
            }
            if i > 0 && p.part_number <= parts[i - 1].part_number {
                return refuse("part numbers must increase".into());
            }
            let size = bytes.len() as u64;
            let last = i + 1 == parts.len();
            if !last && (size != first_size || size < MIN_PART_BYTES) {
                return refuse(format!(
                    "part {} has {size} bytes: parts but the last must be the same size, at \
                     least {MIN_PART_BYTES}",
                    p.part_number
                ));
            }
            if last && size > first_size {
                return refuse(format!(
                    "last part {} is larger than the others",
                    p.part_number
                ));
            }
            body.extend_from_slice(bytes);
        }
        self.put(key, &body, metadata).await
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> StoreResult<()> {
        if self.chunked {
            return super::multipart::abort_chunked(self, key, upload_id).await;
        }
        self.uploads
            .borrow_mut()
            .remove(&(key.to_owned(), upload_id.to_owned()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::CHUNK_PREFIX;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// The memory store's futures are ready at once.
    fn block_on<F: Future>(f: F) -> F::Output {
        match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("memory store future pending"),
        }
    }

    fn upload(store: &MemoryObjects, sizes: &[usize]) -> StoreResult<()> {
        let id = block_on(store.create_multipart("k", &Metadata::new()))?;
        let mut parts = Vec::new();
        for (i, &size) in sizes.iter().enumerate() {
            let n = u16::try_from(i + 1).unwrap_or(u16::MAX);
            parts.push(block_on(store.upload_part(
                "k",
                &id,
                n,
                &vec![i as u8; size],
            ))?);
        }
        block_on(store.complete_multipart("k", &id, &parts, &Metadata::new()))
    }

    #[test]
    fn multipart_follows_r2_part_rules() {
        let part = MIN_PART_BYTES as usize;
        let store = MemoryObjects::default();
        assert!(upload(&store, &[part, part, 10]).is_ok());
        let info = block_on(store.head("k")).unwrap().unwrap();
        assert_eq!(info.size, 2 * MIN_PART_BYTES + 10);
        let tail = block_on(store.get_range("k", info.size - 12..info.size + 5));
        assert_eq!(tail.unwrap().unwrap(), [1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
        // Too small, unequal, or a last part larger than the others.
        for sizes in [
            vec![part - 1, 10],
            vec![part, part + 1, 10],
            vec![part, part + 1],
        ] {
            assert!(upload(&store, &sizes).is_err(), "{sizes:?}");
        }
        // A single small part is a whole object.
        assert!(upload(&store, &[10]).is_ok());
    }

    #[test]
    fn chunked_objects_read_only_what_a_range_needs() {
        let store = MemoryObjects::chunked();
        assert!(upload(&store, &[3, 3, 2]).is_ok());
        let info = block_on(store.head("k")).unwrap().unwrap();
        assert_eq!(info.size, 8);
        let r = block_on(store.get_range("k", 2..7)).unwrap().unwrap();
        assert_eq!(r, [0, 1, 1, 1, 2]);
        assert!(store.keys().iter().any(|k| k.starts_with(CHUNK_PREFIX)));
    }

    #[test]
    fn an_aborted_upload_leaves_nothing() {
        for store in [MemoryObjects::default(), MemoryObjects::chunked()] {
            let id = block_on(store.create_multipart("k", &Metadata::new())).unwrap();
            for n in [1, 2] {
                block_on(store.upload_part("k", &id, n, &[7; 5])).unwrap();
            }
            block_on(store.abort_multipart("k", &id)).unwrap();
            assert_eq!(store.open_uploads(), 0);
            assert_eq!(store.stored_bytes(), 0, "{:?}", store.keys());
            // Aborting again, or an unknown upload, is no error.
            block_on(store.abort_multipart("k", &id)).unwrap();
        }
        // A completed chunked object keeps its chunks.
        let store = MemoryObjects::chunked();
        assert!(upload(&store, &[3, 3, 2]).is_ok());
        let id = block_on(store.create_multipart("k", &Metadata::new())).unwrap();
        block_on(store.abort_multipart("k", &id)).unwrap();
        let r = block_on(store.get_range("k", 0..8)).unwrap().unwrap();
        assert_eq!(r, [0, 0, 0, 1, 1, 1, 2, 2]);
    }
}
