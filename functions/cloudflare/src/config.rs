//! Deployment settings from Worker vars and secrets.

use edgepack::Config;
use worker::Env;

pub fn from_env(env: &Env) -> Config {
    Config {
        admin_token: string(env, "ADMIN_TOKEN"),
        public_base_url: string(env, "PUBLIC_BASE_URL"),
        ingest_base_url: string(env, "INGEST_BASE_URL"),
        key_secret: string(env, "EDGEPACK_KEY_SECRET"),
    }
}

/// A var or secret (both are strings on the `env` object); absent or empty is `None`.
fn string(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .ok()
        .map(|v| v.to_string())
        .filter(|v| !v.is_empty())
}
