//! Statistics (docs/stats.md): the data points the origin records, the viewer estimate, the
//! aggregation over time buckets and the reports the stats API answers with.
//!
//! The core never stores a figure itself. Each request hands one [`DataPoint`] to the
//! deployment's [`Stats`] backend (Workers Analytics Engine on Cloudflare, the isolate's
//! memory in `make dev`); a report asks the backend for [`Rollup`]s, the one query shape every
//! analytics engine answers with a `GROUP BY`, and builds series, viewer estimates and sessions
//! from their rows ([`report`]).

pub mod memory;
pub mod otlp;
pub mod point;
pub mod range;
pub mod report;
pub mod rollup;
pub mod sql;
pub mod viewer;

pub use memory::MemoryStats;
pub use point::{DataPoint, IngestPoint, PlayPoint};
pub use range::StatsRange;
pub use rollup::{GroupBy, Rollup, Row, Scope};

use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// Why a backend could not answer a rollup. The text is short and holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsError {
    /// The deployment has no queryable backend (or lacks a setting it needs, named here).
    NotConfigured(&'static str),
    /// The analytics engine refused or failed; its status and a short reason.
    Backend(String),
    /// The engine's answer could not be read.
    BadAnswer(String),
}

impl fmt::Display for StatsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatsError::NotConfigured(what) => write!(f, "statistics not configured: {what}"),
            StatsError::Backend(m) => write!(f, "analytics engine: {m}"),
            StatsError::BadAnswer(m) => write!(f, "analytics engine answer: {m}"),
        }
    }
}

impl std::error::Error for StatsError {}

/// A running [`Stats::rollup`].
pub type RollupFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<Row>, StatsError>> + 'a>>;

/// Where data points go and where rollups come from; each adapter supplies one.
pub trait Stats {
    /// Records one data point. Never fails and never waits: a point the backend cannot take is
    /// dropped (and counted by the backend), so playback is never slowed or refused by it.
    fn record(&self, point: &DataPoint);
    /// Answers one rollup.
    fn rollup<'a>(&'a self, query: &'a Rollup) -> RollupFuture<'a>;
    /// Whether points are kept at all: without, the origin does not build them (no viewer
    /// hash is computed).
    fn enabled(&self) -> bool {
        true
    }
}

/// The backend of a deployment without statistics: drops every point, answers nothing.
pub struct NoStats;

impl Stats for NoStats {
    fn record(&self, _: &DataPoint) {}

    fn enabled(&self) -> bool {
        false
    }

    fn rollup<'a>(&'a self, _: &'a Rollup) -> RollupFuture<'a> {
        Box::pin(async { Err(StatsError::NotConfigured("no statistics backend")) })
    }
}

/// The [`NoStats`] every origin starts with.
pub static NO_STATS: NoStats = NoStats;
