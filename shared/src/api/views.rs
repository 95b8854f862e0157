//! JSON representations returned by the control API.

use crate::datetime::iso8601_ms;
use crate::model::{Channel, Endpoint, Group, InputId};
use serde_json::{json, Value};

/// Absolute URL bases for the views.
pub struct Bases<'a> {
    pub ingest: &'a str,
    pub playback: &'a str,
}

pub fn group(g: &Group) -> Value {
    json!({
        "name": g.name,
        "playback_base_url": g.playback_base_url,
        "created_at": created(g.created_at_ms),
    })
}

pub fn channel(c: &Channel, bases: &Bases<'_>) -> Value {
    let inputs: Vec<Value> = InputId::ALL
        .iter()
        .map(|&id| {
            let auth = c.input(id);
            json!({
                "id": id.number(),
                "url": format!("{}/in/v1/{}/{}/{}/", bases.ingest, c.group, c.name, id.number()),
                "username": auth.username,
                "password": auth.password,
            })
        })
        .collect();
    json!({
        "group": c.group,
        "name": c.name,
        "protocol": c.protocol,
        "max_segment_duration": c.max_segment_duration,
        "max_playlist_duration": c.max_playlist_duration,
        "archive_retention": c.archive_retention_s,
        "inputs": inputs,
        "created_at": created(c.created_at_ms),
    })
}

pub fn endpoint(e: &Endpoint, bases: &Bases<'_>) -> Value {
    let mut v = json!({
        "group": e.group,
        "channel": e.channel,
        "name": e.name,
        "protocol": e.protocol,
        "manifest_name": e.manifest_name,
        "segment_count": e.segment_count,
        "program_date_time_interval": e.program_date_time_interval,
        "stream_order": e.stream_order,
        "min_video_bitrate": e.min_video_bitrate,
        "max_video_bitrate": e.max_video_bitrate,
        "segment_duration": e.segment_duration,
        "audio_separation": e.audio_separation,
        "time_shift_days": e.time_shift_days,
        "manifest_window": e.manifest_window,
        "min_buffer_time": e.min_buffer_time,
        "min_update_period": e.min_update_period,
        "hold_back": e.hold_back,
        "suggested_presentation_delay": e.suggested_presentation_delay,
        "url": endpoint_url(e, bases),
        "created_at": created(e.created_at_ms),
    });
    if let (Value::Object(map), Some(enc)) = (&mut v, &e.encryption) {
        let mut shown = json!(enc);
        // A static key is write-only: masked, its sealed form never shown.
        if let (Value::Object(fields), Some(k)) = (&mut shown, &enc.static_key) {
            fields.insert("static_key".into(), k.view());
        }
        map.insert("encryption".into(), shown);
    }
    if let (Value::Object(map), Ok(Value::Object(access))) =
        (&mut v, serde_json::to_value(&e.access))
    {
        map.extend(access);
    }
    v
}

/// The absolute manifest URL of an endpoint.
pub fn endpoint_url(e: &Endpoint, bases: &Bases<'_>) -> String {
    format!("{}{}{}", bases.playback, e.path_prefix(), e.manifest_file())
}

fn created(ms: u64) -> String {
    iso8601_ms(i64::try_from(ms).unwrap_or(i64::MAX))
}
