//! Content keys of encrypted endpoints, one set per key period: read from the object store,
//! or asked of the endpoint's SPEKE v2.0 key provider once and stored sealed with a
//! create-if-absent write, so every edge and every retry uses the same keys
//! (docs/encryption.md, "Where keys live"). Keys never leave this module except to the
//! encryptor and to the key route of AES-128 endpoints.

use crate::context::{Ctx, FetchError, FetchRequest};
use crate::drm::cpix::{self, KeyRequest, KeyResponse, ProvidedKey, RequestedKey};
use crate::drm::seal::{self, SealKey, NONCE_LEN};
use crate::drm::{DrmError, DrmSystem, Kid, TrackType};
use crate::error::{OriginError, OriginResult};
use crate::keys;
use crate::model::static_key::StaticKey;
use crate::model::{Encryption, EncryptionMethod, Endpoint};
use crate::store::{KvStore, Metadata, ObjectStore};
use sha2::{Digest, Sha256};
use std::cell::RefCell;

/// How long a key provider may take to answer, both attempts together. SPEKE calls are made
/// once per key period (the answer is stored), so a request waits this long only at a
/// period's first use; a player's segment timeout is longer.
pub const PROVIDER_TIMEOUT_MS: u64 = 4_000;
/// Pause before the one retry of a provider that could not be reached or answered 5xx (a
/// restart, a load balancer between instances): long enough to miss a blip, short beside
/// [`PROVIDER_TIMEOUT_MS`], which still bounds both attempts.
pub const PROVIDER_RETRY_DELAY_MS: u64 = 250;
/// How long this isolate answers a key period's provider failure again without asking the
/// provider: a provider that is down is then asked at most once per period and isolate in
/// this time, not by every request of every viewer. Short, so that a recovered provider is
/// used within seconds.
pub const PROVIDER_FAILURE_CACHE_MS: u64 = 5_000;
/// Key periods kept in this isolate's memory (a few endpoints, each in one or two periods).
const CACHE_ENTRIES: usize = 32;
/// Longest provider error text quoted back in an error.
const PROVIDER_MESSAGE_MAX: usize = 160;

/// The keys of one key period of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodKeys {
    pub period: u64,
    /// One key per requested key, in request order (see [`key_request`]).
    pub keys: KeyResponse,
}

impl PeriodKeys {
    /// The key that encrypts tracks of `track` (AES-128: the one key of every track).
    pub fn for_track(&self, track: TrackType) -> Option<&ProvidedKey> {
        self.keys.keys.iter().find(|k| k.tracks.contains(&track))
    }
}

/// A KID that depends only on the setting and the period, so a retry or another edge asks
/// for the same one: the first 16 bytes of SHA-256 over the content id, the scheme, the
/// period and the key's label.
pub fn derive_kid(content_id: &str, scheme: &str, period: u64, label: &str) -> Kid {
    let mut h = Sha256::new();
    h.update(b"edgepack kid v1\0");
    h.update(content_id.as_bytes());
    h.update(b"\0");
    h.update(scheme.as_bytes());
    h.update(b"\0");
    h.update(period.to_be_bytes());
    h.update(label.as_bytes());
    let digest: [u8; 32] = h.finalize().into();
    let mut kid = [0u8; 16];
    kid.copy_from_slice(&digest[..16]);
    Kid(kid)
}

