//! The entry point and router: one request in, one response out. The only module that knows
//! every handler (`api`, `harvest`, `ingest`, `playback`, and the static `console`); each takes
//! a [`Ctx`] and calls down.

use crate::archive::ExpiryReport;
use crate::auth::Random;
use crate::channel_cache::ChannelCache;
use crate::channel_state::CommitHome;
use crate::context::{no_edge_cache, no_fetch, Config, Ctx, EdgeLookup, Fetch, Sleep};
use crate::error::OriginError;
use crate::fields::ok;
use crate::harvest::{HarvestReport, SCHEDULED_OP_BUDGET};
use crate::http::{Method, Request, Response};
use crate::ingest_memory::IngestMemory;
use crate::playback::{cors_preflight, with_cors, CacheControl};
use crate::stats::point::{play_point, PlayPoint, ViewerPolicy};
use crate::stats::{DataPoint, NoStats, Stats};
use crate::store::{KvStore, ObjectStore};
use crate::{api, archive, console, harvest, ingest, playback};
use std::rc::Rc;

/// The control API in OpenAPI 3.1 (`shared/openapi.json`), served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// The origin of one invocation: the platform's stores, settings, randomness and timer.
pub struct Origin<K, O> {
    pub kv: K,
    pub objects: O,
    pub config: Config,
    pub random: Random,
    pub sleep: Sleep,
    /// Outbound HTTP (key providers); [`no_fetch`] unless the adapter sets it with
    /// [`Origin::with_fetch`].
    pub fetch: Fetch,
    /// Where data points go ([`NoStats`] unless set with [`Origin::with_stats`]).
    pub stats: Rc<dyn Stats>,
    /// Channel records ingest read recently: the isolate's, when the adapter shares one
    /// across requests ([`Origin::with_channel_cache`]).
    pub channels: Rc<ChannelCache>,
    /// What ingest wrote recently: the isolate's, when the adapter shares one across
    /// requests ([`Origin::with_ingest_memory`]).
    pub ingest_memory: Rc<IngestMemory>,
    /// The platform's cache of immutable playback answers ([`no_edge_cache`] unless set with
    /// [`Origin::with_edge_cache`]).
    pub edge_cache: EdgeLookup,
    /// Where committing ingest requests run when channel state lives in the channels'
    /// objects ([`Origin::with_commit_home`]); `None`: here.
    pub commit_home: Option<CommitHome>,
}

impl<K: KvStore, O: ObjectStore> Origin<K, O> {
    pub fn new(kv: K, objects: O, config: Config, random: Random, sleep: Sleep) -> Self {
        Origin {
            kv,
            objects,
            config,
            random,
            sleep,
            fetch: no_fetch,
            stats: Rc::new(NoStats),
            channels: Rc::default(),
            ingest_memory: Rc::default(),
            edge_cache: no_edge_cache,
            commit_home: None,
        }
    }

    /// The same origin forwarding committing ingest requests to the channel's object
    /// (docs/storage.md, "Channel state in a Durable Object").
    pub fn with_commit_home(mut self, home: CommitHome) -> Self {
        self.commit_home = Some(home);
        self
    }

    /// The same origin keeping channel records in `cache` (one per isolate, shared by its
    /// requests: docs/ingest.md, "Configuration cache").
    pub fn with_channel_cache(mut self, cache: Rc<ChannelCache>) -> Self {
        self.channels = cache;
        self
    }

    /// The same origin keeping what ingest writes in `memory` (one per isolate, shared by its
    /// requests: docs/ingest.md, "Isolate memory").
    pub fn with_ingest_memory(mut self, memory: Rc<IngestMemory>) -> Self {
        self.ingest_memory = memory;
        self
    }

    /// The same origin looking immutable playback answers up in the platform's cache first
    /// (docs/storage.md, "Edge cache").
    pub fn with_edge_cache(mut self, lookup: EdgeLookup) -> Self {
        self.edge_cache = lookup;
        self
    }

    /// The same origin recording data points in, and reading reports from, `stats`.
    pub fn with_stats(mut self, stats: Rc<dyn Stats>) -> Self {
        self.stats = stats;
        self
    }

    /// The same origin sending outbound HTTP through `fetch`.
    pub fn with_fetch(mut self, fetch: Fetch) -> Self {
        self.fetch = fetch;
        self
    }

