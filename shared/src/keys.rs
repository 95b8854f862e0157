//! Storage key layout. Config lives in the key-value store; media, timelines and
//! masters live in the object store under the channel's storage id, so a re-created channel
//! never sees its predecessor's content.

use crate::model::InputId;
use crate::names::{Name, Rendition};

pub fn group(g: &Name) -> String {
    format!("cfg/g/{g}")
}

pub const GROUPS: &str = "cfg/g/";

pub fn channel(g: &Name, c: &Name) -> String {
    format!("cfg/c/{g}/{c}")
}

pub fn channels(g: &Name) -> String {
    format!("cfg/c/{g}/")
}

pub fn endpoint(g: &Name, c: &Name, e: &Name) -> String {
    format!("cfg/e/{g}/{c}/{e}")
}

pub fn endpoints(g: &Name, c: &Name) -> String {
    format!("cfg/e/{g}/{c}/")
}

/// An encoder file's upload under its own name: created only while the name is free, so the
/// playlist that lists the file names its key without a listing (docs/ingest.md, "Upload
/// keys"). For an init segment, the pointer to its newest upload.
pub fn segment_upload(channel_id: &str, input: InputId, path: &str) -> String {
    format!("seg/{channel_id}/{}/{path}", input.number())
}

/// One upload of an encoder file whose name was taken: the arrival time makes re-used file
/// names distinct objects.
pub fn segment(channel_id: &str, input: InputId, path: &str, arrived_ms: u64) -> String {
    format!(
        "{}{arrived_ms:013}",
        segment_uploads(channel_id, input, path)
    )
}

/// Prefix of every upload of one encoder file path.
pub fn segment_uploads(channel_id: &str, input: InputId, path: &str) -> String {
    format!("seg/{channel_id}/{}/{path}@", input.number())
}

/// The timeline (segment index) of one rendition of one input.
pub fn timeline(channel_id: &str, input: InputId, rendition: &Rendition) -> String {
    format!("{}{rendition}.json", timelines(channel_id, input))
}

pub fn timelines(channel_id: &str, input: InputId) -> String {
    format!("idx/{channel_id}/{}/", input.number())
}

/// The rendition a timeline key belongs to.
pub fn rendition_of_timeline(prefix: &str, key: &str) -> Option<Rendition> {
    Rendition::parse(key.strip_prefix(prefix)?.strip_suffix(".json")?)
}

/// The channel's rendition index (`rendition_index`): keyed by names, not by the storage id,
/// so playback reads it together with the settings.
pub fn rendition_index(g: &Name, c: &Name) -> String {
    format!("rix/{g}/{c}.json")
}

/// The last master playlist an input received, as parsed JSON.
pub fn master(channel_id: &str, input: InputId) -> String {
    format!("master/{channel_id}/{}.json", input.number())
}

/// The channel's switch log: which input serves which output numbers.
pub fn switch_log(channel_id: &str) -> String {
    format!("switch/{channel_id}.json")
}

/// First arrival: the claim on output number `n` of one rendition (created once, by the copy
/// that serves it).
pub fn claim(channel_id: &str, rendition: &Rendition, n: u64) -> String {
    format!("fa/{channel_id}/{rendition}/{n:020}")
}

/// Failed ingest logins from one client (address or IPv6 /64) during one minute (Unix minutes).
pub fn failed_logins(client: &str, minute: u64) -> String {
    format!("throttle/{minute}/{client}")
}

/// Archived segments of one rendition of one input whose program date time falls in the
/// bucket starting at `bucket_ms` (Unix ms, a multiple of the bucket length).
pub fn archive(channel_id: &str, input: InputId, rendition: &Rendition, bucket_ms: i64) -> String {
    format!(
        "{}{bucket_ms:013}.json",
        archives(channel_id, input, rendition)
    )
}

/// Prefix of one rendition's archive buckets (`@` cannot occur in a rendition id).
pub fn archives(channel_id: &str, input: InputId, rendition: &Rendition) -> String {
    format!("arc/{channel_id}/{}/{rendition}@", input.number())
}

/// Prefix of every archive bucket of one input.
pub fn archives_of_input(channel_id: &str, input: InputId) -> String {
    format!("arc/{channel_id}/{}/", input.number())
}

