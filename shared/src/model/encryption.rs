//! An endpoint's `encryption` setting: how its media is encrypted and where its keys come from
//! (docs/encryption.md). Settings only; keys are fetched per key period by `content_keys`.

use super::static_key::StaticKey;
use super::OutputProtocol;
use crate::auth::Random;
use crate::drm::{hex, parse_hex16, DrmSystem, Scheme};
use crate::error::{OriginError, OriginResult};
use crate::fields::Fields;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::ops::RangeInclusive;

/// Longest `key_provider_url`.
pub const KEY_PROVIDER_URL_MAX: usize = 512;
/// Allowed `key_rotation_interval` in seconds when rotating (0 = one key for all time).
pub const KEY_ROTATION_INTERVAL: RangeInclusive<u64> = 10..=86_400;
/// Longest `content_id`.
pub const CONTENT_ID_MAX: usize = 128;
/// Commercial DRM systems an HLS-CMAF endpoint may signal (ClearKey comes on top).
pub const HLS_CMAF_SYSTEMS_MAX: usize = 3;
/// Commercial DRM systems a DASH endpoint may signal (ClearKey comes on top).
pub const DASH_SYSTEMS_MAX: usize = 2;

/// `encryption.method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EncryptionMethod {
    /// HLS (TS): whole segments, AES-128-CBC (RFC 8216bis 5.2).
    #[serde(rename = "AES_128")]
    Aes128,
    /// HLS-CMAF: `cbcs` samples, signalled as `METHOD=SAMPLE-AES`.
    #[serde(rename = "SAMPLE_AES")]
    SampleAes,
    /// DASH: `cbcs` samples.
    #[serde(rename = "CBCS")]
    Cbcs,
    /// DASH: `cenc` samples.
    #[serde(rename = "CENC")]
    Cenc,
}

impl EncryptionMethod {
    pub const RULE: &'static str =
        "\"AES_128\" (HLS), \"SAMPLE_AES\" (HLS_CMAF), \"CBCS\" or \"CENC\" (DASH)";

    pub fn parse(s: &str) -> Option<EncryptionMethod> {
        match s {
            "AES_128" => Some(EncryptionMethod::Aes128),
            "SAMPLE_AES" => Some(EncryptionMethod::SampleAes),
            "CBCS" => Some(EncryptionMethod::Cbcs),
            "CENC" => Some(EncryptionMethod::Cenc),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EncryptionMethod::Aes128 => "AES_128",
            EncryptionMethod::SampleAes => "SAMPLE_AES",
            EncryptionMethod::Cbcs => "CBCS",
            EncryptionMethod::Cenc => "CENC",
        }
    }

    /// The default method of an output protocol.
    pub fn default_for(protocol: OutputProtocol) -> EncryptionMethod {
        match protocol {
            OutputProtocol::Hls => EncryptionMethod::Aes128,
            OutputProtocol::HlsCmaf => EncryptionMethod::SampleAes,
            OutputProtocol::Dash => EncryptionMethod::Cenc,
            // Refused by `check`: FLV has no encryption scheme.
            OutputProtocol::Flv => EncryptionMethod::Aes128,
        }
    }

    /// The methods an output protocol allows.
    fn allowed_on(self, protocol: OutputProtocol) -> bool {
        matches!(
            (protocol, self),
            (OutputProtocol::Hls, EncryptionMethod::Aes128)
                | (OutputProtocol::HlsCmaf, EncryptionMethod::SampleAes)
                | (
                    OutputProtocol::Dash,
                    EncryptionMethod::Cbcs | EncryptionMethod::Cenc
                )
        )
    }

    /// `ContentKey@commonEncryptionScheme` of the keys this method asks a provider for.
    pub fn scheme(self) -> Scheme {
        match self {
            EncryptionMethod::Aes128 => Scheme::Cbc1,
            EncryptionMethod::SampleAes | EncryptionMethod::Cbcs => Scheme::Cbcs,
            EncryptionMethod::Cenc => Scheme::Cenc,
        }
    }

    /// Whether the method uses a constant IV (cbcs: `tenc` `default_constant_IV`).
    fn uses_constant_iv(self) -> bool {
        matches!(self, EncryptionMethod::SampleAes | EncryptionMethod::Cbcs)
    }
}

