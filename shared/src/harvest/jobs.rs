//! The harvest-jobs API: `/api/v1/groups/{g}/channels/{c}/harvest-jobs[/{id}]` (the caller has
//! checked the admin token).

use super::job::{parse_destination, Format, Job, Status, DESTINATION_RULE};
use super::run::{advance_harvest, plan, store_plan};
use super::{Budget, ID_LEN, MAX_ACTIVE_PER_CHANNEL, MAX_LISTED, MAX_WINDOW_MS, REQUEST_OP_BUDGET};
use crate::datetime::{iso8601_ms, parse_iso8601_ms};
use crate::fields::Fields;
use crate::keys;
use crate::model::{Channel, OutputProtocol};
use crate::names::Name;
use crate::repo;
use crate::store::Metadata;

use crate::context::Ctx;
use crate::error::{OriginError, OriginResult};
use crate::fields::{json_body, ok, path_name as name};
use crate::http::{Method, Request, Response};
use crate::store::{KvStore, ObjectStore};
use serde_json::{json, Value};

/// Routes `rest`, the path below `.../channels/{c}/harvest-jobs`.
pub(crate) async fn handle<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    req: &Request,
    (g, c): (&str, &str),
    rest: &[&str],
    now_ms: u64,
) -> OriginResult<Response> {
    let (g, c) = (name(g, "group")?, name(c, "channel")?);
    // Assets are played from the group's CDN domain, like its endpoints.
    let playback =
        repo::playback_base(cx.kv, &g, cx.config.public_base_url.as_deref(), &req.origin).await?;
    let playback = playback.as_str();
    let m = req.method;
    match rest {
        [] => match m {
            Method::Get => {
                let channel = repo::channel(cx.kv, &g, &c).await?;
                let jobs: Vec<Value> = list_harvests(cx, &channel)
                    .await?
                    .iter()
                    .map(|j| j.view(playback))
                    .collect();
                Ok(ok(json!({ "harvest_jobs": jobs })))
            }
            Method::Post => {
                let body = json_body(req)?;
                create_harvest(cx, &g, &c, &body, playback, now_ms).await
            }
            _ => Err(OriginError::MethodNotAllowed),
        },
        [id] => {
            let channel = repo::channel(cx.kv, &g, &c).await?;
            let id = Name::parse(id)
                .ok_or_else(|| OriginError::NotFound(format!("harvest job {id}")))?;
            match m {
                Method::Get => Ok(ok(get_harvest(cx, &channel, id.as_str(), now_ms)
                    .await
                    .map_err(|e| match e {
                        OriginError::NotFound(_) => {
                            OriginError::NotFound(format!("harvest job {id}"))
                        }
                        e => e,
                    })?
                    .view(playback))),
                Method::Delete => {
                    delete_harvest(cx, &channel, id.as_str()).await?;
                    Ok(Response::new(204))
                }
                _ => Err(OriginError::MethodNotAllowed),
            }
        }
        _ => Err(OriginError::NotFound("API route".into())),
    }
}

