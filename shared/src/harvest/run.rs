//! The job state machine: plan, copy in claimed batches, write the manifests, finish or fail.

use super::job::{Format, Job, ManifestFile, Plan, Status};
use super::record;
use super::view::View;
use super::{
    is_permanent, refs, Budget, HarvestReport, Lease, CONTENT_TYPE, LEASE_MS, MAX_FILES,
    MAX_FILES_PER_BATCH,
};
use crate::http::Response;
use crate::keys;
use crate::model::OutputProtocol;
use crate::repo;
use crate::store::Metadata;
use crate::timeshift::MAX_WINDOW_SEGMENTS;

use crate::context::Ctx;
use crate::error::{OriginError, OriginResult};
use crate::store::{KvStore, ObjectStore};

/// Operations left below which a scheduled run starts no further batch of a job.
const MIN_BATCH_OPS: usize = 20;

/// Most working objects one cleanup deletes (a 4-hour MP4 has 24 index objects; a recording
/// has one tail at a time).
const MAX_WORK_DELETES: usize = 50;

/// Advances every unfinished job by batches until `budget` operations are spent
/// (scheduled runs and `POST /api/v1/maintenance/harvest`).
pub async fn run_harvests<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    now_ms: u64,
    limit: usize,
) -> OriginResult<HarvestReport> {
    let budget = Budget::new(limit);
    let mut report = HarvestReport::default();
    let active = cx.objects.list(keys::HARVEST_ACTIVE).await?;
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
        let before = repo::object_get::<Job>(cx.objects, &key).await?;
        let Some(before) = before else {
            // Deleted job: drop it from the index.
            cx.objects.delete(&o.key).await?;
            continue;
        };
        // Batch after batch while the budget lasts and the job moves.
        let mut job = advance_harvest(cx, &key, now_ms, &budget).await?;
        let mut last = before.clone();
        while !job.status.finished() && job != last && budget.left() > MIN_BATCH_OPS {
            last = job;
            job = advance_harvest(cx, &key, now_ms, &budget).await?;
        }
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
pub(super) async fn advance_harvest<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    key: &str,
    now_ms: u64,
    budget: &Budget,
) -> OriginResult<Job> {
    let (mut job, version) = read_job(cx, key, budget).await?;
    if job.status.finished() {
        return Ok(job);
    }
    if job.status == Status::Pending {
        if now_ms < job.settle_at_ms {
            return Ok(job);
        }
        match plan(cx, &job, now_ms, budget).await {
            Ok(plan) => {
                if !store_plan(cx, &job, &plan).await? {
                    // Another advancer planned first; its plan and state win.
                    return Ok(read_job(cx, key, budget).await?.0);
                }
                job.start(&plan);
            }
            Err(e) if is_permanent(&e) => {
                return fail(cx, key, job, &version, e.to_string(), now_ms, budget).await
            }
            Err(e) => return Err(e),
        }
        job.updated_at_ms = now_ms;
        if !commit(cx, key, &job, &version, budget).await? {
            return Ok(read_job(cx, key, budget).await?.0);
        }
    }
    copy_batch(cx, key, job, now_ms, budget).await
}

/// Claims the next batch of an in-progress job, copies it, and finishes the job after
/// its last file.
async fn copy_batch<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    key: &str,
    mut job: Job,
    now_ms: u64,
    budget: &Budget,
) -> OriginResult<Job> {
    // Claim the batch, then make sure nobody moved the job meanwhile.
    if !claim(cx, &job, now_ms, budget).await? {
        return Ok(job);
    }
    let (current, version) = read_job(cx, key, budget).await?;
    if current != job {
        return Ok(current);
    }
    let plan: Plan = repo::object_get(cx.objects, &keys::harvest_plan(&job.id))
        .await?
        .ok_or_else(|| OriginError::NotFound(format!("harvest plan of job {}", job.id)))?;
    budget.spend(1);
    if job.recording.is_some() {
        return match record::batch(cx, &mut job, &plan, budget).await {
            Ok(obsolete) => {
                job.updated_at_ms = now_ms;
                if job.status.finished() {
                    job.finished_at_ms = Some(now_ms);
                }
                if !commit(cx, key, &job, &version, budget).await? {
                    return Ok(read_job(cx, key, budget).await?.0);
                }
                record::after_commit(cx, &obsolete, budget).await?;
                if job.status.finished() {
                    cleanup(cx, &job, budget).await?;
                }
                Ok(job)
            }
            Err(e) if is_permanent(&e) => {
                let reason = format!("{} could not be made: {e}", job.manifest);
                fail(cx, key, job, &version, reason, now_ms, budget).await
            }
            Err(e) => Err(e),
        };
    }
    let total = plan.files.len();
    let snapshot = job.clone();
    let view = View::new(cx, &snapshot, &budget.ops);
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
                return fail(cx, key, job, &version, reason, now_ms, budget).await;
            }
            Err(e) => return Err(e),
        };
        put_asset_file(cx, &job, path, &response).await?;
        job.bytes_written += response.body.len() as u64;
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
            cx.objects
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
    if !commit(cx, key, &job, &version, budget).await? {
        return Ok(read_job(cx, key, budget).await?.0);
    }
    if job.status.finished() {
        cleanup(cx, &job, budget).await?;
    }
    Ok(job)
}

async fn read_job<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    key: &str,
    budget: &Budget,
) -> OriginResult<(Job, String)> {
    budget.spend(1);
    let (object, version) = cx
        .objects
        .get_versioned(key)
        .await?
        .ok_or_else(|| OriginError::NotFound("harvest job".into()))?;
    let job = serde_json::from_slice(&object.body).map_err(|e| repo::corrupt(key, &e))?;
    Ok((job, version))
}

