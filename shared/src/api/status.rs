//! `GET .../channels/{channel}/status`: input health (each rendition's newest segment), the
//! switch history and the recent output.

use crate::context::Ctx;
use crate::datetime::iso8601_ms;
use crate::error::OriginResult;
use crate::failover::{first_arrival, output_segments, policy, SwitchLog};
use crate::keys;
use crate::model::{Channel, InputId};
use crate::names::Rendition;
use crate::repo;
use crate::store::{KvStore, ObjectStore};
use crate::timeline::{Timeline, TIMESCALE};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Every rendition's timelines on both inputs.
type RenditionTimelines = BTreeMap<Rendition, [Option<Timeline>; 2]>;

pub(super) async fn channel_status<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    now_ms: u64,
) -> OriginResult<Value> {
    // Before any content there is no log: no active input and no switch to report.
    let log: SwitchLog = repo::object_get(cx.objects, &keys::switch_log(&channel.id))
        .await?
        .unwrap_or_default();
    let active = log.active().map(|r| r.input);
    // Liveness is what ingest stores anyway: each timeline's newest segment.
    let timelines = repo::all_timelines(cx.objects, &channel.id).await?;
    let mut inputs = Vec::new();
    for input in InputId::ALL {
        let mut renditions = Vec::new();
        let mut newest: Option<u64> = None;
        for (r, pair) in &timelines {
            let Some(last) = pair[input.index()].as_ref().and_then(Timeline::last) else {
                continue;
            };
            newest = newest.max(Some(last.arrived_ms));
            renditions.push(json!({
                "rendition": r,
                "last_segment_at": at(last.arrived_ms),
                "heartbeat_age_ms": now_ms.saturating_sub(last.arrived_ms),
                "last_sequence": last.seq,
                "last_media_time": last.media_start.map(|m| m + last.duration),
                "bitrate": last.size.saturating_mul(8 * TIMESCALE) / last.duration.max(1),
            }));
        }
        let healthy = policy::is_healthy(newest, now_ms, channel.max_segment_duration);
        inputs.push(json!({
            "id": input.number(),
            "healthy": healthy,
            "active": active == Some(input.number()),
            "last_segment_at": newest.map(at),
            "renditions": renditions,
        }));
    }
    let switches: Vec<Value> = log
        .records
        .iter()
        .map(|r| {
            json!({
                "input": r.input,
                "from_sequence": r.from_seq,
                "discontinuity": r.discontinuity,
                "media_time": r.media_time,
                "at": at(r.at_ms),
                "reason": r.reason,
            })
        })
        .collect();
    let output = output_status(&timelines, &log);
    Ok(json!({
        "group": channel.group,
        "channel": channel.name,
        "active_input": active,
        "inputs": inputs,
        "switches": switches,
        "output": output,
    }))
}

/// Output segments listed per rendition in the status.
const RECENT_SEGMENTS: usize = 10;

/// Per rendition: whether the inputs are aligned (first arrival applies) and which input
/// served each recent output segment.
fn output_status(timelines: &RenditionTimelines, log: &SwitchLog) -> Vec<Value> {
    let mut out = Vec::new();
    for (rendition, [a, b]) in timelines {
        let refs = [a.as_ref(), b.as_ref()];
        let segments = output_segments(log, refs);
        let recent: Vec<Value> = segments[segments.len().saturating_sub(RECENT_SEGMENTS)..]
            .iter()
            .map(|o| json!({"sequence": o.seq, "input": o.input.number()}))
            .collect();
        out.push(json!({
            "rendition": rendition,
            "inputs_aligned": first_arrival::aligned(refs),
            "recent_segments": recent,
        }));
    }
    out
}

fn at(ms: u64) -> String {
    iso8601_ms(i64::try_from(ms).unwrap_or(i64::MAX))
}
