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
}
