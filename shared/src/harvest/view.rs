//! The endpoint's playback of a job's window, read through the snapshot stores.

use super::job::Job;
use super::snapshot::{CachedObjects, PinnedKv};
use crate::auth::Random;
use crate::context::Config;
use crate::context::Ctx;
use crate::context::Sleep;
use crate::datetime::iso8601_ms;
use crate::error::{MediaCause, MediaError, OriginError, OriginResult};
use crate::http::{Method, Request, Response};
use crate::keys;
use crate::playback::recording::{job_parts, FileParts};
use crate::repo;
use crate::store::{KvStore, ObjectStore};
use std::cell::Cell;

/// Removes the carried time-shift query from every URI of a manifest (HLS and MPD forms).
fn strip_query(text: &str, query: &str) -> Option<String> {
    let escaped = query.replace('&', "&amp;");
    let mut out = text.to_owned();
    for q in [escaped.as_str(), query] {
        for sep in ["?", "&amp;", "&"] {
            out = out.replace(&format!("{sep}{q}"), "");
        }
    }
    (!out.contains("vodend=")).then_some(out)
}

fn manifest_error(path: &str, what: &'static str) -> OriginError {
    MediaError::new(MediaCause::Manifest {
        path: path.to_owned(),
        problem: what,
    })
    .into()
}

/// The endpoint's playback of the job's window, through read-only store views.
pub(super) struct View<'a, K, O> {
    kv: PinnedKv<'a, K>,
    objects: CachedObjects<'a, O>,
    config: &'a Config,
    random: Random,
    sleep: Sleep,
    job: &'a Job,
    query: String,
}

impl<'a, K: KvStore, O: ObjectStore> View<'a, K, O> {
    pub(super) fn new(cx: &Ctx<'a, K, O>, job: &'a Job, ops: &'a Cell<usize>) -> Self {
        let settings = serde_json::to_vec(&job.settings).unwrap_or_default();
        let key = keys::endpoint(&job.group, &job.channel, &job.endpoint);
        View {
            kv: PinnedKv::new(cx.kv, key, settings, ops),
            objects: CachedObjects::new(cx.objects, ops),
            config: cx.config,
            random: cx.random,
            sleep: cx.sleep,
            job,
            query: format!(
                "start={}&vodend={}",
                iso8601_ms(job.start_ms),
                iso8601_ms(job.end_ms)
            ),
        }
    }

    /// The playback answer for `path` below the endpoint, with the window's query.
    pub(super) async fn fetch(&self, path: &str, now_ms: u64) -> OriginResult<Response> {
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
        let cx = self.cx();
        let response = crate::playback::playback(&cx, &req, &route, now_ms).await?;
        if response.status != 200 {
            return Err(OriginError::NotFound(format!(
                "{path} (status {})",
                response.status
            )));
        }
        Ok(response)
    }

    /// The view's stores as a playback context.
    fn cx(&self) -> Ctx<'_, PinnedKv<'a, K>, CachedObjects<'a, O>> {
        Ctx {
            kv: &self.kv,
            objects: &self.objects,
            config: self.config,
            random: self.random,
            sleep: self.sleep,
            // A harvest reads keys already stored; it never asks a key provider.
            fetch: crate::context::no_fetch,
            // A harvest's own reads are not playback.
            stats: &crate::stats::NO_STATS,
            // A harvest renders from its snapshot, never from an edge's copies.
            edge_cache: crate::context::no_edge_cache,
        }
    }

    /// The output segments of the job's window, for a single-file recording.
    pub(super) async fn parts(&self, now_ms: u64) -> OriginResult<FileParts> {
        let job = self.job;
        let channel = repo::channel(&self.kv, &job.group, &job.channel).await?;
        if channel.id != job.channel_id {
            return Err(OriginError::NotFound(format!(
                "channel {}/{} (deleted since the job was created)",
                job.group, job.channel
            )));
        }
        job_parts(
            &self.cx(),
            &channel,
            &job.settings,
            (job.start_ms, job.end_ms),
            now_ms,
        )
        .await
    }

    /// A manifest's text without the window's query, and its content type.
    pub(super) async fn manifest(&self, path: &str, now_ms: u64) -> OriginResult<(String, String)> {
        let r = self.fetch(path, now_ms).await?;
        let ct = r.header("content-type").unwrap_or("text/plain").to_owned();
        let text = String::from_utf8(r.body)
            .map_err(|_| manifest_error(path, "the manifest is not UTF-8"))?;
        let text = strip_query(&text, &self.query).ok_or_else(|| {
            manifest_error(path, "a manifest still carries time-shift parameters")
        })?;
        // The asset's files keep the names below their rendition: the storage-id directory
        // of live playback (docs/round-trips.md) would tie a VOD asset to its channel.
        let text = without_storage_dirs(&text, &self.job.channel_id);
        Ok((text, ct))
    }
}

/// `text` without the storage-id directories of channel `id`: `~{id}/`, `~{id}@{bucket}/` of
/// time-shifted playlists and `~{id}@{clock}_{timescale}/` of time-shifted MPDs
/// (docs/round-trips.md, "Time-shifted segment URLs").
fn without_storage_dirs(text: &str, id: &str) -> String {
    let mark = format!("~{id}");
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(&mark) {
        out.push_str(&rest[..i]);
        let after = &rest[i + mark.len()..];
        // The length of `@{digits}` or `@{digits}_{digits}`; 0 without `@`, `None` when
        // malformed.
        let bucket = match after.strip_prefix('@') {
            Some(b) => match digits(b) {
                0 => None,
                n => match b[n..].strip_prefix('_').map(digits) {
                    Some(0) => None,
                    Some(m) => Some(1 + n + 1 + m),
                    None => Some(1 + n),
                },
            },
            None => Some(0),
        };
        match bucket.and_then(|b| after[b..].strip_prefix('/')) {
            Some(tail) => rest = tail,
            _ => {
                out.push_str(&mark);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::without_storage_dirs;

    #[test]
    fn storage_dirs_leave_asset_manifests() {
        let text = "~abc/1.ts\n~abc@1795435200000/2.ts\nv/~abc@/3.ts\n~abd/4.ts\n~abc@12x/5.ts\n";
        assert_eq!(
            without_storage_dirs(text, "abc"),
            "1.ts\n2.ts\nv/~abc@/3.ts\n~abd/4.ts\n~abc@12x/5.ts\n"
        );
        let mpd = r#"media="v/~abc@1795435196589_90000/video_t$Time$.m4s" media="v/~abc@1_/a" media="v/~abc@_9/a""#;
        assert_eq!(
            without_storage_dirs(mpd, "abc"),
            r#"media="v/video_t$Time$.m4s" media="v/~abc@1_/a" media="v/~abc@_9/a""#
        );
    }
}
