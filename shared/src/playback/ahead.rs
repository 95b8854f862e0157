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
//!
//! The request's store also reads a key once for every get started while a get of it is in
//! flight: work run side by side (a time-shifted master's window and its live reads, a clip's
//! window and renditions) shares the switch log and the timelines they both need. A get
//! started after the answer came reads the store again (a blocking reload's next poll).

use super::Route;
use crate::keys;
use crate::model::{Endpoint, InputId};
use crate::names::{Name, Rendition};
use crate::store::{forward_objects, Object, ObjectInfo, ObjectStore, StoreResult};
use futures_util::future::{join, join_all};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

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
    Manifest { list: bool },
    /// A rendition's file; with a time-shifted segment's archive buckets (`archive`).
    Rendition(&'r Rendition, &'r [i64]),
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
            | Route::DashSegment { rendition, .. } => Some(Start::Rendition(rendition, &[])),
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
    /// Gets in flight, which a get of the same key started meanwhile joins.
    flights: RefCell<Vec<Flight>>,
}

/// The answer of a get in flight, shared with the gets that joined it.
#[derive(Default)]
struct SharedRead {
    answer: Option<StoreResult<Option<Object>>>,
    /// The get was dropped before it was answered: the joined ones read for themselves.
    abandoned: bool,
    waiters: Vec<Waker>,
}

/// A get in flight, by key.
struct Flight {
    key: String,
    slot: Rc<RefCell<SharedRead>>,
}

/// The get that reads a key for the others: on drop (answered or abandoned) it leaves the
/// flights, so a later get of the key reads the store again, and wakes who joined it.
struct Lead<'f> {
    flights: &'f RefCell<Vec<Flight>>,
    slot: Rc<RefCell<SharedRead>>,
}

impl<'f> Lead<'f> {
    fn start(flights: &'f RefCell<Vec<Flight>>, key: &str) -> Self {
        let slot = Rc::new(RefCell::new(SharedRead::default()));
        flights.borrow_mut().push(Flight {
            key: key.to_owned(),
            slot: slot.clone(),
        });
        Lead { flights, slot }
    }

    fn finish(self, answer: &StoreResult<Option<Object>>) {
        self.slot.borrow_mut().answer = Some(answer.clone());
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        self.flights
            .borrow_mut()
            .retain(|f| !Rc::ptr_eq(&f.slot, &self.slot));
        let mut slot = self.slot.borrow_mut();
        slot.abandoned = slot.answer.is_none();
        for waker in slot.waiters.drain(..) {
            waker.wake();
        }
    }
}

/// A get that joined one in flight: its answer, or `None` when it was abandoned.
struct Joined {
    slot: Rc<RefCell<SharedRead>>,
}

impl Future for Joined {
    type Output = Option<StoreResult<Option<Object>>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.slot.borrow_mut();
        if let Some(answer) = &slot.answer {
            return Poll::Ready(Some(answer.clone()));
        }
        if slot.abandoned {
            return Poll::Ready(None);
        }
        slot.waiters.push(cx.waker().clone());
        Poll::Pending
    }
}

impl<'a, O: ObjectStore> Ahead<'a, O> {
    pub fn new(inner: &'a O) -> Self {
        Ahead {
            inner,
            reads: RefCell::new(Vec::new()),
            flights: RefCell::new(Vec::new()),
        }
    }

