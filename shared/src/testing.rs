//! Helpers for tests and fuzz targets (feature `test-util`; never in a deployed build): the core
//! over in-memory stores, driven without an async runtime, with deterministic randomness, a
//! timer that returns at once and stores that count their operations.

use crate::auth::RandomError;
use crate::channel_cache::ChannelCache;
use crate::context::{Config, FetchError, FetchFuture, FetchRequest, FetchResponse, SleepFuture};
use crate::ingest_memory::IngestMemory;
use crate::origin::Origin;
use crate::store::{MemoryKv, MemoryObjects};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

mod channel_objects;
mod observed;

pub use channel_objects::{ChannelObjects, MemoryStateClient};

pub use observed::{Counting, KvOp, ObjectOp, Observed, Observer, Op, Tally};

/// The origin over memory stores.
pub type MemoryOrigin = Origin<MemoryKv, MemoryObjects>;

/// Polls a future that never waits (the memory stores complete at once).
///
/// # Panics
/// When the future is pending: only memory-store futures may be driven this way.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("memory-store future must not wait"),
    }
}

thread_local!(static NEXT: Cell<u64> = const { Cell::new(1) });

/// Deterministic "randomness": a counter per thread, spread over the byte range.
pub fn counter_random(buf: &mut [u8]) -> Result<(), RandomError> {
    for b in buf.iter_mut() {
        let n = NEXT.with(|c| c.replace(c.get() + 1));
        *b = n.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes()[0];
    }
    Ok(())
}

/// Restarts [`counter_random`] on this thread (a fuzz input then reproduces alone).
pub fn reset_counter_random() {
    NEXT.with(|c| c.set(1));
}

/// What [`instant_sleep`] runs, given the milliseconds asked for.
type SleepHook = Box<dyn FnMut(u64)>;

thread_local!(static SLEEP_HOOK: RefCell<Option<SleepHook>> = const { RefCell::new(None) });

/// The timer of test origins ([`crate::Sleep`]): returns at once, so no test waits on a wall
/// clock (the core counts the time it asked for). Each call first runs the hook that
/// [`on_sleep`] set on this thread, with the milliseconds asked for: that is how a test
/// commits a segment while a request waits.
pub fn instant_sleep(ms: u64) -> SleepFuture {
    Box::pin(async move {
        let hook = SLEEP_HOOK.with(|h| h.borrow_mut().take());
        if let Some(mut hook) = hook {
            hook(ms);
            // Put it back unless the hook replaced itself.
            SLEEP_HOOK.with(|h| {
                h.borrow_mut().get_or_insert(hook);
            });
        }
    })
}

/// Sets what [`instant_sleep`] runs on this thread (replacing an earlier hook).
pub fn on_sleep(hook: impl FnMut(u64) + 'static) {
    SLEEP_HOOK.with(|h| *h.borrow_mut() = Some(Box::new(hook)));
}

/// Removes this thread's [`on_sleep`] hook.
pub fn clear_sleep_hook() {
    SLEEP_HOOK.with(|h| h.borrow_mut().take());
}

/// The `EDGEPACK_KEY_SECRET` of memory origins.
pub const TEST_KEY_SECRET: &str = "edgepack test key secret";

/// An origin over empty memory stores with the admin token `admin_token`, the key secret
/// [`TEST_KEY_SECRET`] and [`fake_fetch`] for outbound HTTP.
pub fn memory_origin(admin_token: &str) -> MemoryOrigin {
    let config = Config {
        admin_token: Some(admin_token.to_owned()),
        key_secret: Some(TEST_KEY_SECRET.to_owned()),
        ..Config::default()
    };
    Origin::new(
        MemoryKv::default(),
        MemoryObjects::default(),
        config,
        counter_random,
        instant_sleep,
    )
    .with_fetch(fake_fetch)
}

/// A memory origin as it stood, with this thread's [`counter_random`] counter: a fuzz target
/// sets up once and runs each input on [`Snapshot::origin`], which answers exactly as the
/// origin would have had the input built it anew (set-up requests are deterministic).
pub struct Snapshot {
    origin: MemoryOrigin,
    next_random: u64,
}

impl Snapshot {
    /// Copies `o`'s stores, channel cache and settings, and the randomness counter.
    pub fn take(o: &MemoryOrigin) -> Snapshot {
        Snapshot {
            origin: copy_origin(o),
            next_random: NEXT.with(Cell::get),
        }
    }

    /// A new copy of the origin taken, with the randomness counter back where it was; empties
    /// [`fetched`] too (a long fuzz run would otherwise keep every request).
    pub fn origin(&self) -> MemoryOrigin {
        NEXT.with(|c| c.set(self.next_random));
        FETCHED.with(|f| f.borrow_mut().clear());
        copy_origin(&self.origin)
    }

    /// Whether `o`'s stores hold exactly what the origin taken held (a copy that only read,
    /// or whose writes were all refused). Its answers are then the same as the taken origin's
    /// at the same time: a target may skip reading them again.
    pub fn stores_unchanged(&self, o: &MemoryOrigin) -> bool {
        o.kv == self.origin.kv && o.objects == self.origin.objects
    }
}

/// `o` over copies of its stores, channel cache and ingest memory (its stats sink is shared).
fn copy_origin(o: &MemoryOrigin) -> MemoryOrigin {
    Origin {
        kv: o.kv.clone(),
        objects: o.objects.clone(),
        config: o.config.clone(),
        random: o.random,
        sleep: o.sleep,
        fetch: o.fetch,
        stats: Rc::clone(&o.stats),
        channels: Rc::new(ChannelCache::clone(&o.channels)),
        ingest_memory: Rc::new(IngestMemory::clone(&o.ingest_memory)),
        edge_cache: o.edge_cache,
        commit_home: o.commit_home.clone(),
    }
}

