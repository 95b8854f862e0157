//! Harvest jobs (live-to-VOD): copy a time window of an endpoint's output into a VOD asset in
//! object storage, `vod/{destination}/{job_id}/`, served at `/vod/v1/{destination}/{job_id}/`.
//!
//! The asset is exactly what the endpoint serves for `?start=S&vodend=E`: the job asks the
//! origin's own playback code (no network) for the manifest and every playlist, lists every
//! file they reference once (the plan), then copies the files in bounded batches and writes
//! the manifests, with the time-shift parameters removed, last. A job advances one batch per
//! `POST` (the first), per `GET` of the job, per scheduled run and per
//! `POST /api/v1/maintenance/harvest`. Job state lives in the object store (strongly
//! consistent) and changes only by conditional put; a lease object stops two advancers from
//! copying the same batch.

mod job;
mod refs;
mod snapshot;

pub use job::{parse_destination, Job, ManifestFile, Plan, Status, DESTINATION_RULE};
pub use refs::resolve;

use crate::error::{OriginError, OriginResult};
use crate::fields::Fields;
use crate::http::{Method, Request, Response};
use crate::keys;
use crate::model::{Channel, OutputProtocol};
use crate::names::Name;
use crate::origin::Origin;
use crate::packaging::timeshift::MAX_WINDOW_SEGMENTS;
use crate::repo;
use crate::store::{KvStore, Metadata, ObjectStore};
use crate::time::{iso8601_ms, parse_iso8601_ms};
use serde::{Deserialize, Serialize};
use snapshot::{CachedObjects, PinnedKv};
use std::cell::Cell;

/// Most files one batch copies (a 2 s segment remux costs a few ms of CPU; 25 stay far below
/// a Worker's CPU and memory limits).
pub const MAX_FILES_PER_BATCH: usize = 25;
/// Store operations one batch started by an API request may make. Workers allow 1,000
/// binding operations per invocation (KV, R2); a file costs one write plus one read per
/// input segment it is made of.
pub const REQUEST_OP_BUDGET: usize = 200;
/// Store operations a scheduled run may spend on harvests across all jobs (the same run's
/// archive expiry may use up to about 550).
pub const SCHEDULED_OP_BUDGET: usize = 300;
/// Longest window a job may harvest.
pub const MAX_WINDOW_MS: i64 = 4 * 3_600_000;
/// Most files (init and media segments) one asset may have.
pub const MAX_FILES: usize = 20_000;
/// Most unfinished jobs per channel (bounds what scheduled runs walk).
pub const MAX_ACTIVE_PER_CHANNEL: usize = 20;
/// Most jobs a listing shows (the newest).
pub const MAX_LISTED: usize = 200;
/// How long a batch's claim holds: a batch that dies is redone after this.
pub const LEASE_MS: u64 = 60_000;
/// Length of job ids (62 symbols: 95 bits).
const ID_LEN: usize = 16;

/// Metadata key of an asset file's content type.
const CONTENT_TYPE: &str = "content-type";

/// What one run over the unfinished jobs did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HarvestReport {
    pub jobs: usize,
    pub segments_copied: u64,
    pub finished: usize,
    /// Unfinished jobs remain.
    pub more: bool,
}

/// The claim on the batch starting at `from`.
#[derive(Debug, Serialize, Deserialize)]
struct Lease {
    from: u64,
    until_ms: u64,
}

/// An operations budget shared by everything one invocation does for harvests.
pub(crate) struct Budget {
    ops: Cell<usize>,
    limit: usize,
}

impl Budget {
    pub fn new(limit: usize) -> Budget {
        Budget {
            ops: Cell::new(0),
            limit,
        }
    }

    fn spend(&self, n: usize) {
        self.ops.set(self.ops.get() + n);
    }

    fn left(&self) -> usize {
        self.limit.saturating_sub(self.ops.get())
    }
}

/// Why a job failed or was refused, when it is not a storage failure (those are retried).
fn is_permanent(e: &OriginError) -> bool {
    !matches!(e, OriginError::Storage(_) | OriginError::Random(_))
}

/// Removes the carried time-shift query from every URI of a manifest (HLS and MPD forms).
fn strip_query(text: &str, query: &str) -> Result<String, String> {
    let escaped = query.replace('&', "&amp;");
    let mut out = text.to_owned();
    for q in [escaped.as_str(), query] {
        for sep in ["?", "&amp;", "&"] {
            out = out.replace(&format!("{sep}{q}"), "");
        }
    }
    if out.contains("vodend=") {
        return Err("a manifest still carries time-shift parameters".into());
    }
    Ok(out)
}

