//! A channel's object (docs/storage.md, "Channel state in a Durable Object"): runs forwarded
//! ingest requests and state operations over its [`ChannelState`], one at a time, and writes
//! the rows they changed before it answers. It runs the whole core (an [`Origin`]) over
//! [`StateObjects`], so it sits beside the router; `channel_state` below it has the seam.

use crate::auth::Random;
use crate::channel_cache::ChannelCache;
use crate::channel_state::protocol::{Committed, StateAnswer, StateOp, StateValue};
use crate::channel_state::{ChannelState, Forwarded, RowStorage, StateObjects};
use crate::context::{Config, Sleep};
use crate::http::Response;
use crate::ingest_memory::IngestMemory;
use crate::origin::Origin;
use crate::stats::{DataPoint, NoStats, Rollup, RollupFuture, Stats};
use crate::store::{KvStore, ObjectStore, StoreError, StoreResult};
use futures_util::lock::Mutex;
use std::cell::RefCell;
use std::rc::Rc;

/// What the object's core runs with besides its stores (the Worker's settings).
#[derive(Clone)]
pub struct ObjectSetup {
    pub config: Config,
    pub random: Random,
    pub sleep: Sleep,
}

impl ObjectSetup {
    pub fn new(config: Config, random: Random, sleep: Sleep) -> Self {
        ObjectSetup {
            config,
            random,
            sleep,
        }
    }
}

/// The statistics of one forwarded request: kept to be returned to the Worker
/// ([`Committed::points`]), which records them in its backend.
struct Collected {
    enabled: bool,
    points: RefCell<Vec<DataPoint>>,
}

impl Stats for Collected {
    fn record(&self, point: &DataPoint) {
        self.points.borrow_mut().push(point.clone());
    }

    fn rollup<'a>(&'a self, query: &'a Rollup) -> RollupFuture<'a> {
        NoStats.rollup(query)
    }

    fn enabled(&self) -> bool {
        self.enabled
    }
}

/// One channel's object (a Durable Object named by the channel's storage id).
pub struct ChannelObject<R> {
    state: ChannelState<R>,
    /// The channel record, as in a Worker isolate (docs/ingest.md, "Configuration cache").
    channels: Rc<ChannelCache>,
    /// Uploads the Worker passed, and the object's own (docs/ingest.md, "Isolate memory").
    memory: Rc<IngestMemory>,
    /// One request at a time: the two inputs' commits are ordered, whatever they await.
    turn: Mutex<()>,
}

impl<R: RowStorage> ChannelObject<R> {
    pub fn new(rows: R) -> Self {
        ChannelObject {
            state: ChannelState::new(rows),
            channels: Rc::default(),
            memory: Rc::default(),
            turn: Mutex::new(()),
        }
    }

    pub fn state(&self) -> &ChannelState<R> {
        &self.state
    }

    /// Runs a forwarded ingest request at `now_ms`; its changed rows are written before the
    /// answer, which is 503 when they could not be (nothing of the request then counts, its
    /// data points included).
    pub async fn commit<K: KvStore, O: ObjectStore>(
        &self,
        (kv, objects): (&K, &O),
        setup: &ObjectSetup,
        forwarded: Forwarded,
        now_ms: u64,
    ) -> Committed {
        let _turn = self.turn.lock().await;
        for upload in forwarded.uploads {
            self.memory.keep_upload(upload, now_ms);
        }
        let store = StateObjects {
            state: &self.state,
            objects,
        };
        let stats = Rc::new(Collected {
            enabled: forwarded.stats,
            points: RefCell::default(),
        });
        let origin = Origin::new(kv, store, setup.config.clone(), setup.random, setup.sleep)
            .with_stats(stats.clone())
            .with_channel_cache(self.channels.clone())
            .with_ingest_memory(self.memory.clone());
        let response = origin.handle(forwarded.request, now_ms).await;
        match self.state.flush() {
            Ok(_) => Committed {
                response,
                points: stats.points.take(),
            },
            Err(e) => Committed {
                response: unavailable(&e),
                points: Vec::new(),
            },
        }
    }

    /// Runs a state operation; a write's row is written before the answer.
    pub async fn state_op<O: ObjectStore>(&self, objects: &O, op: StateOp) -> StateAnswer {
        let _turn = self.turn.lock().await;
        let store = StateObjects {
            state: &self.state,
            objects,
        };
        let answer = run(&store, op).await;
        match (answer, self.state.flush()) {
            (Ok(a), Ok(_)) => a,
            (Err(e), _) | (_, Err(e)) => StateAnswer::Failed { error: e.0 },
        }
    }
}

async fn run<R: RowStorage, O: ObjectStore>(
    store: &StateObjects<'_, R, O>,
    op: StateOp,
) -> StoreResult<StateAnswer> {
    match op {
        StateOp::Get { keys } => {
            if keys.len() > MAX_KEYS_PER_READ {
                return Err(StoreError(format!(
                    "more than {MAX_KEYS_PER_READ} keys in one read"
                )));
            }
            let mut values = Vec::with_capacity(keys.len());
            for key in &keys {
                let value = match store.get(key).await? {
                    Some(o) => Some(StateValue {
                        body: String::from_utf8(o.body)
                            .map_err(|_| StoreError(format!("{key}: not JSON text")))?,
                        metadata: o.metadata,
                    }),
                    None => None,
                };
                values.push(value);
            }
            Ok(StateAnswer::Values { values })
        }
        StateOp::List { prefix } => Ok(StateAnswer::Listed {
            objects: store.list(&prefix).await?,
        }),
        StateOp::Put {
            key,
            body,
            metadata,
        } => {
            store.put(&key, body.as_bytes(), &metadata).await?;
            Ok(StateAnswer::Done)
        }
        StateOp::Delete { key } => {
            store.delete(&key).await?;
            Ok(StateAnswer::Done)
        }
        StateOp::Purge { channel } => Ok(StateAnswer::Purged {
            keys: store.state.purge(&channel, store.objects).await?,
        }),
    }
}

/// Most keys one read asks for (a round reads a switch log and a few timelines).
pub const MAX_KEYS_PER_READ: usize = 64;

fn unavailable(e: &StoreError) -> Response {
    crate::adapter::error_response(503, &format!("channel state not stored: {e}"))
        .with_header("retry-after", "1")
}
