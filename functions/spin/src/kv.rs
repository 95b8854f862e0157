//! [`edgepack::store::KvStore`] over a Spin key-value store.
//!
//! The core's keys live under [`KV_PREFIX`], so they never mix with the object store's keys
//! kept in the same Spin store (see `objects.rs`).

use edgepack::store::{KvStore, StoreError, StoreResult};
use spin_sdk::key_value::Store;
use std::fmt::Display;
use std::rc::Rc;

const KV_PREFIX: &str = "kv:";

pub struct SpinKv(Rc<Store>);

impl SpinKv {
    pub fn new(store: Rc<Store>) -> Self {
        SpinKv(store)
    }
}

impl KvStore for SpinKv {
    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.0
            .get(&format!("{KV_PREFIX}{key}"))
            .map_err(|e| failed("kv get", key, e))
    }

    async fn put(&self, key: &str, value: &[u8]) -> StoreResult<()> {
        self.0
            .set(&format!("{KV_PREFIX}{key}"), value)
            .map_err(|e| failed("kv set", key, e))
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.0
            .delete(&format!("{KV_PREFIX}{key}"))
            .map_err(|e| failed("kv delete", key, e))
    }

    /// Spin has no prefix listing: every key is read and filtered here.
    async fn list(&self, prefix: &str) -> StoreResult<Vec<String>> {
        let full = format!("{KV_PREFIX}{prefix}");
        Ok(keys_with_prefix(&self.0, &full)?
            .into_iter()
            .filter_map(|k| k.strip_prefix(KV_PREFIX).map(str::to_owned))
            .collect())
    }
}

/// Every key of `store` starting with `prefix`, sorted (Spin gives no order).
pub(crate) fn keys_with_prefix(store: &Store, prefix: &str) -> StoreResult<Vec<String>> {
    let mut keys: Vec<String> = store
        .get_keys()
        .map_err(|e| failed("kv get-keys", prefix, e))?
        .into_iter()
        .filter(|k| k.starts_with(prefix))
        .collect();
    keys.sort_unstable();
    Ok(keys)
}

/// Logs the platform error and returns a short one for the core.
pub(crate) fn failed(op: &str, key: &str, detail: impl Display) -> StoreError {
    eprintln!("{op} {key}: {detail}");
    StoreError(format!("{op} {key} failed"))
}