/// `encryption` of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encryption {
    pub method: EncryptionMethod,
    /// DRM systems to signal; empty for `AES_128` (the origin serves the key itself).
    #[serde(default, with = "systems_by_name")]
    pub drm_systems: Vec<DrmSystem>,
    /// The SPEKE v2.0 endpoint of the key provider.
    pub key_provider_url: String,
    /// `CPIX@contentId`; generated when empty.
    pub content_id: String,
    /// 32 hex digits; `AES_128`: the IV of every segment (empty: the media sequence number);
    /// `SAMPLE_AES`/`CBCS`: the constant IV, generated when empty.
    #[serde(default)]
    pub constant_iv: String,
    /// Seconds per key period; 0 = one key for all time.
    #[serde(default)]
    pub key_rotation_interval: u64,
    /// The operator's own key instead of a key provider (`key_provider_url` empty then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_key: Option<StaticKey>,
}

impl Encryption {
    /// The constant IV as bytes, when set.
    pub fn constant_iv_bytes(&self) -> Option<[u8; 16]> {
        parse_hex16(&self.constant_iv)
    }

    /// The IV of every AES_128 segment when there is one: a static key's own IV, else
    /// `constant_iv`.
    pub fn fixed_iv(&self) -> Option<[u8; 16]> {
        self.static_key
            .as_ref()
            .and_then(|k| parse_hex16(&k.iv))
            .or_else(|| self.constant_iv_bytes())
    }

    /// The key period of media at `ms` (milliseconds of program date time, or media time):
    /// `floor(ms / interval)`, 0 without rotation.
    pub fn period_of_ms(&self, ms: i64) -> u64 {
        match self.key_rotation_interval {
            0 => 0,
            s => u64::try_from(ms.max(0)).unwrap_or(0) / (s * 1000),
        }
    }
}

mod systems_by_name {
    use crate::drm::DrmSystem;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[DrmSystem], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|d| d.name()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<DrmSystem>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|n| {
                DrmSystem::parse(n).ok_or_else(|| serde::de::Error::custom("unknown DRM system"))
            })
            .collect()
    }
}

/// Applies the `encryption` field of a body: `null` removes encryption, an object sets the
/// fields it names (onto the current setting, if any). Checked against the protocol by
/// [`check`] once every field of the body is applied.
pub fn apply(
    fields: &mut Fields<'_>,
    protocol: OutputProtocol,
    target: &mut Option<Encryption>,
) -> OriginResult<()> {
    let Some(v) = fields.present("encryption") else {
        return Ok(());
    };
    let map = match v {
        Value::Null => {
            *target = None;
            return Ok(());
        }
        Value::Object(_) => v,
        _ => {
            return Err(OriginError::invalid(
                "encryption",
                "an object {method, drm_systems, key_provider_url, static_key, content_id, constant_iv, key_rotation_interval}, or null",
            ))
        }
    };
    let mut e = target.clone().unwrap_or_else(|| Encryption {
        method: EncryptionMethod::default_for(protocol),
        drm_systems: Vec::new(),
        key_provider_url: String::new(),
        content_id: String::new(),
        constant_iv: String::new(),
        key_rotation_interval: 0,
        static_key: None,
    });
    let mut f = Fields::new(map)?;
    f.parsed(
        "method",
        EncryptionMethod::RULE,
        EncryptionMethod::parse,
        &mut e.method,
    )
    .map_err(nested("encryption.method"))?;
    if let Some(v) = f.present("drm_systems") {
        e.drm_systems = parse_systems(v)?;
    }
    let text = |v: &Value, field: &'static str, rule: &str| -> OriginResult<String> {
        match v {
            Value::Null => Ok(String::new()),
            Value::String(s) => Ok(s.clone()),
            _ => Err(OriginError::invalid(field, rule)),
        }
    };
    if let Some(v) = f.present("key_provider_url") {
        e.key_provider_url = text(v, "encryption.key_provider_url", URL_RULE)?;
    }
    if let Some(v) = f.present("static_key") {
        e.static_key = StaticKey::apply(v, e.static_key.take())?;
    }
    if let Some(v) = f.present("content_id") {
        e.content_id = text(v, "encryption.content_id", CONTENT_ID_RULE)?;
    }
    if let Some(v) = f.present("constant_iv") {
        e.constant_iv = text(v, "encryption.constant_iv", IV_RULE)?.to_ascii_lowercase();
    }
    if let Some(v) = f.present("key_rotation_interval") {
        let n = v
            .as_u64()
            .filter(|n| *n == 0 || KEY_ROTATION_INTERVAL.contains(n));
        e.key_rotation_interval = n.ok_or_else(|| {
            OriginError::invalid("encryption.key_rotation_interval", ROTATION_RULE)
        })?;
    }
    f.finish().map_err(|e| match e {
        OriginError::UnknownField { field, known } => OriginError::UnknownField {
            field: format!("encryption.{field}"),
            known,
        },
        e => OriginError::BadRequest(format!("encryption: {}", strip(&e))),
    })?;
    *target = Some(e);
    Ok(())
}

