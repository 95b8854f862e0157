//! [`edgepack::store::ObjectStore`] over an R2 bucket.

use crate::kv::failed;
use edgepack::store::{Metadata, Object, ObjectInfo, ObjectStore, StoreResult, UploadedPart};
use std::collections::HashMap;
use std::ops::Range;
use worker::{Bucket, Conditional, Include};

/// R2's `etagDoesNotMatch` wildcard: the write happens only if the key is absent.
const ANY_ETAG: &str = "*";

pub struct R2Objects(Bucket);

impl R2Objects {
    pub fn new(bucket: Bucket) -> Self {
        R2Objects(bucket)
    }
}

impl ObjectStore for R2Objects {
    async fn get(&self, key: &str) -> StoreResult<Option<Object>> {
        Ok(self.get_with_etag(key).await?.map(|(object, _)| object))
    }

    async fn put(&self, key: &str, body: &[u8], metadata: &Metadata) -> StoreResult<()> {
        self.0
            .put(key, body.to_vec())
            .custom_metadata(custom_metadata(metadata))
            .execute()
            .await
            .map(|_| ())
            .map_err(|e| failed("r2 put", key, e))
    }

    /// The version tag is R2's etag, so [`ObjectStore::put_if_version`] is atomic.
    async fn get_versioned(&self, key: &str) -> StoreResult<Option<(Object, String)>> {
        self.get_with_etag(key).await
    }

    /// An R2 conditional put (`onlyIf`): `etagMatches` the expected version, or, to create,
    /// `etagDoesNotMatch: "*"`. R2 answers `null` when the condition fails, else the new
    /// object, whose etag is the new version.
    async fn put_if_version(
        &self,
        key: &str,
        body: &[u8],
        metadata: &Metadata,
        expected: Option<&str>,
    ) -> StoreResult<Option<String>> {
        let condition = Conditional {
            etag_matches: expected.map(str::to_owned),
            etag_does_not_match: expected.is_none().then(|| ANY_ETAG.to_owned()),
            uploaded_before: None,
            uploaded_after: None,
        };
        self.0
            .put(key, body.to_vec())
            .custom_metadata(custom_metadata(metadata))
            .only_if(condition)
            .execute()
            .await
            .map(|written| written.map(|object| object.etag()))
            .map_err(|e| failed("r2 conditional put", key, e))
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        self.0
            .delete(key)
            .await
            .map_err(|e| failed("r2 delete", key, e))
    }

    /// Pages through `truncated`/`cursor`; R2 lists keys in lexicographic order. Metadata is
    /// requested explicitly (R2 omits it from listings otherwise), which can shorten pages.
    async fn list_first(&self, prefix: &str, max: usize) -> StoreResult<Vec<String>> {
        // One page: R2 returns at most 1,000 keys per list call.
        let limit = u32::try_from(max.clamp(1, 1000)).unwrap_or(1000);
        let page = self
            .0
            .list()
            .prefix(prefix)
            .limit(limit)
            .execute()
            .await
            .map_err(|e| failed("r2 list", prefix, e))?;
        Ok(page
            .objects()
            .into_iter()
            .map(|o| o.key())
            .take(max)
            .collect())
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectInfo>> {
        let mut infos = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut request = self
                .0
                .list()
                .prefix(prefix)
                .include(vec![Include::CustomMetadata]);
            if let Some(c) = cursor.take() {
                request = request.cursor(c);
            }
            let page = request
                .execute()
                .await
                .map_err(|e| failed("r2 list", prefix, e))?;
            for object in page.objects() {
                let metadata =
                    metadata(&object).map_err(|e| failed("r2 list metadata", prefix, e))?;
                infos.push(ObjectInfo {
                    key: object.key(),
                    size: object.size(),
                    metadata,
                });
            }
            if !page.truncated() {
                return Ok(infos);
            }
            match page.cursor() {
                Some(c) if !c.is_empty() => cursor = Some(c),
                _ => return Err(failed("r2 list", prefix, "truncated page without cursor")),
            }
        }
    }