/// `POST .../channels/{c}/harvest-jobs`.
pub(crate) async fn create_harvest<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    g: &Name,
    c: &Name,
    body: &serde_json::Value,
    playback_base: &str,
    now_ms: u64,
) -> OriginResult<Response> {
    let mut fields = Fields::new(body)?;
    let mut endpoint: Option<Name> = None;
    fields.parsed(
        "endpoint",
        "the name of an endpoint of this channel",
        |s| Name::parse(s).map(Some),
        &mut endpoint,
    )?;
    let instant = "an ISO 8601 UTC time such as 2026-11-23T12:00:00Z";
    let (mut start, mut end) = (None, None);
    fields.parsed(
        "start",
        instant,
        |s| parse_iso8601_ms(s).map(Some),
        &mut start,
    )?;
    fields.parsed("end", instant, |s| parse_iso8601_ms(s).map(Some), &mut end)?;
    let mut destination = None;
    fields.parsed(
        "destination",
        DESTINATION_RULE,
        |s| parse_destination(s).map(Some),
        &mut destination,
    )?;
    let mut format = Some(Format::Hls);
    fields.parsed(
        "format",
        Format::ALLOWED,
        |s| Format::parse(s).map(Some),
        &mut format,
    )?;
    let format = format.unwrap_or_default();
    fields.finish()?;
    let e = endpoint.ok_or_else(|| {
        OriginError::invalid("endpoint", "the name of an endpoint of this channel")
    })?;
    let start_ms = start.ok_or_else(|| OriginError::invalid("start", instant))?;
    let end_ms = end.ok_or_else(|| OriginError::invalid("end", instant))?;
    let destination =
        destination.ok_or_else(|| OriginError::invalid("destination", DESTINATION_RULE))?;

    let channel = repo::channel(cx.kv, g, c).await?;
    let ep = repo::endpoint(cx.kv, g, c, &e).await?;
    if ep.protocol == OutputProtocol::Flv && format == Format::Hls {
        return Err(OriginError::invalid(
            "endpoint",
            format!(
                "an HLS, HLS_CMAF or DASH endpoint: endpoint {g}/{c}/{e} is FLV, which has no \
                 manifest and segments to harvest (record it with `format` \"MP4\" or \"FLV\")"
            ),
        ));
    }
    if format != Format::Hls && ep.encryption.is_some() {
        return Err(OriginError::invalid(
            "endpoint",
            format!(
                "an endpoint without encryption for an MP4 or FLV recording: endpoint \
                 {g}/{c}/{e} is encrypted, and a recording would hold its media in the clear"
            ),
        ));
    }
    if ep.time_shift_days == 0 {
        return Err(OriginError::invalid(
            "endpoint",
            format!(
                "an endpoint with time-shift enabled: endpoint {g}/{c}/{e} has \
                 `time_shift_days` 0, so it keeps no archive to harvest (set \
                 `time_shift_days` to 1-30 first)"
            ),
        ));
    }
    let now = i64::try_from(now_ms).unwrap_or(i64::MAX);
    if end_ms <= start_ms {
        return Err(OriginError::invalid("end", "a time after `start`"));
    }
    if end_ms > now {
        return Err(OriginError::invalid(
            "end",
            format!("a time that has passed (now is {})", iso8601_ms(now)),
        ));
    }
    if end_ms - start_ms > MAX_WINDOW_MS {
        return Err(OriginError::invalid(
            "end",
            format!("at most {} hours after `start`", MAX_WINDOW_MS / 3_600_000),
        ));
    }
    let retention_ms = i64::try_from(ep.time_shift_days * 86_400_000).unwrap_or(i64::MAX);
    let oldest = now.saturating_sub(retention_ms);
    if start_ms < oldest {
        return Err(OriginError::invalid(
            "start",
            format!(
                "a time within the endpoint's time-shift of {} day(s): not before {}",
                ep.time_shift_days,
                iso8601_ms(oldest)
            ),
        ));
    }
    let active = cx
        .objects
        .list(&keys::harvest_active_of(&channel.id))
        .await?;
    if active.len() >= MAX_ACTIVE_PER_CHANNEL {
        return Err(OriginError::Conflict(format!(
            "channel {g}/{c} already has {} unfinished harvest jobs (at most \
             {MAX_ACTIVE_PER_CHANNEL}); wait for them to finish",
            active.len()
        )));
    }
    let id = crate::auth::random_token(cx.random, ID_LEN).map_err(OriginError::Random)?;
    let mut settings = ep;
    settings.access = Default::default();
    let settle = channel.max_segment_duration.saturating_mul(1000);
    let mut job = Job {
        id,
        group: g.clone(),
        channel: c.clone(),
        channel_id: channel.id.clone(),
        endpoint: e,
        start_ms,
        end_ms,
        destination,
        status: Status::Pending,
        reason: None,
        segments_done: 0,
        segments_total: 0,
        format,
        bytes_written: 0,
        recording: None,
        manifest: format
            .file_name()
            .map_or_else(|| settings.manifest_file(), str::to_owned),
        settle_at_ms: u64::try_from(end_ms).unwrap_or(0).saturating_add(settle),
        created_at_ms: now_ms,
        updated_at_ms: now_ms,
        finished_at_ms: None,
        settings,
    };
    let budget = Budget::new(REQUEST_OP_BUDGET);
    if now_ms >= job.settle_at_ms {
        // The window is complete: a window the endpoint cannot serve is refused now.
        let plan = plan(cx, &job, now_ms, &budget).await?;
        store_plan(cx, &job, &plan).await?;
        job.start(&plan);
    }
    let key = keys::harvest_job(&channel.id, &job.id);
    let bytes = serde_json::to_vec(&job).map_err(|e| repo::corrupt(&key, &e))?;
    if cx
        .objects
        .put_if_version(&key, &bytes, &Metadata::new(), None)
        .await?
        .is_none()
    {
        return Err(OriginError::Conflict(
            "harvest job id already in use".into(),
        ));
    }
    cx.objects
        .put(
            &keys::harvest_active(&channel.id, &job.id),
            job.id.as_bytes(),
            &Metadata::new(),
        )
        .await?;
    let job = advance_harvest(cx, &key, now_ms, &budget).await?;
    Ok(Response::new(201)
        .with_body("application/json", job.view(playback_base).to_string())
        .with_header("cache-control", "no-store")
        .with_header(
            "location",
            format!("/api/v1/groups/{g}/channels/{c}/harvest-jobs/{}", job.id),
        ))
}