impl<K: KvStore, O: ObjectStore> Origin<K, O> {
    /// `POST .../channels/{c}/harvest-jobs`.
    pub(crate) async fn create_harvest(
        &self,
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
        fields.finish()?;
        let e = endpoint.ok_or_else(|| {
            OriginError::invalid("endpoint", "the name of an endpoint of this channel")
        })?;
        let start_ms = start.ok_or_else(|| OriginError::invalid("start", instant))?;
        let end_ms = end.ok_or_else(|| OriginError::invalid("end", instant))?;
        let destination =
            destination.ok_or_else(|| OriginError::invalid("destination", DESTINATION_RULE))?;

        let channel = repo::channel(&self.kv, g.as_str(), c.as_str()).await?;
        let ep = repo::endpoint(&self.kv, g.as_str(), c.as_str(), e.as_str()).await?;
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
        let active = self
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
        let id = crate::auth::random_token(self.random, ID_LEN).map_err(OriginError::Random)?;
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
            manifest: settings.manifest_file(),
            settle_at_ms: u64::try_from(end_ms).unwrap_or(0).saturating_add(settle),
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
            finished_at_ms: None,
            settings,
        };
        let budget = Budget::new(REQUEST_OP_BUDGET);
        if now_ms >= job.settle_at_ms {
            // The window is complete: a window the endpoint cannot serve is refused now.
            let plan = self.plan(&job, now_ms, &budget).await?;
            self.store_plan(&job, &plan).await?;
            job.status = Status::InProgress;
            job.segments_total = plan.files.len() as u64;
        }
        let key = keys::harvest_job(&channel.id, &job.id);
        let bytes = serde_json::to_vec(&job).map_err(|e| repo::corrupt(&key, &e))?;
        if !self
            .objects
            .put_if_version(&key, &bytes, &Metadata::new(), None)
            .await?
        {
            return Err(OriginError::Conflict(
                "harvest job id already in use".into(),
            ));
        }
        self.objects
            .put(
                &keys::harvest_active(&channel.id, &job.id),
                job.id.as_bytes(),
                &Metadata::new(),
            )
            .await?;
        let job = self.advance_harvest(&key, now_ms, &budget).await?;
        Ok(Response::new(201)
            .with_body("application/json", job.view(playback_base).to_string())
            .with_header("cache-control", "no-store")
            .with_header(
                "location",
                format!("/api/v1/groups/{g}/channels/{c}/harvest-jobs/{}", job.id),
            ))
    }

    /// `GET .../harvest-jobs/{id}`: advances the job one batch, then shows it.
    pub(crate) async fn get_harvest(
        &self,
        channel: &Channel,
        id: &str,
        now_ms: u64,
    ) -> OriginResult<Job> {
        let key = keys::harvest_job(&channel.id, id);
        self.advance_harvest(&key, now_ms, &Budget::new(REQUEST_OP_BUDGET))
            .await
    }

    /// A channel's jobs, newest first.
    pub(crate) async fn list_harvests(&self, channel: &Channel) -> OriginResult<Vec<Job>> {
        let mut jobs = Vec::new();
        let listed = self.objects.list(&keys::harvest_jobs(&channel.id)).await?;
        for o in listed.iter().take(MAX_LISTED) {
            if let Some(job) = repo::object_get::<Job>(&self.objects, &o.key).await? {
                jobs.push(job);
            }
        }
        jobs.sort_by(|a, b| b.created_at_ms.cmp(&a.created_at_ms).then(a.id.cmp(&b.id)));
        Ok(jobs)
    }

    /// `DELETE .../harvest-jobs/{id}`: forgets the job. The asset's files stay.
    pub(crate) async fn delete_harvest(&self, channel: &Channel, id: &str) -> OriginResult<()> {
        let key = keys::harvest_job(&channel.id, id);
        if self.objects.get(&key).await?.is_none() {
            return Err(OriginError::NotFound(format!("harvest job {id}")));
        }
        self.objects.delete(&key).await?;
        self.objects
            .delete(&keys::harvest_active(&channel.id, id))
            .await?;
        self.objects.delete(&keys::harvest_plan(id)).await?;
        self.objects.delete(&keys::harvest_lease(id)).await?;
        Ok(())
    }

    /// Advances every unfinished job by batches until `budget` operations are spent
    /// (scheduled runs and `POST /api/v1/maintenance/harvest`).
    pub async fn run_harvests(&self, now_ms: u64, limit: usize) -> OriginResult<HarvestReport> {
        let budget = Budget::new(limit);
        let mut report = HarvestReport::default();
        let active = self.objects.list(keys::HARVEST_ACTIVE).await?;
        budget.spend(1);
        for o in &active {
            let Some((channel_id, id)) = o
                .key
                .strip_prefix(keys::HARVEST_ACTIVE)
                .and_then(|r| r.split_once('/'))
            else {
                continue;
            };
            report.jobs += 1;
            if budget.left() == 0 {
                report.more = true;
                continue;
            }
            let key = keys::harvest_job(channel_id, id);
            budget.spend(1);
            let before = repo::object_get::<Job>(&self.objects, &key).await?;
            let Some(before) = before else {
                // Deleted job: drop it from the index.
                self.objects.delete(&o.key).await?;
                continue;
            };
            let job = self.advance_harvest(&key, now_ms, &budget).await?;
            report.segments_copied += job.segments_done.saturating_sub(before.segments_done);
            if job.status.finished() {
                report.finished += 1;
            } else {
                report.more = true;
            }
        }
        Ok(report)
    }

    /// One batch of one job: plan it once its window has settled, else copy the next files,
    /// else write the manifests and finish. Returns the job as stored afterwards.
    async fn advance_harvest(&self, key: &str, now_ms: u64, budget: &Budget) -> OriginResult<Job> {
        let (mut job, version) = self.read_job(key, budget).await?;
        if job.status.finished() {
            return Ok(job);
        }
        if job.status == Status::Pending {
            if now_ms < job.settle_at_ms {
                return Ok(job);
            }
            match self.plan(&job, now_ms, budget).await {
                Ok(plan) => {
                    if !self.store_plan(&job, &plan).await? {
                        // Another advancer planned first; its plan and state win.
                        return Ok(self.read_job(key, budget).await?.0);
                    }
                    job.status = Status::InProgress;
                    job.segments_total = plan.files.len() as u64;
                }
                Err(e) if is_permanent(&e) => {
                    return self
                        .fail(key, job, &version, e.to_string(), now_ms, budget)
                        .await
                }
                Err(e) => return Err(e),
            }
            job.updated_at_ms = now_ms;
            if !self.commit(key, &job, &version, budget).await? {
                return Ok(self.read_job(key, budget).await?.0);
            }
        }
        self.copy_batch(key, job, now_ms, budget).await
    }

    /// Claims the next batch of an in-progress job, copies it, and finishes the job after
    /// its last file.
    async fn copy_batch(
        &self,
        key: &str,
        mut job: Job,
        now_ms: u64,
        budget: &Budget,
    ) -> OriginResult<Job> {
        // Claim the batch, then make sure nobody moved the job meanwhile.
        if !self.claim(&job, now_ms, budget).await? {
            return Ok(job);
        }
        let (current, version) = self.read_job(key, budget).await?;
        if current != job {
            return Ok(current);
        }
        let plan: Plan = repo::object_get(&self.objects, &keys::harvest_plan(&job.id))
            .await?
            .ok_or_else(|| OriginError::NotFound(format!("harvest plan of job {}", job.id)))?;
        budget.spend(1);
        let total = plan.files.len();
        let snapshot = job.clone();
        let view = View::new(self, &snapshot, &budget.ops);
        let mut done = usize::try_from(job.segments_done)
            .unwrap_or(total)
            .min(total);
        let mut copied = 0;
        let mut per_file = 3;
        while done < total && copied < MAX_FILES_PER_BATCH && budget.left() >= per_file {
            let path = &plan.files[done];
            let before = budget.ops.get();
            let response = match view.fetch(path, now_ms).await {
                Ok(r) => r,
                Err(e) if is_permanent(&e) => {
                    let reason = format!("{path} could not be copied: {e}");
                    return self.fail(key, job, &version, reason, now_ms, budget).await;
                }
                Err(e) => return Err(e),
            };
            self.put_asset_file(&job, path, &response).await?;
            budget.spend(1);
            per_file = per_file.max(budget.ops.get() - before);
            done += 1;
            copied += 1;
        }
        job.segments_done = done as u64;
        job.updated_at_ms = now_ms;
        if done == total {
            // Manifests last: until they exist nothing of the asset plays.
            for m in &plan.manifests {
                let mut meta = Metadata::new();
                meta.insert(CONTENT_TYPE.into(), m.content_type.clone());
                self.objects
                    .put(
                        &keys::vod(&format!("{}{}", job.asset_dir(), m.path)),
                        m.body.as_bytes(),
                        &meta,
                    )
                    .await?;
                budget.spend(1);
            }
            job.status = Status::Succeeded;
            job.finished_at_ms = Some(now_ms);
        }
        if !self.commit(key, &job, &version, budget).await? {
            return Ok(self.read_job(key, budget).await?.0);
        }
        if job.status.finished() {
            self.cleanup(&job, budget).await?;
        }
        Ok(job)
    }

    async fn read_job(&self, key: &str, budget: &Budget) -> OriginResult<(Job, String)> {
        budget.spend(1);
        let (object, version) = self
            .objects
            .get_versioned(key)
            .await?
            .ok_or_else(|| OriginError::NotFound("harvest job".into()))?;
        let job = serde_json::from_slice(&object.body).map_err(|e| repo::corrupt(key, &e))?;
        Ok((job, version))
    }

    async fn commit(
        &self,
        key: &str,
        job: &Job,
        version: &str,
        budget: &Budget,
    ) -> OriginResult<bool> {
        budget.spend(1);
        let bytes = serde_json::to_vec(job).map_err(|e| repo::corrupt(key, &e))?;
        Ok(self
            .objects
            .put_if_version(key, &bytes, &Metadata::new(), Some(version))
            .await?)
    }

    async fn fail(
        &self,
        key: &str,
        mut job: Job,
        version: &str,
        reason: String,
        now_ms: u64,
        budget: &Budget,
    ) -> OriginResult<Job> {
        job.status = Status::Failed;
        job.reason = Some(reason);
        job.updated_at_ms = now_ms;
        job.finished_at_ms = Some(now_ms);
        if !self.commit(key, &job, version, budget).await? {
            return Ok(self.read_job(key, budget).await?.0);
        }
        self.cleanup(&job, budget).await?;
        Ok(job)
    }

    /// Drops a finished job from the index of unfinished ones, with its lease.
    async fn cleanup(&self, job: &Job, budget: &Budget) -> OriginResult<()> {
        budget.spend(2);
        self.objects
            .delete(&keys::harvest_active(&job.channel_id, &job.id))
            .await?;
        self.objects.delete(&keys::harvest_lease(&job.id)).await?;
        Ok(())
    }

    /// Claims the batch that starts at the job's progress; `false` when another advancer
    /// holds it.
    async fn claim(&self, job: &Job, now_ms: u64, budget: &Budget) -> OriginResult<bool> {
        let key = keys::harvest_lease(&job.id);
        budget.spend(2);
        let current = self.objects.get_versioned(&key).await?;
        let version = match &current {
            Some((object, version)) => {
                if let Ok(lease) = serde_json::from_slice::<Lease>(&object.body) {
                    if lease.from == job.segments_done && lease.until_ms > now_ms {
                        return Ok(false);
                    }
                }
                Some(version.as_str())
            }
            None => None,
        };
        let lease = Lease {
            from: job.segments_done,
            until_ms: now_ms + LEASE_MS,
        };
        let bytes = serde_json::to_vec(&lease).map_err(|e| repo::corrupt(&key, &e))?;
        Ok(self
            .objects
            .put_if_version(&key, &bytes, &Metadata::new(), version)
            .await?)
    }

    /// Writes the plan once; `false` when one exists already.
    async fn store_plan(&self, job: &Job, plan: &Plan) -> OriginResult<bool> {
        let key = keys::harvest_plan(&job.id);
        let bytes = serde_json::to_vec(plan).map_err(|e| repo::corrupt(&key, &e))?;
        Ok(self
            .objects
            .put_if_version(&key, &bytes, &Metadata::new(), None)
            .await?)
    }

    async fn put_asset_file(&self, job: &Job, path: &str, response: &Response) -> OriginResult<()> {
        let mut meta = Metadata::new();
        if let Some(ct) = response.header("content-type") {
            meta.insert(CONTENT_TYPE.into(), ct.to_owned());
        }
        let key = keys::vod(&format!("{}{path}", job.asset_dir()));
        Ok(self.objects.put(&key, &response.body, &meta).await?)
    }

    /// Lists every file the window's manifests reference.
    async fn plan(&self, job: &Job, now_ms: u64, budget: &Budget) -> OriginResult<Plan> {
        let view = View::new(self, job, &budget.ops);
        let bad = |m: String| OriginError::BadRequest(format!("harvest of {}: {m}", job.manifest));
        let mut plan = Plan::default();
        let (master, ct) = view.manifest(&job.manifest, now_ms).await?;
        match job.settings.protocol {
            OutputProtocol::Hls | OutputProtocol::HlsCmaf => {
                let refs = refs::hls(&job.manifest, &master).map_err(bad)?;
                plan.manifests.push(ManifestFile {
                    path: job.manifest.clone(),
                    content_type: ct,
                    body: master,
                });
                for playlist in refs.playlists {
                    let (text, ct) = view.manifest(&playlist, now_ms).await?;
                    let media = refs::hls(&playlist, &text).map_err(bad)?.media;
                    if media.len() >= MAX_WINDOW_SEGMENTS {
                        return Err(OriginError::invalid(
                            "end",
                            format!(
                                "a window of fewer than {MAX_WINDOW_SEGMENTS} segments per \
                                 playlist ({playlist} would list more)"
                            ),
                        ));
                    }
                    plan.files.extend(media);
                    plan.manifests.push(ManifestFile {
                        path: playlist,
                        content_type: ct,
                        body: text,
                    });
                }
                // The master goes last: a player finds the playlists before it.
                plan.manifests.rotate_left(1);
            }
            OutputProtocol::Dash => {
                plan.files = refs::mpd(&job.manifest, &master).map_err(bad)?;
                plan.manifests.push(ManifestFile {
                    path: job.manifest.clone(),
                    content_type: ct,
                    body: master,
                });
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        plan.files.retain(|f| seen.insert(f.clone()));
        if plan.files.is_empty() {
            return Err(bad("the window holds no segments".into()));
        }
        if plan.files.len() > MAX_FILES {
            return Err(OriginError::invalid(
                "end",
                format!("a window of at most {MAX_FILES} files"),
            ));
        }
        Ok(plan)
    }
}

/// The endpoint's playback of the job's window, through read-only store views.
struct View<'a, K, O> {
    origin: Origin<PinnedKv<'a, K>, CachedObjects<'a, O>>,
    job: &'a Job,
    query: String,
}

