//! Reads ahead of the channel's settings (docs/round-trips.md, "Reading ahead"). Every object
//! of a channel is keyed by its storage id, which only the channel's settings (key-value) name,
//! so a request first reads the settings and then the objects: two dependent round trips. This
//! isolate remembers, per endpoint, the storage id its channel last had and the endpoint's
//! settings. A request that those settings would let through reads the objects its route
//! starts with (a rendition's switch log and timelines; a manifest's switch log and masters,
//! and its listings when the channel had no rendition index) under that id in the same round
//! trip as the settings. A segment URL that names the storage id (`route::split_storage_dir`)
//! reads its rendition's objects under that id the same way, remembered or not. What is remembered is only a
//! hint: access is checked again on the settings just read, the handler runs on them, and a
//! read ahead answers only a read of the very same key. When the channel was deleted and
//! created again, the reads ahead name the old id, nothing asks for them, and the request reads
//! as if nothing had been remembered. A request the remembered settings refuse reads nothing
//! ahead, so refused requests cost no object reads.

use super::Route;
use crate::keys;
use crate::model::{Endpoint, InputId};
use crate::names::{Name, Rendition};
use crate::store::{Metadata, Object, ObjectInfo, ObjectStore, StoreResult, UploadedPart};
use futures_util::future::{join, join_all};
use std::cell::RefCell;
use std::ops::Range;

/// Endpoints an isolate remembers; the oldest is forgotten first.
const REMEMBERED_ENDPOINTS: usize = 256;

/// What an isolate remembers of an endpoint it served.
#[derive(Clone)]
pub(super) struct Remembered {
    /// The storage id of the endpoint's channel.
    pub channel_id: String,
    pub endpoint: Endpoint,
    /// Whether the channel had a rendition index when a manifest last looked (a master read
    /// ahead then lists nothing).
    pub indexed: bool,
}

thread_local! {
    /// `(group/channel/endpoint, what was served)`, oldest first: this isolate's memory,
    /// never stored.
    static SERVED: RefCell<Vec<(String, Remembered)>> = const { RefCell::new(Vec::new()) };
}

/// Forgets every remembered endpoint (tests of a cold isolate).
pub fn forget_remembered_endpoints() {
    SERVED.with(|s| s.borrow_mut().clear());
}

fn name_key(g: &Name, c: &Name, e: &Name) -> String {
    format!("{g}/{c}/{e}")
}

/// What this isolate remembers of `g/c/e`.
pub(super) fn remembered(g: &Name, c: &Name, e: &Name) -> Option<Remembered> {
    let key = name_key(g, c, e);
    SERVED.with(|s| {
        s.borrow()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, r)| r.clone())
    })
}

/// Forgets `g/c/e` (its settings refused a request, or it is gone).
pub(super) fn forget(g: &Name, c: &Name, e: &Name) {
    let key = name_key(g, c, e);
    SERVED.with(|s| s.borrow_mut().retain(|(k, _)| *k != key));
}

/// Remembers the settings just read for `g/c/e`; `indexed`: whether the channel has a
/// rendition index, when this request looked (`None` keeps what was remembered).
pub(super) fn remember(
    g: &Name,
    c: &Name,
    e: &Name,
    channel_id: &str,
    endpoint: &Endpoint,
    indexed: Option<bool>,
) {
    let key = name_key(g, c, e);
    SERVED.with(|s| {
        let mut s = s.borrow_mut();
        let same = |r: &Remembered| r.channel_id == channel_id && r.endpoint == *endpoint;
        if let Some((_, r)) = s.iter_mut().find(|(k, r)| *k == key && same(r)) {
            r.indexed = indexed.unwrap_or(r.indexed);
            return;
        }
        s.retain(|(k, _)| *k != key);
        if s.len() >= REMEMBERED_ENDPOINTS {
            s.remove(0);
        }
        s.push((
            key,
            Remembered {
                channel_id: channel_id.to_owned(),
                endpoint: endpoint.clone(),
                indexed: indexed.unwrap_or(false),
            },
        ));
    });
}

/// What a request starts with, read ahead: a master's or an MPD's rendition listings, switch
/// log and both masters; a rendition's file its switch log and timelines.
pub(super) enum Start<'r> {
    /// `list`: the channel has no rendition index (as last seen), so the listings too.
    Manifest {
        list: bool,
    },
    Rendition(&'r Rendition),
}

impl Start<'_> {
    /// What `route` starts with; clips and key files read nothing ahead (they read more than
    /// one round trip's worth anyway).
    pub fn of(route: &Route, indexed: bool) -> Option<Start<'_>> {
        match route {
            Route::Manifest => Some(Start::Manifest { list: !indexed }),
            Route::TsPlaylist { rendition }
            | Route::CmafPlaylist { rendition, .. }
            | Route::TsSegment { rendition, .. }
            | Route::TsTrackSegment { rendition, .. }
            | Route::Init { rendition, .. }
            | Route::CmafSegment { rendition, .. }
            | Route::DashSegment { rendition, .. } => Some(Start::Rendition(rendition)),
            Route::Clip(_) | Route::Key { .. } => None,
        }
    }
}

/// One read made ahead.
enum Read {
    Get(String, StoreResult<Option<Object>>),
    List(String, StoreResult<Vec<ObjectInfo>>),
}

