//! Typed access to JSON values in the stores.

use crate::error::{OriginError, OriginResult};
use crate::failover::SwitchLog;
use crate::keys;
use crate::model::{Channel, Endpoint, Group, InputId};
use crate::names::{Name, Rendition};
use crate::store::{KvStore, Metadata, ObjectStore};
use crate::timeline::Timeline;
use futures_util::future::join;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

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

/// Every readable value under `prefix`, with its key (values that vanished between the listing
/// and the read are left out).
pub async fn kv_list<T: DeserializeOwned>(
    kv: &impl KvStore,
    prefix: &str,
) -> OriginResult<Vec<(String, T)>> {
    let mut out = Vec::new();
    for key in kv.list(prefix).await? {
        if let Some(v) = kv_get(kv, &key).await? {
            out.push((key, v));
        }
    }
    Ok(out)
}

/// Writes a new resource; a 409 naming `what` when one exists at `key`.
pub async fn kv_create<T: Serialize>(
    kv: &impl KvStore,
    key: &str,
    value: &T,
    what: std::fmt::Arguments<'_>,
) -> OriginResult<()> {
    if kv.get(key).await?.is_some() {
        return Err(OriginError::Conflict(format!("{what} already exists")));
    }
    kv_put(kv, key, value).await
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

/// A JSON object with its version tag, for [`object_put_if_version`].
pub async fn object_get_versioned<T: DeserializeOwned>(
    objects: &impl ObjectStore,
    key: &str,
) -> OriginResult<Option<(T, String)>> {
    match objects.get_versioned(key).await? {
        Some((o, version)) => serde_json::from_slice(&o.body)
            .map(|v| Some((v, version)))
            .map_err(|e| corrupt(key, &e)),
        None => Ok(None),
    }
}

/// Stores `value` only if the object is still at `expected` (`None`: still absent): its new
/// version, or `None`, storing nothing, when another write came first.
pub async fn object_put_if_version<T: Serialize>(
    objects: &impl ObjectStore,
    key: &str,
    value: &T,
    expected: Option<&str>,
) -> OriginResult<Option<String>> {
    let bytes = serde_json::to_vec(value).map_err(|e| corrupt(key, &e))?;
    Ok(objects
        .put_if_version(key, &bytes, &Metadata::new(), expected)
        .await?)
}

pub async fn object_put<T: Serialize>(
    objects: &impl ObjectStore,
    key: &str,
    value: &T,
) -> OriginResult<()> {
    let bytes = serde_json::to_vec(value).map_err(|e| corrupt(key, &e))?;
    Ok(objects.put(key, &bytes, &Metadata::new()).await?)
}

pub async fn group(kv: &impl KvStore, g: &Name) -> OriginResult<Group> {
    kv_get(kv, &keys::group(g))
        .await?
        .ok_or_else(|| OriginError::NotFound(format!("group {g}")))
}

/// The base of a group's playback URLs: its CDN domain (`playback_base_url`), else the
/// deployment's `PUBLIC_BASE_URL`, else `origin` (the request's); without a trailing `/`.
pub async fn playback_base(
    kv: &impl KvStore,
    g: &Name,
    public_base_url: Option<&str>,
    origin: &str,
) -> OriginResult<String> {
    let group_base = group(kv, g).await?.playback_base_url;
    let base = group_base.as_deref().or(public_base_url).unwrap_or(origin);
    Ok(base.trim_end_matches('/').to_owned())
}

pub async fn channel(kv: &impl KvStore, g: &Name, c: &Name) -> OriginResult<Channel> {
    kv_get(kv, &keys::channel(g, c))
        .await?
        .ok_or_else(|| OriginError::NotFound(format!("channel {g}/{c}")))
}

pub async fn endpoint(kv: &impl KvStore, g: &Name, c: &Name, e: &Name) -> OriginResult<Endpoint> {
    kv_get(kv, &keys::endpoint(g, c, e))
        .await?
        .ok_or_else(|| OriginError::NotFound(format!("endpoint {g}/{c}/{e}")))
}

/// The rendition ids that have a timeline on `input`.
pub async fn renditions(
    objects: &impl ObjectStore,
    channel_id: &str,
    input: InputId,
) -> OriginResult<Vec<Rendition>> {
    let prefix = keys::timelines(channel_id, input);
    let list = objects.list(&prefix).await?;
    Ok(list
        .iter()
        .filter_map(|o| keys::rendition_of_timeline(&prefix, &o.key))
        .collect())
}

/// The rendition ids with a timeline on either input, in key order: both listings in flight
/// together.
pub async fn all_renditions(
    objects: &impl ObjectStore,
    channel_id: &str,
) -> OriginResult<Vec<Rendition>> {
    let [a, b] = InputId::ALL;
    let (a, b) = join(
        renditions(objects, channel_id, a),
        renditions(objects, channel_id, b),
    )
    .await;
    let names: BTreeSet<Rendition> = a?.into_iter().chain(b?).collect();
    Ok(names.into_iter().collect())
}

/// The timelines of `renditions` on both inputs: one batch read ([`ObjectStore::get_many`],
/// every read in flight together; one request where channel state is in its object).
pub async fn timelines_of(
    objects: &impl ObjectStore,
    channel_id: &str,
    renditions: Vec<Rendition>,
) -> OriginResult<BTreeMap<Rendition, [Option<Timeline>; 2]>> {
    let keys: Vec<String> = renditions
        .iter()
        .flat_map(|r| InputId::ALL.map(|i| keys::timeline(channel_id, i, r)))
        .collect();
    let read = objects.get_many(&keys).await?;
    let mut parsed = keys.iter().zip(read).map(|(k, o)| {
        o.map(|o| serde_json::from_slice(&o.body).map_err(|e| corrupt(k, &e)))
            .transpose()
    });
    let mut out = BTreeMap::new();
    for r in renditions {
        let a = parsed.next().transpose()?.flatten();
        let b = parsed.next().transpose()?.flatten();
        out.insert(r, [a, b]);
    }
    Ok(out)
}

/// What a rendition's live playlist is computed from, as stored: the switch log and both
/// inputs' timelines (three reads). Two reads compare equal when nothing was written between
/// them, so a waiting request parses only what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenditionObjects {
    log: (String, Option<Vec<u8>>),
    timelines: [(String, Option<Vec<u8>>); 2],
}

