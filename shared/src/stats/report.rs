//! The stats API's answers, built from rollups (docs/stats.md, "Definitions" and "API").
//!
//! Concurrent viewers: the distinct viewer keys seen in each slot of `viewer_window` seconds
//! (about two output segment durations: a playing player fetches a playlist and a segment in
//! each); a bucket's `viewers` is the mean over its slots, `peak_viewers` the largest slot.
//! Unique viewers: distinct keys in the bucket. Sessions: an input's segment arrivals split at
//! gaps longer than the channel's `max_segment_duration`.

use super::range::StatsRange;
use super::rollup::{GroupBy, Kind, Rollup, Row, Scope};
use super::{Stats, StatsError};
use crate::datetime::iso8601_ms;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Most viewer slots read per request; longer ranges sample the first slot of each bucket.
pub const MAX_SLOTS: u64 = 5_000;
/// Most rows read to find sessions; longer ranges use coarser intervals (gaps shorter than one
/// interval then go unseen).
pub const MAX_SESSION_ROWS: u64 = 10_000;
/// Sessions reported per channel (the most recent), each costing one rollup.
pub const MAX_SESSIONS: usize = 20;

/// Per endpoint: requests, bytes, status classes, viewers and unique viewers per bucket.
pub async fn endpoint_report(
    stats: &dyn Stats,
    scope: Scope,
    range: StatsRange,
    window_s: u64,
    now_ms: u64,
) -> Result<Value, StatsError> {
    let by_step = rollup(Kind::Play, &scope, range, range.step_s, GroupBy::Time);
    let rows = stats.rollup(&by_step).await?;
    let slots = viewer_slots(stats, &scope, range, window_s, now_ms).await?;
    let whole = rollup(
        Kind::Play,
        &scope,
        range,
        range.to_s - range.from_s,
        GroupBy::Time,
    );
    let total = stats
        .rollup(&whole)
        .await?
        .into_iter()
        .next()
        .unwrap_or_default();
    let mut by_bucket: BTreeMap<u64, &Row> = rows.iter().map(|r| (r.interval, r)).collect();
    let buckets: Vec<Value> = (0..range.buckets())
        .map(|b| {
            let row = by_bucket.remove(&b).cloned().unwrap_or_default();
            let (viewers, peak) = slots.bucket(b);
            json!({
                "start": at_s(range.from_s + b * range.step_s),
                "requests": row.requests,
                "bytes": row.bytes,
                "status": classes(&row),
                "viewers": viewers,
                "peak_viewers": peak,
                "unique_viewers": row.viewers,
            })
        })
        .collect();
    Ok(json!({
        "group": scope.group,
        "channel": scope.channel,
        "endpoint": scope.endpoint,
        "from": at_s(range.from_s),
        "to": at_s(range.to_s),
        "step": range.step_s,
        "viewer_window": slots.width_s,
        "buckets": buckets,
        "totals": {
            "requests": total.requests,
            "bytes": total.bytes,
            "status": classes(&total),
            "peak_viewers": slots.peak(),
            "unique_viewers": total.viewers,
        },
    }))
}

/// Per channel: ingest bitrate per input and rendition, and stream sessions.
pub async fn channel_report(
    stats: &dyn Stats,
    scope: Scope,
    range: StatsRange,
    window_s: u64,
    max_segment_duration_s: u64,
    now_ms: u64,
) -> Result<Value, StatsError> {
    let by_step = rollup(
        Kind::Ingest,
        &scope,
        range,
        range.step_s,
        GroupBy::InputRendition,
    );
    let mut series: BTreeMap<(u8, String), Vec<Row>> = BTreeMap::new();
    for row in stats.rollup(&by_step).await? {
        let key = (
            row.input.unwrap_or(0),
            row.rendition.clone().unwrap_or_default(),
        );
        series.entry(key).or_default().push(row);
    }
    let ingest: Vec<Value> = series
        .into_iter()
        .map(|((input, rendition), rows)| {
            let mut by_bucket: BTreeMap<u64, Row> =
                rows.into_iter().map(|r| (r.interval, r)).collect();
            let (mut bytes, mut duration) = (0u64, 0u64);
            let buckets: Vec<Value> = (0..range.buckets())
                .map(|b| {
                    let row = by_bucket.remove(&b).unwrap_or_default();
                    bytes = bytes.saturating_add(row.bytes);
                    duration = duration.saturating_add(row.duration_ms);
                    json!({
                        "start": at_s(range.from_s + b * range.step_s),
                        "segments": row.requests,
                        "bytes": row.bytes,
                        "media_seconds": row.duration_ms as f64 / 1000.0,
                        "bitrate": bitrate(row.bytes, row.duration_ms),
                    })
                })
                .collect();
            json!({
                "input": input,
                "rendition": rendition,
                "bitrate": bitrate(bytes, duration),
                "buckets": buckets,
            })
        })
        .collect();

    let gap_ms = max_segment_duration_s.max(1) * 1000;
    let span = range.to_s - range.from_s;
    let interval = max_segment_duration_s
        .max(1)
        .max(span.div_ceil(MAX_SESSION_ROWS));
    let arrivals = rollup(Kind::Ingest, &scope, range, interval, GroupBy::Input);
    let found = sessions(&stats.rollup(&arrivals).await?, gap_ms);
    let truncated = found.len() > MAX_SESSIONS;
    let recent = &found[found.len().saturating_sub(MAX_SESSIONS)..];
    let channel_scope = Scope {
        endpoint: None,
        ..scope.clone()
    };
    let slots = viewer_slots(stats, &channel_scope, range, window_s, now_ms).await?;
    let mut out = Vec::new();
    for s in recent {
        let (from_s, to_s) = (s.start_ms / 1000, s.end_ms / 1000 + 1);
        let span = StatsRange {
            from_s,
            to_s,
            step_s: to_s - from_s,
        };
        let whole = rollup(
            Kind::Play,
            &channel_scope,
            span,
            to_s - from_s,
            GroupBy::Time,
        );
        let cumulative = stats.rollup(&whole).await?.first().map_or(0, |r| r.viewers);
        out.push(json!({
            "input": s.input,
            "start": at_ms(s.start_ms),
            "end": at_ms(s.end_ms),
            "duration": (s.end_ms - s.start_ms) as f64 / 1000.0,
            "live": now_ms.saturating_sub(s.end_ms) <= gap_ms,
            "segments": s.segments,
            "bytes": s.bytes,
            "peak_viewers": slots.peak_between(s.start_ms, s.end_ms),
            "cumulative_viewers": cumulative,
        }));
    }
    Ok(json!({
        "group": scope.group,
        "channel": scope.channel,
        "from": at_s(range.from_s),
        "to": at_s(range.to_s),
        "step": range.step_s,
        "viewer_window": slots.width_s,
        "ingest": ingest,
        "sessions": out,
        "sessions_truncated": truncated,
    }))
}