impl<'a, K: KvStore, O: ObjectStore> View<'a, K, O> {
    fn new(origin: &'a Origin<K, O>, job: &'a Job, ops: &'a Cell<usize>) -> Self {
        let settings = serde_json::to_vec(&job.settings).unwrap_or_default();
        let key = keys::endpoint(
            job.group.as_str(),
            job.channel.as_str(),
            job.endpoint.as_str(),
        );
        View {
            origin: Origin::new(
                PinnedKv::new(&origin.kv, key, settings, ops),
                CachedObjects::new(&origin.objects, ops),
                origin.config.clone(),
                origin.random,
            ),
            job,
            query: format!(
                "start={}&vodend={}",
                iso8601_ms(job.start_ms),
                iso8601_ms(job.end_ms)
            ),
        }
    }

    /// The playback answer for `path` below the endpoint, with the window's query.
    async fn fetch(&self, path: &str, now_ms: u64) -> OriginResult<Response> {
        let job = self.job;
        let mut req = Request::new(
            Method::Get,
            &format!(
                "/out/v1/{}/{}/{}/{path}",
                job.group, job.channel, job.endpoint
            ),
        );
        req.query = self.query.clone();
        let mut route = vec![
            job.group.as_str(),
            job.channel.as_str(),
            job.endpoint.as_str(),
        ];
        route.extend(path.split('/'));
        let response = self.origin.playback(&req, &route, now_ms).await?;
        if response.status != 200 {
            return Err(OriginError::NotFound(format!(
                "{path} (status {})",
                response.status
            )));
        }
        Ok(response)
    }