/// The bucket start of an archive key.
pub fn archive_bucket(key: &str) -> Option<i64> {
    key.rsplit_once('@')?.1.strip_suffix(".json")?.parse().ok()
}

/// A harvest job's state (replaced only by conditional puts).
pub fn harvest_job(channel_id: &str, job_id: &str) -> String {
    format!("{}{job_id}.json", harvest_jobs(channel_id))
}

/// Prefix of a channel's harvest jobs.
pub fn harvest_jobs(channel_id: &str) -> String {
    format!("hv/job/{channel_id}/")
}

/// A harvest job's file list, written once.
pub fn harvest_plan(job_id: &str) -> String {
    format!("hv/plan/{job_id}.json")
}

/// The claim on a harvest job's next batch.
pub fn harvest_lease(job_id: &str) -> String {
    format!("hv/lease/{job_id}")
}

/// Object `n` of a recording job's sample index (MP4 first pass).
pub fn harvest_index(job_id: &str, n: u64) -> String {
    format!("hv/rec/{job_id}/index/{n:05}")
}

/// A recording job's bytes not yet uploaded as a part, after its first `written` parts.
pub fn harvest_tail(job_id: &str, written: u64) -> String {
    format!("hv/rec/{job_id}/tail/{written:06}")
}

/// Prefix of a recording job's working objects.
pub fn harvest_work(job_id: &str) -> String {
    format!("hv/rec/{job_id}/")
}

/// Prefix of the index of unfinished harvest jobs (what scheduled runs advance).
pub const HARVEST_ACTIVE: &str = "hv/active/";

/// One unfinished job in the index: `hv/active/{channel_id}/{job_id}`.
pub fn harvest_active(channel_id: &str, job_id: &str) -> String {
    format!("{HARVEST_ACTIVE}{channel_id}/{job_id}")
}

/// Prefix of a channel's unfinished harvest jobs.
pub fn harvest_active_of(channel_id: &str) -> String {
    format!("{HARVEST_ACTIVE}{channel_id}/")
}

/// A file of a harvested VOD asset (`vod/{destination}/{job_id}/{path}`), served at
/// `/vod/v1/{destination}/{job_id}/{path}`.
pub fn vod(path: &str) -> String {
    format!("{VOD}{path}")
}

pub const VOD: &str = "vod/";

/// Marker of a deleted channel whose stored data the scheduled runs remove.
pub fn deleted_channel(channel_id: &str) -> String {
    format!("{DELETED_CHANNELS}{channel_id}")
}

/// Prefix of every deleted-channel marker.
pub const DELETED_CHANNELS: &str = "gone/";

/// Prefixes of everything stored for one channel id in the object store (the harvested
/// assets under `vod/` are products of their own and stay).
pub fn channel_data(channel_id: &str) -> [String; 9] {
    [
        content_keys_of(channel_id),
        format!("seg/{channel_id}/"),
        format!("idx/{channel_id}/"),
        format!("arc/{channel_id}/"),
        format!("master/{channel_id}/"),
        format!("fa/{channel_id}/"),
        switch_log(channel_id),
        harvest_jobs(channel_id),
        harvest_active_of(channel_id),
    ]
}

/// Prefix of one channel's heartbeats in the key-value store: written by versions before
/// liveness was read from the timelines (docs/timeline.md, "Input health"), still purged.
pub fn heartbeats(channel_id: &str) -> String {
    format!("hb/{channel_id}/")
}

/// An endpoint's content keys for one key period, sealed (docs/encryption.md). Under the
/// channel's storage id (purged with it), the `content_id` and the scheme, so a changed
/// setting never reuses a key made for another.
pub fn content_key(
    channel_id: &str,
    endpoint: &Name,
    content_id: &str,
    scheme: &str,
    period: u64,
) -> String {
    format!(
        "{}{endpoint}/{content_id}/{scheme}/{period:020}.keys",
        content_keys_of(channel_id)
    )
}

/// Prefix of a channel's content keys in the object store.
pub fn content_keys_of(channel_id: &str) -> String {
    format!("drm/{channel_id}/")
}