fn rollup(kind: Kind, scope: &Scope, range: StatsRange, interval_s: u64, by: GroupBy) -> Rollup {
    Rollup {
        kind,
        scope: scope.clone(),
        from_s: range.from_s,
        to_s: range.to_s,
        interval_s: interval_s.max(1),
        head_s: None,
        group_by: by,
    }
}

/// Bit/s of `bytes` carrying `duration_ms` of media; 0 without media.
fn bitrate(bytes: u64, duration_ms: u64) -> u64 {
    match duration_ms {
        0 => 0,
        d => u64::try_from(u128::from(bytes) * 8000 / u128::from(d)).unwrap_or(u64::MAX),
    }
}

fn classes(row: &Row) -> Value {
    json!({
        "2xx": row.status[0],
        "3xx": row.status[1],
        "4xx": row.status[2],
        "5xx": row.status[3],
    })
}

/// Distinct viewers per slot, and how slots map to buckets.
#[derive(Debug, Default)]
pub struct Slots {
    from_s: u64,
    step_s: u64,
    width_s: u64,
    /// Only the first slot of each bucket was read.
    sampled: bool,
    /// Slots that had begun at the time of the request.
    begun: u64,
    counts: BTreeMap<u64, u64>,
}

async fn viewer_slots(
    stats: &dyn Stats,
    scope: &Scope,
    range: StatsRange,
    window_s: u64,
    now_ms: u64,
) -> Result<Slots, StatsError> {
    let width_s = slot_width(window_s, range.step_s);
    let span = range.to_s - range.from_s;
    let sampled = span.div_ceil(width_s) > MAX_SLOTS;
    let mut q = rollup(Kind::Play, scope, range, width_s, GroupBy::Time);
    if sampled {
        q.interval_s = range.step_s;
        q.head_s = Some(width_s);
    }
    let counts = stats
        .rollup(&q)
        .await?
        .into_iter()
        .map(|r| (r.interval, r.viewers))
        .collect();
    let now_s = now_ms / 1000;
    Ok(Slots {
        from_s: range.from_s,
        step_s: range.step_s,
        width_s,
        sampled,
        begun: now_s.saturating_sub(range.from_s) / q.interval_s + 1,
        counts,
    })
}

impl Slots {
    /// Start (Unix s) of slot `n`.
    fn start(&self, n: u64) -> u64 {
        match self.sampled {
            true => self.from_s + n * self.step_s,
            false => self.from_s + n * self.width_s,
        }
    }

    /// A bucket's mean viewers (rounded to the nearest) and its largest slot.
    pub fn bucket(&self, b: u64) -> (u64, u64) {
        if self.sampled {
            let v = self.counts.get(&b).copied().unwrap_or(0);
            return (v, v);
        }
        let (lo, hi) = (
            self.from_s + b * self.step_s,
            self.from_s + (b + 1) * self.step_s,
        );
        let first = (lo - self.from_s).div_ceil(self.width_s);
        let end = ((hi - self.from_s).div_ceil(self.width_s)).min(self.begun);
        let (mut sum, mut peak, mut n) = (0, 0, 0);
        for slot in first..end {
            let v = self.counts.get(&slot).copied().unwrap_or(0);
            sum += v;
            peak = peak.max(v);
            n += 1;
        }
        match n {
            0 => (0, 0),
            n => ((sum + n / 2) / n, peak),
        }
    }

