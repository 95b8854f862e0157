//! [`edgepack::store::KvStore`] over a Workers KV namespace.

use edgepack::store::{KvStore, StoreError, StoreResult};
use std::fmt::Display;
use worker::console_error;

/// Shortest expiry Workers KV accepts, seconds.
const MIN_TTL_S: u64 = 60;

pub struct WorkersKv(worker::kv::KvStore);

impl WorkersKv {
    pub fn new(kv: worker::kv::KvStore) -> Self {
        WorkersKv(kv)
    }
}

impl KvStore for WorkersKv {
    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.0
            .get(key)
            .bytes()
            .await
            .map_err(|e| failed("kv get", key, e))
    }

    async fn put(&self, key: &str, value: &[u8]) -> StoreResult<()> {
        self.0
            .put_bytes(key, value)
            .map_err(|e| failed("kv put", key, e))?
            .execute()
            .await
            .map_err(|e| failed("kv put", key, e))
    }

    /// Workers KV drops the value after `ttl_s` (60 s at the least).
    async fn put_expiring(&self, key: &str, value: &[u8], ttl_s: u64) -> StoreResult<()> {
        self.0
            .put_bytes(key, value)
            .map_err(|e| failed("kv put", key, e))?
            .expiration_ttl(ttl_s.max(MIN_TTL_S))
            .execute()
            .await
            .map_err(|e| failed("kv put", key, e))
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.0
            .delete(key)
            .await
            .map_err(|e| failed("kv delete", key, e))
    }

    /// Pages through the list cursors; KV returns keys in lexicographic (UTF-8 byte) order.
    async fn list(&self, prefix: &str) -> StoreResult<Vec<String>> {
        let mut keys = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut request = self.0.list().prefix(prefix.to_owned());
            if let Some(c) = cursor.take() {
                request = request.cursor(c);
            }
            let page = request
                .execute()
                .await
                .map_err(|e| failed("kv list", prefix, e))?;
            keys.extend(page.keys.into_iter().map(|k| k.name));
            if page.list_complete {
                return Ok(keys);
            }
            match page.cursor {
                Some(c) if !c.is_empty() => cursor = Some(c),
                _ => return Err(failed("kv list", prefix, "incomplete page without cursor")),
            }
        }
    }
}

/// Logs the platform error and returns a short one for the core.
pub(crate) fn failed(op: &str, key: &str, detail: impl Display) -> StoreError {
    console_error!("{op} {key}: {detail}");
    StoreError(format!("{op} {key} failed"))
}
