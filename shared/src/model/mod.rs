//! Resources of the control plane: channel groups, channels with two inputs, endpoints.

mod channel;
pub mod encryption;
mod endpoint;
pub mod latency;
pub mod static_key;

pub use channel::{Channel, InputAuth, InputId, InputProtocol};
pub use encryption::{Encryption, EncryptionMethod};
pub use endpoint::{Endpoint, OutputProtocol, StreamOrder};

use crate::names::Name;
use serde::{Deserialize, Serialize};

/// A channel group: a namespace of channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub name: Name,
    pub created_at_ms: u64,
    /// Base of the group's absolute playback URLs (its CDN playback domain); `None`: the
    /// deployment's `PUBLIC_BASE_URL`, else the request's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub playback_base_url: Option<String>,
}

/// What `playback_base_url` accepts.
pub const PLAYBACK_BASE_URL_RULE: &str = "null, or an https:// URL of at most 512 characters without credentials, query or fragment (http:// only on 127.0.0.1 or localhost)";

/// A group's `playback_base_url`, without a trailing `/`; `None` when it is not one.
pub fn playback_base_url(url: &str) -> Option<String> {
    let ok = encryption::valid_provider_url(url) && !url.contains(['?', '#']);
    ok.then(|| url.trim_end_matches('/').to_owned())
}