impl RenditionObjects {
    /// The switch log; a channel whose ingest has not written one yet is served from input 1.
    pub fn switch_log(&self) -> OriginResult<SwitchLog> {
        let (key, body) = &self.log;
        Ok(parse(key, body.as_deref())?
            .unwrap_or_else(|| SwitchLog::starting_with(InputId::PRIMARY, 0)))
    }

    /// The timelines, indexed by input.
    pub fn timelines(&self) -> OriginResult<[Option<Timeline>; 2]> {
        let [(ka, a), (kb, b)] = &self.timelines;
        Ok([parse(ka, a.as_deref())?, parse(kb, b.as_deref())?])
    }
}

/// Reads [`RenditionObjects`]: the switch log and input 1's and input 2's timelines, in
/// flight together (one round trip).
pub async fn rendition_objects(
    objects: &impl ObjectStore,
    channel_id: &str,
    rendition: &Rendition,
) -> OriginResult<RenditionObjects> {
    let [a, b] = InputId::ALL;
    let keys = [
        keys::switch_log(channel_id),
        keys::timeline(channel_id, a, rendition),
        keys::timeline(channel_id, b, rendition),
    ];
    let mut read = objects.get_many(&keys).await?.into_iter();
    let [log, ta, tb] = keys.map(|k| {
        let body = read.next().flatten().map(|o| o.body);
        (k, body)
    });
    Ok(RenditionObjects {
        log,
        timelines: [ta, tb],
    })
}

fn parse<T: DeserializeOwned>(key: &str, body: Option<&[u8]>) -> OriginResult<Option<T>> {
    body.map(|b| serde_json::from_slice(b).map_err(|e| corrupt(key, &e)))
        .transpose()
}

/// Every rendition's timelines on both inputs: the listings, then every timeline (two round
/// trips).
pub async fn all_timelines(
    objects: &impl ObjectStore,
    channel_id: &str,
) -> OriginResult<BTreeMap<Rendition, [Option<Timeline>; 2]>> {
    let names = all_renditions(objects, channel_id).await?;
    timelines_of(objects, channel_id, names).await
}

/// The switch log; a channel whose ingest has not written one yet is served from input 1.
pub async fn switch_log(objects: &impl ObjectStore, channel_id: &str) -> OriginResult<SwitchLog> {
    Ok(object_get(objects, &keys::switch_log(channel_id))
        .await?
        .unwrap_or_else(|| SwitchLog::starting_with(InputId::PRIMARY, 0)))
}

pub fn corrupt(key: &str, e: &serde_json::Error) -> OriginError {
    OriginError::Storage(crate::store::StoreError(format!(
        "stored value {key} unreadable: {e}"
    )))
}
