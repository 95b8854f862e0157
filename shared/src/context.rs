//! What a handler is given: the stores, the deployment settings, the platform's randomness and
//! its timer. Time enters as the `now_ms` argument of every handler, so tests choose it.

use crate::auth::Random;
use std::future::Future;
use std::pin::Pin;

/// A running [`Sleep`]: resolves once its time has passed.
pub type SleepFuture = Pin<Box<dyn Future<Output = ()>>>;

/// Waits about `ms` milliseconds on the platform's timer (never a busy loop): the only way the
/// core waits, used by blocking playlist reload (docs/timeline.md, "Blocking playlist reload").
/// Each adapter supplies it; tests use `testing::instant_sleep`, which returns at once.
pub type Sleep = fn(u64) -> SleepFuture;

/// Deployment settings, read by the adapter from platform variables and secrets.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Bearer token for the control API. `None`: every control request is refused.
    pub admin_token: Option<String>,
    /// Base of absolute playback URLs (a CDN domain); default: the host the request came to.
    pub public_base_url: Option<String>,
    /// Base of absolute ingest URLs; default: the host the request came to.
    pub ingest_base_url: Option<String>,
    /// What one long-lived response (HTTP-FLV) may spend before it ends cleanly.
    pub stream_limits: StreamLimits,
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
    /// Small state: configuration, heartbeats, login throttling.
    pub kv: &'a K,
    /// Segments, indexes, switch logs, archives, harvest jobs and assets.
    pub objects: &'a O,
    pub config: &'a Config,
    pub random: Random,
    pub sleep: Sleep,
}

impl<K, O> Clone for Ctx<'_, K, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, O> Copy for Ctx<'_, K, O> {}