async fn commit<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    key: &str,
    job: &Job,
    version: &str,
    budget: &Budget,
) -> OriginResult<bool> {
    budget.spend(1);
    let bytes = serde_json::to_vec(job).map_err(|e| repo::corrupt(key, &e))?;
    Ok(cx
        .objects
        .put_if_version(key, &bytes, &Metadata::new(), Some(version))
        .await?
        .is_some())
}

async fn fail<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
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
    if !commit(cx, key, &job, version, budget).await? {
        return Ok(read_job(cx, key, budget).await?.0);
    }
    cleanup(cx, &job, budget).await?;
    Ok(job)
}

/// Drops a finished job from the index of unfinished ones, with its lease and working
/// objects; a failed recording's upload is aborted.
async fn cleanup<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    job: &Job,
    budget: &Budget,
) -> OriginResult<()> {
    record::discard(cx, job, budget).await?;
    budget.spend(2);
    cx.objects
        .delete(&keys::harvest_active(&job.channel_id, &job.id))
        .await?;
    cx.objects.delete(&keys::harvest_lease(&job.id)).await?;
    delete_work(cx, &job.id, budget).await
}

/// Deletes a recording job's working objects (index, tail), a bounded number per call.
pub(super) async fn delete_work<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    job_id: &str,
    budget: &Budget,
) -> OriginResult<()> {
    budget.spend(1);
    let work = cx
        .objects
        .list_first(&keys::harvest_work(job_id), MAX_WORK_DELETES)
        .await?;
    for key in work {
        budget.spend(1);
        cx.objects.delete(&key).await?;
    }
    Ok(())
}

/// Claims the batch that starts at the job's progress; `false` when another advancer
/// holds it.
async fn claim<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    job: &Job,
    now_ms: u64,
    budget: &Budget,
) -> OriginResult<bool> {
    let key = keys::harvest_lease(&job.id);
    budget.spend(2);
    // The batch is named by the job's progress: files copied, or a recording's steps.
    let from = job
        .recording
        .as_ref()
        .map_or(job.segments_done, super::job::Recording::step);
    let current = cx.objects.get_versioned(&key).await?;
    let version = match &current {
        Some((object, version)) => {
            if let Ok(lease) = serde_json::from_slice::<Lease>(&object.body) {
                if lease.from == from && lease.until_ms > now_ms {
                    return Ok(false);
                }
            }
            Some(version.as_str())
        }
        None => None,
    };
    let lease = Lease {
        from,
        until_ms: now_ms + LEASE_MS,
    };
    let bytes = serde_json::to_vec(&lease).map_err(|e| repo::corrupt(&key, &e))?;
    Ok(cx
        .objects
        .put_if_version(&key, &bytes, &Metadata::new(), version)
        .await?
        .is_some())
}

/// Writes the plan once; `false` when one exists already.
pub(super) async fn store_plan<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    job: &Job,
    plan: &Plan,
) -> OriginResult<bool> {
    let key = keys::harvest_plan(&job.id);
    let bytes = serde_json::to_vec(plan).map_err(|e| repo::corrupt(&key, &e))?;
    Ok(cx
        .objects
        .put_if_version(&key, &bytes, &Metadata::new(), None)
        .await?
        .is_some())
}

async fn put_asset_file<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    job: &Job,
    path: &str,
    response: &Response,
) -> OriginResult<()> {
    let mut meta = Metadata::new();
    if let Some(ct) = response.header("content-type") {
        meta.insert(CONTENT_TYPE.into(), ct.to_owned());
    }
    let key = keys::vod(&format!("{}{path}", job.asset_dir()));
    Ok(cx.objects.put(&key, &response.body, &meta).await?)
}

/// Lists every file the window's manifests reference.
pub(super) async fn plan<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    job: &Job,
    now_ms: u64,
    budget: &Budget,
) -> OriginResult<Plan> {
    let view = View::new(cx, job, &budget.ops);
    let bad = |m: &dyn std::fmt::Display| {
        OriginError::BadRequest(format!("harvest of {}: {m}", job.manifest))
    };
    let mut plan = Plan::default();
    if job.format != Format::Hls {
        let parts = view.parts(now_ms).await?;
        if parts.parts.is_empty() {
            return Err(bad(&"the window holds no segments"));
        }
        if parts.parts.len() > MAX_FILES {
            return Err(OriginError::invalid(
                "end",
                format!("a window of at most {MAX_FILES} segments"),
            ));
        }
        plan.parts = parts.parts;
        plan.rendition = Some(parts.video_rendition);
        return Ok(plan);
    }
    let (master, ct) = view.manifest(&job.manifest, now_ms).await?;
    match job.settings.protocol {
        OutputProtocol::Hls | OutputProtocol::HlsCmaf => {
            let refs = refs::hls(&job.manifest, &master).map_err(|e| bad(&e))?;
            plan.manifests.push(ManifestFile {
                path: job.manifest.clone(),
                content_type: ct,
                body: master,
            });
            for playlist in refs.playlists {
                let (text, ct) = view.manifest(&playlist, now_ms).await?;
                let media = refs::hls(&playlist, &text).map_err(|e| bad(&e))?.media;
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
        // Refused when the job is created.
        OutputProtocol::Flv => return Err(bad(&"FLV endpoints cannot be harvested")),
        OutputProtocol::Dash => {
            plan.files = refs::mpd(&job.manifest, &master).map_err(|e| bad(&e))?;
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
        return Err(bad(&"the window holds no segments"));
    }
    if plan.files.len() > MAX_FILES {
        return Err(OriginError::invalid(
            "end",
            format!("a window of at most {MAX_FILES} files"),
        ));
    }
    Ok(plan)
}
