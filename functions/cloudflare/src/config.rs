//! Deployment settings from Worker vars and secrets.

use edgepack::stats::viewer::ViewerKeys;
use edgepack::{Config, StreamLimits};
use worker::Env;

pub fn from_env(env: &Env) -> Config {
    let defaults = StreamLimits::default();
    Config {
        admin_token: string(env, "ADMIN_TOKEN"),
        public_base_url: string(env, "PUBLIC_BASE_URL"),
        ingest_base_url: string(env, "INGEST_BASE_URL"),
        stream_limits: StreamLimits {
            max_reads: number(env, "FLV_MAX_READS").unwrap_or(defaults.max_reads),
            max_ms: number(env, "FLV_MAX_SECONDS").map_or(defaults.max_ms, |s: u64| s * 1000),
        },
        key_secret: string(env, "EDGEPACK_KEY_SECRET"),
        stats_secret: string(env, "STATS_SECRET"),
        // Anything but `off` keeps the default (hashed keys, never addresses).
        viewer_keys: string(env, "STATS_VIEWERS")
            .and_then(|v| ViewerKeys::parse(&v))
            .unwrap_or_default(),
    }
}

/// A numeric var; absent, empty or not a number is `None`.
fn number<T: std::str::FromStr>(env: &Env, name: &str) -> Option<T> {
    string(env, name).and_then(|v| v.trim().parse().ok())
}

/// A var or secret (both are strings on the `env` object); absent or empty is `None`.
pub fn string(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .ok()
        .map(|v| v.to_string())
        .filter(|v| !v.is_empty())
}