/// The SPEKE request of an endpoint's key period. AES-128: one key for every track, system
/// HLS AES-128. Sample methods: a video key and an audio key, signalled for each of
/// `drm_systems`. `ContentKeyPeriod@index` is set when keys rotate.
pub fn key_request(enc: &Encryption, period: u64) -> KeyRequest {
    let scheme = enc.method.scheme();
    let kid = |label: &str| derive_kid(&enc.content_id, scheme.as_str(), period, label);
    let (keys, systems) = match enc.method {
        EncryptionMethod::Aes128 => (
            vec![RequestedKey {
                kid: kid("all"),
                tracks: vec![TrackType::Video, TrackType::Audio],
            }],
            vec![DrmSystem::Aes128],
        ),
        _ => (
            vec![
                RequestedKey {
                    kid: kid("video"),
                    tracks: vec![TrackType::Video],
                },
                RequestedKey {
                    kid: kid("audio"),
                    tracks: vec![TrackType::Audio],
                },
            ],
            enc.drm_systems.clone(),
        ),
    };
    KeyRequest {
        content_id: enc.content_id.clone(),
        scheme,
        period_index: (enc.key_rotation_interval > 0).then_some(period),
        keys,
        systems,
    }
}

thread_local! {
    /// Opened key records by storage key: the isolate's cache (never written anywhere).
    static CACHE: RefCell<Vec<(String, KeyResponse)>> = const { RefCell::new(Vec::new()) };
    /// Recent provider failures by storage key: the error and until when it is answered again.
    static FAILURES: RefCell<Vec<(String, u64, DrmError)>> = const { RefCell::new(Vec::new()) };
}

/// Drops this isolate's cached keys and provider failures (tests of what another edge would
/// do; a changed secret).
pub fn forget_cached_keys() {
    CACHE.with(|c| c.borrow_mut().clear());
    FAILURES.with(|c| c.borrow_mut().clear());
}

/// The provider failure of a period still fresh at `now_ms`, if any.
fn recent_failure(key: &str, now_ms: u64) -> Option<DrmError> {
    FAILURES.with(|f| {
        let mut f = f.borrow_mut();
        f.retain(|(_, until, _)| *until > now_ms);
        f.iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, _, e)| e.clone())
    })
}

fn remember_failure(key: &str, now_ms: u64, error: &DrmError) {
    FAILURES.with(|f| {
        let mut f = f.borrow_mut();
        f.retain(|(k, _, _)| k != key);
        if f.len() >= CACHE_ENTRIES {
            f.remove(0);
        }
        let until = now_ms.saturating_add(PROVIDER_FAILURE_CACHE_MS);
        f.push((key.to_owned(), until, error.clone()));
    });
}

fn cached(key: &str) -> Option<KeyResponse> {
    CACHE.with(|c| {
        c.borrow()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    })
}

fn remember(key: &str, value: &KeyResponse) {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= CACHE_ENTRIES {
            c.remove(0);
        }
        c.push((key.to_owned(), value.clone()));
    });
}

/// Reads the stored keys of `endpoint`'s key period `period` into this isolate's cache, so a
/// [`period_keys`] after it needs no round trip: for a request that can guess a period it will
/// need before it knows it (a time-shifted master, docs/round-trips.md). Never asks the
/// provider; keys not stored, or a record that does not open, are left to [`period_keys`].
pub async fn preload<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel_id: &str,
    endpoint: &Endpoint,
    period: u64,
) {
    let (Some(enc), Some(secret)) = (&endpoint.encryption, cx.config.key_secret.as_deref()) else {
        return;
    };
    if enc.static_key.is_some() {
        return;
    }
    let object_key = period_object_key(channel_id, endpoint, enc, period);
    if cached(&object_key).is_some() {
        return;
    }
    if let Ok(Some(keys)) = stored(cx, &SealKey::derive(secret), &object_key).await {
        remember(&object_key, &keys);
    }
}

