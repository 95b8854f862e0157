//! The control API: `/api/v1/groups[/{group}[/channels[/{channel}[/endpoints[/{endpoint}]]]]]`
//! and `.../channels/{channel}/inputs/{1|2}/rotate-credentials`, `.../channels/{channel}/
//! harvest-jobs[/{id}]`. JSON in and out, admin bearer token on every route.

mod status;
mod views;

use crate::auth::{bearer_token, constant_time_eq, random_token, PASSWORD_LEN};
use crate::error::{OriginError, OriginResult};
use crate::fields::Fields;
use crate::http::{Method, Request, Response};
use crate::keys;
use crate::model::{Channel, Endpoint, Group, InputAuth, InputId, InputProtocol};
use crate::names::Name;
use crate::origin::Origin;
use crate::repo::{self, kv_get, kv_put};
use crate::store::{KvStore, ObjectStore};
use serde_json::{json, Value};
use views::Bases;

/// Largest control request body.
pub const MAX_API_BODY: usize = 64 * 1024;

impl<K: KvStore, O: ObjectStore> Origin<K, O> {
    pub(crate) async fn api(
        &self,
        req: &Request,
        route: &[&str],
        now_ms: u64,
    ) -> OriginResult<Response> {
        self.check_admin(req)?;
        if req.body.len() > MAX_API_BODY {
            return Err(OriginError::PayloadTooLarge {
                limit: MAX_API_BODY,
            });
        }
        let ingest = self
            .config
            .ingest_base_url
            .as_deref()
            .unwrap_or(&req.origin);
        let playback = self
            .config
            .public_base_url
            .as_deref()
            .unwrap_or(&req.origin);
        let bases = Bases {
            ingest: ingest.trim_end_matches('/'),
            playback: playback.trim_end_matches('/'),
        };
        let m = req.method;
        match route {
            ["maintenance", "expire"] => match m {
                // For schedulers outside Cloudflare (Spin): the cron trigger's work.
                Method::Post => {
                    let report = crate::archive::expire(&self.kv, &self.objects, now_ms).await?;
                    Ok(ok(serde_json::to_value(report).unwrap_or_default()))
                }
                _ => Err(OriginError::MethodNotAllowed),
            },
            ["maintenance", "harvest"] => match m {
                // For schedulers outside Cloudflare (Spin): advances unfinished harvest jobs.
                Method::Post => {
                    let report = self
                        .run_harvests(now_ms, crate::harvest::SCHEDULED_OP_BUDGET)
                        .await?;
                    Ok(ok(serde_json::to_value(report).unwrap_or_default()))
                }
                _ => Err(OriginError::MethodNotAllowed),
            },
            ["groups", g, "channels", c, "harvest-jobs"] => {
                let (g, c) = (name(g, "group")?, name(c, "channel")?);
                match m {
                    Method::Get => {
                        let channel = repo::channel(&self.kv, g.as_str(), c.as_str()).await?;
                        let jobs: Vec<Value> = self
                            .list_harvests(&channel)
                            .await?
                            .iter()
                            .map(|j| j.view(bases.playback))
                            .collect();
                        Ok(ok(json!({ "harvest_jobs": jobs })))
                    }
                    Method::Post => {
                        let body = json_body(req)?;
                        self.create_harvest(&g, &c, &body, bases.playback, now_ms)
                            .await
                    }
                    _ => Err(OriginError::MethodNotAllowed),
                }
            }
            ["groups", g, "channels", c, "harvest-jobs", id] => {
                let (g, c) = (name(g, "group")?, name(c, "channel")?);
                let channel = repo::channel(&self.kv, g.as_str(), c.as_str()).await?;
                let id = Name::parse(id)
                    .ok_or_else(|| OriginError::NotFound(format!("harvest job {id}")))?;
                match m {
                    Method::Get => Ok(ok(self
                        .get_harvest(&channel, id.as_str(), now_ms)
                        .await
                        .map_err(|e| match e {
                            OriginError::NotFound(_) => {
                                OriginError::NotFound(format!("harvest job {id}"))
                            }
                            e => e,
                        })?
                        .view(bases.playback))),
                    Method::Delete => {
                        self.delete_harvest(&channel, id.as_str()).await?;
                        Ok(Response::new(204))
                    }
                    _ => Err(OriginError::MethodNotAllowed),
                }
            }
            ["groups"] => match m {
                Method::Get => self.list_groups().await,
                Method::Post => self.create_group(req, now_ms).await,
                _ => Err(OriginError::MethodNotAllowed),
            },
            ["groups", g] => {
                let g = name(g, "group")?;
                match m {
                    Method::Get => Ok(ok(views::group(&self.group(&g).await?))),
                    Method::Delete => self.delete_group(&g).await,
                    _ => Err(OriginError::MethodNotAllowed),
                }
            }
            ["groups", g, "channels"] => {
                let g = name(g, "group")?;
                match m {
                    Method::Get => self.list_channels(&g, &bases).await,
                    Method::Post => self.create_channel(&g, req, &bases, now_ms).await,
                    _ => Err(OriginError::MethodNotAllowed),
                }
            }
            ["groups", g, "channels", c] => {
                let (g, c) = (name(g, "group")?, name(c, "channel")?);
                match m {
                    Method::Get => {
                        let channel = repo::channel(&self.kv, g.as_str(), c.as_str()).await?;
                        Ok(ok(views::channel(&channel, &bases)))
                    }
                    Method::Patch => self.patch_channel(&g, &c, req, &bases).await,
                    Method::Delete => self.delete_channel(&g, &c, now_ms).await,
                    _ => Err(OriginError::MethodNotAllowed),
                }
            }
            ["groups", g, "channels", c, "status"] => {
                let (g, c) = (name(g, "group")?, name(c, "channel")?);
                match m {
                    Method::Get => {
                        let channel = repo::channel(&self.kv, g.as_str(), c.as_str()).await?;
                        Ok(ok(self.channel_status(&channel, now_ms).await?))
                    }
                    _ => Err(OriginError::MethodNotAllowed),
                }
            }
            ["groups", g, "channels", c, "inputs", n, "rotate-credentials"] => {
                let (g, c) = (name(g, "group")?, name(c, "channel")?);
                let input = InputId::parse(n)
                    .ok_or_else(|| OriginError::NotFound(format!("input {n} (1 or 2)")))?;
                match m {
                    Method::Post => self.rotate(&g, &c, input, &bases).await,
                    _ => Err(OriginError::MethodNotAllowed),
                }
            }
            ["groups", g, "channels", c, "endpoints"] => {
                let (g, c) = (name(g, "group")?, name(c, "channel")?);
                match m {
                    Method::Get => self.list_endpoints(&g, &c, &bases).await,
                    Method::Post => self.create_endpoint(&g, &c, req, &bases, now_ms).await,
                    _ => Err(OriginError::MethodNotAllowed),
                }
            }
            ["groups", g, "channels", c, "endpoints", e, "signed-url"] => {
                let (g, c, e) = (name(g, "group")?, name(c, "channel")?, name(e, "endpoint")?);
                match m {
                    Method::Post => {
                        let ep =
                            repo::endpoint(&self.kv, g.as_str(), c.as_str(), e.as_str()).await?;
                        Ok(ok(signed_url(&ep, req, &bases, now_ms)?))
                    }
                    _ => Err(OriginError::MethodNotAllowed),
                }
            }
            ["groups", g, "channels", c, "endpoints", e] => {
                let (g, c, e) = (name(g, "group")?, name(c, "channel")?, name(e, "endpoint")?);
                match m {
                    Method::Get => {
                        let ep =
                            repo::endpoint(&self.kv, g.as_str(), c.as_str(), e.as_str()).await?;
                        Ok(ok(views::endpoint(&ep, &bases)))
                    }
                    Method::Patch => self.patch_endpoint(&g, &c, &e, req, &bases).await,
                    Method::Delete => {
                        repo::endpoint(&self.kv, g.as_str(), c.as_str(), e.as_str()).await?;
                        self.kv
                            .delete(&keys::endpoint(g.as_str(), c.as_str(), e.as_str()))
                            .await?;
                        self.refresh_retention(&g, &c, &e, None).await?;
                        Ok(Response::new(204))
                    }
                    _ => Err(OriginError::MethodNotAllowed),
                }
            }
            _ => Err(OriginError::NotFound("API route".into())),
        }
    }

