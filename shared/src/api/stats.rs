//! `GET .../endpoints/{endpoint}/stats` and `GET .../channels/{channel}/stats`: the figures of
//! [`crate::stats::report`] over `from`, `to` and `step` (docs/stats.md).

use crate::context::Ctx;
use crate::error::{OriginError, OriginResult};
use crate::model::{Channel, Endpoint};
use crate::output::group::join_factor;
use crate::repo;
use crate::stats::report::{channel_report, endpoint_report};
use crate::stats::{Scope, StatsError, StatsRange};
use crate::store::{KvStore, ObjectStore, StoreError};
use serde_json::Value;

/// Segment duration assumed before a channel has content (seconds).
const DEFAULT_TARGET_S: u64 = 6;
/// A viewer window spans this many output segment durations: a playing client fetches at
/// least one playlist and one segment in each (docs/stats.md, "Viewers").
const WINDOW_SEGMENTS: u64 = 2;
/// Bounds of the viewer window, seconds.
const MIN_WINDOW_S: u64 = 2;
const MAX_WINDOW_S: u64 = 120;

pub(super) async fn endpoint_stats<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    endpoint: &Endpoint,
    query: &str,
    now_ms: u64,
) -> OriginResult<Value> {
    let range = StatsRange::parse(query, now_ms)?;
    let target = target_duration(cx, channel).await?;
    let output = target * join_factor(endpoint.segment_duration, target);
    let scope = Scope {
        group: channel.group.as_str().to_owned(),
        channel: channel.name.as_str().to_owned(),
        endpoint: Some(endpoint.name.as_str().to_owned()),
    };
    endpoint_report(cx.stats, scope, range, window(output), now_ms)
        .await
        .map_err(origin_error)
}

pub(super) async fn channel_stats<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    query: &str,
    now_ms: u64,
) -> OriginResult<Value> {
    let range = StatsRange::parse(query, now_ms)?;
    let target = target_duration(cx, channel).await?;
    let scope = Scope {
        group: channel.group.as_str().to_owned(),
        channel: channel.name.as_str().to_owned(),
        endpoint: None,
    };
    let max_gap = channel.max_segment_duration;
    channel_report(cx.stats, scope, range, window(target), max_gap, now_ms)
        .await
        .map_err(origin_error)
}

fn window(segment_s: u64) -> u64 {
    (WINDOW_SEGMENTS * segment_s).clamp(MIN_WINDOW_S, MAX_WINDOW_S)
}

/// The channel's longest target duration over its renditions' timelines (seconds).
async fn target_duration<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
) -> OriginResult<u64> {
    let timelines = repo::all_timelines(cx.objects, &channel.id).await?;
    let longest = timelines
        .values()
        .flatten()
        .flatten()
        .map(|t| t.target_duration)
        .max();
    Ok(longest.filter(|t| *t > 0).unwrap_or(DEFAULT_TARGET_S))
}

/// A missing setting is the deployment's (500, naming it); an engine that fails is a
/// temporarily unavailable store (503).
fn origin_error(e: StatsError) -> OriginError {
    match e {
        StatsError::NotConfigured(what) => OriginError::NotConfigured(what),
        other => OriginError::Storage(StoreError(other.to_string())),
    }
}