/// The keys of `endpoint`'s key period `period`: from this isolate's cache, else the object
/// store, else the key provider (then stored, first writer wins). Fails closed: without
/// `EDGEPACK_KEY_SECRET`, with a record the secret does not open, or without a usable answer.
/// A provider failure is answered again for [`PROVIDER_FAILURE_CACHE_MS`] after `now_ms` (the
/// request's time) without asking the provider.
pub async fn period_keys<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    channel_id: &str,
    endpoint: &Endpoint,
    period: u64,
    now_ms: u64,
) -> OriginResult<PeriodKeys> {
    let Some(enc) = &endpoint.encryption else {
        return Err(OriginError::NotFound("keys of a clear endpoint".into()));
    };
    let secret = cx
        .config
        .key_secret
        .as_deref()
        .ok_or(OriginError::NotConfigured(
            "EDGEPACK_KEY_SECRET (encrypted endpoints need it to keep their keys)",
        ))?;
    if let Some(k) = &enc.static_key {
        return static_keys(k, secret, period);
    }
    let sealing = SealKey::derive(secret);
    let object_key = period_object_key(channel_id, endpoint, enc, period);
    if let Some(keys) = cached(&object_key) {
        return Ok(PeriodKeys { period, keys });
    }
    if let Some(keys) = stored(cx, &sealing, &object_key).await? {
        remember(&object_key, &keys);
        return Ok(PeriodKeys { period, keys });
    }
    if let Some(error) = recent_failure(&object_key, now_ms) {
        return Err(OriginError::KeyProvider(error));
    }
    let request = key_request(enc, period);
    let answer = match ask_provider(cx, &enc.key_provider_url, &request).await {
        Ok(answer) => answer,
        Err(error) => {
            remember_failure(&object_key, now_ms, &error);
            return Err(OriginError::KeyProvider(error));
        }
    };
    let plain = serde_json::to_vec(&answer)
        .map_err(|e| OriginError::BadRequest(format!("content keys: {e}")))?;
    let mut nonce = [0u8; NONCE_LEN];
    (cx.random)(&mut nonce).map_err(OriginError::Random)?;
    let record = seal::seal(&sealing, &nonce, &object_key, &plain);
    let created = cx
        .objects
        .put_if_version(&object_key, &record, &Metadata::new(), None)
        .await?
        .is_some();
    // Another edge stored this period's keys first: use those, so every edge agrees.
    let keys = if created {
        answer
    } else {
        stored(cx, &sealing, &object_key).await?.ok_or_else(|| {
            OriginError::Conflict(format!(
                "content keys of period {period} changed while written"
            ))
        })?
    };
    remember(&object_key, &keys);
    Ok(PeriodKeys { period, keys })
}

/// A static key as the keys of every period: one key for every track type, its IV as the
/// provider's `explicitIV` would be, no DRM system data (signalling is built here).
fn static_keys(k: &StaticKey, secret: &str, period: u64) -> OriginResult<PeriodKeys> {
    let kid = Kid(k.kid().ok_or(OriginError::NotConfigured(
        "the endpoint's static key has no valid key_id",
    ))?);
    Ok(PeriodKeys {
        period,
        keys: KeyResponse {
            keys: vec![ProvidedKey {
                requested: kid,
                kid,
                key: k.open(secret)?,
                explicit_iv: crate::drm::parse_hex16(&k.iv),
                tracks: vec![TrackType::Video, TrackType::Audio],
                systems: Vec::new(),
            }],
        },
    })
}

async fn stored<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    sealing: &SealKey,
    object_key: &str,
) -> OriginResult<Option<KeyResponse>> {
    let Some(object) = cx.objects.get(object_key).await? else {
        return Ok(None);
    };
    let plain = seal::open(sealing, object_key, &object.body).map_err(|_| {
        OriginError::NotConfigured(
            "EDGEPACK_KEY_SECRET does not open the stored content keys (was it changed?)",
        )
    })?;
    serde_json::from_slice(&plain)
        .map(Some)
        .map_err(|_| OriginError::NotConfigured("stored content keys are unreadable"))
}

