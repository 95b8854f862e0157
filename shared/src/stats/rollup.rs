//! The one query every backend answers: data points of one kind and scope, in a time range,
//! grouped into equal intervals counted from the start of the range (and, for ingest, per input
//! and rendition). Sums, status classes, distinct viewer keys and first and last arrival per
//! group: a single `GROUP BY` in SQL ([`super::sql`]), a scan in memory ([`aggregate`]).

use super::point::DataPoint;
use std::collections::{BTreeMap, HashSet};

/// Which data points a rollup reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Play,
    Ingest,
}

/// Where they come from: one endpoint, or every endpoint (or input) of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub group: String,
    pub channel: String,
    /// Playback of this endpoint only; `None`: the whole channel.
    pub endpoint: Option<String>,
}

/// Rows per interval only, or per interval and input, or per interval, input and rendition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Time,
    Input,
    InputRendition,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollup {
    pub kind: Kind,
    pub scope: Scope,
    /// Unix seconds, `from_s` included, `to_s` excluded.
    pub from_s: u64,
    pub to_s: u64,
    /// Interval length in seconds (at least 1); interval `n` starts at `from_s + n * interval_s`.
    pub interval_s: u64,
    /// Only the first `head_s` seconds of each interval count (a sampled viewer window);
    /// `None`: all of it.
    pub head_s: Option<u64>,
    pub group_by: GroupBy,
}

impl Rollup {
    /// The interval a point at `at_ms` falls in, if the rollup reads it.
    pub fn interval_of(&self, at_ms: u64) -> Option<u64> {
        let t = at_ms / 1000;
        if t < self.from_s || t >= self.to_s {
            return None;
        }
        let offset = t - self.from_s;
        let interval = self.interval_s.max(1);
        if self.head_s.is_some_and(|h| offset % interval >= h) {
            return None;
        }
        Some(offset / interval)
    }

    /// Whether a point is of this rollup's kind and scope (time aside).
    pub fn selects(&self, point: &DataPoint) -> bool {
        let (g, c) = point.channel();
        if g != self.scope.group || c != self.scope.channel {
            return false;
        }
        match (self.kind, point) {
            (Kind::Play, DataPoint::Play(p)) => self
                .scope
                .endpoint
                .as_ref()
                .is_none_or(|e| *e == p.endpoint),
            (Kind::Ingest, DataPoint::Ingest(_)) => true,
            _ => false,
        }
    }

    /// Number of intervals in the range.
    pub fn intervals(&self) -> u64 {
        self.to_s
            .saturating_sub(self.from_s)
            .div_ceil(self.interval_s.max(1))
    }
}

/// One group of a rollup's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    /// Interval number, from the start of the range.
    pub interval: u64,
    /// With [`GroupBy::Input`] or [`GroupBy::InputRendition`].
    pub input: Option<u8>,
    /// With [`GroupBy::InputRendition`].
    pub rendition: Option<String>,
    /// Data points (playback requests, or ingest commits).
    pub requests: u64,
    pub bytes: u64,
    /// Answers per status class: 2xx, 3xx, 4xx, 5xx.
    pub status: [u64; 4],
    /// Distinct viewer keys.
    pub viewers: u64,
    /// Earliest and latest point, Unix ms.
    pub first_ms: u64,
    pub last_ms: u64,
    /// Ingest: media duration of the committed segments, ms.
    pub duration_ms: u64,
}

/// The status class index of a status (2xx: 0 ... 5xx: 3), if it has one of those.
pub fn status_class(status: u16) -> Option<usize> {
    match status {
        200..=599 => Some(usize::from(status / 100 - 2)),
        _ => None,
    }
}

/// A rollup over points held in memory (the local backend, tests), rows in group order.
pub fn aggregate<'a>(points: impl IntoIterator<Item = &'a DataPoint>, q: &Rollup) -> Vec<Row> {
    type Key = (u64, Option<u8>, Option<String>);
    let mut groups: BTreeMap<Key, (Row, HashSet<&'a str>)> = BTreeMap::new();
    for point in points {
        if !q.selects(point) {
            continue;
        }
        let Some(interval) = q.interval_of(point.at_ms()) else {
            continue;
        };
        let (input, rendition) = match (point, q.group_by) {
            (DataPoint::Ingest(p), GroupBy::Input) => (Some(p.input), None),
            (DataPoint::Ingest(p), GroupBy::InputRendition) => {
                (Some(p.input), Some(p.rendition.clone()))
            }
            _ => (None, None),
        };
        let (row, viewers) = groups
            .entry((interval, input, rendition.clone()))
            .or_insert_with(|| {
                let row = Row {
                    interval,
                    input,
                    rendition,
                    first_ms: u64::MAX,
                    ..Row::default()
                };
                (row, HashSet::new())
            });
        row.requests += 1;
        row.first_ms = row.first_ms.min(point.at_ms());
        row.last_ms = row.last_ms.max(point.at_ms());
        match point {
            DataPoint::Play(p) => {
                row.bytes = row.bytes.saturating_add(p.bytes);
                if let Some(c) = status_class(p.status) {
                    row.status[c] += 1;
                }
                if let Some(v) = &p.viewer {
                    viewers.insert(v);
                }
            }
            DataPoint::Ingest(p) => {
                row.bytes = row.bytes.saturating_add(p.bytes);
                row.duration_ms = row.duration_ms.saturating_add(p.duration_ms);
            }
        }
    }
    groups
        .into_values()
        .map(|(mut row, viewers)| {
            row.viewers = u64::try_from(viewers.len()).unwrap_or(u64::MAX);
            row
        })
        .collect()
}
