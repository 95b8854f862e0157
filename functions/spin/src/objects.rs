//! [`edgepack::store::ObjectStore`] over Spin key-value, within Fermyon Cloud's 1 MB value cap.
//!
//! An object is one value under `obj:{key}`: a one-line JSON header (size, chunk count,
//! generation, metadata), a newline, then the body when it fits ([`VALUE_BUDGET`]). A larger
//! body goes to chunks `chunk:{generation}:{index}` written before the header, under a fresh
//! random generation, so a reader that finds the header finds every chunk of that write: a
//! reader never sees half an object. An overwrite deletes the old generation's chunks after the
//! new header is in place; a reader caught in between reads the header again.

use crate::kv::{failed, keys_with_prefix};
use edgepack::store::{Metadata, Object, ObjectInfo, ObjectStore, StoreResult};
use serde::{Deserialize, Serialize};
use spin_sdk::key_value::Store;
use std::rc::Rc;

const OBJECT_PREFIX: &str = "obj:";
const CHUNK_PREFIX: &str = "chunk:";
/// Largest value written: below Fermyon Cloud's 1 MB value limit with room for the key.
const VALUE_BUDGET: usize = 960 * 1024;
/// Header reads when chunks vanish under a concurrent overwrite or delete.
const READ_ATTEMPTS: usize = 3;

/// The header stored in front of (or instead of) an object's body.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    size: u64,
    /// 0: the body follows the header in the same value.
    chunks: u32,
    /// Unique per write; names the chunks.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    generation: String,
    #[serde(default, skip_serializing_if = "Metadata::is_empty")]
    metadata: Metadata,
}

pub struct KvObjects(Rc<Store>);

impl KvObjects {
    pub fn new(store: Rc<Store>) -> Self {
        KvObjects(store)
    }

    fn header(&self, key: &str) -> StoreResult<Option<(Header, Vec<u8>)>> {
        let Some(mut value) = self
            .0
            .get(&object_key(key))
            .map_err(|e| failed("kv get", key, e))?
        else {
            return Ok(None);
        };
        let end = value
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| failed("object header", key, "no header line"))?;
        let header: Header =
            serde_json::from_slice(&value[..end]).map_err(|e| failed("object header", key, e))?;
        let inline = value.split_off(end + 1);
        Ok(Some((header, inline)))
    }

    /// The chunks of one generation, or `None` if one is gone (overwritten or deleted).
    fn chunks(&self, key: &str, header: &Header) -> StoreResult<Option<Vec<u8>>> {
        let capacity = usize::try_from(header.size)
            .unwrap_or(usize::MAX)
            .min(edgepack::adapter::MAX_BODY_BYTES);
        let mut body = Vec::with_capacity(capacity);
        for index in 0..header.chunks {
            let chunk_key = chunk_key(&header.generation, index);
            match self
                .0
                .get(&chunk_key)
                .map_err(|e| failed("kv get", &chunk_key, e))?
            {
                Some(chunk) => body.extend_from_slice(&chunk),
                None => return Ok(None),
            }
        }
        check_size(key, header, body.len())?;
        Ok(Some(body))
    }

    fn delete_chunks(&self, header: &Header) -> StoreResult<()> {
        for index in 0..header.chunks {
            let chunk_key = chunk_key(&header.generation, index);
            self.0
                .delete(&chunk_key)
                .map_err(|e| failed("kv delete", &chunk_key, e))?;
        }
        Ok(())
    }
}

impl ObjectStore for KvObjects {
    async fn get(&self, key: &str) -> StoreResult<Option<Object>> {
        for _ in 0..READ_ATTEMPTS {
            let Some((header, inline)) = self.header(key)? else {
                return Ok(None);
            };
            let body = if header.chunks == 0 {
                check_size(key, &header, inline.len())?;
                inline
            } else {
                match self.chunks(key, &header)? {
                    Some(body) => body,
                    None => continue,
                }
            };
            return Ok(Some(Object {
                body,
                metadata: header.metadata,
            }));
        }
        Err(failed("object get", key, "chunks keep changing"))
    }

    async fn put(&self, key: &str, body: &[u8], metadata: &Metadata) -> StoreResult<()> {
        let size = u64::try_from(body.len()).map_err(|e| failed("object put", key, e))?;
        let previous = self.header(key).ok().flatten().map(|(h, _)| h);
        let mut header = Header {
            size,
            chunks: 0,
            generation: String::new(),
            metadata: metadata.clone(),
        };
        let inline_len = serde_json::to_vec(&header)
            .map_err(|e| failed("object header", key, e))?
            .len()
            + 1
            + body.len();
        let value = if inline_len <= VALUE_BUDGET {
            let mut value = serde_json::to_vec(&header).map_err(|e| failed("object", key, e))?;
            value.push(b'\n');
            value.extend_from_slice(body);
            value
        } else {
            header.generation = generation().map_err(|e| failed("object put", key, e))?;
            for (index, chunk) in body.chunks(VALUE_BUDGET).enumerate() {
                let index = u32::try_from(index).map_err(|e| failed("object put", key, e))?;
                let chunk_key = chunk_key(&header.generation, index);
                self.0
                    .set(&chunk_key, chunk)
                    .map_err(|e| failed("kv set", &chunk_key, e))?;
                header.chunks = index + 1;
            }
            let mut value = serde_json::to_vec(&header).map_err(|e| failed("object", key, e))?;
            value.push(b'\n');
            value
        };
        self.0
            .set(&object_key(key), &value)
            .map_err(|e| failed("kv set", key, e))?;
        if let Some(old) = previous {
            self.delete_chunks(&old)?;
        }
        Ok(())
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let previous = self.header(key).ok().flatten().map(|(h, _)| h);
        self.0
            .delete(&object_key(key))
            .map_err(|e| failed("kv delete", key, e))?;
        if let Some(old) = previous {
            self.delete_chunks(&old)?;
        }
        Ok(())
    }

    /// One header read (the default would list, and a Spin listing reads every key of the
    /// store).
    async fn head(&self, key: &str) -> StoreResult<Option<ObjectInfo>> {
        Ok(self.header(key)?.map(|(header, _)| ObjectInfo {
            key: key.to_owned(),
            size: header.size,
            metadata: header.metadata,
        }))
    }

    /// Reads every header under the prefix (Spin lists keys only).
    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectInfo>> {
        let mut infos = Vec::new();
        for full in keys_with_prefix(&self.0, &object_key(prefix))? {
            let Some(key) = full.strip_prefix(OBJECT_PREFIX) else {
                continue;
            };
            // Deleted between listing and reading: not listed.
            if let Some((header, _)) = self.header(key)? {
                infos.push(ObjectInfo {
                    key: key.to_owned(),
                    size: header.size,
                    metadata: header.metadata,
                });
            }
        }
        Ok(infos)
    }
}

fn object_key(key: &str) -> String {
    format!("{OBJECT_PREFIX}{key}")
}

fn chunk_key(generation: &str, index: u32) -> String {
    format!("{CHUNK_PREFIX}{generation}:{index}")
}

fn check_size(key: &str, header: &Header, got: usize) -> StoreResult<()> {
    if u64::try_from(got).ok() == Some(header.size) {
        Ok(())
    } else {
        Err(failed(
            "object get",
            key,
            format!("{got} bytes, header says {}", header.size),
        ))
    }
}

/// 128 random bits in hex: chunk keys of two writes never collide.
fn generation() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