    /// A get of `key` in flight, to join.
    fn in_flight(&self, key: &str) -> Option<Joined> {
        self.flights.borrow().iter().find_map(|f| {
            (f.key == key).then(|| Joined {
                slot: f.slot.clone(),
            })
        })
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
            Start::Rendition(rendition, buckets) => {
                gets.extend(InputId::ALL.map(|i| keys::timeline(id, i, rendition)));
                for input in InputId::ALL {
                    gets.extend(
                        buckets
                            .iter()
                            .map(|b| keys::archive(id, input, rendition, *b)),
                    );
                }
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
        if let Some(read) = self.take_get(key) {
            return read;
        }
        // A read of the same key in flight: its answer, not a second read.
        if let Some(joined) = self.in_flight(key) {
            if let Some(answer) = joined.await {
                return answer;
            }
        }
        let lead = Lead::start(&self.flights, key);
        let answer = self.inner.get(key).await;
        lead.finish(&answer);
        answer
    }

    /// The keys read ahead from their answers, keys in flight from the reads they join, the
    /// others in one batch of the store, which gets started meanwhile join in turn.
    async fn get_many(&self, keys: &[String]) -> StoreResult<Vec<Option<Object>>> {
        let mut found: Vec<Option<StoreResult<Option<Object>>>> =
            keys.iter().map(|k| self.take_get(k)).collect();
        let mut joined = Vec::new();
        let mut batch = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            if found[i].is_some() {
                continue;
            }
            match self.in_flight(key) {
                Some(flight) => joined.push((i, flight)),
                None => batch.push(i),
            }
        }
        if !batch.is_empty() {
            let leads: Vec<Lead> = batch
                .iter()
                .map(|&i| Lead::start(&self.flights, &keys[i]))
                .collect();
            let batch_keys: Vec<String> = batch.iter().map(|&i| keys[i].clone()).collect();
            let read = self.inner.get_many(&batch_keys).await;
            let objects = match read {
                Ok(objects) => objects,
                Err(e) => {
                    for lead in leads {
                        lead.finish(&Err(e.clone()));
                    }
                    return Err(e);
                }
            };
            for ((i, lead), object) in batch.into_iter().zip(leads).zip(objects) {
                let answer = Ok(object);
                lead.finish(&answer);
                found[i] = Some(answer);
            }
        }
        for (i, flight) in joined {
            found[i] = Some(match flight.await {
                Some(answer) => answer,
                None => self.inner.get(&keys[i]).await,
            });
        }
        found.into_iter().map(|f| f.unwrap_or(Ok(None))).collect()
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectInfo>> {
        match self.take_list(prefix) {
            Some(read) => read,
            None => self.inner.list(prefix).await,
        }
    }

    forward_objects!(inner: put, delete, list_first, get_versioned, put_if_version, head, get_range);
    forward_objects!(inner: create_multipart, upload_part, complete_multipart, abort_multipart);
    forward_objects!(inner: purge_channel_state);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{MemoryObjects, Metadata};
    use futures_util::future::join;
    use std::cell::Cell;
    use std::pin::pin;

    /// Pending once (waking its task), then ready: a store call that takes one turn.
    struct YieldOnce(bool);

    impl Future for YieldOnce {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    /// A memory store whose gets each take one turn, counted.
    #[derive(Default)]
    struct Counted {
        inner: MemoryObjects,
        gets: Cell<usize>,
    }

    impl ObjectStore for Counted {
        async fn get(&self, key: &str) -> StoreResult<Option<Object>> {
            self.gets.set(self.gets.get() + 1);
            YieldOnce(false).await;
            self.inner.get(key).await
        }

        forward_objects!(inner: put, delete, list, list_first, get_versioned, put_if_version);
        forward_objects!(inner: head, get_range, create_multipart, upload_part);
        forward_objects!(inner: complete_multipart, abort_multipart, purge_channel_state);
    }

    fn run<F: Future>(f: F) -> F::Output {
        let mut f = pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    fn store() -> Counted {
        let store = Counted::default();
        run(store.inner.put("k", b"v", &Metadata::new())).unwrap();
        store
    }

    #[test]
    fn concurrent_gets_of_a_key_read_it_once_and_later_ones_again() {
        let objects = store();
        let ahead = Ahead::new(&objects);
        let (a, b) = run(join(ahead.get("k"), ahead.get("k")));
        let body = |r: StoreResult<Option<Object>>| r.unwrap().unwrap().body;
        assert_eq!((body(a), body(b)), (b"v".to_vec(), b"v".to_vec()));
        assert_eq!(objects.gets.get(), 1);
        // Read in sequence (a blocking reload's next poll): the store again.
        run(ahead.get("k")).unwrap();
        assert_eq!(objects.gets.get(), 2);
        assert!(ahead.flights.borrow().is_empty());
    }

    #[test]
    fn a_get_whose_reader_was_dropped_reads_for_itself() {
        let objects = store();
        let ahead = Ahead::new(&objects);
        let joined = {
            let mut leader = pin!(ahead.get("k"));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(leader.as_mut().poll(&mut cx).is_pending());
            // Joins the leader, which is dropped before it answers.
            let mut follower = Box::pin(ahead.get("k"));
            assert!(follower.as_mut().poll(&mut cx).is_pending());
            follower
        };
        let answer = run(joined);
        assert_eq!(answer.unwrap().unwrap().body, b"v");
        assert_eq!(objects.gets.get(), 2);
    }
}
