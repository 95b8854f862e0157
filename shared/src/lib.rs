//! edgepack core: a sans-IO live packaging origin. Adapters in `functions/` feed it requests and
//! give it storage, a clock and randomness; it owns every decision.
#![forbid(unsafe_code)]

pub mod access;
pub mod adapter;
pub mod api;
pub mod archive;
pub mod auth;
pub mod channel_cache;
pub mod channel_object;
pub mod channel_state;
pub mod console;
pub mod content_keys;
pub mod context;
pub mod dash;
pub mod datetime;
pub mod drm;
pub mod error;
pub mod failover;
pub mod fields;
pub mod harvest;
pub mod hls;
pub mod http;
pub mod ingest;
pub mod ingest_memory;
mod keys;
pub mod media;
pub mod model;
pub mod names;
mod origin;
pub mod output;
pub mod paths;
pub mod playback;
mod rendition_index;
mod repo;
pub mod stats;
pub mod store;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod timeline;
pub mod timeshift;

pub use auth::{Random, RandomError};
pub use context::{
    Config, Ctx, Fetch, FetchError, FetchFuture, FetchRequest, FetchResponse, Sleep, SleepFuture,
    StreamLimits,
};
pub use error::OriginError;
pub use http::{HeldBody, Method, Request, Response, MAX_BODY_BYTES};
pub use origin::{Origin, Stream, OPENAPI};
