//! What a handler is given: the stores, the deployment settings, the platform's randomness,
//! its timer and its outbound HTTP. Time enters as the `now_ms` argument of every handler, so tests choose it.

use crate::auth::Random;
use crate::http::Response;
use crate::stats::viewer::ViewerKeys;
use crate::stats::Stats;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// A running [`Sleep`]: resolves once its time has passed.
pub type SleepFuture = Pin<Box<dyn Future<Output = ()>>>;

/// Waits about `ms` milliseconds on the platform's timer (never a busy loop): the only way the
/// core waits, used by blocking playlist reload (docs/timeline.md, "Blocking playlist reload").
/// Each adapter supplies it; tests use `testing::instant_sleep`, which returns at once.
pub type Sleep = fn(u64) -> SleepFuture;

/// An outbound HTTP request the core asks the platform to send (today only to a key provider,
/// docs/encryption.md). The adapter sends it as given and reads at most `max_body` bytes of
/// the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// Longest answer body read; a longer one is [`FetchError::TooLarge`].
    pub max_body: usize,
}

/// The answer to a [`FetchRequest`]: any status, the body read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why no answer came back. The text is the platform's short reason; it carries no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Refused, unreachable, not allowed by the platform (Spin's `allowed_outbound_hosts`).
    Failed(String),
    /// The answer body exceeds `max_body`.
    TooLarge,
    /// No answer within the time [`Ctx::fetch`] allows.
    Timeout { ms: u64 },
}

/// A running [`Fetch`].
pub type FetchFuture = Pin<Box<dyn Future<Output = Result<FetchResponse, FetchError>>>>;

/// Sends one HTTP request through the platform (Worker `fetch`, Spin outbound HTTP). Each
/// adapter supplies it; the default, [`no_fetch`], refuses; tests use `testing::fake_fetch`.
pub type Fetch = fn(FetchRequest) -> FetchFuture;

/// The [`Fetch`] of an origin without outbound HTTP: every request fails.
pub fn no_fetch(_: FetchRequest) -> FetchFuture {
    Box::pin(async {
        Err(FetchError::Failed(
            "no outbound HTTP in this deployment".into(),
        ))
    })
}

/// A copy of an immutable playback answer found in the platform's cache.
pub type EdgeLookupFuture = Pin<Box<dyn Future<Output = Option<Response>>>>;

/// Looks a key up in the platform's cache of immutable answers (Cloudflare's Cache API in the
/// Worker, docs/storage.md "Edge cache"). Playback calls it only after the endpoint's access
/// checks passed; what a lookup answers is the status, `content-type`, `cache-control` and
/// body the core gave. The default, [`no_edge_cache`], finds nothing (Spin, tests).
pub type EdgeLookup = fn(String) -> EdgeLookupFuture;

/// The [`EdgeLookup`] of a platform without a cache: every lookup misses.
pub fn no_edge_cache(_: String) -> EdgeLookupFuture {
    Box::pin(async { None })
}

/// Deployment settings, read by the adapter from platform variables and secrets.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Bearer token for the control API. `None`: every control request is refused.
    pub admin_token: Option<String>,
    /// Base of absolute playback URLs (a CDN domain); default: the host the request came to.
    pub public_base_url: Option<String>,
    /// Base of absolute ingest URLs; default: the host the request came to.
    pub ingest_base_url: Option<String>,
    /// Seals content keys at rest (`EDGEPACK_KEY_SECRET`); `None`: encrypted endpoints fail
    /// closed (docs/encryption.md).
    pub key_secret: Option<String>,
    /// What one long-lived response (HTTP-FLV) may spend before it ends cleanly.
    pub stream_limits: StreamLimits,
    /// Key of the viewer hash (`STATS_SECRET`); `None`: the admin token (docs/stats.md).
    pub stats_secret: Option<String>,
    /// Whether playback data points carry a viewer key (`STATS_VIEWERS`).
    pub viewer_keys: ViewerKeys,
}

impl Config {
    /// The HMAC key of viewer keys, `None` when viewer keys are off or no secret is set.
    pub fn viewer_secret(&self) -> Option<&[u8]> {
        match self.viewer_keys {
            ViewerKeys::Off => None,
            ViewerKeys::Hashed => self
                .stats_secret
                .as_deref()
                .or(self.admin_token.as_deref())
                .filter(|s| !s.is_empty())
                .map(str::as_bytes),
        }
    }
}

/// The platform's limits on one long-lived response (docs/flv.md, "Platform limits"): the
/// stream ends cleanly before either is reached, and the player reconnects at the live edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamLimits {
    /// Storage reads (Workers count each KV or R2 call as a subrequest); 0: no limit.
    pub max_reads: u32,
    /// Milliseconds (Fermyon Cloud ends a handler after 30 s); 0: no limit.
    pub max_ms: u64,
}

impl Default for StreamLimits {
    /// Workers Paid's 1,000 subrequests per request, less a margin; an hour.
    fn default() -> Self {
        StreamLimits {
            max_reads: 950,
            max_ms: 3_600_000,
        }
    }
}

/// The stores, settings, randomness and timer of one invocation, borrowed by every handler.
pub struct Ctx<'a, K, O> {
    /// Small state: configuration, login throttling.
    pub kv: &'a K,
    /// Segments, indexes, switch logs, archives, harvest jobs and assets.
    pub objects: &'a O,
    pub config: &'a Config,
    pub random: Random,
    pub sleep: Sleep,
    pub fetch: Fetch,
    /// Where data points go and rollups come from (docs/stats.md).
    pub stats: &'a dyn Stats,
    /// The platform's cache of immutable playback answers.
    pub edge_cache: EdgeLookup,
}

impl<'a, K, O> Ctx<'a, K, O> {
    /// The same context reading and writing objects through `objects`.
    pub fn with_objects<'b, P>(&self, objects: &'b P) -> Ctx<'b, K, P>
    where
        'a: 'b,
    {
        Ctx {
            kv: self.kv,
            objects,
            config: self.config,
            random: self.random,
            sleep: self.sleep,
            fetch: self.fetch,
            stats: self.stats,
            edge_cache: self.edge_cache,
        }
    }

    /// Sends `req` through [`Ctx::fetch`](Fetch), giving up after `timeout_ms` on the
    /// platform timer (the fetch future is dropped, which cancels it where the platform can).
    pub async fn fetch_within(
        &self,
        req: FetchRequest,
        timeout_ms: u64,
    ) -> Result<FetchResponse, FetchError> {
        self.within(timeout_ms, (self.fetch)(req))
            .await
            .unwrap_or(Err(FetchError::Timeout { ms: timeout_ms }))
    }

    /// Runs `work` until it ends or `timeout_ms` pass on the platform timer (`None`; the work
    /// is dropped, which cancels its outbound requests where the platform can).
    pub async fn within<T>(&self, timeout_ms: u64, work: impl Future<Output = T>) -> Option<T> {
        let mut work = std::pin::pin!(work);
        let mut timer = (self.sleep)(timeout_ms);
        std::future::poll_fn(|cx| {
            if let Poll::Ready(r) = work.as_mut().poll(cx) {
                return Poll::Ready(Some(r));
            }
            match timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }
}

impl<K, O> Clone for Ctx<'_, K, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, O> Copy for Ctx<'_, K, O> {}