/// The object store of one playback request: a read of a key that was read ahead takes that
/// answer (once); everything else goes to the store.
pub(super) struct Ahead<'a, O> {
    inner: &'a O,
    reads: RefCell<Vec<Read>>,
}

impl<'a, O: ObjectStore> Ahead<'a, O> {
    pub fn new(inner: &'a O) -> Self {
        Ahead {
            inner,
            reads: RefCell::new(Vec::new()),
        }
    }

    /// Reads, all at once, what a request starts with on channel `id` ([`Start`]).
    pub async fn read_for(&self, id: Option<&str>, start: Option<Start<'_>>) {
        let (Some(id), Some(start)) = (id, start) else {
            return;
        };
        let mut gets = vec![keys::switch_log(id)];
        let mut lists = Vec::new();
        match start {
            Start::Manifest { list } => {
                gets.extend(InputId::ALL.map(|i| keys::master(id, i)));
                if list {
                    lists.extend(InputId::ALL.map(|i| keys::timelines(id, i)));
                }
            }
            Start::Rendition(rendition) => {
                gets.extend(InputId::ALL.map(|i| keys::timeline(id, i, rendition)));
            }
        }
        // One batch: channel state in the channel's object is one request for all of them.
        let gets = async {
            match self.inner.get_many(&gets).await {
                Ok(found) => gets
                    .into_iter()
                    .zip(found)
                    .map(|(k, o)| Read::Get(k, Ok(o)))
                    .collect(),
                Err(e) => gets
                    .into_iter()
                    .map(|k| Read::Get(k, Err(e.clone())))
                    .collect::<Vec<_>>(),
            }
        };
        let lists = join_all(lists.into_iter().map(|p| async move {
            let r = self.inner.list(&p).await;
            Read::List(p, r)
        }));
        let (gets, lists) = join(gets, lists).await;
        self.reads
            .borrow_mut()
            .extend(gets.into_iter().chain(lists));
    }

    fn take_get(&self, key: &str) -> Option<StoreResult<Option<Object>>> {
        let mut reads = self.reads.borrow_mut();
        let i = reads
            .iter()
            .position(|r| matches!(r, Read::Get(k, _) if k == key))?;
        match reads.swap_remove(i) {
            Read::Get(_, r) => Some(r),
            Read::List(..) => None,
        }
    }

    fn take_list(&self, prefix: &str) -> Option<StoreResult<Vec<ObjectInfo>>> {
        let mut reads = self.reads.borrow_mut();
        let i = reads
            .iter()
            .position(|r| matches!(r, Read::List(p, _) if p == prefix))?;
        match reads.swap_remove(i) {
            Read::List(_, r) => Some(r),
            Read::Get(..) => None,
        }
    }
}

impl<O: ObjectStore> ObjectStore for Ahead<'_, O> {
    async fn get(&self, key: &str) -> StoreResult<Option<Object>> {
        match self.take_get(key) {
            Some(read) => read,
            None => self.inner.get(key).await,
        }
    }

    /// The keys read ahead from their answers, the others in one batch of the store.
    async fn get_many(&self, keys: &[String]) -> StoreResult<Vec<Option<Object>>> {
        let mut found: Vec<Option<StoreResult<Option<Object>>>> =
            keys.iter().map(|k| self.take_get(k)).collect();
        let missing: Vec<String> = keys
            .iter()
            .zip(&found)
            .filter(|(_, f)| f.is_none())
            .map(|(k, _)| k.clone())
            .collect();
        let mut read = self.inner.get_many(&missing).await?.into_iter();
        found
            .iter_mut()
            .map(|f| match f.take() {
                Some(ahead) => ahead,
                None => Ok(read.next().flatten()),
            })
            .collect()
    }

    async fn put(&self, key: &str, body: &[u8], metadata: &Metadata) -> StoreResult<()> {
        self.inner.put(key, body, metadata).await
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.inner.delete(key).await
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectInfo>> {
        match self.take_list(prefix) {
            Some(read) => read,
            None => self.inner.list(prefix).await,
        }
    }

    async fn list_first(&self, prefix: &str, max: usize) -> StoreResult<Vec<String>> {
        self.inner.list_first(prefix, max).await
    }

    async fn get_versioned(&self, key: &str) -> StoreResult<Option<(Object, String)>> {
        self.inner.get_versioned(key).await
    }

    async fn put_if_version(
        &self,
        key: &str,
        body: &[u8],
        metadata: &Metadata,
        expected: Option<&str>,
    ) -> StoreResult<Option<String>> {
        self.inner
            .put_if_version(key, body, metadata, expected)
            .await
    }

    async fn head(&self, key: &str) -> StoreResult<Option<ObjectInfo>> {
        self.inner.head(key).await
    }

    async fn get_range(&self, key: &str, range: Range<u64>) -> StoreResult<Option<Vec<u8>>> {
        self.inner.get_range(key, range).await
    }

    async fn create_multipart(&self, key: &str, metadata: &Metadata) -> StoreResult<String> {
        self.inner.create_multipart(key, metadata).await
    }

    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u16,
        body: &[u8],
    ) -> StoreResult<UploadedPart> {
        self.inner
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
        self.inner
            .complete_multipart(key, upload_id, parts, metadata)
            .await
    }

    async fn abort_multipart(&self, key: &str, upload_id: &str) -> StoreResult<()> {
        self.inner.abort_multipart(key, upload_id).await
    }
}
