//! Statistics on Spin (docs/stats.md, "Spin"). Spin 3 gives a component no metrics interface
//! (spin-sdk 5.2 has none; the host itself exports traces over OTLP), so the component offers
//! three backends, chosen by the variable `stats`:
//!
//! - `otlp`: the invocation's points sent as one OTLP/HTTP JSON metrics export to the
//!   collector at `otlp_endpoint`, after the response is complete ([`OtlpExport::flush`]).
//! - `log`: one JSON line per data point on stdout, for a log pipeline (an OpenTelemetry
//!   Collector's file log receiver turns them into metrics); the stats API cannot read them.
//! - `kv`: data points in the key-value store under `stats:` (one small value per request,
//!   bounded in age and number), rolled up on request: `make dev PLATFORM=spin` and tests.
//!   Not for production traffic: one key-value write per request is what the design avoids.

use edgepack::stats::otlp::{export_request, METRICS_PATH};
use edgepack::stats::rollup::aggregate;
use edgepack::stats::{DataPoint, NoStats, Rollup, RollupFuture, Stats, StatsError};
use futures::future::{select, Either};
use spin_sdk::http::{IncomingResponse, Method, Request};
use spin_sdk::key_value::Store;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Key prefix of stored points: `stats:{at ms, 13 digits}:{random}`.
const PREFIX: &str = "stats:";
/// Oldest point kept (an hour: a development session's figures).
const RETENTION_MS: u64 = 3_600_000;
/// Most points kept; the oldest beyond are deleted when a rollup reads them.
const MAX_POINTS: usize = 50_000;

/// Most points one invocation exports; beyond, points are dropped and counted. A request
/// records one; an HTTP-FLV stream one per 15 s (240 in an hour).
const MAX_EXPORT_POINTS: usize = 1_000;
/// How long an export may take (connect, send, answer) before it is abandoned. The response
/// has been sent by then: this bounds only how long the invocation lives on.
pub const EXPORT_TIMEOUT_MS: u64 = 2_000;

/// The invocation's backend; `export` is set for `otlp`, to be flushed after the response.
pub struct Backend {
    pub stats: Rc<dyn Stats>,
    pub export: Option<Rc<OtlpExport>>,
}

/// The backend the `stats` variable names (`off` or anything else: none). `otlp` needs
/// `otlp_endpoint` (an `http://` or `https://` base URL): without it, none, said on stderr.
pub fn backend(
    store: Rc<Store>,
    setting: Option<&str>,
    otlp_endpoint: Option<&str>,
    now_ms: u64,
) -> Backend {
    let stats: Rc<dyn Stats> = match setting {
        Some("kv") => Rc::new(KvPoints {
            store,
            now_ms,
            dropped: Cell::new(0),
        }),
        Some("log") => Rc::new(LogLines),
        Some("otlp") => match otlp_endpoint.and_then(metrics_url) {
            Some(url) => {
                let export = Rc::new(OtlpExport {
                    url,
                    points: RefCell::new(Vec::new()),
                    dropped: Cell::new(0),
                });
                return Backend {
                    stats: export.clone(),
                    export: Some(export),
                };
            }
            None => {
                eprintln!("stats = \"otlp\" needs otlp_endpoint, an http:// or https:// URL: no statistics");
                Rc::new(NoStats)
            }
        },
        _ => Rc::new(NoStats),
    };
    Backend {
        stats,
        export: None,
    }
}

/// `{endpoint}/v1/metrics` (the OTLP/HTTP exporter's rule for a base endpoint).
fn metrics_url(endpoint: &str) -> Option<String> {
    let e = endpoint.trim().trim_end_matches('/');
    let rest = e
        .strip_prefix("http://")
        .or_else(|| e.strip_prefix("https://"))?;
    (!rest.is_empty() && !rest.contains(['?', '#', ' '])).then(|| format!("{e}{METRICS_PATH}"))
}

/// `otlp`: the invocation's points, kept in memory (at most [`MAX_EXPORT_POINTS`]) and sent as
/// one export when the response is complete. The stats API cannot read them back.
pub struct OtlpExport {
    url: String,
    points: RefCell<Vec<DataPoint>>,
    dropped: Cell<u64>,
}

impl Stats for OtlpExport {
    fn record(&self, point: &DataPoint) {
        match self.points.try_borrow_mut() {
            Ok(mut points) if points.len() < MAX_EXPORT_POINTS => points.push(point.clone()),
            _ => self.dropped.set(self.dropped.get() + 1),
        }
    }

