//! edgepack core: a sans-IO live packaging origin. Adapters in `functions/` feed it requests and
//! give it storage, a clock and randomness; it owns every decision.
#![forbid(unsafe_code)]

pub mod error;
pub mod http;
pub mod media;
mod origin;
pub mod store;

pub use error::OriginError;
pub use http::{Method, Request, Response, MAX_BODY_BYTES};
pub use origin::{Config, Origin, Random};
