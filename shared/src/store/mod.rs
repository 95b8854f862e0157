//! Storage seen by the core: a small key-value store (config, heartbeats) and an object store
//! (segments, indexes). Futures are `!Send` on both platforms, hence plain `async fn`.
#![allow(async_fn_in_trait)]

mod memory;

pub use memory::{MemoryKv, MemoryObjects};

use std::collections::BTreeMap;
use std::fmt;

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
    async fn delete(&self, key: &str) -> StoreResult<()>;
    /// Every key that starts with `prefix`, in lexicographic order.
    async fn list(&self, prefix: &str) -> StoreResult<Vec<String>>;
}

/// Custom metadata stored beside an object.
pub type Metadata = BTreeMap<String, String>;

/// A stored object's description, without its body.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}