/// A SPEKE v2.0 exchange, retried once after [`PROVIDER_RETRY_DELAY_MS`] when the provider
/// could not be reached or answered 5xx; both attempts together are bounded by
/// [`PROVIDER_TIMEOUT_MS`], each answer by [`cpix::MAX_RESPONSE_BYTES`]. A refusal (4xx), a
/// malformed answer or a timeout is final.
async fn ask_provider<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    url: &str,
    request: &KeyRequest,
) -> Result<KeyResponse, DrmError> {
    let attempts = async {
        match exchange(cx, url, request).await {
            Err(e) if transient(&e) => {
                (cx.sleep)(PROVIDER_RETRY_DELAY_MS).await;
                exchange(cx, url, request).await
            }
            done => done,
        }
    };
    cx.within(PROVIDER_TIMEOUT_MS, attempts)
        .await
        .unwrap_or(Err(DrmError::Timeout {
            ms: PROVIDER_TIMEOUT_MS,
        }))
}

/// A failure a second attempt may not meet: no connection, or the provider's own 5xx.
fn transient(e: &DrmError) -> bool {
    match e {
        DrmError::Unreachable(_) => true,
        DrmError::ProviderStatus { status, .. } => (500..600).contains(status),
        _ => false,
    }
}

/// One request and its answer read.
async fn exchange<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    url: &str,
    request: &KeyRequest,
) -> Result<KeyResponse, DrmError> {
    let fetch = FetchRequest {
        method: "POST",
        url: url.to_owned(),
        headers: cpix::REQUEST_HEADERS
            .iter()
            .map(|(k, v)| (*k, (*v).to_owned()))
            .collect(),
        body: cpix::request_xml(request).into_bytes(),
        max_body: cpix::MAX_RESPONSE_BYTES,
    };
    let answer = (cx.fetch)(fetch).await.map_err(|e| match e {
        FetchError::Failed(m) => DrmError::Unreachable(m),
        FetchError::TooLarge => DrmError::TooLarge {
            limit: cpix::MAX_RESPONSE_BYTES,
        },
        FetchError::Timeout { ms } => DrmError::Timeout { ms },
    })?;
    if answer.status != 200 {
        return Err(DrmError::ProviderStatus {
            status: answer.status,
            message: provider_message(&answer.body),
        });
    }
    cpix::parse_response(&answer.body, request)
}

/// The start of a provider's error body when it is plain text (SPEKE's 422 sentences), with
/// control characters dropped; empty for anything else (HTML pages, binary).
fn provider_message(body: &[u8]) -> String {
    let Ok(text) = std::str::from_utf8(body) else {
        return String::new();
    };
    let text = text.trim();
    if text.starts_with('<') {
        return String::new();
    }
    text.chars()
        .filter(|c| !c.is_control())
        .take(PROVIDER_MESSAGE_MAX)
        .collect()
}

/// Where the keys of `endpoint`'s key period `period` are stored.
fn period_object_key(
    channel_id: &str,
    endpoint: &Endpoint,
    enc: &Encryption,
    period: u64,
) -> String {
    keys::content_key(
        channel_id,
        &endpoint.name,
        &enc.content_id,
        enc.method.scheme().as_str(),
        period,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kids_depend_on_setting_period_and_label_only() {
        let a = derive_kid("c", "cbc1", 1, "all");
        assert_eq!(a, derive_kid("c", "cbc1", 1, "all"));
        assert_ne!(a, derive_kid("c", "cbc1", 2, "all"));
        assert_ne!(a, derive_kid("d", "cbc1", 1, "all"));
        assert_ne!(a, derive_kid("c", "cbcs", 1, "all"));
        assert_ne!(a, derive_kid("c", "cbc1", 1, "video"));
    }

    #[test]
    fn provider_messages_are_short_text() {
        assert_eq!(
            provider_message(b"Missing CPIX@contentId\n"),
            "Missing CPIX@contentId"
        );
        assert_eq!(provider_message(b"<html>oops</html>"), "");
        assert_eq!(provider_message(b"\xff"), "");
        assert_eq!(provider_message(&[b'a'; 1000]).len(), PROVIDER_MESSAGE_MAX);
    }
}