/// What [`fake_fetch`] does with a request.
pub enum FakeAnswer {
    Respond(FetchResponse),
    Fail(FetchError),
    /// Never answers: the core's timeout ends the wait (at once, with [`instant_sleep`]).
    Hang,
}

type FetchHandler = Box<dyn FnMut(&FetchRequest) -> FakeAnswer>;

thread_local! {
    static FETCH_HANDLER: RefCell<Option<FetchHandler>> = const { RefCell::new(None) };
    static FETCHED: RefCell<Vec<FetchRequest>> = const { RefCell::new(Vec::new()) };
}

/// The outbound HTTP of test origins ([`crate::Fetch`]): records the request and answers what
/// the handler set by [`on_fetch`] on this thread says (without one: a failure).
pub fn fake_fetch(req: FetchRequest) -> FetchFuture {
    let answer = FETCH_HANDLER.with(|h| match h.borrow_mut().as_mut() {
        Some(handler) => handler(&req),
        None => FakeAnswer::Fail(FetchError::Failed("no fake fetch handler".into())),
    });
    FETCHED.with(|f| f.borrow_mut().push(req));
    match answer {
        FakeAnswer::Respond(r) => Box::pin(async move { Ok(r) }),
        FakeAnswer::Fail(e) => Box::pin(async move { Err(e) }),
        FakeAnswer::Hang => Box::pin(std::future::pending()),
    }
}

/// Sets how [`fake_fetch`] answers on this thread (replacing an earlier handler).
pub fn on_fetch(handler: impl FnMut(&FetchRequest) -> FakeAnswer + 'static) {
    FETCH_HANDLER.with(|h| *h.borrow_mut() = Some(Box::new(handler)));
}

/// The requests [`fake_fetch`] got on this thread since the last call.
pub fn fetched() -> Vec<FetchRequest> {
    FETCHED.with(|f| std::mem::take(&mut *f.borrow_mut()))
}

thread_local! {
    static EDGE_COPIES: RefCell<Vec<(String, crate::http::Response)>> = const { RefCell::new(Vec::new()) };
}

/// The platform cache of test origins ([`crate::context::EdgeLookup`]): the copies
/// [`edge_keep`] made on this thread, as the Worker's Cache API answers them.
pub fn memory_edge_cache(key: String) -> crate::context::EdgeLookupFuture {
    let copy = EDGE_COPIES.with(|c| {
        c.borrow()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, r)| r.clone())
    });
    Box::pin(async move { copy })
}

/// What the Worker adapter does after answering: keeps `response` for [`memory_edge_cache`]
/// when the core marked it (status, `content-type`, `cache-control` and body); whether it did.
pub fn edge_keep(response: &crate::http::Response) -> bool {
    use crate::adapter::{EDGE_CACHE_HEADER, EDGE_CACHE_KEY_HEADER};
    let (Some(key), Some(_)) = (
        response.header(EDGE_CACHE_KEY_HEADER),
        response.header(EDGE_CACHE_HEADER),
    ) else {
        return false;
    };
    let mut copy = crate::http::Response::new(response.status).with_body(
        response.header("content-type").unwrap_or_default(),
        response.body.clone(),
    );
    if let Some(cc) = response.header("cache-control") {
        copy = copy.with_header("cache-control", cc);
    }
    let key = key.to_owned();
    EDGE_COPIES.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|(k, _)| *k != key);
        c.push((key, copy));
    });
    true
}

/// Empties [`memory_edge_cache`] on this thread.
pub fn clear_edge_cache() {
    EDGE_COPIES.with(|c| c.borrow_mut().clear());
}

/// A [memory origin](memory_origin) with group `g`, channel `c` taking input `protocol`, and
/// one endpoint `e` of `endpoint_protocol` per entry; returns it with input 1's
/// `Authorization` header.
///
/// # Panics
/// When the API refuses the set-up (a test's own mistake).
pub fn memory_channel(
    admin_token: &str,
    protocol: &str,
    endpoints: &[(&str, &str)],
    now_ms: u64,
) -> (MemoryOrigin, String) {
    use crate::http::{Method, Request};
    use base64::Engine;
    let o = memory_origin(admin_token);
    let api = |path: &str, body: serde_json::Value| {
        let req = Request::new(Method::Post, path)
            .with_header("authorization", &format!("Bearer {admin_token}"))
            .with_body(body.to_string());
        let r = block_on(o.handle(req, now_ms));
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap_or_default()
    };
    api("/api/v1/groups", serde_json::json!({"name": "g"}));
    let channel = api(
        "/api/v1/groups/g/channels",
        serde_json::json!({"name": "c", "protocol": protocol}),
    );
    for (name, protocol) in endpoints {
        api(
            "/api/v1/groups/g/channels/c/endpoints",
            serde_json::json!({"name": name, "protocol": protocol}),
        );
    }
    let input = &channel["inputs"][0];
    let credentials = format!(
        "{}:{}",
        input["username"].as_str().unwrap_or_default(),
        input["password"].as_str().unwrap_or_default()
    );
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    );
    (o, auth)
}

/// One request through `o` at `now_ms`, checked as every fuzz target requires of an answer:
/// a status in 2xx-4xx (a 5xx, or anything else, to hostile input is a finding).
///
/// # Panics
/// On any other status, naming the request and the body.
pub fn send_hostile(
    o: &MemoryOrigin,
    req: crate::http::Request,
    now_ms: u64,
) -> crate::http::Response {
    let what = format!("{:?} {}", req.method, req.path);
    let r = block_on(o.handle(req, now_ms));
    assert!(
        (200..500).contains(&r.status),
        "{what}: status {} body {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    r
}
