//! The control API: `/api/v1/groups[/{group}[/channels[/{channel}[/endpoints[/{endpoint}]]]]]`
//! and `.../channels/{channel}/inputs/{1|2}/rotate-credentials`, `.../channels/{channel}/
//! harvest-jobs[/{id}]`. JSON in and out, admin bearer token on every route.

mod status;
mod views;

use crate::api::status::channel_status;
use crate::auth::{bearer_token, constant_time_eq, random_token, PASSWORD_LEN};
use crate::context::Ctx;
use crate::error::{OriginError, OriginResult};
use crate::fields::{created, json_body, ok, path_name as name, Fields};
use crate::http::{Method, Request, Response};
use crate::keys;
use crate::model::{Channel, Endpoint, Group, InputAuth, InputId, InputProtocol};
use crate::names::Name;
use crate::repo::{self, kv_get, kv_put};
use crate::store::{KvStore, ObjectStore};
use serde_json::{json, Value};
use views::Bases;

/// Largest control request body.
pub const MAX_API_BODY: usize = 64 * 1024;

/// Refuses a control request without the admin token, or with a body over [`MAX_API_BODY`].
pub(crate) fn authorize<K, O>(cx: &Ctx<'_, K, O>, req: &Request) -> OriginResult<()> {
    check_admin(cx, req)?;
    if req.body.len() > MAX_API_BODY {
        return Err(OriginError::PayloadTooLarge {
            limit: MAX_API_BODY,
        });
    }
    Ok(())
}

/// The resources' routes (groups, channels, endpoints), after [`authorize`].
pub(crate) async fn handle<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    req: &Request,
    route: &[&str],
    now_ms: u64,
) -> OriginResult<Response> {
    let ingest = cx.config.ingest_base_url.as_deref().unwrap_or(&req.origin);
    let playback = cx.config.public_base_url.as_deref().unwrap_or(&req.origin);
    let bases = Bases {
        ingest: ingest.trim_end_matches('/'),
        playback: playback.trim_end_matches('/'),
    };
    let m = req.method;
    match route {
        ["groups"] => match m {
            Method::Get => list_groups(cx).await,
            Method::Post => create_group(cx, req, now_ms).await,
            _ => Err(OriginError::MethodNotAllowed),
        },
        ["groups", g] => {
            let g = name(g, "group")?;
            match m {
                Method::Get => Ok(ok(views::group(&group(cx, &g).await?))),
                Method::Delete => delete_group(cx, &g).await,
                _ => Err(OriginError::MethodNotAllowed),
            }
        }
        ["groups", g, "channels"] => {
            let g = name(g, "group")?;
            match m {
                Method::Get => list_channels(cx, &g, &bases).await,
                Method::Post => create_channel(cx, &g, req, &bases, now_ms).await,
                _ => Err(OriginError::MethodNotAllowed),
            }
        }
        ["groups", g, "channels", c] => {
            let (g, c) = (name(g, "group")?, name(c, "channel")?);
            match m {
                Method::Get => {
                    let channel = repo::channel(cx.kv, &g, &c).await?;
                    Ok(ok(views::channel(&channel, &bases)))
                }
                Method::Patch => patch_channel(cx, &g, &c, req, &bases).await,
                Method::Delete => delete_channel(cx, &g, &c, now_ms).await,
                _ => Err(OriginError::MethodNotAllowed),
            }
        }
        ["groups", g, "channels", c, "status"] => {
            let (g, c) = (name(g, "group")?, name(c, "channel")?);
            match m {
                Method::Get => {
                    let channel = repo::channel(cx.kv, &g, &c).await?;
                    Ok(ok(channel_status(cx, &channel, now_ms).await?))
                }
                _ => Err(OriginError::MethodNotAllowed),
            }
        }
        ["groups", g, "channels", c, "inputs", n, "rotate-credentials"] => {
            let (g, c) = (name(g, "group")?, name(c, "channel")?);
            let input = InputId::parse(n)
                .ok_or_else(|| OriginError::NotFound(format!("input {n} (1 or 2)")))?;
            match m {
                Method::Post => rotate(cx, &g, &c, input, &bases).await,
                _ => Err(OriginError::MethodNotAllowed),
            }
        }
        ["groups", g, "channels", c, "endpoints"] => {
            let (g, c) = (name(g, "group")?, name(c, "channel")?);
            match m {
                Method::Get => list_endpoints(cx, &g, &c, &bases).await,
                Method::Post => create_endpoint(cx, &g, &c, req, &bases, now_ms).await,
                _ => Err(OriginError::MethodNotAllowed),
            }
        }
        ["groups", g, "channels", c, "endpoints", e, "signed-url"] => {
            let (g, c, e) = (name(g, "group")?, name(c, "channel")?, name(e, "endpoint")?);
            match m {
                Method::Post => {
                    let ep = repo::endpoint(cx.kv, &g, &c, &e).await?;
                    Ok(ok(signed_url(&ep, req, &bases, now_ms)?))
                }
                _ => Err(OriginError::MethodNotAllowed),
            }
        }
        ["groups", g, "channels", c, "endpoints", e] => {
            let (g, c, e) = (name(g, "group")?, name(c, "channel")?, name(e, "endpoint")?);
            match m {
                Method::Get => {
                    let ep = repo::endpoint(cx.kv, &g, &c, &e).await?;
                    Ok(ok(views::endpoint(&ep, &bases)))
                }
                Method::Patch => patch_endpoint(cx, &g, &c, &e, req, &bases).await,
                Method::Delete => {
                    repo::endpoint(cx.kv, &g, &c, &e).await?;
                    cx.kv.delete(&keys::endpoint(&g, &c, &e)).await?;
                    refresh_retention(cx, &g, &c, &e, None).await?;
                    Ok(Response::new(204))
                }
                _ => Err(OriginError::MethodNotAllowed),
            }
        }
        _ => Err(OriginError::NotFound("API route".into())),
    }
}

