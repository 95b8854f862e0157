//! The local backend (`make dev`, tests): data points kept in the process's memory, bounded in
//! number and age, rolled up on request. On Cloudflare it lives in the Worker isolate (one per
//! `wrangler dev`); a restart forgets it (docs/stats.md, "Local figures").

use super::point::DataPoint;
use super::rollup::{aggregate, Rollup};
use super::{RollupFuture, Stats};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

/// Most points kept: about 100 bytes each, so about 20 MB at most; a `make dev` session with a
/// few players writes a few thousand per minute.
pub const MAX_POINTS: usize = 200_000;

/// Oldest point kept, milliseconds (a day).
pub const RETENTION_MS: u64 = 86_400_000;

/// Points in arrival order, the oldest dropped first.
#[derive(Default)]
pub struct MemoryStats {
    points: RefCell<VecDeque<DataPoint>>,
    dropped: Cell<u64>,
}

impl MemoryStats {
    pub fn new() -> Self {
        Self::default()
    }

    /// Points dropped to stay within [`MAX_POINTS`].
    pub fn dropped(&self) -> u64 {
        self.dropped.get()
    }

    pub fn len(&self) -> usize {
        self.points.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Stats for MemoryStats {
    fn record(&self, point: &DataPoint) {
        // A store borrowed by a running rollup (never across an await) cannot be; drop then.
        let Ok(mut points) = self.points.try_borrow_mut() else {
            self.dropped.set(self.dropped.get() + 1);
            return;
        };
        let horizon = point.at_ms().saturating_sub(RETENTION_MS);
        while points.front().is_some_and(|p| p.at_ms() < horizon) {
            points.pop_front();
        }
        if points.len() >= MAX_POINTS {
            points.pop_front();
            self.dropped.set(self.dropped.get() + 1);
        }
        points.push_back(point.clone());
    }

    fn rollup<'a>(&'a self, query: &'a Rollup) -> RollupFuture<'a> {
        let rows = aggregate(self.points.borrow().iter(), query);
        Box::pin(async move { Ok(rows) })
    }
}