pub(super) const URL_RULE: &str = "an https:// URL of at most 512 characters (http:// only on 127.0.0.1 or localhost), without credentials";
const CONTENT_ID_RULE: &str = "at most 128 letters, digits, '.', '_' or '-' (empty: generated)";
const IV_RULE: &str = "32 hexadecimal digits (empty: see docs/encryption.md)";
const ROTATION_RULE: &str = "0 (no rotation) or an integer from 10 to 86400";

fn strip(e: &OriginError) -> String {
    match e {
        OriginError::BadRequest(m) => m.clone(),
        e => e.to_string(),
    }
}

/// Renames the field of an invalid-value error to its nested name.
fn nested(field: &'static str) -> impl Fn(OriginError) -> OriginError {
    move |e| match e {
        OriginError::InvalidField { allowed, .. } => OriginError::InvalidField { field, allowed },
        e => e,
    }
}

fn parse_systems(v: &Value) -> OriginResult<Vec<DrmSystem>> {
    let bad = || OriginError::invalid("encryption.drm_systems", DrmSystem::RULE);
    let Value::Array(items) = v else {
        return match v {
            Value::Null => Ok(Vec::new()),
            _ => Err(bad()),
        };
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let s = item.as_str().and_then(DrmSystem::parse).ok_or_else(bad)?;
        if out.contains(&s) {
            return Err(bad());
        }
        out.push(s);
    }
    Ok(out)
}

/// Checks the setting against the endpoint's protocol and fills what is generated when empty
/// (`content_id`; `constant_iv` of the cbcs methods) from `random`.
pub fn check(e: &mut Encryption, protocol: OutputProtocol, random: Random) -> OriginResult<()> {
    if !e.method.allowed_on(protocol) {
        return Err(OriginError::invalid(
            "encryption.method",
            format!(
                "on this endpoint's protocol: {}",
                match protocol {
                    OutputProtocol::Hls => "\"AES_128\"",
                    OutputProtocol::HlsCmaf => "\"SAMPLE_AES\"",
                    OutputProtocol::Dash => "\"CBCS\" or \"CENC\"",
                    OutputProtocol::Flv => "none (FLV endpoints are not encrypted)",
                }
            ),
        ));
    }
    let commercial = e
        .drm_systems
        .iter()
        .filter(|s| **s != DrmSystem::ClearKey)
        .count();
    let systems_rule = match (e.method, protocol) {
        (EncryptionMethod::Aes128, _) if !e.drm_systems.is_empty() => {
            Some("empty for AES_128 (the endpoint serves the key itself)".to_owned())
        }
        (EncryptionMethod::Aes128, _) => None,
        _ if e.drm_systems.is_empty() => Some(format!("at least one of: {}", DrmSystem::RULE)),
        (_, OutputProtocol::HlsCmaf) if commercial > HLS_CMAF_SYSTEMS_MAX => Some(format!(
            "at most {HLS_CMAF_SYSTEMS_MAX} of WIDEVINE, PLAYREADY, FAIRPLAY, plus CLEAR_KEY"
        )),
        (_, OutputProtocol::Dash) if e.drm_systems.contains(&DrmSystem::FairPlay) => {
            Some("no FAIRPLAY on DASH".to_owned())
        }
        (_, OutputProtocol::Dash) if commercial > DASH_SYSTEMS_MAX => Some(format!(
            "at most {DASH_SYSTEMS_MAX} of WIDEVINE, PLAYREADY, plus CLEAR_KEY"
        )),
        _ => None,
    };
    if let Some(rule) = systems_rule {
        return Err(OriginError::invalid("encryption.drm_systems", rule));
    }
    match &e.static_key {
        Some(_) if !e.key_provider_url.is_empty() => {
            return Err(OriginError::invalid(
                "encryption.key_provider_url",
                "empty with a static_key (keys come from one or the other)",
            ));
        }
        Some(_) if e.key_rotation_interval != 0 => {
            return Err(OriginError::invalid(
                "encryption.key_rotation_interval",
                "0 with a static_key (one key, no rotation)",
            ));
        }
        Some(k) if e.method == EncryptionMethod::Aes128 && k.key_url.is_empty() => {
            return Err(OriginError::invalid(
                "encryption.static_key.key_url",
                "required with AES_128: the key server URL players get the key from",
            ));
        }
        Some(k) => k.check()?,
        None if !valid_provider_url(&e.key_provider_url) => {
            return Err(OriginError::invalid(
                "encryption.key_provider_url",
                URL_RULE,
            ));
        }
        None => {}
    }
    if e.content_id.is_empty() {
        e.content_id = random_hex(random)?;
    }
    let id_ok = e.content_id.len() <= CONTENT_ID_MAX
        && e.content_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if !id_ok {
        return Err(OriginError::invalid(
            "encryption.content_id",
            CONTENT_ID_RULE,
        ));
    }
    if e.constant_iv.is_empty() && e.method.uses_constant_iv() {
        e.constant_iv = random_hex(random)?;
    }
    if !e.constant_iv.is_empty() && parse_hex16(&e.constant_iv).is_none() {
        return Err(OriginError::invalid("encryption.constant_iv", IV_RULE));
    }
    Ok(())
}

