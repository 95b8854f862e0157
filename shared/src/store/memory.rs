//! In-memory stores for unit tests of the core.

use super::{KvStore, Metadata, Object, ObjectInfo, ObjectStore, StoreResult};
use std::cell::RefCell;
use std::collections::BTreeMap;

#[derive(Debug, Default)]
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

#[derive(Debug, Default)]
pub struct MemoryObjects {
    map: RefCell<BTreeMap<String, Object>>,
}

impl MemoryObjects {
    pub fn keys(&self) -> Vec<String> {
        self.map.borrow().keys().cloned().collect()
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
}