    /// A manifest's text without the window's query, and its content type.
    async fn manifest(&self, path: &str, now_ms: u64) -> OriginResult<(String, String)> {
        let r = self.fetch(path, now_ms).await?;
        let ct = r.header("content-type").unwrap_or("text/plain").to_owned();
        let text = String::from_utf8(r.body)
            .map_err(|_| OriginError::Media(format!("manifest {path} is not UTF-8")))?;
        let text = strip_query(&text, &self.query).map_err(OriginError::Media)?;
        Ok((text, ct))
    }
}

/// `GET|HEAD /vod/v1/{destination}/{job_id}/{path}`: a file of a finished (or partly copied)
/// asset, as stored. Manifests appear only when every file is in place.
pub(crate) async fn serve(
    objects: &impl ObjectStore,
    req: &Request,
    rest: &[&str],
) -> OriginResult<Response> {
    if !matches!(req.method, Method::Get | Method::Head) {
        return Err(OriginError::MethodNotAllowed);
    }
    let path = rest.join("/");
    let not_found = || OriginError::NotFound(format!("asset file {path}"));
    if rest.len() < 3 || rest.iter().any(|p| p.is_empty() || *p == "." || *p == "..") {
        return Err(not_found());
    }
    let object = objects
        .get(&keys::vod(&path))
        .await?
        .ok_or_else(not_found)?;
    let ct = object
        .metadata
        .get(CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| "application/octet-stream".into());
    Ok(Response::new(200).with_body(&ct, object.body).with_header(
        "cache-control",
        crate::playback::CacheControl::Segment.value(),
    ))
}
