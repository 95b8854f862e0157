//! `GET .../channels/{channel}/status`: input health, heartbeats and the switch history.

use crate::context::Ctx;
use crate::datetime::iso8601_ms;
use crate::error::OriginResult;
use crate::failover::policy::Heartbeat;
use crate::failover::{first_arrival, output_segments, policy, SwitchLog};
use crate::keys;
use crate::model::{Channel, InputId};
use crate::repo;
use crate::store::{KvStore, ObjectStore};
use serde_json::{json, Value};

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
    let mut inputs = Vec::new();
    for input in InputId::ALL {
        let mut renditions = Vec::new();
        let mut newest: Option<u64> = None;
        for r in repo::renditions(cx.objects, &channel.id, input).await? {
            let hb: Option<Heartbeat> =
                repo::kv_get(cx.kv, &keys::heartbeat(&channel.id, input, &r)).await?;
            let Some(hb) = hb else { continue };
            newest = newest.max(Some(hb.arrived_ms));
            renditions.push(json!({
                "rendition": r,
                "last_segment_at": at(hb.arrived_ms),
                "heartbeat_age_ms": now_ms.saturating_sub(hb.arrived_ms),
                "last_sequence": hb.last_seq,
                "last_media_time": hb.media_end,
                "bitrate": hb.bitrate,
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
    let output = output_status(cx, channel, &log).await?;
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
async fn output_status<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    log: &SwitchLog,
) -> OriginResult<Vec<Value>> {
    let mut out = Vec::new();
    for (rendition, [a, b]) in repo::all_timelines(cx.objects, &channel.id).await? {
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
    Ok(out)
}

fn at(ms: u64) -> String {
    iso8601_ms(i64::try_from(ms).unwrap_or(i64::MAX))
}
