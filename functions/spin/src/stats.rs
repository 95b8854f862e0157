//! Statistics on Spin (docs/stats.md, "Spin"). Spin 3 gives a component no metrics interface
//! (spin-sdk 5.2 has none; the host itself exports traces over OTLP), so the component offers
//! two backends, chosen by the variable `stats`:
//!
//! - `log`: one JSON line per data point on stdout, for a log pipeline (an OpenTelemetry
//!   Collector's file log receiver turns them into metrics); the stats API cannot read them.
//! - `kv`: data points in the key-value store under `stats:` (one small value per request,
//!   bounded in age and number), rolled up on request: `make dev PLATFORM=spin` and tests.
//!   Not for production traffic: one key-value write per request is what the design avoids.

use edgepack::stats::rollup::aggregate;
use edgepack::stats::{DataPoint, NoStats, Rollup, RollupFuture, Stats, StatsError};
use spin_sdk::key_value::Store;
use std::cell::Cell;
use std::rc::Rc;

/// Key prefix of stored points: `stats:{at ms, 13 digits}:{random}`.
const PREFIX: &str = "stats:";
/// Oldest point kept (an hour: a development session's figures).
const RETENTION_MS: u64 = 3_600_000;
/// Most points kept; the oldest beyond are deleted when a rollup reads them.
const MAX_POINTS: usize = 50_000;

/// The backend the `stats` variable names (`off` or anything else: none).
pub fn backend(store: Rc<Store>, setting: Option<&str>, now_ms: u64) -> Rc<dyn Stats> {
    match setting {
        Some("kv") => Rc::new(KvPoints {
            store,
            now_ms,
            dropped: Cell::new(0),
        }),
        Some("log") => Rc::new(LogLines),
        _ => Rc::new(NoStats),
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
