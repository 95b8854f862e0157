//! Channels: list, create (with generated input credentials), read, update, delete
//! (refused while the channel has endpoints), credential rotation.

use super::groups::group;
use super::{new_name, views};
use crate::auth::{random_token, PASSWORD_LEN};
use crate::context::Ctx;
use crate::error::{OriginError, OriginResult};
use crate::fields::{created, json_body, ok, Fields};
use crate::http::{Request, Response};
use crate::keys;
use crate::model::{Channel, InputAuth, InputId, InputProtocol};
use crate::names::Name;
use crate::repo::{self, kv_create, kv_list, kv_put};
use crate::store::{KvStore, ObjectStore};
use serde_json::{json, Value};
use views::Bases;

pub(super) async fn list_channels<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    g: &Name,
    bases: &Bases<'_>,
) -> OriginResult<Response> {
    group(cx, g).await?;
    let channels = kv_list::<Channel>(cx.kv, &keys::channels(g)).await?;
    let channels: Vec<Value> = channels
        .iter()
        .map(|(_, c)| views::channel(c, bases))
        .collect();
    Ok(ok(json!({ "channels": channels })))
}

pub(super) async fn create_channel<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    g: &Name,
    req: &Request,
    bases: &Bases<'_>,
    now_ms: u64,
) -> OriginResult<Response> {
    let body = json_body(req)?;
    let mut fields = Fields::new(&body)?;
    let c = new_name(&mut fields)?;
    let mut channel = Channel {
        group: g.clone(),
        name: c.clone(),
        id: random_token(cx.random, 16).map_err(OriginError::Random)?,
        archive_retention_s: 0,
        protocol: InputProtocol::Hls,
        max_segment_duration: 15,
        max_playlist_duration: 600,
        inputs: [
            new_credentials(cx, InputId::PRIMARY)?,
            new_credentials(cx, InputId::BACKUP)?,
        ],
        created_at_ms: now_ms,
    };
    channel.apply_new(&mut fields)?;
    fields.finish()?;
    group(cx, g).await?;
    let key = keys::channel(g, &c);
    kv_create(cx.kv, &key, &channel, format_args!("channel {g}/{c}")).await?;
    Ok(created(views::channel(&channel, bases)))
}

pub(super) async fn patch_channel<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    g: &Name,
    c: &Name,
    req: &Request,
    bases: &Bases<'_>,
) -> OriginResult<Response> {
    let mut channel = repo::channel(cx.kv, g, c).await?;
    let body = json_body(req)?;
    let mut fields = Fields::new(&body)?;
    channel.apply(&mut fields)?;
    fields.finish()?;
    kv_put(cx.kv, &keys::channel(g, c), &channel).await?;
    Ok(ok(views::channel(&channel, bases)))
}

pub(super) async fn delete_channel<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    g: &Name,
    c: &Name,
    now_ms: u64,
) -> OriginResult<Response> {
    let channel = repo::channel(cx.kv, g, c).await?;
    let endpoints = cx.kv.list(&keys::endpoints(g, c)).await?;
    if !endpoints.is_empty() {
        return Err(OriginError::Conflict(format!(
            "channel {g}/{c} still has {} endpoint(s); delete them first",
            endpoints.len()
        )));
    }
    // The rendition index is keyed by the names, which a new channel may take at once: it
    // goes now, while no other channel can hold them (docs/round-trips.md).
    crate::rendition_index::remove(cx.objects, &channel).await?;
    cx.kv.delete(&keys::channel(g, c)).await?;
    // Its stored media and indexes go in the scheduled runs (archive::purge).
    crate::archive::purge::mark(cx.objects, &channel.id, now_ms).await?;
    Ok(Response::new(204))
}

pub(super) async fn rotate<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    g: &Name,
    c: &Name,
    input: InputId,
    bases: &Bases<'_>,
) -> OriginResult<Response> {
    let mut channel = repo::channel(cx.kv, g, c).await?;
    channel.inputs[input.index()] = new_credentials(cx, input)?;
    kv_put(cx.kv, &keys::channel(g, c), &channel).await?;
    Ok(ok(views::channel(&channel, bases)))
}

pub(super) fn new_credentials<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    input: InputId,
) -> OriginResult<InputAuth> {
    let suffix = random_token(cx.random, 8).map_err(OriginError::Random)?;
    Ok(InputAuth {
        username: format!("input{}-{suffix}", input.number()),
        password: random_token(cx.random, PASSWORD_LEN).map_err(OriginError::Random)?,
    })
}
