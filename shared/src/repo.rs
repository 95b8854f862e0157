//! Typed access to JSON values in the stores.

use crate::error::{OriginError, OriginResult};
use crate::keys;
use crate::model::{Channel, Endpoint};
use crate::store::{KvStore, Metadata, ObjectStore};
use serde::de::DeserializeOwned;
use serde::Serialize;

pub async fn kv_get<T: DeserializeOwned>(kv: &impl KvStore, key: &str) -> OriginResult<Option<T>> {
    match kv.get(key).await? {
        Some(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| corrupt(key, &e)),
        None => Ok(None),
    }
}

pub async fn kv_put<T: Serialize>(kv: &impl KvStore, key: &str, value: &T) -> OriginResult<()> {
    let bytes = serde_json::to_vec(value).map_err(|e| corrupt(key, &e))?;
    Ok(kv.put(key, &bytes).await?)
}

pub async fn object_get<T: DeserializeOwned>(
    objects: &impl ObjectStore,
    key: &str,
) -> OriginResult<Option<T>> {
    match objects.get(key).await? {
        Some(o) => serde_json::from_slice(&o.body)
            .map(Some)
            .map_err(|e| corrupt(key, &e)),
        None => Ok(None),
    }
}

pub async fn object_put<T: Serialize>(
    objects: &impl ObjectStore,
    key: &str,
    value: &T,
) -> OriginResult<()> {
    let bytes = serde_json::to_vec(value).map_err(|e| corrupt(key, &e))?;
    Ok(objects.put(key, &bytes, &Metadata::new()).await?)
}

pub async fn channel(kv: &impl KvStore, g: &str, c: &str) -> OriginResult<Channel> {
    kv_get(kv, &keys::channel(g, c))
        .await?
        .ok_or_else(|| OriginError::NotFound(format!("channel {g}/{c}")))
}

pub async fn endpoint(kv: &impl KvStore, g: &str, c: &str, e: &str) -> OriginResult<Endpoint> {
    kv_get(kv, &keys::endpoint(g, c, e))
        .await?
        .ok_or_else(|| OriginError::NotFound(format!("endpoint {g}/{c}/{e}")))
}

fn corrupt(key: &str, e: &serde_json::Error) -> OriginError {
    OriginError::Storage(crate::store::StoreError(format!(
        "stored value {key} unreadable: {e}"
    )))
}