    /// R2's `head`: size and custom metadata, no body.
    async fn head(&self, key: &str) -> StoreResult<Option<ObjectInfo>> {
        let Some(object) = self
            .0
            .head(key)
            .await
            .map_err(|e| failed("r2 head", key, e))?
        else {
            return Ok(None);
        };
        let metadata = metadata(&object).map_err(|e| failed("r2 head metadata", key, e))?;
        Ok(Some(ObjectInfo {
            key: key.to_owned(),
            size: object.size(),
            metadata,
        }))
    }

    /// A ranged R2 get: only the bytes asked for leave the bucket.
    async fn get_range(&self, key: &str, range: Range<u64>) -> StoreResult<Option<Vec<u8>>> {
        if range.is_empty() {
            return Ok(self.head(key).await?.map(|_| Vec::new()));
        }
        let Some(object) = self
            .0
            .get(key)
            .range(worker::Range::OffsetWithLength {
                offset: range.start,
                length: range.end - range.start,
            })
            .execute()
            .await
            .map_err(|e| failed("r2 get range", key, e))?
        else {
            return Ok(None);
        };
        let body = object
            .body()
            .ok_or_else(|| failed("r2 get range", key, "object without body"))?
            .bytes()
            .await
            .map_err(|e| failed("r2 get range body", key, e))?;
        Ok(Some(body))
    }

    /// An R2 multipart upload (`createMultipartUpload`), its metadata set now.
    async fn create_multipart(&self, key: &str, metadata: &Metadata) -> StoreResult<String> {
        let upload = self
            .0
            .create_multipart_upload(key)
            .custom_metadata(custom_metadata(metadata))
            .execute()
            .await
            .map_err(|e| failed("r2 create multipart", key, e))?;
        Ok(upload.upload_id().await)
    }

    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u16,
        body: &[u8],
    ) -> StoreResult<UploadedPart> {
        let upload = self
            .0
            .resume_multipart_upload(key, upload_id)
            .map_err(|e| failed("r2 resume multipart", key, e))?;
        let part = upload
            .upload_part(part_number, body.to_vec())
            .await
            .map_err(|e| failed("r2 upload part", key, e))?;
        Ok(UploadedPart {
            part_number,
            etag: part.etag(),
            size: body.len() as u64,
        })
    }

    async fn complete_multipart(
        &self,
        key: &str,
        upload_id: &str,
        parts: &[UploadedPart],
        _metadata: &Metadata,
    ) -> StoreResult<()> {
        let upload = self
            .0
            .resume_multipart_upload(key, upload_id)
            .map_err(|e| failed("r2 resume multipart", key, e))?;
        let parts = parts
            .iter()
            .map(|p| worker::UploadedPart::new(p.part_number, p.etag.clone()));
        upload
            .complete(parts)
            .await
            .map(|_| ())
            .map_err(|e| failed("r2 complete multipart", key, e))
    }

    /// R2's `abort()` of the upload: its parts are dropped.
    async fn abort_multipart(&self, key: &str, upload_id: &str) -> StoreResult<()> {
        let upload = self
            .0
            .resume_multipart_upload(key, upload_id)
            .map_err(|e| failed("r2 resume multipart", key, e))?;
        upload
            .abort()
            .await
            .map_err(|e| failed("r2 abort multipart", key, e))
    }
}

impl R2Objects {
    async fn get_with_etag(&self, key: &str) -> StoreResult<Option<(Object, String)>> {
        let Some(object) = self
            .0
            .get(key)
            .execute()
            .await
            .map_err(|e| failed("r2 get", key, e))?
        else {
            return Ok(None);
        };
        let metadata = metadata(&object).map_err(|e| failed("r2 get metadata", key, e))?;
        let etag = object.etag();
        let body = object
            .body()
            .ok_or_else(|| failed("r2 get", key, "object without body"))?
            .bytes()
            .await
            .map_err(|e| failed("r2 get body", key, e))?;
        Ok(Some((Object { body, metadata }, etag)))
    }
}

fn custom_metadata(metadata: &Metadata) -> HashMap<String, String> {
    metadata
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn metadata(object: &worker::Object) -> worker::Result<Metadata> {
    Ok(object.custom_metadata()?.into_iter().collect())
}
