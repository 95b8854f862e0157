//! What a handler is given: the stores, the deployment settings and the platform's randomness.
//! Time enters as the `now_ms` argument of every handler, so tests choose it.

use crate::auth::Random;

/// Deployment settings, read by the adapter from platform variables and secrets.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Bearer token for the control API. `None`: every control request is refused.
    pub admin_token: Option<String>,
    /// Base of absolute playback URLs (a CDN domain); default: the host the request came to.
    pub public_base_url: Option<String>,
    /// Base of absolute ingest URLs; default: the host the request came to.
    pub ingest_base_url: Option<String>,
}

/// The stores, settings and randomness of one invocation, borrowed by every handler.
pub struct Ctx<'a, K, O> {
    /// Small state: configuration, heartbeats, login throttling.
    pub kv: &'a K,
    /// Segments, indexes, switch logs, archives, harvest jobs and assets.
    pub objects: &'a O,
    pub config: &'a Config,
    pub random: Random,
}

impl<K, O> Clone for Ctx<'_, K, O> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K, O> Copy for Ctx<'_, K, O> {}
