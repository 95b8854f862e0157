//! Where an encoder's uploads are stored, and how the playlist that lists one finds it
//! (docs/ingest.md, "Upload keys"). A media segment is created under its own name
//! ([`keys::segment_upload`]) while that name is free, so its playlist finds it with one
//! `head`, not a listing; a name already taken (a restarted encoder reusing names while the
//! earlier upload is still served or archived) is stored under the name and its arrival time
//! ([`keys::segment`]) and found by listing those, as every upload was before. An init
//! segment, whose newest upload is the one in force, is stored under its arrival time, with a
//! pointer under its own name that each upload replaces.

use crate::context::Ctx;
use crate::error::OriginResult;
use crate::ingest_memory::IngestMemory;
use crate::keys;
use crate::model::{Channel, InputId};
use crate::store::{KvStore, Metadata, ObjectInfo, ObjectStore};

/// Object metadata: when the upload arrived (Unix ms).
pub const ARRIVED_METADATA: &str = "arrived";
/// Object metadata of an init segment's pointer: the key of its newest upload.
pub const UPLOAD_METADATA: &str = "upload";

/// Stores a media segment upload; returns its key. One created under its own name is kept
/// in `memory` for the playlist that lists it.
pub(super) async fn store_segment<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    (channel, input, memory): (&Channel, InputId, &IngestMemory),
    file: &str,
    body: &[u8],
    mut metadata: Metadata,
    now_ms: u64,
) -> OriginResult<String> {
    metadata.insert(ARRIVED_METADATA.to_owned(), now_ms.to_string());
    let own = keys::segment_upload(&channel.id, input, file);
    if cx
        .objects
        .put_if_version(&own, body, &metadata, None)
        .await?
        .is_some()
    {
        let info = ObjectInfo {
            key: own.clone(),
            size: body.len() as u64,
            metadata,
        };
        memory.keep_upload(info, now_ms);
        return Ok(own);
    }
    let key = keys::segment(&channel.id, input, file, now_ms);
    cx.objects.put(&key, body, &metadata).await?;
    Ok(key)
}

/// Stores an init segment upload and points its name at it; returns its key.
pub(super) async fn store_init<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    (channel, input): (&Channel, InputId),
    file: &str,
    body: &[u8],
    now_ms: u64,
) -> OriginResult<String> {
    let mut metadata = Metadata::new();
    metadata.insert(ARRIVED_METADATA.to_owned(), now_ms.to_string());
    let key = keys::segment(&channel.id, input, file, now_ms);
    cx.objects.put(&key, body, &metadata).await?;
    metadata.insert(UPLOAD_METADATA.to_owned(), key.clone());
    let pointer = keys::segment_upload(&channel.id, input, file);
    cx.objects.put(&pointer, body, &metadata).await?;
    Ok(key)
}

/// When an upload stored by this module arrived; an upload under its arrival time says it
/// in its key too (uploads stored before the metadata existed).
pub(super) fn arrived(info: &ObjectInfo) -> Option<u64> {
    info.metadata
        .get(ARRIVED_METADATA)
        .and_then(|t| t.parse().ok())
        .or_else(|| info.key.rsplit_once('@')?.1.parse().ok())
}

/// Whether `key` is an upload of `file`: under its own name or under its arrival time.
pub(super) fn is_upload_of(key: &str, channel: &Channel, input: InputId, file: &str) -> bool {
    key == keys::segment_upload(&channel.id, input, file)
        || key.starts_with(&keys::segment_uploads(&channel.id, input, file))
}

/// The newest upload of a media segment `file` that arrived after `after_ms` and by
/// `now_ms` and is not `listed` already (a key the timeline binds: the same upload, whenever it
/// arrived). Nothing read when this isolate created it under its own name (`memory`); else
/// one `head` when the upload has the name to itself; a listing when the name is taken by an
/// older upload, or, with `list_if_absent`, when nothing has it (an upload under its arrival
/// time whose name was freed since).
pub(super) async fn find_segment<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    (channel, input, memory): (&Channel, InputId, &IngestMemory),
    (file, listed): (&str, &dyn Fn(&str) -> bool),
    (after_ms, now_ms): (u64, u64),
    list_if_absent: bool,
) -> OriginResult<Option<ObjectInfo>> {
    let new = |info: &ObjectInfo| {
        arrived(info).is_some_and(|t| t > after_ms && t <= now_ms) && !listed(&info.key)
    };
    let own_key = keys::segment_upload(&channel.id, input, file);
    if let Some(info) = memory.take_upload(&own_key, now_ms).filter(|i| new(i)) {
        return Ok(Some(info));
    }
    let own = cx.objects.head(&own_key).await?;
    match own {
        Some(info) if new(&info) => return Ok(Some(info)),
        None if !list_if_absent => return Ok(None),
        _ => {}
    }
    let prefix = keys::segment_uploads(&channel.id, input, file);
    let uploads = cx.objects.list(&prefix).await?;
    Ok(uploads.into_iter().rev().find(new))
}

/// The newest upload of an init segment `file` (by `now_ms`): its pointer, or, for uploads
/// stored before pointers existed, a listing.
pub(super) async fn find_init<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    (channel, input): (&Channel, InputId),
    file: &str,
    now_ms: u64,
) -> OriginResult<Option<ObjectInfo>> {
    let pointer = cx
        .objects
        .head(&keys::segment_upload(&channel.id, input, file))
        .await?;
    if let Some(info) = pointer {
        let in_force = arrived(&info).is_some_and(|t| t <= now_ms);
        if let Some(key) = info
            .metadata
            .get(UPLOAD_METADATA)
            .cloned()
            .filter(|_| in_force)
        {
            return Ok(Some(ObjectInfo { key, ..info }));
        }
    }
    let prefix = keys::segment_uploads(&channel.id, input, file);
    let uploads = cx.objects.list(&prefix).await?;
    Ok(uploads
        .into_iter()
        .rev()
        .find(|o| arrived(o).is_some_and(|t| t > 0 && t <= now_ms)))
}
