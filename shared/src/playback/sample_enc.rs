//! Sample encryption of CMAF output (docs/encryption.md, "SAMPLE_AES, CBCS and CENC"):
//! HLS-CMAF and DASH endpoints whose `encryption.method` is `SAMPLE_AES`, `CBCS` (cbcs) or
//! `CENC` (cenc). Init segments carry `encv`/`enca` with the key's KID and the DRM systems'
//! `pssh` boxes; media segments are encrypted by the media core (`media::cenc`); playlists get
//! `EXT-X-KEY` lines and MPDs `ContentProtection` elements. With key rotation each media
//! segment is encrypted with the key of its key period (from its stored program date time),
//! names that key in a `seig` sample group and carries its `pssh` boxes in `moof`; the init
//! segment serves every period ("Key rotation of the sample methods").

use super::Play;
use crate::content_keys::{period_keys, PeriodKeys};
use crate::context::Ctx;
use crate::drm::cpix::ProvidedKey;
use crate::drm::{DrmError, DrmSystem, Kid, TrackType};
use crate::error::{MediaCause, MediaError, OriginError, OriginResult};
use crate::media::cenc::{
    clearkey_pssh, derive_iv, playready_pssh, widevine_pssh, Encryptor, Scheme, TrackProtection,
    ROTATION_DEFAULT_KID,
};
use crate::media::mp4::{Track, TrackKind};
use crate::model::{Encryption, EncryptionMethod};
use crate::names::Rendition;
use crate::store::{KvStore, ObjectStore};
use crate::timeline::Segment;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::fmt::Write;

/// `key/{period}-{kind}.key` of a sample-encrypted endpoint with ClearKey: the track type's
/// key of a key period, as HLS `KEYFORMAT="identity"` points Shaka at it. Only ClearKey
/// endpoints have it (a commercial DRM's keys go to players through its license server,
/// never from here); behind the endpoint's access controls, `Cache-Control: private,
/// no-store`. Without rotation only period 0 exists; with it, periods far from now and from
/// the retained window are refused before the key provider is asked.
pub(super) async fn clear_key_file<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    period: u64,
    kind: TrackKind,
) -> OriginResult<crate::http::Response> {
    let not_found = || OriginError::NotFound(format!("key {period}-{}", kind.name()));
    let Some((enc, _)) = method(play) else {
        return Err(not_found());
    };
    let in_reach = if rotating(enc) {
        super::aes128::period_in_reach(play, enc, period)
    } else {
        period == 0
    };
    if !in_reach || !enc.drm_systems.contains(&DrmSystem::ClearKey) {
        return Err(not_found());
    }
    let keys = keys(cx, play, period).await?;
    let key = key_of(&keys, kind)?;
    Ok(crate::http::Response::new(200)
        .with_body("application/octet-stream", key.key.to_vec())
        .with_header("cache-control", "private, no-store"))
}

/// The endpoint's sample encryption, when it has one.
pub(super) fn method<'a>(play: &Play<'a>) -> Option<(&'a Encryption, Scheme)> {
    let enc = play.endpoint.encryption.as_ref()?;
    let scheme = match enc.method {
        EncryptionMethod::SampleAes | EncryptionMethod::Cbcs => Scheme::Cbcs,
        EncryptionMethod::Cenc => Scheme::Cenc,
        EncryptionMethod::Aes128 => return None,
    };
    Some((enc, scheme))
}

/// Whether the keys rotate (`key_rotation_interval` > 0).
pub(super) fn rotating(enc: &Encryption) -> bool {
    enc.key_rotation_interval > 0
}

/// The key period of an output segment: from its stored program date time, so every edge
/// and request agree (docs/encryption.md, "Key periods and rotation").
pub(super) fn period_of(enc: &Encryption, segment: &Segment) -> u64 {
    enc.period_of_ms(segment.pdt_ms)
}

fn track_type(kind: TrackKind) -> TrackType {
    match kind {
        TrackKind::Video => TrackType::Video,
        TrackKind::Audio => TrackType::Audio,
    }
}

/// The key of a track type.
fn key_of(keys: &PeriodKeys, kind: TrackKind) -> OriginResult<&ProvidedKey> {
    keys.for_track(track_type(kind)).ok_or_else(|| {
        OriginError::KeyProvider(DrmError::MissingKey {
            kid: keys.keys.keys.first().map_or(Kid([0; 16]), |k| k.kid),
        })
    })
}

