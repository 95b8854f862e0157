//! A store that tells an [`Observer`] about every platform call before delegating it: what
//! tests and benches count (reads and writes, billing classes, sequential round trips) is
//! then only the observer's classification of an [`Op`].

use crate::store::{KvStore, Metadata, Object, ObjectInfo, ObjectStore, StoreResult, UploadedPart};
use std::cell::Cell;
use std::ops::Range;

/// One call of a [`KvStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KvOp {
    Get,
    Put,
    PutExpiring,
    Delete,
    List,
}

/// One call of an [`ObjectStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectOp {
    Get,
    Put,
    Delete,
    List,
    ListFirst,
    GetVersioned,
    PutIfVersion,
    Head,
    GetRange,
    CreateMultipart,
    UploadPart,
    CompleteMultipart,
    AbortMultipart,
}

/// A platform call: which store, which operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Kv(KvOp),
    Object(ObjectOp),
}

impl Op {
    /// Whether the call only reads (gets, listings, heads, ranges).
    pub fn is_read(self) -> bool {
        matches!(
            self,
            Op::Kv(KvOp::Get | KvOp::List)
                | Op::Object(
                    ObjectOp::Get
                        | ObjectOp::List
                        | ObjectOp::ListFirst
                        | ObjectOp::GetVersioned
                        | ObjectOp::Head
                        | ObjectOp::GetRange
                )
        )
    }
}

/// What an [`Observed`] store calls around each operation.
#[allow(async_fn_in_trait)]
pub trait Observer {
    /// `op` on `key` (a prefix for listings) is about to be delegated.
    fn start(&self, op: Op, key: &str);
    /// Awaited after [`Observer::start`], before the operation runs (a test that makes
    /// each call take time waits here).
    async fn delay(&self) {}
    /// `op` returned.
    fn end(&self, op: Op) {
        let _ = op;
    }
}

/// `inner`, with every call reported to `observer` first.
#[derive(Debug, Default)]
pub struct Observed<S, H> {
    pub inner: S,
    pub observer: H,
}

impl<S, H: Observer> Observed<S, H> {
    async fn run<T>(&self, op: Op, key: &str, f: impl std::future::Future<Output = T>) -> T {
        self.observer.start(op, key);
        self.observer.delay().await;
        let v = f.await;
        self.observer.end(op);
        v
    }
}

impl<S: KvStore, H: Observer> KvStore for Observed<S, H> {
    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.run(Op::Kv(KvOp::Get), key, self.inner.get(key)).await
    }
    async fn put(&self, key: &str, value: &[u8]) -> StoreResult<()> {
        self.run(Op::Kv(KvOp::Put), key, self.inner.put(key, value))
            .await
    }
    async fn put_expiring(&self, key: &str, value: &[u8], ttl_s: u64) -> StoreResult<()> {
        let f = self.inner.put_expiring(key, value, ttl_s);
        self.run(Op::Kv(KvOp::PutExpiring), key, f).await
    }
    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.run(Op::Kv(KvOp::Delete), key, self.inner.delete(key))
            .await
    }
    async fn list(&self, prefix: &str) -> StoreResult<Vec<String>> {
        self.run(Op::Kv(KvOp::List), prefix, self.inner.list(prefix))
            .await
    }
}

impl<S: ObjectStore, H: Observer> ObjectStore for Observed<S, H> {
    async fn get(&self, key: &str) -> StoreResult<Option<Object>> {
        self.run(Op::Object(ObjectOp::Get), key, self.inner.get(key))
            .await
    }
    async fn put(&self, key: &str, body: &[u8], metadata: &Metadata) -> StoreResult<()> {
        let f = self.inner.put(key, body, metadata);
        self.run(Op::Object(ObjectOp::Put), key, f).await
    }
    async fn delete(&self, key: &str) -> StoreResult<()> {
        let f = self.inner.delete(key);
        self.run(Op::Object(ObjectOp::Delete), key, f).await
    }
    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectInfo>> {
        let f = self.inner.list(prefix);
        self.run(Op::Object(ObjectOp::List), prefix, f).await
    }
    async fn list_first(&self, prefix: &str, max: usize) -> StoreResult<Vec<String>> {
        let f = self.inner.list_first(prefix, max);
        self.run(Op::Object(ObjectOp::ListFirst), prefix, f).await
    }
    async fn get_versioned(&self, key: &str) -> StoreResult<Option<(Object, String)>> {
        let f = self.inner.get_versioned(key);
        self.run(Op::Object(ObjectOp::GetVersioned), key, f).await
    }
    async fn put_if_version(
        &self,
        key: &str,
        body: &[u8],
        metadata: &Metadata,
        expected: Option<&str>,
    ) -> StoreResult<Option<String>> {
        let f = self.inner.put_if_version(key, body, metadata, expected);
        self.run(Op::Object(ObjectOp::PutIfVersion), key, f).await
    }
    async fn head(&self, key: &str) -> StoreResult<Option<ObjectInfo>> {
        let f = self.inner.head(key);
        self.run(Op::Object(ObjectOp::Head), key, f).await
    }
    async fn get_range(&self, key: &str, range: Range<u64>) -> StoreResult<Option<Vec<u8>>> {
        let f = self.inner.get_range(key, range);
        self.run(Op::Object(ObjectOp::GetRange), key, f).await
    }
    async fn create_multipart(&self, key: &str, metadata: &Metadata) -> StoreResult<String> {
        let f = self.inner.create_multipart(key, metadata);
        self.run(Op::Object(ObjectOp::CreateMultipart), key, f)
            .await
    }
    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u16,
        body: &[u8],
    ) -> StoreResult<UploadedPart> {
        let f = self.inner.upload_part(key, upload_id, part_number, body);
        self.run(Op::Object(ObjectOp::UploadPart), key, f).await
    }
    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
        metadata: &Metadata,
    ) -> StoreResult<()> {
        let f = self
            .inner
            .complete_multipart(key, upload_id, parts, metadata);
        self.run(Op::Object(ObjectOp::CompleteMultipart), key, f)
            .await
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> StoreResult<()> {
        let f = self.inner.abort_multipart(key, upload_id);
        self.run(Op::Object(ObjectOp::AbortMultipart), key, f).await
    }

    async fn purge_channel_state(&self, channel_id: &str) -> StoreResult<Option<usize>> {
        self.inner.purge_channel_state(channel_id).await
    }
}

/// Reads and writes apart ([`Op::is_read`]), one per platform call.
#[derive(Debug, Default)]
pub struct Tally {
    reads: Cell<usize>,
    writes: Cell<usize>,
}

impl Observer for Tally {
    fn start(&self, op: Op, _key: &str) {
        let n = if op.is_read() {
            &self.reads
        } else {
            &self.writes
        };
        n.set(n.get() + 1);
    }
}

/// A store that counts the operations made through it, reads and writes apart, to measure
/// what a request costs.
pub type Counting<S> = Observed<S, Tally>;

impl<S> Observed<S, Tally> {
    pub fn new(inner: S) -> Self {
        Observed {
            inner,
            observer: Tally::default(),
        }
    }

    /// Reads (gets, listings and their variants) since creation or the last [`Self::reset`].
    pub fn reads(&self) -> usize {
        self.observer.reads.get()
    }

    /// Writes (puts, deletes and their variants) since creation or the last [`Self::reset`].
    pub fn writes(&self) -> usize {
        self.observer.writes.get()
    }

    pub fn reset(&self) {
        self.observer.reads.set(0);
        self.observer.writes.set(0);
    }
}
