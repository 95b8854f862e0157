//! Deployment settings from Spin variables (`[variables]` in spin.toml).

use edgepack::stats::viewer::ViewerKeys;
use edgepack::{Config, StreamLimits};

/// Fermyon Cloud ends a handler after 30 s: an HTTP-FLV response ends cleanly before.
const FLV_MAX_SECONDS: u64 = 25;

pub fn from_variables() -> Config {
    let number = |name: &str| variable(name).and_then(|v| v.trim().parse::<u64>().ok());
    Config {
        admin_token: variable("admin_token"),
        public_base_url: variable("public_base_url"),
        ingest_base_url: variable("ingest_base_url"),
        stream_limits: StreamLimits {
            // Key-value calls are host calls here, not counted subrequests.
            max_reads: number("flv_max_reads")
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
            max_ms: number("flv_max_seconds").unwrap_or(FLV_MAX_SECONDS) * 1000,
        },
        key_secret: variable("edgepack_key_secret"),
        stats_secret: variable("stats_secret"),
        viewer_keys: variable("stats_viewers")
            .and_then(|v| ViewerKeys::parse(&v))
            .unwrap_or_default(),
    }
}

/// The `stats` variable: `otlp`, `kv`, `log` or `off` (docs/stats.md, "Spin").
pub fn stats_backend() -> Option<String> {
    variable("stats")
}

/// The `otlp_endpoint` variable: the collector's OTLP/HTTP base URL (docs/stats.md, "Spin").
pub fn otlp_endpoint() -> Option<String> {
    variable("otlp_endpoint")
}

/// A component variable; undefined or empty is `None`.
fn variable(name: &str) -> Option<String> {
    match spin_sdk::variables::get(name) {
        Ok(v) if !v.is_empty() => Some(v),
        Ok(_) => None,
        Err(e) => {
            eprintln!("variable {name}: {e}");
            None
        }
    }
}