/// The keys of one of the endpoint's key periods (0 without rotation).
pub(super) async fn keys<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    period: u64,
) -> OriginResult<PeriodKeys> {
    period_keys(cx, &play.channel.id, play.endpoint, period, play.now_ms).await
}

/// The IV of the `kind` track of `rendition` for `key`: cbcs, the constant IV (a provider's
/// `explicitIV` wins); cenc, a per-rendition seed, so renditions sharing a key never share
/// key stream.
fn track_iv(
    enc: &Encryption,
    scheme: Scheme,
    explicit: Option<[u8; 16]>,
    rendition: &Rendition,
    kind: TrackKind,
) -> [u8; 16] {
    let configured = enc
        .constant_iv_bytes()
        .unwrap_or_else(|| iv_from_content_id(&enc.content_id));
    match scheme {
        Scheme::Cbcs => explicit.unwrap_or(configured),
        Scheme::Cenc => derive_iv(
            &configured,
            format!("{rendition}/{}", kind.name()).as_bytes(),
        ),
    }
}

/// What an [`encryptor`] is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    /// An init segment. `None`: without rotation, period 0's; with rotation, one for every
    /// period (DASH), needing no key: its `tenc` names [`ROTATION_DEFAULT_KID`] and the
    /// fragments name theirs. `Some(period)`: a key period's own init (HLS-CMAF with
    /// rotation: `tenc` names the period's KID, `moov` has its `pssh`), since Shaka's HLS
    /// maps an `identity` key to the init's `default_KID`.
    Init(Option<u64>),
    /// A media segment of a key period (0 without rotation).
    Media(u64),
}

/// The [`Part`] of an init segment request with `period` (its `_k{period}` name), `None`
/// when the endpoint has no such init: a period name without rotating keys, or a period far
/// from now and from the retained window (refused before the key provider is asked).
pub(super) fn init_part(play: &Play<'_>, period: Option<u64>) -> Option<Part> {
    match (method(play), period) {
        (_, None) => Some(Part::Init(None)),
        (Some((enc, _)), Some(p))
            if rotating(enc) && super::aes128::period_in_reach(play, enc, p) =>
        {
            Some(Part::Init(Some(p)))
        }
        _ => None,
    }
}

/// The encryptor of the `kind` track of `rendition` (`seq`: the output segment a failure
/// names) for `part`, `None` for a clear endpoint.
pub(super) async fn encryptor<K: KvStore, O: ObjectStore>(
    cx: &Ctx<'_, K, O>,
    play: &Play<'_>,
    track: &Track,
    (rendition, kind, seq): (&Rendition, TrackKind, u64),
    part: Part,
) -> OriginResult<Option<Encryptor>> {
    let Some((enc, scheme)) = method(play) else {
        return Ok(None);
    };
    let (period, in_fragments) = match part {
        Part::Init(None) => (None, rotating(enc)),
        Part::Init(Some(p)) => (Some(p), false),
        Part::Media(p) => (Some(p), rotating(enc)),
    };
    let protection = match period {
        None if in_fragments => TrackProtection {
            scheme,
            kid: ROTATION_DEFAULT_KID,
            key: [0; 16],
            iv: track_iv(enc, scheme, None, rendition, kind),
            pssh: Vec::new(),
        },
        _ => {
            let keys = keys(cx, play, period.unwrap_or(0)).await?;
            let key = key_of(&keys, kind)?;
            let pssh = pssh_boxes(enc, scheme, key)?
                .into_iter()
                .map(|(_, b)| b)
                .collect();
            TrackProtection {
                scheme,
                kid: key.kid.0,
                key: key.key,
                iv: track_iv(enc, scheme, key.explicit_iv, rendition, kind),
                pssh,
            }
        }
    };
    let encryptor =
        Encryptor::new(track, &protection).map_err(|e| encrypt_error(e, rendition, seq))?;
    Ok(Some(if in_fragments {
        encryptor.rotating()
    } else {
        encryptor
    }))
}

/// A 16-byte IV seed for `CENC` endpoints without `constant_iv`: from the content id, the
/// same on every edge.
fn iv_from_content_id(content_id: &str) -> [u8; 16] {
    let digest = Sha256::new()
        .chain_update(b"edgepack cenc iv v1\0")
        .chain_update(content_id.as_bytes())
        .finalize();
    let mut iv = [0u8; 16];
    iv.copy_from_slice(&digest[..16]);
    iv
}

