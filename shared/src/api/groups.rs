//! Channel groups: list, create, read, change the CDN playback domain, delete (refused while
//! the group has channels).

use super::{new_name, views};
use crate::context::Ctx;
use crate::error::{OriginError, OriginResult};
use crate::fields::{created, json_body, ok, Fields};
use crate::http::{Request, Response};
use crate::keys;
use crate::model::{playback_base_url, Group, PLAYBACK_BASE_URL_RULE};
use crate::names::Name;
use crate::repo::{kv_create, kv_list, kv_put};
use crate::store::{KvStore, ObjectStore};
use serde_json::{json, Value};

pub(super) async fn group<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    g: &Name,
) -> OriginResult<Group> {
    crate::repo::group(cx.kv, g).await
}

pub(super) async fn list_groups<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
) -> OriginResult<Response> {
    let groups = kv_list::<Group>(cx.kv, keys::GROUPS).await?;
    let groups: Vec<Value> = groups.iter().map(|(_, g)| views::group(g)).collect();
    Ok(ok(json!({ "groups": groups })))
}

pub(super) async fn create_group<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    req: &Request,
    now_ms: u64,
) -> OriginResult<Response> {
    let body = json_body(req)?;
    let mut fields = Fields::new(&body)?;
    let g = new_name(&mut fields)?;
    let mut group = Group {
        name: g,
        created_at_ms: now_ms,
        playback_base_url: None,
    };
    apply(&mut fields, &mut group)?;
    fields.finish()?;
    let key = keys::group(&group.name);
    kv_create(cx.kv, &key, &group, format_args!("group {}", group.name)).await?;
    Ok(created(views::group(&group)))
}

pub(super) async fn patch_group<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    g: &Name,
    req: &Request,
) -> OriginResult<Response> {
    let mut group = group(cx, g).await?;
    let body = json_body(req)?;
    let mut fields = Fields::new(&body)?;
    fields.fixed("name", g.as_str())?;
    fields.read_only(&["created_at"]);
    apply(&mut fields, &mut group)?;
    fields.finish()?;
    kv_put(cx.kv, &keys::group(g), &group).await?;
    Ok(ok(views::group(&group)))
}

/// The group's settings: `playback_base_url` (`null` or `""` clears it).
fn apply(fields: &mut Fields<'_>, group: &mut Group) -> OriginResult<()> {
    if let Some(v) = fields.present("playback_base_url") {
        group.playback_base_url = match v {
            Value::Null => None,
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(playback_base_url(s).ok_or_else(|| {
                OriginError::invalid("playback_base_url", PLAYBACK_BASE_URL_RULE)
            })?),
            _ => {
                return Err(OriginError::invalid(
                    "playback_base_url",
                    PLAYBACK_BASE_URL_RULE,
                ))
            }
        };
    }
    Ok(())
}

pub(super) async fn delete_group<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    g: &Name,
) -> OriginResult<Response> {
    group(cx, g).await?;
    if !cx.kv.list(&keys::channels(g)).await?.is_empty() {
        return Err(OriginError::Conflict(format!(
            "group {g} still has channels; delete them first"
        )));
    }
    cx.kv.delete(&keys::group(g)).await?;
    Ok(Response::new(204))
}