fn check_admin<K, O>(cx: &Ctx<'_, K, O>, req: &Request) -> OriginResult<()> {
    let expected = cx
        .config
        .admin_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .ok_or(OriginError::NotConfigured("ADMIN_TOKEN secret is not set"))?;
    let given = req.header("authorization").and_then(bearer_token);
    match given {
        Some(t) if constant_time_eq(t.as_bytes(), expected.as_bytes()) => Ok(()),
        _ => Err(OriginError::Unauthorized),
    }
}

async fn group<K: KvStore, O: ObjectStore>(cx: &Ctx<'_, K, O>, g: &Name) -> OriginResult<Group> {
    kv_get(cx.kv, &keys::group(g))
        .await?
        .ok_or_else(|| OriginError::NotFound(format!("group {g}")))
}

async fn list_groups<K: KvStore, O: ObjectStore>(cx: &Ctx<'_, K, O>) -> OriginResult<Response> {
    let mut groups = Vec::new();
    for key in cx.kv.list(keys::GROUPS).await? {
        if let Some(g) = kv_get::<Group>(cx.kv, &key).await? {
            groups.push(views::group(&g));
        }
    }
    Ok(ok(json!({ "groups": groups })))
}

async fn create_group<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    req: &Request,
    now_ms: u64,
) -> OriginResult<Response> {
    let body = json_body(req)?;
    let mut fields = Fields::new(&body)?;
    let g = new_name(&mut fields)?;
    fields.finish()?;
    let key = keys::group(&g);
    if cx.kv.get(&key).await?.is_some() {
        return Err(OriginError::Conflict(format!("group {g} already exists")));
    }
    let group = Group {
        name: g,
        created_at_ms: now_ms,
    };
    kv_put(cx.kv, &key, &group).await?;
    Ok(created(views::group(&group)))
}

async fn delete_group<K: KvStore, O: ObjectStore>(
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

async fn list_channels<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    g: &Name,
    bases: &Bases<'_>,
) -> OriginResult<Response> {
    group(cx, g).await?;
    let mut channels = Vec::new();
    for key in cx.kv.list(&keys::channels(g)).await? {
        if let Some(c) = kv_get::<Channel>(cx.kv, &key).await? {
            channels.push(views::channel(&c, bases));
        }
    }
    Ok(ok(json!({ "channels": channels })))
}