    fn rollup<'a>(&'a self, _: &'a Rollup) -> RollupFuture<'a> {
        Box::pin(async {
            Err(StatsError::NotConfigured(
                "stats = \"kv\" (with \"otlp\" the figures are in your metrics backend)",
            ))
        })
    }
}

impl OtlpExport {
    /// Sends the points recorded so far as one `POST {otlp_endpoint}/v1/metrics` and waits at
    /// most [`EXPORT_TIMEOUT_MS`] for the collector's answer. Never fails: an export that is
    /// refused, fails or times out is dropped with one line on stderr.
    pub async fn flush(&self, sleep: impl FnOnce(u64) -> edgepack::SleepFuture) {
        let points = std::mem::take(&mut *self.points.borrow_mut());
        let dropped = self.dropped.replace(0);
        if dropped > 0 {
            eprintln!("stats: {dropped} data points over the export's {MAX_EXPORT_POINTS} dropped");
        }
        let Some(body) = export_request(&points) else {
            return;
        };
        let mut builder = Request::builder();
        builder
            .method(Method::Post)
            .uri(self.url.as_str())
            .header("content-type", "application/json")
            .body(body.to_string().into_bytes());
        let send = Box::pin(spin_sdk::http::send::<_, IncomingResponse>(builder.build()));
        let failed = match select(send, sleep(EXPORT_TIMEOUT_MS)).await {
            Either::Left((Ok(r), _)) if (200..300).contains(&r.status()) => return,
            Either::Left((Ok(r), _)) => format!("status {}", r.status()),
            Either::Left((Err(e), _)) => e.to_string(),
            Either::Right(_) => format!("no answer within {EXPORT_TIMEOUT_MS} ms"),
        };
        eprintln!(
            "stats: OTLP export of {} data points to {} dropped: {failed}",
            points.len(),
            self.url
        );
    }
}

/// `log`: JSON lines on stdout.
struct LogLines;

impl Stats for LogLines {
    fn record(&self, point: &DataPoint) {
        if let Ok(line) = serde_json::to_string(point) {
            println!("edgepack-stats {line}");
        }
    }

    fn rollup<'a>(&'a self, _: &'a Rollup) -> RollupFuture<'a> {
        Box::pin(async {
            Err(StatsError::NotConfigured(
                "stats = \"kv\" (with \"log\" the figures are in your log pipeline)",
            ))
        })
    }
}

/// `kv`: one key per point.
struct KvPoints {
    store: Rc<Store>,
    now_ms: u64,
    dropped: Cell<u64>,
}

impl Stats for KvPoints {
    fn record(&self, point: &DataPoint) {
        let mut suffix = [0u8; 4];
        let _ = getrandom::fill(&mut suffix);
        let key = format!(
            "{PREFIX}{:013}:{}",
            point.at_ms(),
            suffix
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let stored = serde_json::to_vec(point)
            .ok()
            .is_some_and(|v| self.store.set(&key, &v).is_ok());
        if !stored {
            self.dropped.set(self.dropped.get() + 1);
            eprintln!(
                "stats: data point dropped ({} in this request)",
                self.dropped.get()
            );
        }
    }

    fn rollup<'a>(&'a self, query: &'a Rollup) -> RollupFuture<'a> {
        Box::pin(async move {
            let failed = |e: spin_sdk::key_value::Error| StatsError::Backend(e.to_string());
            let mut keys: Vec<String> = self
                .store
                .get_keys()
                .map_err(failed)?
                .into_iter()
                .filter(|k| k.starts_with(PREFIX))
                .collect();
            keys.sort();
            let horizon = self.now_ms.saturating_sub(RETENTION_MS);
            let old = keys.partition_point(|k| at_ms(k).is_some_and(|t| t < horizon));
            let excess = keys.len().saturating_sub(MAX_POINTS);
            for k in keys.drain(..old.max(excess)) {
                let _ = self.store.delete(&k);
            }
            let (from_ms, to_ms) = (query.from_s * 1000, query.to_s * 1000);
            let mut points = Vec::new();
            for k in keys {
                if !at_ms(&k).is_some_and(|t| t >= from_ms && t < to_ms) {
                    continue;
                }
                if let Some(p) = self
                    .store
                    .get(&k)
                    .map_err(failed)?
                    .and_then(|v| serde_json::from_slice::<DataPoint>(&v).ok())
                {
                    points.push(p);
                }
            }
            Ok(aggregate(&points, query))
        })
    }
}

/// The time in a point's key.
fn at_ms(key: &str) -> Option<u64> {
    key.strip_prefix(PREFIX)?.split(':').next()?.parse().ok()
}