fn random_hex(random: Random) -> OriginResult<String> {
    let mut b = [0u8; 16];
    random(&mut b).map_err(OriginError::Random)?;
    Ok(hex(&b))
}

/// `https://host[:port][/path]`, or `http://` to 127.0.0.1 or localhost (tests, a key server
/// beside the origin); no credentials, no spaces, at most [`KEY_PROVIDER_URL_MAX`] characters.
pub fn valid_provider_url(url: &str) -> bool {
    if url.len() > KEY_PROVIDER_URL_MAX || url.bytes().any(|b| b <= b' ' || b >= 0x7f) {
        return false;
    }
    let (rest, local_only) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(r), _) => (r, false),
        (None, Some(r)) => (r, true),
        _ => return false,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return false;
    }
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !h.ends_with(']') || h.starts_with('[') => {
            if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
                return false;
            }
            h
        }
        _ => authority,
    };
    if host.is_empty() {
        return false;
    }
    !local_only || host == "127.0.0.1" || host.eq_ignore_ascii_case("localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_urls() {
        for ok in [
            "https://keys.example.com/speke/v2",
            "https://keys.example.com:8443/x?y=1",
            "http://127.0.0.1:8080/speke",
            "http://localhost/speke",
        ] {
            assert!(valid_provider_url(ok), "{ok}");
        }
        let long = format!("https://a.example/{}", "x".repeat(KEY_PROVIDER_URL_MAX));
        for bad in [
            "",
            "ftp://a/b",
            "http://keys.example.com/",
            "http://127.0.0.2/",
            "https://user:pw@keys.example.com/",
            "https:///path",
            "https://a b/",
            "https://a:/",
            long.as_str(),
        ] {
            assert!(!valid_provider_url(bad), "{bad}");
        }
    }

    #[test]
    fn periods_floor_the_media_time() {
        let mut e = Encryption {
            method: EncryptionMethod::Aes128,
            drm_systems: vec![],
            key_provider_url: String::new(),
            content_id: "c".into(),
            constant_iv: String::new(),
            key_rotation_interval: 0,
            static_key: None,
        };
        assert_eq!(e.period_of_ms(123_456_789), 0);
        e.key_rotation_interval = 60;
        assert_eq!(e.period_of_ms(119_999), 1);
        assert_eq!(e.period_of_ms(120_000), 2);
        assert_eq!(e.period_of_ms(-5), 0);
    }
}