/// The encryption error of a track, named like the other media errors.
pub(super) fn encrypt_error(
    e: crate::media::cenc::CencError,
    rendition: &Rendition,
    seq: u64,
) -> OriginError {
    MediaError::new(MediaCause::Encrypt(e))
        .rendition(rendition)
        .sequence(seq)
        .into()
}

/// The `pssh` of `system` for `key`: the provider's; else built here for ClearKey (W3C
/// common) and, for a static key, Widevine (`WidevinePsshData` with the KID and content id)
/// and PlayReady (a WRM header with the KID, `LA_URL` = the static key's `key_url` if any).
fn system_pssh(
    enc: &Encryption,
    scheme: Scheme,
    key: &ProvidedKey,
    system: DrmSystem,
) -> OriginResult<Option<Vec<u8>>> {
    let provided = key
        .systems
        .iter()
        .find(|s| s.system == system)
        .and_then(|d| d.pssh.clone());
    if provided.is_some() {
        return Ok(provided);
    }
    let mux = |e| OriginError::from(MediaError::new(MediaCause::Mux(e)));
    let kid = &key.kid.0;
    let built = match (system, &enc.static_key) {
        (DrmSystem::ClearKey, _) => clearkey_pssh(&[*kid]),
        (DrmSystem::Widevine, Some(_)) => widevine_pssh(kid, enc.content_id.as_bytes(), scheme),
        (DrmSystem::PlayReady, Some(k)) => playready_pssh(
            kid,
            Some(k.key_url.as_str()).filter(|u| !u.is_empty()),
            scheme,
        ),
        _ => return Ok(None),
    };
    built.map(Some).map_err(mux)
}

/// The `pssh` boxes of the endpoint's DRM systems for `key`, in `drm_systems` order.
fn pssh_boxes(
    enc: &Encryption,
    scheme: Scheme,
    key: &ProvidedKey,
) -> OriginResult<Vec<(DrmSystem, Vec<u8>)>> {
    let mut out = Vec::with_capacity(enc.drm_systems.len());
    for system in &enc.drm_systems {
        if let Some(b) = system_pssh(enc, scheme, key, *system)? {
            out.push((*system, b));
        }
    }
    Ok(out)
}

/// `KID` as the 8-4-4-4-12 UUID text of `cenc:default_KID`.
fn kid_uuid(kid: &Kid) -> String {
    let h = kid.hex();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Which playlist key lines are written for.
#[derive(Debug, Clone, Copy)]
pub(super) enum KeyLines<'a> {
    /// `EXT-X-KEY` of a rendition's media playlist (URIs relative to it).
    Media(&'a Rendition),
    /// `EXT-X-SESSION-KEY` of the master playlist (RFC 8216bis 4.4.6.5; URIs relative to it).
    Session,
}

impl KeyLines<'_> {
    fn tag(self) -> &'static str {
        match self {
            KeyLines::Media(_) => "EXT-X-KEY",
            KeyLines::Session => "EXT-X-SESSION-KEY",
        }
    }

    /// From the playlist to the endpoint's directory.
    fn up(self) -> String {
        match self {
            KeyLines::Media(rendition) => "../".repeat(rendition.split('/').count()),
            KeyLines::Session => String::new(),
        }
    }
}

