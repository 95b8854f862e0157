//! The Durable Object deployment in memory (docs/storage.md, "Channel state in a Durable
//! Object"): one [`ChannelObject`] per channel storage id over [`MemoryRows`], sharing the
//! Worker's stores, counting what Cloudflare bills for it (requests, rows written and read).
//! An object can be restarted: its memory is dropped, its rows stay.

use crate::channel_object::{ChannelObject, ObjectSetup};
use crate::channel_state::{CommitHome, MemoryRows, Routed, StateAnswer, StateClient, StateOp};
use crate::store::{KvStore, ObjectStore, StoreResult};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

type Object = ChannelObject<Rc<MemoryRows>>;

/// The channels' objects of one deployment.
pub struct ChannelObjects<K, O> {
    pub kv: Rc<K>,
    pub objects: Rc<O>,
    pub setup: ObjectSetup,
    live: RefCell<BTreeMap<String, Rc<Object>>>,
    rows: RefCell<BTreeMap<String, Rc<MemoryRows>>>,
    /// Requests sent to any object (forwarded ingest requests and state operations).
    pub requests: Cell<u64>,
}

impl<K: KvStore + 'static, O: ObjectStore + 'static> ChannelObjects<K, O> {
    pub fn new(kv: Rc<K>, objects: Rc<O>, setup: ObjectSetup) -> Rc<Self> {
        Rc::new(ChannelObjects {
            kv,
            objects,
            setup,
            live: RefCell::default(),
            rows: RefCell::default(),
            requests: Cell::new(0),
        })
    }

    /// The object of `id`, started (its rows loaded on first use) when not running.
    pub fn object(&self, id: &str) -> Rc<Object> {
        let rows = self
            .rows
            .borrow_mut()
            .entry(id.to_owned())
            .or_default()
            .clone();
        self.live
            .borrow_mut()
            .entry(id.to_owned())
            .or_insert_with(|| Rc::new(ChannelObject::new(rows)))
            .clone()
    }

    /// Drops every object's memory (an eviction, a restart elsewhere); the rows stay.
    pub fn restart(&self) {
        self.live.borrow_mut().clear();
    }

    /// Rows written and read by all objects.
    pub fn rows_billed(&self) -> (u64, u64) {
        self.rows.borrow().values().fold((0, 0), |(w, r), rows| {
            (w + rows.written.get(), r + rows.read.get())
        })
    }

    /// Storage ids of the channels that have an object (started once at least).
    pub fn ids(&self) -> Vec<String> {
        self.rows.borrow().keys().cloned().collect()
    }

    /// Rows stored by the object of `id`.
    pub fn stored_rows(&self, id: &str) -> usize {
        self.rows.borrow().get(id).map_or(0, |rows| rows.len())
    }

    /// The Worker's forwarding to these objects.
    pub fn commit_home(self: &Rc<Self>) -> CommitHome {
        let model = self.clone();
        Rc::new(move |id, forwarded, now_ms| {
            let model = model.clone();
            Box::pin(async move {
                model.requests.set(model.requests.get() + 1);
                let object = model.object(&id);
                let stores = (&*model.kv, &*model.objects);
                Ok(object.commit(stores, &model.setup, forwarded, now_ms).await)
            })
        })
    }

    /// The Worker's object store: `objects` with channel state through these objects.
    pub fn routed(self: &Rc<Self>) -> Routed<Rc<O>, MemoryStateClient<K, O>> {
        Routed {
            objects: self.objects.clone(),
            client: Some(MemoryStateClient(self.clone())),
        }
    }
}

/// A [`StateClient`] calling the objects of a [`ChannelObjects`] directly.
pub struct MemoryStateClient<K, O>(pub Rc<ChannelObjects<K, O>>);

impl<K: KvStore + 'static, O: ObjectStore + 'static> StateClient for MemoryStateClient<K, O> {
    async fn call(&self, channel_id: &str, op: StateOp) -> StoreResult<StateAnswer> {
        let model = &self.0;
        model.requests.set(model.requests.get() + 1);
        // Through the wire format, as between a Worker and its object.
        let op = StateOp::decode(&op.encode()?)?;
        let answer = model.object(channel_id).state_op(&*model.objects, op).await;
        StateAnswer::decode(&answer.encode()?)
    }
}
