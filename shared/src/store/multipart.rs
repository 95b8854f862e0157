//! Large objects written in parts: the multipart-upload side of [`ObjectStore`], and the
//! chunked form its default methods use where the platform has no multipart upload (Spin's
//! key-value store, self-hosted stores).
//!
//! Chunked form: each part is an object of its own under [`CHUNK_PREFIX`]; completing the
//! upload writes, at the object's key, a small manifest listing the chunks in order, marked
//! by [`CHUNKED`] in its metadata (with the true size in [`CHUNKED_SIZE`]). Readers go
//! through [`ObjectStore::head`] and [`ObjectStore::get_range`], which read the manifest and
//! then only the chunks a range needs. Docs: `docs/timeshift-harvest.md#recordings`.

use super::{content_version, Metadata, ObjectInfo, ObjectStore, StoreError, StoreResult};
use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Where the chunks of chunked objects live.
pub const CHUNK_PREFIX: &str = "chunks/";
/// Metadata key marking a chunked object's manifest.
pub const CHUNKED: &str = "edgepack-chunked";
/// Metadata key of a chunked object's size in bytes.
pub const CHUNKED_SIZE: &str = "edgepack-size";
/// Most chunks a manifest may list (the multipart limit of R2 and S3).
pub const MAX_PARTS: usize = 10_000;

/// One uploaded part: its number (1-based, increasing) and the store's tag for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadedPart {
    pub part_number: u16,
    pub etag: String,
    pub size: u64,
}

/// The manifest of a chunked object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Manifest {
    /// (chunk key, size) in order.
    chunks: Vec<(String, u64)>,
}

pub(super) fn upload_id(key: &str) -> String {
    format!("c{}", content_version(key.as_bytes()))
}

pub(super) fn chunk_key(key: &str, upload_id: &str, part_number: u16) -> String {
    format!("{CHUNK_PREFIX}{key}/{upload_id}/{part_number:05}")
}

/// Stores part `part_number` of a chunked upload as a chunk object.
pub(super) async fn upload_chunk<S: ObjectStore + ?Sized>(
    store: &S,
    key: &str,
    upload_id: &str,
    part_number: u16,
    body: &[u8],
) -> StoreResult<UploadedPart> {
    let chunk = chunk_key(key, upload_id, part_number);
    store.put(&chunk, body, &Metadata::new()).await?;
    Ok(UploadedPart {
        part_number,
        etag: content_version(body),
        size: u64::try_from(body.len()).unwrap_or(u64::MAX),
    })
}

/// Completes a chunked upload: the manifest at `key`.
pub(super) async fn complete_chunked<S: ObjectStore + ?Sized>(
    store: &S,
    key: &str,
    upload_id: &str,
    parts: &[UploadedPart],
    metadata: &Metadata,
) -> StoreResult<()> {
    if parts.is_empty() || parts.len() > MAX_PARTS {
        return Err(StoreError(format!(
            "multipart {key}: {} parts (1-{MAX_PARTS})",
            parts.len()
        )));
    }
    let chunks = parts
        .iter()
        .map(|p| (chunk_key(key, upload_id, p.part_number), p.size))
        .collect();
    let size: u64 = parts.iter().map(|p| p.size).sum();
    let body = serde_json::to_vec(&Manifest { chunks })
        .map_err(|e| StoreError(format!("multipart {key}: {e}")))?;
    let mut metadata = metadata.clone();
    metadata.insert(CHUNKED.into(), "1".into());
    metadata.insert(CHUNKED_SIZE.into(), size.to_string());
    store.put(key, &body, &metadata).await
}

/// Deletes the chunk objects of an unfinished chunked upload; those of a completed object
/// (its manifest lists them) stay.
pub(super) async fn abort_chunked<S: ObjectStore + ?Sized>(
    store: &S,
    key: &str,
    upload_id: &str,
) -> StoreResult<()> {
    let prefix = format!("{CHUNK_PREFIX}{key}/{upload_id}/");
    if let Some(object) = store.get(key).await? {
        let completed = object.metadata.contains_key(CHUNKED)
            && serde_json::from_slice::<Manifest>(&object.body)
                .is_ok_and(|m| m.chunks.iter().any(|(c, _)| c.starts_with(&prefix)));
        if completed {
            return Ok(());
        }
    }
    for chunk in store.list(&prefix).await? {
        store.delete(&chunk.key).await?;
    }
    Ok(())
}

/// The size a listing entry stands for: a chunked object's own, else the stored size.
pub fn logical_size(info: &ObjectInfo) -> u64 {
    match info.metadata.get(CHUNKED) {
        Some(_) => info
            .metadata
            .get(CHUNKED_SIZE)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        None => info.size,
    }
}

/// `range` of `key`, reading a chunked object's manifest and only the chunks it needs.
pub(super) async fn get_range_chunked<S: ObjectStore + ?Sized>(
    store: &S,
    key: &str,
    range: Range<u64>,
) -> StoreResult<Option<Vec<u8>>> {
    let Some(object) = store.get(key).await? else {
        return Ok(None);
    };
    let slice = |body: &[u8], r: Range<u64>| {
        let len = u64::try_from(body.len()).unwrap_or(u64::MAX);
        let (a, b) = (r.start.min(len), r.end.min(len));
        body.get(usize::try_from(a).unwrap_or(0)..usize::try_from(b).unwrap_or(0))
            .map(<[u8]>::to_vec)
            .unwrap_or_default()
    };
    if !object.metadata.contains_key(CHUNKED) {
        return Ok(Some(slice(&object.body, range)));
    }
    let manifest: Manifest = serde_json::from_slice(&object.body)
        .map_err(|e| StoreError(format!("chunked object {key}: {e}")))?;
    let mut out = Vec::new();
    let mut at = 0u64;
    for (chunk, size) in &manifest.chunks {
        let (start, end) = (at, at.saturating_add(*size));
        at = end;
        if end <= range.start {
            continue;
        }
        if start >= range.end {
            break;
        }
        let body = store
            .get(chunk)
            .await?
            .ok_or_else(|| StoreError(format!("chunked object {key}: chunk {chunk} missing")))?
            .body;
        let from = range.start.saturating_sub(start);
        let to = range.end.min(end) - start;
        out.extend_from_slice(&slice(&body, from..to));
    }
    Ok(Some(out))
}