    fn check_admin(&self, req: &Request) -> OriginResult<()> {
        let expected = self
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

    async fn group(&self, g: &Name) -> OriginResult<Group> {
        kv_get(&self.kv, &keys::group(g.as_str()))
            .await?
            .ok_or_else(|| OriginError::NotFound(format!("group {g}")))
    }

    async fn list_groups(&self) -> OriginResult<Response> {
        let mut groups = Vec::new();
        for key in self.kv.list(keys::GROUPS).await? {
            if let Some(g) = kv_get::<Group>(&self.kv, &key).await? {
                groups.push(views::group(&g));
            }
        }
        Ok(ok(json!({ "groups": groups })))
    }

    async fn create_group(&self, req: &Request, now_ms: u64) -> OriginResult<Response> {
        let body = json_body(req)?;
        let mut fields = Fields::new(&body)?;
        let g = new_name(&mut fields)?;
        fields.finish()?;
        let key = keys::group(g.as_str());
        if self.kv.get(&key).await?.is_some() {
            return Err(OriginError::Conflict(format!("group {g} already exists")));
        }
        let group = Group {
            name: g,
            created_at_ms: now_ms,
        };
        kv_put(&self.kv, &key, &group).await?;
        Ok(created(views::group(&group)))
    }

    async fn delete_group(&self, g: &Name) -> OriginResult<Response> {
        self.group(g).await?;
        if !self.kv.list(&keys::channels(g.as_str())).await?.is_empty() {
            return Err(OriginError::Conflict(format!(
                "group {g} still has channels; delete them first"
            )));
        }
        self.kv.delete(&keys::group(g.as_str())).await?;
        Ok(Response::new(204))
    }

    async fn list_channels(&self, g: &Name, bases: &Bases<'_>) -> OriginResult<Response> {
        self.group(g).await?;
        let mut channels = Vec::new();
        for key in self.kv.list(&keys::channels(g.as_str())).await? {
            if let Some(c) = kv_get::<Channel>(&self.kv, &key).await? {
                channels.push(views::channel(&c, bases));
            }
        }
        Ok(ok(json!({ "channels": channels })))
    }

    async fn create_channel(
        &self,
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
            id: random_token(self.random, 16).map_err(OriginError::Random)?,
            archive_retention_s: 0,
            protocol: InputProtocol::Hls,
            max_segment_duration: 15,
            max_playlist_duration: 600,
            inputs: [
                self.new_credentials(InputId::PRIMARY)?,
                self.new_credentials(InputId::BACKUP)?,
            ],
            created_at_ms: now_ms,
        };
        channel.apply(&mut fields)?;
        fields.finish()?;
        self.group(g).await?;
        let key = keys::channel(g.as_str(), c.as_str());
        if self.kv.get(&key).await?.is_some() {
            return Err(OriginError::Conflict(format!(
                "channel {g}/{c} already exists"
            )));
        }
        kv_put(&self.kv, &key, &channel).await?;
        Ok(created(views::channel(&channel, bases)))
    }