    pub fn peak(&self) -> u64 {
        self.counts.values().copied().max().unwrap_or(0)
    }

    /// The largest slot overlapping `[from_ms, to_ms]`.
    pub fn peak_between(&self, from_ms: u64, to_ms: u64) -> u64 {
        let width = self.width_s;
        self.counts
            .iter()
            .filter(|(n, _)| {
                let start_ms = self.start(**n) * 1000;
                start_ms <= to_ms && start_ms + width * 1000 > from_ms
            })
            .map(|(_, v)| *v)
            .max()
            .unwrap_or(0)
    }
}

/// The viewer slot: the shortest width of at least `window_s` that divides `step_s`, so that
/// every slot lies in one bucket (a step shorter than the window is one slot).
pub fn slot_width(window_s: u64, step_s: u64) -> u64 {
    let most = (step_s / window_s.max(1)).max(1);
    (1..=most)
        .rev()
        .find(|n| step_s.is_multiple_of(*n))
        .map_or(step_s, |n| step_s / n)
}

/// An input's run of segment arrivals without a gap longer than the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub input: u8,
    pub start_ms: u64,
    pub end_ms: u64,
    pub segments: u64,
    pub bytes: u64,
}

/// Sessions from ingest rows grouped by input (in interval order, any input order), split
/// where the next arrival comes more than `gap_ms` after the previous one; by start time.
pub fn sessions(rows: &[Row], gap_ms: u64) -> Vec<Session> {
    let mut by_input: BTreeMap<u8, Vec<&Row>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.requests > 0) {
        by_input.entry(r.input.unwrap_or(0)).or_default().push(r);
    }
    let mut out: Vec<Session> = Vec::new();
    for (input, mut rows) in by_input {
        rows.sort_by_key(|r| r.first_ms);
        let mut current: Option<Session> = None;
        for r in rows {
            match current.as_mut() {
                Some(s) if r.first_ms.saturating_sub(s.end_ms) <= gap_ms => {
                    s.end_ms = s.end_ms.max(r.last_ms);
                    s.segments += r.requests;
                    s.bytes = s.bytes.saturating_add(r.bytes);
                }
                _ => {
                    out.extend(current.take());
                    current = Some(Session {
                        input,
                        start_ms: r.first_ms,
                        end_ms: r.last_ms,
                        segments: r.requests,
                        bytes: r.bytes,
                    });
                }
            }
        }
        out.extend(current);
    }
    out.sort_by_key(|s| (s.start_ms, s.input));
    out
}

fn at_s(s: u64) -> String {
    at_ms(s.saturating_mul(1000))
}

fn at_ms(ms: u64) -> String {
    iso8601_ms(i64::try_from(ms).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrivals(input: u8, first_ms: u64, last_ms: u64, n: u64) -> Row {
        Row {
            input: Some(input),
            requests: n,
            bytes: n * 100,
            first_ms,
            last_ms,
            ..Row::default()
        }
    }

    #[test]
    fn slots_divide_the_step() {
        assert_eq!(slot_width(4, 10), 5);
        assert_eq!(slot_width(4, 60), 4);
        assert_eq!(slot_width(4, 13), 13);
        assert_eq!(slot_width(12, 10), 10);
        assert_eq!(slot_width(0, 10), 1);
    }

    #[test]
    fn sessions_split_only_at_gaps_longer_than_the_limit() {
        // Input 1: 0-20 s, a 15 s gap (kept), 35-50 s; a 16 s gap (split); 66-70 s.
        let rows = [
            arrivals(1, 0, 14_000, 8),
            arrivals(1, 15_000, 20_000, 3),
            arrivals(1, 35_000, 50_000, 8),
            arrivals(1, 66_000, 70_000, 3),
            arrivals(2, 5_000, 9_000, 3),
            arrivals(2, 10_000, 10_000, 0),
        ];
        let s = sessions(&rows, 15_000);
        let spans: Vec<(u8, u64, u64, u64)> = s
            .iter()
            .map(|s| (s.input, s.start_ms, s.end_ms, s.segments))
            .collect();
        assert_eq!(
            spans,
            [
                (1, 0, 50_000, 19),
                (2, 5_000, 9_000, 3),
                (1, 66_000, 70_000, 3)
            ]
        );
        assert_eq!(s[0].bytes, 1900);
    }

    #[test]
    fn a_bucket_averages_its_begun_slots() {
        let counts = [(0, 3), (1, 1), (3, 2)].into_iter().collect();
        let slots = Slots {
            from_s: 100,
            step_s: 20,
            width_s: 5,
            sampled: false,
            begun: 7,
            counts,
        };
        // Slots 0-3: 3, 1, 0, 2: mean 1.5 rounds to 2; peak 3.
        assert_eq!(slots.bucket(0), (2, 3));
        // Slots 4-6 have begun (slot 7 has not): all empty.
        assert_eq!(slots.bucket(1), (0, 0));
        assert_eq!(slots.peak(), 3);
        assert_eq!(slots.peak_between(110_000, 119_000), 2);
        assert_eq!(slots.peak_between(130_000, 140_000), 0);
    }
}
