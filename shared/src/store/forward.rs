//! `ObjectStore` methods that a wrapping store passes to the store it wraps.

/// Writes, inside an `impl ObjectStore for` a wrapper, each named method as a call of the same
/// method on the store in field `$inner`. A wrapper names every method it does not change, so
/// none falls back to the trait's default by omission (a default would read or write through
/// the wrapper, not the store it wraps).
macro_rules! forward_objects {
    ($inner:ident: $($method:ident),+ $(,)?) => {
        $($crate::store::forward_objects!(@one $inner $method);)+
    };
    (@one $inner:ident get) => {
        async fn get(&self, key: &str) -> $crate::store::StoreResult<Option<$crate::store::Object>> {
            self.$inner.get(key).await
        }
    };
    (@one $inner:ident put) => {
        async fn put(
            &self,
            key: &str,
            body: &[u8],
            metadata: &$crate::store::Metadata,
        ) -> $crate::store::StoreResult<()> {
            self.$inner.put(key, body, metadata).await
        }
    };
    (@one $inner:ident delete) => {
        async fn delete(&self, key: &str) -> $crate::store::StoreResult<()> {
            self.$inner.delete(key).await
        }
    };
    (@one $inner:ident list) => {
        async fn list(
            &self,
            prefix: &str,
        ) -> $crate::store::StoreResult<Vec<$crate::store::ObjectInfo>> {
            self.$inner.list(prefix).await
        }
    };
    (@one $inner:ident list_first) => {
        async fn list_first(
            &self,
            prefix: &str,
            max: usize,
        ) -> $crate::store::StoreResult<Vec<String>> {
            self.$inner.list_first(prefix, max).await
        }
    };
    (@one $inner:ident get_versioned) => {
        async fn get_versioned(
            &self,
            key: &str,
        ) -> $crate::store::StoreResult<Option<($crate::store::Object, String)>> {
            self.$inner.get_versioned(key).await
        }
    };
    (@one $inner:ident put_if_version) => {
        async fn put_if_version(
            &self,
            key: &str,
            body: &[u8],
            metadata: &$crate::store::Metadata,
            expected: Option<&str>,
        ) -> $crate::store::StoreResult<Option<String>> {
            self.$inner.put_if_version(key, body, metadata, expected).await
        }
    };
    (@one $inner:ident get_many) => {
        async fn get_many(
            &self,
            keys: &[String],
        ) -> $crate::store::StoreResult<Vec<Option<$crate::store::Object>>> {
            self.$inner.get_many(keys).await
        }
    };
    (@one $inner:ident head) => {
        async fn head(
            &self,
            key: &str,
        ) -> $crate::store::StoreResult<Option<$crate::store::ObjectInfo>> {
            self.$inner.head(key).await
        }
    };
    (@one $inner:ident get_range) => {
        async fn get_range(
            &self,
            key: &str,
            range: std::ops::Range<u64>,
        ) -> $crate::store::StoreResult<Option<Vec<u8>>> {
            self.$inner.get_range(key, range).await
        }
    };
    (@one $inner:ident create_multipart) => {
        async fn create_multipart(
            &self,
            key: &str,
            metadata: &$crate::store::Metadata,
        ) -> $crate::store::StoreResult<String> {
            self.$inner.create_multipart(key, metadata).await
        }
    };
    (@one $inner:ident upload_part) => {
        async fn upload_part(
            &self,
            key: &str,
            upload_id: &str,
            part_number: u16,
            body: &[u8],
        ) -> $crate::store::StoreResult<$crate::store::UploadedPart> {
            self.$inner.upload_part(key, upload_id, part_number, body).await
        }
    };
    (@one $inner:ident complete_multipart) => {
        async fn complete_multipart(
            &self,
            key: &str,
            upload_id: &str,
            parts: &[$crate::store::UploadedPart],
            metadata: &$crate::store::Metadata,
        ) -> $crate::store::StoreResult<()> {
            self.$inner.complete_multipart(key, upload_id, parts, metadata).await
        }
    };
    (@one $inner:ident abort_multipart) => {
        async fn abort_multipart(&self, key: &str, upload_id: &str) -> $crate::store::StoreResult<()> {
            self.$inner.abort_multipart(key, upload_id).await
        }
    };
    (@one $inner:ident purge_channel_state) => {
        async fn purge_channel_state(
            &self,
            channel_id: &str,
        ) -> $crate::store::StoreResult<Option<usize>> {
            self.$inner.purge_channel_state(channel_id).await
        }
    };
}

pub(crate) use forward_objects;
