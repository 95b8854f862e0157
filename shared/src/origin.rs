//! The entry point: one request in, one response out.

use crate::auth::Random;
use crate::error::OriginError;
use crate::http::{Method, Request, Response};
use crate::playback::{cors_preflight, CacheControl};
use crate::store::{KvStore, ObjectStore};

/// The control API in OpenAPI 3.1 (`shared/openapi.json`), served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

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

    /// The periodic work (a Cloudflare cron trigger): expires archived content past retention,
    /// then advances unfinished harvest jobs within their share of the invocation's budget.
    pub async fn scheduled(
        &self,
        now_ms: u64,
    ) -> Result<crate::archive::ExpiryReport, OriginError> {
        let expiry = crate::archive::expire(&self.kv, &self.objects, now_ms).await;
        self.run_harvests(now_ms, crate::harvest::SCHEDULED_OP_BUDGET)
            .await?;
        expiry
    }

    /// Handles one request at wall-clock time `now_ms` (Unix milliseconds).
    pub async fn handle(&self, req: Request, now_ms: u64) -> Response {
        let path = req.path.split('?').next().unwrap_or_default();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let response = match parts.as_slice() {
            ["healthz"] => Ok(Response::new(200).with_body("text/plain", "ok")),
            // The DASH UTCTiming source (urn:mpeg:dash:utc:http-iso:2014).
            ["time"] => Ok(crate::playback::with_cors(
                Response::new(200)
                    .with_body(
                        "text/plain",
                        crate::time::iso8601_ms(i64::try_from(now_ms).unwrap_or(i64::MAX)),
                    )
                    .with_header("cache-control", "no-store"),
            )),
            // The control API's description: public, it holds no secret.
            ["api", "v1", "openapi.json"] if req.method == Method::Get => Ok(Response::new(200)
                .with_body("application/json", OPENAPI)
                .with_header("cache-control", "public, max-age=300")),
            ["api", "v1", route @ ..] => self.api(&req, route, now_ms).await,
            ["in", "v1", route @ ..] => self.ingest(&req, route, now_ms).await,
            ["out", "v1", ..] if req.method == Method::Options => Ok(cors_preflight()),
            ["out", "v1", route @ ..] => {
                let r = self
                    .playback(&req, route, now_ms)
                    .await
                    .unwrap_or_else(|e| {
                        let not_found = e.status() == 404;
                        let r = e.into_response();
                        if not_found {
                            with_cache(r, CacheControl::NotFound)
                        } else {
                            r
                        }
                    });
                Ok(crate::playback::with_cors(r))
            }
            ["vod", "v1", ..] if req.method == Method::Options => Ok(cors_preflight()),
            // Harvested VOD assets (the same layout as `vod/` in the object store).
            ["vod", "v1", rest @ ..] => {
                let r = crate::harvest::serve(&self.objects, &req, rest)
                    .await
                    .unwrap_or_else(|e| {
                        let not_found = e.status() == 404;
                        let r = e.into_response();
                        if not_found {
                            with_cache(r, CacheControl::NotFound)
                        } else {
                            r
                        }
                    });
                Ok(crate::playback::with_cors(r))
            }
            _ => Err(OriginError::NotFound(path.to_owned())),
        };
        let mut response = response.unwrap_or_else(OriginError::into_response);
        if req.method == Method::Head {
            let len = response.body.len();
            response.body.clear();
            response = response.with_header("content-length", len.to_string());
        }
        response
    }
}

fn with_cache(mut r: Response, cache: CacheControl) -> Response {
    r.headers.retain(|(k, _)| k != "cache-control");
    r.with_header("cache-control", cache.value())
}