    async fn patch_channel(
        &self,
        g: &Name,
        c: &Name,
        req: &Request,
        bases: &Bases<'_>,
    ) -> OriginResult<Response> {
        let mut channel = repo::channel(&self.kv, g.as_str(), c.as_str()).await?;
        let body = json_body(req)?;
        let mut fields = Fields::new(&body)?;
        channel.apply(&mut fields)?;
        fields.finish()?;
        kv_put(&self.kv, &keys::channel(g.as_str(), c.as_str()), &channel).await?;
        Ok(ok(views::channel(&channel, bases)))
    }

    async fn delete_channel(&self, g: &Name, c: &Name, now_ms: u64) -> OriginResult<Response> {
        let channel = repo::channel(&self.kv, g.as_str(), c.as_str()).await?;
        let endpoints = self
            .kv
            .list(&keys::endpoints(g.as_str(), c.as_str()))
            .await?;
        if !endpoints.is_empty() {
            return Err(OriginError::Conflict(format!(
                "channel {g}/{c} still has {} endpoint(s); delete them first",
                endpoints.len()
            )));
        }
        self.kv
            .delete(&keys::channel(g.as_str(), c.as_str()))
            .await?;
        // Its stored media and indexes go in the scheduled runs (archive::purge).
        crate::archive::purge::mark(&self.objects, &channel.id, now_ms).await?;
        Ok(Response::new(204))
    }

    async fn rotate(
        &self,
        g: &Name,
        c: &Name,
        input: InputId,
        bases: &Bases<'_>,
    ) -> OriginResult<Response> {
        let mut channel = repo::channel(&self.kv, g.as_str(), c.as_str()).await?;
        channel.inputs[input.index()] = self.new_credentials(input)?;
        kv_put(&self.kv, &keys::channel(g.as_str(), c.as_str()), &channel).await?;
        Ok(ok(views::channel(&channel, bases)))
    }