async fn create_channel<K: KvStore, O: ObjectStore>(
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
    channel.apply(&mut fields)?;
    fields.finish()?;
    group(cx, g).await?;
    let key = keys::channel(g, &c);
    if cx.kv.get(&key).await?.is_some() {
        return Err(OriginError::Conflict(format!(
            "channel {g}/{c} already exists"
        )));
    }
    kv_put(cx.kv, &key, &channel).await?;
    Ok(created(views::channel(&channel, bases)))
}

async fn patch_channel<K: KvStore, O: ObjectStore>(
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

async fn delete_channel<K: KvStore, O: ObjectStore>(
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
    cx.kv.delete(&keys::channel(g, c)).await?;
    // Its stored media and indexes go in the scheduled runs (archive::purge).
    crate::archive::purge::mark(cx.objects, &channel.id, now_ms).await?;
    Ok(Response::new(204))
}

async fn rotate<K: KvStore, O: ObjectStore>(
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

fn new_credentials<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    input: InputId,
) -> OriginResult<InputAuth> {
    let suffix = random_token(cx.random, 8).map_err(OriginError::Random)?;
    Ok(InputAuth {
        username: format!("input{}-{suffix}", input.number()),
        password: random_token(cx.random, PASSWORD_LEN).map_err(OriginError::Random)?,
    })
}

async fn list_endpoints<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    g: &Name,
    c: &Name,
    bases: &Bases<'_>,
) -> OriginResult<Response> {
    repo::channel(cx.kv, g, c).await?;
    let mut endpoints = Vec::new();
    for key in cx.kv.list(&keys::endpoints(g, c)).await? {
        if let Some(e) = kv_get::<Endpoint>(cx.kv, &key).await? {
            endpoints.push(views::endpoint(&e, bases));
        }
    }
    Ok(ok(json!({ "endpoints": endpoints })))
}

async fn create_endpoint<K: KvStore, O: ObjectStore>(
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
    repo::channel(cx.kv, g, c).await?;
    let key = keys::endpoint(g, c, &e);
    if cx.kv.get(&key).await?.is_some() {
        return Err(OriginError::Conflict(format!(
            "endpoint {g}/{c}/{e} already exists"
        )));
    }
    kv_put(cx.kv, &key, &endpoint).await?;
    refresh_retention(cx, g, c, &e, Some(&endpoint)).await?;
    Ok(created(views::endpoint(&endpoint, bases)))
}

async fn patch_endpoint<K: KvStore, O: ObjectStore>(
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
    kv_put(cx.kv, &keys::endpoint(g, c, e), &endpoint).await?;
    refresh_retention(cx, g, c, e, Some(&endpoint)).await?;
    Ok(ok(views::endpoint(&endpoint, bases)))
}

/// Sets the channel's archive retention to its endpoints' longest time-shift. `changed`
/// is the endpoint just written or deleted (`deleted`): KV listings may lag behind it.
async fn refresh_retention<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    g: &Name,
    c: &Name,
    changed: &Name,
    written: Option<&Endpoint>,
) -> OriginResult<()> {
    let mut longest = written.map_or(0, |e| e.time_shift_days * SECONDS_PER_DAY);
    let own_key = keys::endpoint(g, c, changed);
    for key in cx.kv.list(&keys::endpoints(g, c)).await? {
        if key == own_key {
            continue;
        }
        if let Some(e) = kv_get::<Endpoint>(cx.kv, &key).await? {
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
fn signed_url(ep: &Endpoint, req: &Request, bases: &Bases<'_>, now_ms: u64) -> OriginResult<Value> {
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

/// The required `name` of a new resource.
fn new_name(fields: &mut Fields<'_>) -> OriginResult<Name> {
    let mut name = None;
    fields.parsed(
        "name",
        crate::names::NAME_RULE,
        |s| Name::parse(s).map(Some),
        &mut name,
    )?;
    name.ok_or_else(|| OriginError::invalid("name", crate::names::NAME_RULE))
}
