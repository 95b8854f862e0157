//! Endpoints: list, create, update (each keeps the channel's archive retention in step with
//! the longest time-shift), signed playback URLs.

use super::{new_name, views};
use crate::context::Ctx;
use crate::error::{OriginError, OriginResult};
use crate::fields::{created, json_body, ok, Fields};
use crate::http::{Request, Response};
use crate::keys;
use crate::model::Endpoint;
use crate::names::Name;
use crate::repo::{self, kv_create, kv_list, kv_put};
use crate::store::{KvStore, ObjectStore};
use serde_json::{json, Value};
use views::Bases;

pub(super) async fn list_endpoints<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    g: &Name,
    c: &Name,
    bases: &Bases<'_>,
) -> OriginResult<Response> {
    repo::channel(cx.kv, g, c).await?;
    let endpoints = kv_list::<Endpoint>(cx.kv, &keys::endpoints(g, c)).await?;
    let endpoints: Vec<Value> = endpoints
        .iter()
        .map(|(_, e)| views::endpoint(e, bases))
        .collect();
    Ok(ok(json!({ "endpoints": endpoints })))
}

pub(super) async fn create_endpoint<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    g: &Name,
    c: &Name,
    req: &Request,
    bases: &Bases<'_>,
    now_ms: u64,
) -> OriginResult<Response> {
    let body = json_body(req)?;
    let mut fields = Fields::new(&body)?;
    let e = new_name(&mut fields)?;
    let mut endpoint = Endpoint::new(g.clone(), c.clone(), e.clone(), now_ms);
    endpoint.apply(&mut fields)?;
    fields.finish()?;
    endpoint.check_encryption(cx.random, cx.config.key_secret.as_deref())?;
    repo::channel(cx.kv, g, c).await?;
    let key = keys::endpoint(g, c, &e);
    kv_create(cx.kv, &key, &endpoint, format_args!("endpoint {g}/{c}/{e}")).await?;
    refresh_retention(cx, g, c, &e, Some(&endpoint)).await?;
    Ok(created(views::endpoint(&endpoint, bases)))
}

pub(super) async fn patch_endpoint<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    g: &Name,
    c: &Name,
    e: &Name,
    req: &Request,
    bases: &Bases<'_>,
) -> OriginResult<Response> {
    let mut endpoint = repo::endpoint(cx.kv, g, c, e).await?;
    let body = json_body(req)?;
    let mut fields = Fields::new(&body)?;
    endpoint.apply(&mut fields)?;
    fields.finish()?;
    endpoint.check_encryption(cx.random, cx.config.key_secret.as_deref())?;
    kv_put(cx.kv, &keys::endpoint(g, c, e), &endpoint).await?;
    refresh_retention(cx, g, c, e, Some(&endpoint)).await?;
    Ok(ok(views::endpoint(&endpoint, bases)))
}

/// Sets the channel's archive retention to its endpoints' longest time-shift. `changed`
/// is the endpoint just written or deleted (`deleted`): KV listings may lag behind it.
pub(super) async fn refresh_retention<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    g: &Name,
    c: &Name,
    changed: &Name,
    written: Option<&Endpoint>,
) -> OriginResult<()> {
    let mut longest = written.map_or(0, |e| e.time_shift_days * SECONDS_PER_DAY);
    let own_key = keys::endpoint(g, c, changed);
    for (key, e) in kv_list::<Endpoint>(cx.kv, &keys::endpoints(g, c)).await? {
        if key != own_key {
            longest = longest.max(e.time_shift_days * SECONDS_PER_DAY);
        }
    }
    let mut channel = repo::channel(cx.kv, g, c).await?;
    if channel.archive_retention_s != longest {
        channel.archive_retention_s = longest;
        kv_put(cx.kv, &keys::channel(g, c), &channel).await?;
    }
    Ok(())
}

const SECONDS_PER_DAY: u64 = 86_400;

/// Allowed `expires_in` of a signed URL, seconds: a minute to a year.
const SIGNED_URL_LIFETIME: std::ops::RangeInclusive<u64> = 60..=31_536_000;

/// `{"url", "token", "expires_at"}` for an endpoint with signing keys.
pub(super) fn signed_url(
    ep: &Endpoint,
    req: &Request,
    bases: &Bases<'_>,
    now_ms: u64,
) -> OriginResult<Value> {
    let body = json_body(req)?;
    let mut fields = Fields::new(&body)?;
    let mut expires_in = 3600;
    fields.uint("expires_in", SIGNED_URL_LIFETIME, &mut expires_in)?;
    let mut key_id: Option<String> = None;
    fields.parsed(
        "key_id",
        "the id of one of the endpoint's signing keys",
        |s| Some(Some(s.to_owned())),
        &mut key_id,
    )?;
    fields.finish()?;
    let key = match &key_id {
        Some(id) => ep.access.signing_keys.iter().find(|k| &k.id == id),
        None => ep.access.signing_keys.first(),
    }
    .ok_or_else(|| {
        OriginError::invalid(
            "key_id",
            "the id of one of the endpoint's signing keys (the endpoint needs `signing_keys`)",
        )
    })?;
    let expires = now_ms / 1000 + expires_in;
    let token = crate::access::token::sign(key, expires, &ep.path_prefix());
    Ok(json!({
        "url": format!("{}?{}={token}", views::endpoint_url(ep, bases), crate::access::TOKEN_PARAM),
        "token": token,
        "key_id": key.id,
        "expires_at": crate::datetime::iso8601_ms(i64::try_from(expires * 1000).unwrap_or(i64::MAX)),
    }))
}