    fn new_credentials(&self, input: InputId) -> OriginResult<InputAuth> {
        let suffix = random_token(self.random, 8).map_err(OriginError::Random)?;
        Ok(InputAuth {
            username: format!("input{}-{suffix}", input.number()),
            password: random_token(self.random, PASSWORD_LEN).map_err(OriginError::Random)?,
        })
    }

    async fn list_endpoints(
        &self,
        g: &Name,
        c: &Name,
        bases: &Bases<'_>,
    ) -> OriginResult<Response> {
        repo::channel(&self.kv, g.as_str(), c.as_str()).await?;
        let mut endpoints = Vec::new();
        for key in self
            .kv
            .list(&keys::endpoints(g.as_str(), c.as_str()))
            .await?
        {
            if let Some(e) = kv_get::<Endpoint>(&self.kv, &key).await? {
                endpoints.push(views::endpoint(&e, bases));
            }
        }
        Ok(ok(json!({ "endpoints": endpoints })))
    }

    async fn create_endpoint(
        &self,
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
        repo::channel(&self.kv, g.as_str(), c.as_str()).await?;
        let key = keys::endpoint(g.as_str(), c.as_str(), e.as_str());
        if self.kv.get(&key).await?.is_some() {
            return Err(OriginError::Conflict(format!(
                "endpoint {g}/{c}/{e} already exists"
            )));
        }
        kv_put(&self.kv, &key, &endpoint).await?;
        self.refresh_retention(g, c, &e, Some(&endpoint)).await?;
        Ok(created(views::endpoint(&endpoint, bases)))
    }

    async fn patch_endpoint(
        &self,
        g: &Name,
        c: &Name,
        e: &Name,
        req: &Request,
        bases: &Bases<'_>,
    ) -> OriginResult<Response> {
        let mut endpoint = repo::endpoint(&self.kv, g.as_str(), c.as_str(), e.as_str()).await?;
        let body = json_body(req)?;
        let mut fields = Fields::new(&body)?;
        endpoint.apply(&mut fields)?;
        fields.finish()?;
        kv_put(
            &self.kv,
            &keys::endpoint(g.as_str(), c.as_str(), e.as_str()),
            &endpoint,
        )
        .await?;
        self.refresh_retention(g, c, e, Some(&endpoint)).await?;
        Ok(ok(views::endpoint(&endpoint, bases)))
    }

    /// Sets the channel's archive retention to its endpoints' longest time-shift. `changed`
    /// is the endpoint just written or deleted (`deleted`): KV listings may lag behind it.
    async fn refresh_retention(
        &self,
        g: &Name,
        c: &Name,
        changed: &Name,
        written: Option<&Endpoint>,
    ) -> OriginResult<()> {
        let mut longest = written.map_or(0, |e| e.time_shift_days * SECONDS_PER_DAY);
        let own_key = keys::endpoint(g.as_str(), c.as_str(), changed.as_str());
        for key in self
            .kv
            .list(&keys::endpoints(g.as_str(), c.as_str()))
            .await?
        {
            if key == own_key {
                continue;
            }
            if let Some(e) = kv_get::<Endpoint>(&self.kv, &key).await? {
                longest = longest.max(e.time_shift_days * SECONDS_PER_DAY);
            }
        }
        let mut channel = repo::channel(&self.kv, g.as_str(), c.as_str()).await?;
        if channel.archive_retention_s != longest {
            channel.archive_retention_s = longest;
            kv_put(&self.kv, &keys::channel(g.as_str(), c.as_str()), &channel).await?;
        }
        Ok(())
    }
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
        "expires_at": crate::time::iso8601_ms(i64::try_from(expires * 1000).unwrap_or(i64::MAX)),
    }))
}

fn name(s: &str, what: &str) -> OriginResult<Name> {
    Name::parse(s).ok_or_else(|| OriginError::NotFound(format!("{what} {s}")))
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

fn json_body(req: &Request) -> OriginResult<Value> {
    if req.body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| OriginError::BadRequest(format!("invalid JSON: {e}")))
}

fn ok(v: Value) -> Response {
    json_response(200, v)
}

fn created(v: Value) -> Response {
    json_response(201, v)
}

fn json_response(status: u16, v: Value) -> Response {
    Response::new(status)
        .with_body("application/json", v.to_string())
        .with_header("cache-control", "no-store")
}
