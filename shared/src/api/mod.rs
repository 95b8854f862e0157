//! The control API's route table: `/api/v1/groups[/{group}[/channels[/{channel}[/endpoints[/
//! {endpoint}]]]]]`, `.../channels/{channel}/inputs/{1|2}/rotate-credentials`,
//! `.../channels/{channel}/status`, `.../endpoints/{endpoint}/signed-url`, `.../stats` of a
//! channel and of an endpoint (docs/stats.md), `/api/v1/runtime` (the instance's memory). JSON in and out, the
//! admin bearer token on every route (`authorize`). The handlers live in `groups`,
//! `channels` and `endpoints`; harvest jobs and maintenance are routed by `origin.rs`.

mod channels;
mod endpoints;
mod groups;
mod runtime;
mod stats;
mod status;
mod views;

pub use runtime::{count_heap_with, HeapCount};

use crate::api::status::channel_status;
use crate::auth::{bearer_token, constant_time_eq};
use crate::context::Ctx;
use crate::error::{OriginError, OriginResult};
use crate::fields::{ok, path_name as name, Fields};
use crate::http::{Method, Request, Response};
use crate::keys;
use crate::model::InputId;
use crate::names::Name;
use crate::repo::{self};
use crate::store::{KvStore, ObjectStore};
use channels::{create_channel, delete_channel, list_channels, patch_channel, rotate};
use endpoints::{create_endpoint, list_endpoints, patch_endpoint, refresh_retention, signed_url};
use groups::{create_group, delete_group, group, list_groups, patch_group};
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
    // A group's CDN playback domain wins over the deployment's for its endpoints' URLs.
    let group_base = match route {
        ["groups", g, "channels", _, "endpoints", ..] => {
            group(cx, &name(g, "group")?).await?.playback_base_url
        }
        _ => None,
    };
    let playback = group_base
        .as_deref()
        .or(cx.config.public_base_url.as_deref())
        .unwrap_or(&req.origin);
    let bases = Bases {
        ingest: ingest.trim_end_matches('/'),
        playback: playback.trim_end_matches('/'),
    };
    let m = req.method;
    match route {
        ["runtime"] => match m {
            Method::Get => Ok(runtime::runtime()),
            _ => Err(OriginError::MethodNotAllowed),
        },
        ["groups"] => match m {
            Method::Get => list_groups(cx).await,
            Method::Post => create_group(cx, req, now_ms).await,
            _ => Err(OriginError::MethodNotAllowed),
        },
        ["groups", g] => {
            let g = name(g, "group")?;
            match m {
                Method::Get => Ok(ok(views::group(&group(cx, &g).await?))),
                Method::Patch => patch_group(cx, &g, req).await,
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
        ["groups", g, "channels", c, "stats"] => {
            let (g, c) = (name(g, "group")?, name(c, "channel")?);
            match m {
                Method::Get => {
                    let channel = repo::channel(cx.kv, &g, &c).await?;
                    Ok(ok(
                        stats::channel_stats(cx, &channel, &req.query, now_ms).await?
                    ))
                }
                _ => Err(OriginError::MethodNotAllowed),
            }
        }
        ["groups", g, "channels", c, "endpoints", e, "stats"] => {
            let (g, c, e) = (name(g, "group")?, name(c, "channel")?, name(e, "endpoint")?);
            match m {
                Method::Get => {
                    let ep = repo::endpoint(cx.kv, &g, &c, &e).await?;
                    let channel = repo::channel(cx.kv, &g, &c).await?;
                    let query = &req.query;
                    Ok(ok(
                        stats::endpoint_stats(cx, &channel, &ep, query, now_ms).await?
                    ))
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