    fn cx(&self) -> Ctx<'_, K, O> {
        Ctx {
            kv: &self.kv,
            objects: &self.objects,
            config: &self.config,
            random: self.random,
            sleep: self.sleep,
            fetch: self.fetch,
            stats: &*self.stats,
            edge_cache: self.edge_cache,
        }
    }

    /// The periodic work (a Cloudflare cron trigger): expires archived content past retention,
    /// then advances unfinished harvest jobs within their share of the invocation's budget.
    pub async fn scheduled(&self, now_ms: u64) -> Result<ExpiryReport, OriginError> {
        let expiry = archive::expire(&self.kv, &self.objects, now_ms).await;
        self.run_harvests(now_ms, SCHEDULED_OP_BUDGET).await?;
        expiry
    }

    /// Advances unfinished harvest jobs until `budget` store operations are spent.
    pub async fn run_harvests(
        &self,
        now_ms: u64,
        budget: usize,
    ) -> Result<HarvestReport, OriginError> {
        harvest::run_harvests(&self.cx(), now_ms, budget).await
    }

    /// Handles one request at wall-clock time `now_ms` (Unix milliseconds). A long-lived
    /// response (HTTP-FLV) answers with its first chunk only: adapters that can stream use
    /// [`Origin::handle_stream`].
    pub async fn handle(&self, req: Request, now_ms: u64) -> Response {
        self.handle_stream(req, now_ms).await.0
    }

    /// [`Origin::handle`], with the state of a long-lived response: the adapter sends the
    /// response (its body is the first chunk), then each [`Origin::next_chunk`] until `None`.
    pub async fn handle_stream(&self, req: Request, now_ms: u64) -> (Response, Option<Stream>) {
        let cx = self.cx();
        let mut stream = None;
        let path = req.path.split('?').next().unwrap_or_default();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let response = match parts.as_slice() {
            ["healthz"] => Ok(Response::new(200).with_body("text/plain", "ok")),
            // The DASH UTCTiming source (urn:mpeg:dash:utc:http-iso:2014).
            ["time"] => Ok(with_cors(
                Response::new(200)
                    .with_body(
                        "text/plain",
                        crate::datetime::iso8601_ms(i64::try_from(now_ms).unwrap_or(i64::MAX)),
                    )
                    .with_header("cache-control", "no-store"),
            )),
            // The control API's description: public, it holds no secret.
            ["api", "v1", "openapi.json"] if req.method == Method::Get => Ok(Response::new(200)
                .with_body("application/json", OPENAPI)
                .with_header("cache-control", "public, max-age=300")),
            // The operator console: static files, no secret (docs/console.md).
            ["console"] => Ok(console::redirect()),
            ["console", rest @ ..] => {
                console::serve(&req, rest).ok_or_else(|| OriginError::NotFound(path.to_owned()))
            }
            ["api", "v1", route @ ..] => match api::authorize(&cx, &req) {
                Ok(()) => {
                    let answer = control(&cx, &req, route, now_ms).await;
                    // A rotated credential or a deleted channel takes effect here at once.
                    if req.method != Method::Get {
                        self.channels.clear();
                    }
                    answer
                }
                Err(e) => Err(e),
            },
            ["in", "v1", route @ ..] => {
                let memory = (
                    &*self.channels,
                    &*self.ingest_memory,
                    self.commit_home.as_ref(),
                );
                ingest::ingest(&cx, memory, &req, route, now_ms).await
            }
            ["out", "v1", ..] | ["vod", "v1", ..] if req.method == Method::Options => {
                Ok(cors_preflight())
            }
            ["out", "v1", route @ ..] => {
                let answer = playback::playback_stream(&cx, &req, route, now_ms).await;
                Ok(media_answer(answer.map(|(r, s)| {
                    stream = s.map(|s| Stream::new(Streaming::Playback(s)));
                    r
                })))
            }
            // Harvested VOD assets (the same layout as `vod/` in the object store).
            ["vod", "v1", rest @ ..] => {
                let answer = harvest::serve(cx.objects, &req, rest).await;
                Ok(media_answer(answer.map(|(r, body)| {
                    stream = body.map(|b| Stream::new(Streaming::Object(b)));
                    r
                })))
            }
            _ => Err(OriginError::NotFound(path.to_owned())),
        };
        let mut response = response.unwrap_or_else(OriginError::into_response);
        if req.method == Method::Head {
            stream = None;
            let len = response.body_len();
            response.body.clear();
            response.held_body = None;
            // A handler that answered HEAD without building the body (http::range) set it.
            if response.header("content-length").is_none() {
                response = response.with_header("content-length", len.to_string());
            }
        }
        if let ["out", "v1", route @ ..] = parts.as_slice() {
            if req.method != Method::Options && self.stats.enabled() {
                let point = self.play_point(route, &req, &response, now_ms);
                if let Some(p) = &point {
                    self.stats.record(&DataPoint::Play(p.clone()));
                }
                if let Some(s) = stream.as_mut() {
                    s.tally = point.map(|point| Tally::new(point, now_ms));
                }
            }
        }
        (response, stream)
    }

    fn play_point(
        &self,
        route: &[&str],
        req: &Request,
        response: &Response,
        now_ms: u64,
    ) -> Option<PlayPoint> {
        let bytes = response.body_len();
        play_point(
            route,
            req.method == Method::Get,
            req.client_ip,
            req.header("user-agent").unwrap_or_default(),
            (response.status, bytes),
            ViewerPolicy {
                secret: self.config.viewer_secret(),
            },
            now_ms,
        )
    }

    /// The next chunk of a long-lived response at `now_ms`, waiting on the platform's timer
    /// for new content; `None` ends the response.
    pub async fn next_chunk(&self, stream: &mut Stream, now_ms: u64) -> Option<Vec<u8>> {
        let chunk = match &mut stream.body {
            Streaming::Playback(s) => s.next_chunk(&self.cx(), now_ms).await,
            Streaming::Object(body) => body.next_chunk(&self.objects).await,
        };
        if let Some(tally) = stream.tally.as_mut() {
            let bytes = chunk.as_ref().map_or(0, Vec::len);
            if let Some(point) = tally.add(bytes, now_ms, chunk.is_none()) {
                self.stats.record(&DataPoint::Play(point));
            }
        }
        chunk
    }
}