/// The key lines of `kind` tracks for a CMAF media playlist (`EXT-X-KEY`) or the master
/// (`EXT-X-SESSION-KEY`, the same attributes): the provider's HLSSignalingData for each
/// commercial system that has some, else lines built here (ClearKey, always: both the
/// `org.w3.clearkey` form hls.js reads and the W3C common system id, and `identity` at the
/// key route for Shaka; Widevine and PlayReady: their system id with the `pssh` as a data
/// URI).
pub(super) fn key_lines(
    enc: &Encryption,
    scheme: Scheme,
    keys: &PeriodKeys,
    kind: TrackKind,
    lines_for: KeyLines<'_>,
) -> OriginResult<String> {
    let key = key_of(keys, kind)?;
    let method = match scheme {
        Scheme::Cbcs => "SAMPLE-AES",
        Scheme::Cenc => "SAMPLE-AES-CTR",
    };
    let (tag, period) = (lines_for.tag(), keys.period);
    let mut out = String::new();
    for system in &enc.drm_systems {
        let data = key.systems.iter().find(|s| s.system == *system);
        // ClearKey: always the lines players read (a provider's own are not what hls.js and
        // Shaka expect of ClearKey).
        let provided = data
            .and_then(|d| match lines_for {
                KeyLines::Media(_) => d.hls_media.as_deref(),
                KeyLines::Session => d.hls_master.as_deref(),
            })
            .filter(|_| *system != DrmSystem::ClearKey);
        if let Some(lines) = provided {
            let prefix = format!("#{tag}:");
            for line in lines.lines().filter(|l| l.starts_with(&prefix)) {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        let kid = key.kid.hex();
        let pssh = system_pssh(enc, scheme, key, *system)?;
        match system {
            DrmSystem::ClearKey => {
                let pssh = pssh.unwrap_or_default();
                let uri = format!("data:text/plain;base64,{}", b64(&pssh));
                let _ = writeln!(
                    out,
                    "#{tag}:METHOD={method},URI=\"{uri}\",KEYID=0x{kid},KEYFORMAT=\"org.w3.clearkey\",KEYFORMATVERSIONS=\"1\""
                );
                let _ = writeln!(
                    out,
                    "#{tag}:METHOD={method},URI=\"{uri}\",KEYID=0x{kid},KEYFORMAT=\"urn:uuid:{}\",KEYFORMATVERSIONS=\"1\"",
                    system.system_id()
                );
                // Shaka reads ClearKey as `identity`: the key at the endpoint's key route, or
                // at a static key's own key server.
                let uri = match enc.static_key.as_ref().filter(|k| !k.key_url.is_empty()) {
                    Some(k) => k.key_url.clone(),
                    None => format!(
                        "{}{}/{period}-{}.key",
                        lines_for.up(),
                        super::aes128::KEY_DIR,
                        kind.name()
                    ),
                };
                let _ = writeln!(
                    out,
                    "#{tag}:METHOD={method},URI=\"{uri}\",KEYID=0x{kid},KEYFORMAT=\"identity\""
                );
            }
            // FairPlay needs its provider's signalling (skd:// URI): none means no line.
            DrmSystem::FairPlay => {}
            other => {
                if let Some(p) = pssh {
                    let _ = writeln!(
                        out,
                        "#{tag}:METHOD={method},URI=\"data:text/plain;base64,{}\",KEYID=0x{kid},KEYFORMAT=\"urn:uuid:{}\",KEYFORMATVERSIONS=\"1\"",
                        b64(&p),
                        other.system_id()
                    );
                }
            }
        }
    }
    Ok(out)
}

/// The line a rendered HLS-CMAF playlist holds where key period `period` starts, until the
/// period's key lines replace it. Never served: every period listed is replaced, or the
/// playlist is an error.
pub(super) fn period_mark(period: u64) -> String {
    format!("#EDGEPACK-KEY-PERIOD:{period}")
}

/// Inserts `lines` before the first `EXT-X-MAP` (or first segment) of `playlist`.
pub(super) fn insert_key_lines(playlist: &str, lines: &str) -> String {
    let mut out = String::with_capacity(playlist.len() + lines.len());
    let mut done = false;
    for line in playlist.lines() {
        if !done && (line.starts_with("#EXT-X-MAP:") || line.starts_with("#EXTINF:")) {
            out.push_str(lines);
            done = true;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `ContentProtection` elements of an AdaptationSet of `kind`, as MPD XML: the
/// `mp4protection` scheme with `cenc:default_KID`, then one per DRM system with its `pssh`.
/// With rotation (`keys` `None`) no element names a key: the init's `tenc` has the
/// placeholder KID and every segment carries its key's `seig` group and `pssh` boxes in band
/// (what DASH-IF IOP and Shaka Player read for key rotation).
pub(super) fn content_protection(
    enc: &Encryption,
    scheme: Scheme,
    keys: Option<&PeriodKeys>,
    kind: TrackKind,
) -> OriginResult<Vec<crate::dash::ContentProtection>> {
    let key = keys.map(|k| key_of(k, kind)).transpose()?;
    let value = match scheme {
        Scheme::Cbcs => "cbcs",
        Scheme::Cenc => "cenc",
    };
    let mut out = vec![crate::dash::ContentProtection {
        scheme_id_uri: "urn:mpeg:dash:mp4protection:2011".into(),
        value: Some(value.into()),
        default_kid: key.map(|k| kid_uuid(&k.kid)),
        pssh: None,
    }];
    for system in &enc.drm_systems {
        let pssh = match key {
            Some(key) => system_pssh(enc, scheme, key, *system)?,
            None => None,
        };
        out.push(crate::dash::ContentProtection {
            scheme_id_uri: format!("urn:uuid:{}", system.system_id()),
            value: None,
            default_kid: None,
            pssh: pssh.map(|p| b64(&p)),
        });
    }
    Ok(out)
}
