//! A shared reference to a store is a store (the channel object runs the core over the
//! platform's stores without owning them; tests share one store between a Worker and its
//! channels' objects).

use super::{KvStore, Metadata, Object, ObjectInfo, ObjectStore, StoreResult, UploadedPart};
use std::ops::Range;
use std::rc::Rc;

/// `KvStore` and `ObjectStore` for each pointer type `$store` (over `S`), every method passed
/// to the store pointed to.
macro_rules! shared_stores {
    ($($store:ty),+) => {$(
        impl<S: KvStore> KvStore for $store {
            async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
                (**self).get(key).await
            }
            async fn put(&self, key: &str, value: &[u8]) -> StoreResult<()> {
                (**self).put(key, value).await
            }
            async fn put_expiring(&self, key: &str, value: &[u8], ttl_s: u64) -> StoreResult<()> {
                (**self).put_expiring(key, value, ttl_s).await
            }
            async fn delete(&self, key: &str) -> StoreResult<()> {
                (**self).delete(key).await
            }
            async fn list(&self, prefix: &str) -> StoreResult<Vec<String>> {
                (**self).list(prefix).await
            }
        }

        impl<S: ObjectStore> ObjectStore for $store {
            async fn get(&self, key: &str) -> StoreResult<Option<Object>> {
                (**self).get(key).await
            }
            async fn put(&self, key: &str, body: &[u8], metadata: &Metadata) -> StoreResult<()> {
                (**self).put(key, body, metadata).await
            }
            async fn delete(&self, key: &str) -> StoreResult<()> {
                (**self).delete(key).await
            }
            async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectInfo>> {
                (**self).list(prefix).await
            }
            async fn list_first(&self, prefix: &str, max: usize) -> StoreResult<Vec<String>> {
                (**self).list_first(prefix, max).await
            }
            async fn get_versioned(&self, key: &str) -> StoreResult<Option<(Object, String)>> {
                (**self).get_versioned(key).await
            }
            async fn put_if_version(
                &self,
                key: &str,
                body: &[u8],
                metadata: &Metadata,
                expected: Option<&str>,
            ) -> StoreResult<Option<String>> {
                (**self).put_if_version(key, body, metadata, expected).await
            }
            async fn get_many(&self, keys: &[String]) -> StoreResult<Vec<Option<Object>>> {
                (**self).get_many(keys).await
            }
            async fn head(&self, key: &str) -> StoreResult<Option<ObjectInfo>> {
                (**self).head(key).await
            }
            async fn get_range(&self, key: &str, range: Range<u64>) -> StoreResult<Option<Vec<u8>>> {
                (**self).get_range(key, range).await
            }
            async fn create_multipart(&self, key: &str, metadata: &Metadata) -> StoreResult<String> {
                (**self).create_multipart(key, metadata).await
            }
            async fn upload_part(
                &self,
                key: &str,
                upload_id: &str,
                part_number: u16,
                body: &[u8],
            ) -> StoreResult<UploadedPart> {
                (**self)
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
                (**self)
                    .complete_multipart(key, upload_id, parts, metadata)
                    .await
            }
            async fn abort_multipart(&self, key: &str, upload_id: &str) -> StoreResult<()> {
                (**self).abort_multipart(key, upload_id).await
            }
            async fn purge_channel_state(&self, channel_id: &str) -> StoreResult<Option<usize>> {
                (**self).purge_channel_state(channel_id).await
            }
        }
    )+};
}

shared_stores!(&S, Rc<S>);