/// A long-lived response in progress (HTTP-FLV, docs/flv.md; a clip, or a long `/vod/v1` file,
/// read in pieces): owned, so a platform can keep it in the body stream it returns.
pub struct Stream {
    body: Streaming,
    /// Playback statistics of the bytes sent after the first answer (docs/stats.md).
    tally: Option<Tally>,
}

impl Stream {
    fn new(body: Streaming) -> Stream {
        Stream { body, tally: None }
    }
}

enum Streaming {
    Playback(playback::PlaybackStream),
    Object(harvest::ObjectBody),
}

/// How often a long-lived response reports the bytes it sent (docs/stats.md): often enough
/// to show its viewer in most viewer windows, rarely enough for Analytics Engine's 250 data
/// points per invocation to last an hour-long stream.
pub const STREAM_REPORT_MS: u64 = 15_000;

/// Bytes a long-lived response sent since its last data point.
struct Tally {
    point: PlayPoint,
    pending: u64,
    since_ms: u64,
}

impl Tally {
    fn new(point: PlayPoint, now_ms: u64) -> Tally {
        Tally {
            point,
            pending: 0,
            since_ms: now_ms,
        }
    }

    /// Counts a chunk; the data point to record when one is due (or the stream `ended`).
    fn add(&mut self, bytes: usize, now_ms: u64, ended: bool) -> Option<PlayPoint> {
        self.pending = self
            .pending
            .saturating_add(u64::try_from(bytes).unwrap_or(u64::MAX));
        let due = now_ms.saturating_sub(self.since_ms) >= STREAM_REPORT_MS;
        if self.pending == 0 || !(due || ended) {
            return None;
        }
        self.since_ms = now_ms;
        Some(PlayPoint {
            at_ms: now_ms,
            bytes: std::mem::take(&mut self.pending),
            ..self.point.clone()
        })
    }
}

/// The control API below `/api/v1`, after the admin check.
async fn control<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    req: &Request,
    route: &[&str],
    now_ms: u64,
) -> Result<Response, OriginError> {
    match route {
        // For schedulers outside Cloudflare (Spin): the cron trigger's work, one route each.
        ["maintenance", "expire"] => match req.method {
            Method::Post => {
                let report = archive::expire(cx.kv, cx.objects, now_ms).await?;
                Ok(ok(serde_json::to_value(report).unwrap_or_default()))
            }
            _ => Err(OriginError::MethodNotAllowed),
        },
        ["maintenance", "harvest"] => match req.method {
            Method::Post => {
                let report = harvest::run_harvests(cx, now_ms, SCHEDULED_OP_BUDGET).await?;
                Ok(ok(serde_json::to_value(report).unwrap_or_default()))
            }
            _ => Err(OriginError::MethodNotAllowed),
        },
        ["groups", g, "channels", c, "harvest-jobs", rest @ ..] => {
            harvest::handle(cx, req, (g, c), rest, now_ms).await
        }
        _ => api::handle(cx, req, route, now_ms).await,
    }
}

/// A playback or asset answer with CORS; a 404 is cached briefly ([`CacheControl::NotFound`]).
fn media_answer(result: Result<Response, OriginError>) -> Response {
    let response = result.unwrap_or_else(|e| {
        let not_found = e.status() == 404;
        let r = e.into_response();
        if not_found {
            with_cache(r, CacheControl::NotFound)
        } else {
            r
        }
    });
    with_cors(response)
}

fn with_cache(mut r: Response, cache: CacheControl) -> Response {
    r.headers.retain(|(k, _)| k != "cache-control");
    r.with_header("cache-control", cache.value())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_reports_its_bytes_every_interval_and_at_its_end() {
        let point = PlayPoint {
            at_ms: 0,
            group: "g".into(),
            channel: "c".into(),
            endpoint: "e".into(),
            status: 200,
            bytes: 100,
            viewer: Some("v".into()),
        };
        let mut tally = Tally::new(point, 0);
        assert_eq!(tally.add(10, 1_000, false), None);
        assert_eq!(tally.add(10, 14_999, false), None);
        let due = tally.add(5, STREAM_REPORT_MS, false);
        assert_eq!(
            due.map(|p| (p.at_ms, p.bytes)),
            Some((STREAM_REPORT_MS, 25))
        );
        assert_eq!(
            tally.add(0, 2 * STREAM_REPORT_MS, false),
            None,
            "nothing sent"
        );
        let end = tally.add(7, 2 * STREAM_REPORT_MS + 1, true);
        assert_eq!(end.clone().map(|p| p.bytes), Some(7));
        assert_eq!(end.and_then(|p| p.viewer).as_deref(), Some("v"));
        assert_eq!(tally.add(0, 2 * STREAM_REPORT_MS + 2, true), None);
    }
}