/// `GET .../harvest-jobs/{id}`: advances the job one batch, then shows it.
pub(crate) async fn get_harvest<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    id: &str,
    now_ms: u64,
) -> OriginResult<Job> {
    let key = keys::harvest_job(&channel.id, id);
    advance_harvest(cx, &key, now_ms, &Budget::new(REQUEST_OP_BUDGET)).await
}

/// A channel's jobs, newest first.
pub(crate) async fn list_harvests<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
) -> OriginResult<Vec<Job>> {
    let mut jobs = Vec::new();
    let listed = cx.objects.list(&keys::harvest_jobs(&channel.id)).await?;
    for o in listed.iter().take(MAX_LISTED) {
        if let Some(job) = repo::object_get::<Job>(cx.objects, &o.key).await? {
            jobs.push(job);
        }
    }
    jobs.sort_by(|a, b| b.created_at_ms.cmp(&a.created_at_ms).then(a.id.cmp(&b.id)));
    Ok(jobs)
}

/// `DELETE .../harvest-jobs/{id}`: forgets the job. The asset's files stay; an unfinished
/// recording's upload is aborted (its parts or chunks deleted).
pub(crate) async fn delete_harvest<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel: &Channel,
    id: &str,
) -> OriginResult<()> {
    let key = keys::harvest_job(&channel.id, id);
    let Some(object) = cx.objects.get(&key).await? else {
        return Err(OriginError::NotFound(format!("harvest job {id}")));
    };
    let budget = Budget::new(REQUEST_OP_BUDGET);
    // A job object that no longer parses is forgotten all the same.
    if let Ok(job) = serde_json::from_slice::<Job>(&object.body) {
        super::record::discard(cx, &job, &budget).await?;
    }
    cx.objects.delete(&key).await?;
    cx.objects
        .delete(&keys::harvest_active(&channel.id, id))
        .await?;
    cx.objects.delete(&keys::harvest_plan(id)).await?;
    cx.objects.delete(&keys::harvest_lease(id)).await?;
    super::run::delete_work(cx, id, &budget).await
}
