//! The entry point: one request in, one response out.

use crate::error::OriginError;
use crate::http::{Request, Response};
use crate::store::{KvStore, ObjectStore};

/// Fills a buffer from the platform's CSPRNG.
pub type Random = fn(&mut [u8]) -> Result<(), String>;

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

pub struct Origin<K, O> {
    pub kv: K,
    pub objects: O,
    pub config: Config,
    pub random: Random,
}

impl<K: KvStore, O: ObjectStore> Origin<K, O> {
    pub fn new(kv: K, objects: O, config: Config, random: Random) -> Self {
        Origin {
            kv,
            objects,
            config,
            random,
        }
    }

    /// Handles one request at wall-clock time `now_ms` (Unix milliseconds).
    pub async fn handle(&self, req: Request, now_ms: u64) -> Response {
        let _ = now_ms;
        OriginError::NotFound(req.path).into_response()
    }
}
