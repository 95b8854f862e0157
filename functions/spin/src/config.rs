//! Deployment settings from Spin variables (`[variables]` in spin.toml).

use edgepack::Config;

pub fn from_variables() -> Config {
    Config {
        admin_token: variable("admin_token"),
        public_base_url: variable("public_base_url"),
        ingest_base_url: variable("ingest_base_url"),
        key_secret: variable("edgepack_key_secret"),
    }
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
